// The vector math of the batch kernels (src/simd/vector_math.hpp) against 50-digit references
// (Boost.Multiprecision cpp_bin_float_50, Boost.Math's erfc), over each function's whole used domain
// including the tails, on every vector instruction set this CPU has; and the dispatched batch kernels
// (scalar, AVX2, AVX-512) against the scalar functions, with remainder rows, broadcast inputs, missing
// Greek columns and bad rows.
//
// OPTARO_SIMD=scalar|avx2|avx512 restricts the instruction sets tested here (a test hook: the library
// itself never reads the environment). An instruction set the CPU lacks is skipped, not failed.
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <boost/math/special_functions/erf.hpp>
#include <boost/multiprecision/cpp_bin_float.hpp>
#include <gtest/gtest.h>

#include <optaro/batch.hpp>
#include <optaro/pricing.hpp>

#include "black_detail.hpp"
#include "csv.hpp"
#include "normal.hpp"
#include "simd/dispatch.hpp"

namespace {

using big = boost::multiprecision::cpp_bin_float_50;
using optaro::simd::isa;
using optaro::simd::vector_function;

constexpr double eps = std::numeric_limits<double>::epsilon();
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double min_subnormal = 0x1p-1074;

// The instruction sets to test: all three, or the one OPTARO_SIMD names.
std::vector<isa> isas_under_test(bool with_scalar) {
  std::vector<isa> out;
  const char* forced = std::getenv("OPTARO_SIMD");
  const auto only = forced != nullptr ? optaro::simd::isa_from_name(forced) : std::nullopt;
  for (isa which : {isa::scalar, isa::avx2, isa::avx512}) {
    if (which == isa::scalar && !with_scalar) continue;
    if (only && *only != which) continue;
    if (optaro::simd::cpu_supports(which)) out.push_back(which);
  }
  return out;
}

std::vector<isa> vector_isas() { return isas_under_test(false); }

bool same_bits(double a, double b) {
  return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b) || (std::isnan(a) && std::isnan(b));
}

// One ulp of the double nearest to ref: 2^(e - 52) for |ref| in [2^e, 2^(e+1)), 2^-1074 below 2^-1022.
double ulp_at(double ref) {
  const double a = std::fabs(ref);
  if (a < 0x1p-1022) return min_subnormal;
  int e = 0;
  std::frexp(a, &e);  // a = m 2^e, m in [0.5, 1)
  return std::ldexp(1.0, e - 53);
}

// |got - ref| in ulps of the result.
double ulps(double got, const big& ref) {
  const double r = static_cast<double>(ref);
  if (std::isinf(r) || std::isnan(got)) return got == r ? 0.0 : inf;
  return static_cast<double>(abs(big(got) - ref)) / ulp_at(r);
}

class rng {
 public:
  explicit rng(std::uint64_t seed) : gen_(seed) {}
  double uniform(double a, double b) { return a + (b - a) * static_cast<double>(gen_() >> 11) * 0x1.0p-53; }
  double log_uniform(double a, double b) { return std::exp(uniform(std::log(a), std::log(b))); }
  bool coin() { return (gen_() >> 63) != 0; }

 private:
  std::mt19937_64 gen_;
};

std::vector<double> run(isa which, vector_function f, const std::vector<double>& a, const std::vector<double>& b = {}) {
  std::vector<double> out(a.size(), -12345.0);
  EXPECT_TRUE(optaro::simd::evaluate(which, f, a, b, out)) << optaro::simd::name(which);
  return out;
}

// Checks f on every vector instruction set against ref(x) with |error| <= bound ulps; subnormal
// results against an absolute bound in units of the smallest subnormal. Prints the worst error.
// `scalar`, when given, is the scalar code's function for the same value: its worst error on the same
// points is printed next to the vector one's, for comparison.
template <class Ref>
void check_ulps(const char* what, vector_function f, const std::vector<double>& xs, Ref ref, double bound,
                double subnormal_bound = 1.0, double (*scalar)(double) = nullptr) {
  std::vector<big> refs;
  refs.reserve(xs.size());
  for (double x : xs) refs.push_back(ref(x));
  if (scalar != nullptr) {
    double worst = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const double r = static_cast<double>(refs[i]);
      if (std::isfinite(r) && std::fabs(r) >= 0x1p-1022) worst = std::max(worst, ulps(scalar(xs[i]), refs[i]));
    }
    std::printf("[ vector math ] scalar %-12s worst %.3f ulps on the same points\n", what, worst);
  }
  for (isa which : vector_isas()) {
    const std::vector<double> got = run(which, f, xs);
    double worst = 0, worst_x = 0, worst_sub = 0;
    int failures = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const double r = static_cast<double>(refs[i]);
      if (std::isnan(r)) {
        EXPECT_TRUE(std::isnan(got[i])) << what << "(" << xs[i] << ")";
        continue;
      }
      if (r != 0 && std::fabs(r) < 0x1p-1022) {
        const double units = static_cast<double>(abs(big(got[i]) - refs[i])) / min_subnormal;
        worst_sub = std::max(worst_sub, units);
        if (!(units <= subnormal_bound) && ++failures <= 5) {
          ADD_FAILURE() << what << "(" << xs[i] << ") = " << got[i] << ", want " << r << ": " << units << " x 2^-1074 ["
                        << optaro::simd::name(which) << "]";
        }
        continue;
      }
      const double e = ulps(got[i], refs[i]);
      if (e > worst) worst = e, worst_x = xs[i];
      if (!(e <= bound) && ++failures <= 5) {
        ADD_FAILURE() << what << "(" << std::hexfloat << xs[i] << std::defaultfloat << ") = " << got[i] << ", want "
                      << r << ": " << e << " ulps [" << optaro::simd::name(which) << "]";
      }
    }
    EXPECT_EQ(failures, 0) << what << " [" << optaro::simd::name(which) << "]";
    std::printf(
        "[ vector math ] %-6s %-12s worst %.3f ulps (bound %.1f) at %.17g; subnormal results %.2f x 2^-1074; %zu "
        "points\n",
        std::string(optaro::simd::name(which)).c_str(), what, worst, bound, worst_x, worst_sub, xs.size());
  }
}

// ---- the elementary functions ---------------------------------------------------------------------

TEST(VectorMath, ExpWithinOneUlpOverItsWholeDomain) {
  std::vector<double> xs{0.0,     -0.0,   1e-300, -1e-300, 1e-17,  0.5,    -0.5,    1.0,    709.78, 709.7827128933840,
                         -708.39, -708.4, -709.1, -720.0,  -744.4, -745.1, -745.13, -745.2, -800.0, 710.0,
                         800.0,   inf,    -inf,   nan};
  rng g(1);
  for (int i = 0; i < 6000; ++i) xs.push_back(g.uniform(-745.2, 709.78));
  for (int i = 0; i < 2000; ++i) xs.push_back(g.uniform(-1.0, 1.0));
  // whole vectors within |x| <= 0.34 take the polynomial-only path
  for (int i = 0; i < 2000; ++i) xs.push_back(g.uniform(-0.34, 0.34));
  for (int i = 0; i < 1000; ++i) xs.push_back((g.coin() ? 1 : -1) * g.log_uniform(1e-20, 1.0));
  for (int i = 0; i < 1000; ++i) xs.push_back(g.uniform(-745.2, -708.3));  // subnormal results
  check_ulps(
      "exp", vector_function::exp, xs, [](double x) { return std::isnan(x) ? big(nan) : exp(big(x)); }, 1.0, 1.5,
      [](double x) { return std::exp(x); });
}

TEST(VectorMath, LogWithinOneUlpOverAllPositiveNormals) {
  std::vector<double> xs{1.0,
                         2.0,
                         0.5,
                         0x1p-1022,
                         std::numeric_limits<double>::max(),
                         0.7071067811865476,
                         0.7071067811865475,
                         1.4142135623730951,
                         1 + eps,
                         1 - eps / 2,
                         10.0,
                         0.1};
  rng g(2);
  for (int i = 0; i < 4000; ++i)
    xs.push_back(std::ldexp(g.uniform(1.0, 2.0), static_cast<int>(g.uniform(-1022, 1023))));
  for (int i = 0; i < 3000; ++i) xs.push_back(g.uniform(0.5, 2.0));
  for (int i = 0; i < 1000; ++i) xs.push_back(1.0 + (g.coin() ? 1 : -1) * g.log_uniform(1e-16, 1e-2));
  check_ulps(
      "log", vector_function::log, xs, [](double x) { return log(big(x)); }, 1.0, 1.0,
      [](double x) { return std::log(x); });
}

TEST(VectorMath, TwiceSinhWithinTwoUlps) {
  std::vector<double> xs{0.0, 1e-300, 1e-10, 0.999999999, 1.0, 1.0000001, 700.0};
  rng g(3);
  for (int i = 0; i < 3000; ++i) xs.push_back(g.uniform(0.0, 3.0));
  for (int i = 0; i < 1000; ++i) xs.push_back(g.log_uniform(1e-12, 700.0));
  check_ulps(
      "2 sinh", vector_function::twice_sinh, xs, [](double x) { return 2 * sinh(big(x)); }, 2.0);
}

// erfcx(x) = e^{x^2} erfc(x); beyond x = 1e4 by its asymptotic series (e^{-x^2} is below the
// exponent range of cpp_bin_float_50 there), whose first omitted term is < 1e-23 relative.
big erfcx_ref(double x) {
  if (std::isnan(x)) return big(nan);
  const big b(x);
  if (x > 1e4) {
    const big w = 1 / (2 * b * b);
    return (1 - w + 3 * w * w - 15 * w * w * w) / (b * sqrt(boost::math::constants::pi<big>()));
  }
  return exp(b * b) * boost::math::erfc(b);
}

// Cody's middle-interval rational is good to a few ulps in double arithmetic, not to its nominal 18
// digits: the scalar erfcx (src/erfcx.cpp) reaches 5.7 ulps near x = 2.29 on a dense sweep, this one 4.0.
TEST(VectorMath, ErfcxWithinFiveUlpsForAllArguments) {
  std::vector<double> xs{
      0.0,  -0.0,  0.46875, -0.46875, 0.46875000000000006, 4.0, 4.000000000000001, -26.6, 26.7, 6.71e7,
      1e10, 1e300, inf,     nan};
  rng g(4);
  for (int i = 0; i < 2000; ++i) xs.push_back(g.uniform(-1.0, 5.0));      // every branch boundary
  for (int i = 0; i < 3000; ++i) xs.push_back(g.uniform(2.0, 2.6));       // the middle form's worst stretch
  for (int i = 0; i < 1000; ++i) xs.push_back(g.uniform(-26.6, 0.0));     // 2 e^{x^2} - erfcx(-x)
  for (int i = 0; i < 1000; ++i) xs.push_back(g.log_uniform(4.0, 1e12));  // Cody's tail form
  check_ulps("erfcx", vector_function::erfcx, xs, erfcx_ref, 5.0, 1.0, &optaro::detail::erfcx);
}

// erfc = e^{-x^2} erfcx: erfcx's few ulps plus the exponential's and two roundings. glibc's erfc, which
// the scalar code uses, is within about 3 ulps; this is within 7, far inside the Greeks' 1e-9 (prices
// deep out of the money go through erfcx, not erfc).
TEST(VectorMath, ErfcWithinSevenUlpsDownToItsSubnormalTail) {
  std::vector<double> xs{0.0,  -0.0, 0.46875, -0.46875, 1.0,  -1.0,  26.5, 26.55, 27.0,
                         27.2, 27.3, 40.0,    1e10,     -6.0, -40.0, inf,  -inf,  nan};
  rng g(5);
  for (int i = 0; i < 2000; ++i) xs.push_back(g.uniform(-6.0, 6.0));
  for (int i = 0; i < 2000; ++i) xs.push_back(g.uniform(3.0, 4.0));   // the middle form's worst stretch
  for (int i = 0; i < 2000; ++i) xs.push_back(g.uniform(6.0, 27.3));  // the tail, down to subnormal values
  check_ulps(
      "erfc", vector_function::erfc, xs, [](double x) { return std::isnan(x) ? big(nan) : boost::math::erfc(big(x)); },
      7.0, 2.0, [](double x) { return std::erfc(x); });
}

// Phi(z) = erfc(-z/sqrt 2)/2 with the argument rounded as the code rounds it (the conditioning of Phi in
// z, ~z^2 ulps in the far tail, is the caller's, exactly as for the scalar norm_cdf).
TEST(VectorMath, NormalCdfWithinSevenUlpsIncludingTheLowerTail) {
  std::vector<double> xs{0.0, -1.0, 1.0, -8.0, 8.3, -37.5, -38.4, -38.5, -40.0};
  rng g(6);
  for (int i = 0; i < 2000; ++i) xs.push_back(g.uniform(-8.0, 8.3));
  for (int i = 0; i < 2000; ++i) xs.push_back(g.uniform(-38.5, -8.0));
  check_ulps(
      "norm_cdf", vector_function::norm_cdf, xs,
      [](double z) { return boost::math::erfc(big(-z * optaro::detail::inv_sqrt2)) / 2; }, 7.0, 2.0,
      &optaro::detail::norm_cdf);
  // and next to the scalar detail::norm_cdf, which rounds the same argument
  for (isa which : vector_isas()) {
    const std::vector<double> got = run(which, vector_function::norm_cdf, xs);
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const double want = optaro::detail::norm_cdf(xs[i]);
      EXPECT_LE(std::fabs(got[i] - want), 8 * ulp_at(want) + 2 * min_subnormal) << xs[i];
    }
  }
}

// ln(S/K) as detail::log_moneyness computes it, against the exact log of the ratio of the two doubles:
// within the scalar function's own error plus an ulp.
TEST(VectorMath, LogMoneynessAsAccurateAsTheScalar) {
  std::vector<double> S, K;
  rng g(7);
  for (int i = 0; i < 4000; ++i) {
    K.push_back(g.log_uniform(1e-3, 1e5));
    const double m = i % 2 == 0 ? g.log_uniform(0.5, 2.0) : g.log_uniform(1e-6, 1e6);
    S.push_back(K.back() * m);
  }
  for (int i = 0; i < 500; ++i) {  // S within a few ulps of K: ln(S/K) tiny
    K.push_back(g.log_uniform(1e-3, 1e5));
    S.push_back(K.back() * (1 + std::round(g.uniform(-50, 50)) * eps));
  }
  for (isa which : vector_isas()) {
    const std::vector<double> got = run(which, vector_function::log_moneyness, S, K);
    double worst = 0;
    for (std::size_t i = 0; i < S.size(); ++i) {
      const big ref = log(big(S[i]) / big(K[i]));
      const double scalar = optaro::detail::log_moneyness(S[i], K[i]);
      if (static_cast<double>(ref) == 0) {
        EXPECT_EQ(got[i], 0.0);
        continue;
      }
      const double e = ulps(got[i], ref), e_scalar = ulps(scalar, ref);
      worst = std::max(worst, e);
      EXPECT_LE(e, e_scalar + 1.0) << "S=" << S[i] << " K=" << K[i] << " [" << optaro::simd::name(which) << "]";
      EXPECT_LE(e, 2.5) << "S=" << S[i] << " K=" << K[i];
    }
    std::printf("[ vector math ] %-6s log_moneyness worst %.3f ulps of the exact ln(S/K)\n",
                std::string(optaro::simd::name(which)).c_str(), worst);
  }
}

// The normalised Black function of the kernels on the 60-digit reference set, to the same bar as the
// scalar one (test_normalised_black.cpp): |b^ - b|/b <= 4 eps (1 + kappa_x + kappa_s). This is where
// the relative accuracy of tiny, deep out-of-the-money prices is decided.
TEST(VectorMath, NormalisedBlackWithinFourTimesItsConditioning) {
  const auto t = optaro_test::csv_table::read("normalised_black_ref.csv");
  const auto x = t.col("x"), s = t.col("s"), b = t.col("b"), kx = t.col("kappa_x"), ks = t.col("kappa_s");
  const auto call = t.col_flag("is_call");
  ASSERT_GT(t.rows(), 3000u);
  struct reference_set {
    std::vector<double> x, s, b, kx, ks;
  } sets[2];  // calls, puts
  for (std::size_t i = 0; i < t.rows(); ++i) {
    if (!(s[i] > 0) || std::isinf(s[i])) continue;  // those rows go to the scalar code
    reference_set& set = sets[call[i] != 0 ? 0 : 1];
    set.x.push_back(x[i]), set.s.push_back(s[i]), set.b.push_back(b[i]), set.kx.push_back(kx[i]);
    set.ks.push_back(ks[i]);
  }
  for (isa which : vector_isas()) {
    double worst = 0;
    int failures = 0;
    for (int side = 0; side < 2; ++side) {
      const reference_set& set = sets[side];
      const auto got =
          run(which, side == 0 ? vector_function::normalised_black_call : vector_function::normalised_black_put, set.x,
              set.s);
      for (std::size_t i = 0; i < set.x.size(); ++i) {
        const double ratio = std::fabs(got[i] - set.b[i]) / set.b[i] / (eps * (1 + set.kx[i] + set.ks[i]));
        worst = std::max(worst, ratio);
        if (!(ratio <= 4) && ++failures <= 10) {
          ADD_FAILURE() << "x=" << set.x[i] << " s=" << set.s[i] << " call=" << (side == 0) << " got " << got[i]
                        << " want " << set.b[i] << " (" << ratio << "x) [" << optaro::simd::name(which) << "]";
        }
      }
    }
    EXPECT_EQ(failures, 0);
    std::printf("[ vector math ] %-6s normalised_black worst %.2fx of eps*(1+kappa_x+kappa_s) over %zu rows\n",
                std::string(optaro::simd::name(which)).c_str(), worst, sets[0].x.size() + sets[1].x.size());
  }
}

// ---- the dispatched batch kernels ---------------------------------------------------------------------

// Batch vs scalar on rows the vector code computes: prices within 8 eps relative or 1e-15 S, Greeks
// within 1e-9 relative or 1e-12 S^degree (the property of test_properties.cpp, which explains it).
constexpr int greek_degree[13] = {1, 0, -1, 1, 1, 1, 0, 1, 0, -2, -1, -1, 1};
constexpr double optaro::greeks::*greek_members[13] = {
    &optaro::greeks::price, &optaro::greeks::delta, &optaro::greeks::gamma, &optaro::greeks::vega,
    &optaro::greeks::theta, &optaro::greeks::rho,   &optaro::greeks::vanna, &optaro::greeks::volga,
    &optaro::greeks::charm, &optaro::greeks::speed, &optaro::greeks::zomma, &optaro::greeks::color,
    &optaro::greeks::veta};
constexpr std::span<double> optaro::greeks_columns::*greek_columns[13] = {
    &optaro::greeks_columns::price, &optaro::greeks_columns::delta, &optaro::greeks_columns::gamma,
    &optaro::greeks_columns::vega,  &optaro::greeks_columns::theta, &optaro::greeks_columns::rho,
    &optaro::greeks_columns::vanna, &optaro::greeks_columns::volga, &optaro::greeks_columns::charm,
    &optaro::greeks_columns::speed, &optaro::greeks_columns::zomma, &optaro::greeks_columns::color,
    &optaro::greeks_columns::veta};

double tolerance(std::size_t k, double scalar, double S, bool trader_units) {
  if (k == 0) return std::max(8 * eps * std::fabs(scalar), 1e-15 * S);
  const optaro::greeks ones{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  const double unit = trader_units ? optaro::to_trader_units(ones).*greek_members[k] : 1.0;
  return 1e-9 * std::fabs(scalar) + 1e-12 * std::pow(S, greek_degree[k]) * unit;
}

struct rows {
  std::vector<double> S, K, T, r, q, sigma;
  std::vector<std::uint8_t> call;
  std::vector<bool> exact;  // edge rows meant to be invalid or degenerate (a check of the test's own predicate)
  void add(double s, double k, double t, double rr, double qq, double v, bool c, bool must_be_exact) {
    S.push_back(s), K.push_back(k), T.push_back(t), r.push_back(rr), q.push_back(qq), sigma.push_back(v);
    call.push_back(c ? 1 : 0);
    exact.push_back(must_be_exact);
  }
  [[nodiscard]] std::size_t size() const { return S.size(); }
};

// Ordinary rows over wide ranges (deep in and out of the money, minutes to decades, vol 0.5% to 600%),
// with the bad and edge rows of `edge_rows` spread among them.
rows mixed_rows(std::size_t n, std::uint64_t seed) {
  rows out;
  rng g(seed);
  const double spots[] = {0.0123, 1.0, 100.0, 21543.25};
  for (std::size_t i = 0; i < n; ++i) {
    const double S = spots[i % 4], T = g.log_uniform(1e-4, 30.0), sigma = g.log_uniform(0.005, 6.0);
    const double r = g.uniform(-0.01, 0.12), q = g.uniform(0.0, 0.08);
    const double x = g.uniform(-12.0, 12.0) * std::min(1.0, sigma * std::sqrt(T));
    out.add(S, S * std::exp(-x), T, r, q, sigma, g.coin(), false);
  }
  return out;
}

void add_edge_rows(rows& out) {
  // invalid or degenerate: the scalar function's NaN, intrinsic value and limit Greeks, bit for bit
  out.add(100, 90, 0.0, 0.05, 0.02, 0.2, true, true);   // T = 0, in the money
  out.add(100, 90, 0.0, 0.05, 0.02, 0.2, false, true);  // T = 0, out of the money
  out.add(100, 100, 0.0, 0.0, 0.0, 0.2, true, true);    // T = 0 at the money
  out.add(100, 90, -1.0, 0.05, 0.02, 0.2, true, true);  // T < 0
  out.add(100, 90, nan, 0.05, 0.02, 0.2, true, true);
  out.add(100, 90, inf, 0.05, 0.02, 0.2, true, true);
  out.add(100, 90, 0.5, 0.05, 0.02, 0.0, true, true);  // sigma = 0
  out.add(100, 110, 0.5, 0.05, 0.02, 0.0, false, true);
  out.add(100, 90, 0.5, 0.05, 0.02, -0.2, true, true);
  out.add(100, 90, 0.5, 0.05, 0.02, nan, true, true);
  out.add(100, 90, 0.5, 0.05, 0.02, inf, true, true);
  out.add(100, 90, 0.1, 0.05, 0.02, 0x1p-1074, true, true);  // sigma sqrt(T) underflows to 0
  out.add(0.0, 90, 0.5, 0.05, 0.02, 0.2, true, true);
  out.add(-1.0, 90, 0.5, 0.05, 0.02, 0.2, true, true);
  out.add(nan, 90, 0.5, 0.05, 0.02, 0.2, true, true);
  out.add(inf, 90, 0.5, 0.05, 0.02, 0.2, true, true);
  out.add(100, 0.0, 0.5, 0.05, 0.02, 0.2, true, true);
  out.add(100, -5.0, 0.5, 0.05, 0.02, 0.2, false, true);
  out.add(100, inf, 0.5, 0.05, 0.02, 0.2, false, true);
  out.add(100, 90, 0.5, nan, 0.02, 0.2, true, true);
  out.add(100, 90, 0.5, 0.05, inf, 0.2, true, true);
  out.add(1e300, 1e-300, 0.5, 0.05, 0.02, 0.2, true, true);   // S/K overflows
  out.add(1e-300, 1e300, 0.5, 0.05, 0.02, 0.2, false, true);  // S/K underflows
  // extreme but valid rows the vector code computes
  out.add(1e200, 1e-100, 0.5, 0.05, 0.02, 0.2, true, false);  // ln(S/K) = 690
  out.add(1e-100, 1e200, 0.5, 0.05, 0.02, 0.2, true, false);  // worthless call
  out.add(100, 90, 0.5, 0.05, 0.02, 1e-300, true, false);     // s > 0 but tiny
  out.add(100, 90, 0.5, 0.05, 0.02, 1e-320, false, false);    // s subnormal
  out.add(100, 100, 0.5, 0.05, 0.05, 1e-300, false, false);
  out.add(100, 90, 0.5, 0.05, 0.02, 1e10, true, false);       // s huge
  out.add(100, 90, 1e6, 0.0, 0.0, 0.2, false, false);         // decades upon decades
  out.add(100, 300, 2.0 / 365, 0.0, 0.0, 0.05, true, false);  // price far below the smallest normal
}

// Runs every batch entry point on one instruction set and compares each row with the scalar functions.
void check_against_scalar(isa which, const rows& in, bool broadcast_rates, bool trader_units,
                          std::uint32_t columns_wanted) {
  const std::size_t n = in.size();
  const double r1[] = {0.03}, q1[] = {0.01};
  const std::span<const double> r = broadcast_rates ? std::span<const double>(r1) : std::span<const double>(in.r);
  const std::span<const double> q = broadcast_rates ? std::span<const double>(q1) : std::span<const double>(in.q);
  const auto r_at = [&](std::size_t i) { return r.size() == 1 ? r[0] : r[i]; };
  const auto q_at = [&](std::size_t i) { return q.size() == 1 ? q[0] : q[i]; };
  const std::string where = std::string(optaro::simd::name(which)) + (broadcast_rates ? " broadcast" : "") +
                            (trader_units ? " trader" : "") + " n=" + std::to_string(n);

  std::vector<double> price(n, -1.0), price76(n, -1.0);
  ASSERT_EQ(optaro::simd::bs_price_batch(which, {in.S, in.K, in.T, r, q, in.sigma, in.call}, price), n);
  ASSERT_EQ(optaro::simd::black76_price_batch(which, {in.S, in.K, in.T, r, in.sigma, in.call}, price76), n);

  std::vector<std::vector<double>> g(13, std::vector<double>(n, -1.0)), g76 = g;
  optaro::greeks_columns cols, cols76;
  for (std::size_t k = 0; k < 13; ++k) {
    if ((columns_wanted >> k & 1U) == 0) continue;
    cols.*greek_columns[k] = g[k];
    cols76.*greek_columns[k] = g76[k];
  }
  ASSERT_EQ(optaro::simd::bs_greeks_batch(which, {in.S, in.K, in.T, r, q, in.sigma, in.call}, cols, trader_units), n);
  ASSERT_EQ(optaro::simd::black76_greeks_batch(which, {in.S, in.K, in.T, r, in.sigma, in.call}, cols76, trader_units),
            n);

  // Rows the scalar code treats as invalid or degenerate (bs_price's checks, sigma sqrt(T) == 0 or
  // infinite, S/K outside the normal range): the kernels hand them to the scalar function, so their
  // values must be identical. For Black-76, q is r.
  const auto scalar_only = [&](std::size_t i, bool black76) {
    const double qi = black76 ? r_at(i) : q_at(i);
    const double S = in.S[i], K = in.K[i], T = in.T[i], s = in.sigma[i] * std::sqrt(T);
    const bool valid = std::isfinite(S) && std::isfinite(K) && std::isfinite(T) && std::isfinite(r_at(i)) &&
                       std::isfinite(qi) && std::isfinite(in.sigma[i]) && S > 0 && K > 0 && T >= 0 && in.sigma[i] >= 0;
    return !valid || !(s > 0) || std::isinf(s) || !std::isnormal(S / K);
  };
  int failures = 0;
  bool black76 = false;
  double worst_price = 0, worst_greek = 0;  // |batch - scalar| / tolerance on vector-computed rows
  const auto judge = [&](const char* what, std::size_t k, std::size_t i, double got, double want) {
    const bool exact = scalar_only(i, black76);
    EXPECT_TRUE(!in.exact[i] || exact || broadcast_rates || black76) << "row " << i << " should be an edge row";
    const bool ok = exact || which == isa::scalar
                        ? same_bits(got, want)
                        : same_bits(got, want) || (std::isfinite(want) &&
                                                   std::fabs(got - want) <= tolerance(k, want, in.S[i], trader_units));
    if (!exact && std::isfinite(want) && std::isfinite(got)) {
      double& worst = k == 0 ? worst_price : worst_greek;
      worst = std::max(worst, std::fabs(got - want) / tolerance(k, want, in.S[i], trader_units));
    }
    if (!ok && ++failures <= 10) {
      ADD_FAILURE() << what << " row " << i << " S=" << in.S[i] << " K=" << in.K[i] << " T=" << in.T[i]
                    << " r=" << r_at(i) << " q=" << q_at(i) << " sigma=" << in.sigma[i]
                    << (in.call[i] ? " call" : " put") << ": got " << got << " want " << want << " [" << where << "]";
    }
  };
  for (std::size_t i = 0; i < n; ++i) {
    const bool c = in.call[i] != 0;
    black76 = false;
    judge("price", 0, i, price[i], optaro::bs_price(in.S[i], in.K[i], in.T[i], r_at(i), q_at(i), in.sigma[i], c));
    black76 = true;
    judge("black76 price", 0, i, price76[i], optaro::black76_price(in.S[i], in.K[i], in.T[i], r_at(i), in.sigma[i], c));
    optaro::greeks s = optaro::bs_greeks(in.S[i], in.K[i], in.T[i], r_at(i), q_at(i), in.sigma[i], c);
    optaro::greeks s76 = optaro::black76_greeks(in.S[i], in.K[i], in.T[i], r_at(i), in.sigma[i], c);
    if (trader_units) s = optaro::to_trader_units(s), s76 = optaro::to_trader_units(s76);
    for (std::size_t k = 0; k < 13; ++k) {
      if ((columns_wanted >> k & 1U) == 0) {
        continue;
      }
      black76 = false;
      judge("greek", k, i, g[k][i], s.*greek_members[k]);
      black76 = true;
      judge("black76 greek", k, i, g76[k][i], s76.*greek_members[k]);
    }
  }
  EXPECT_EQ(failures, 0) << where;
  if (n > 1000 && which != isa::scalar) {
    std::printf("[ dispatch ] %s: worst |batch - scalar| / tolerance: prices %.3g, Greeks %.3g\n", where.c_str(),
                worst_price, worst_greek);
  }
}

TEST(SimdDispatch, EveryPathMatchesTheScalarFunctions) {
  const auto isas = isas_under_test(true);
  ASSERT_FALSE(isas.empty());
  for (isa which : isas) {
    std::printf("[ dispatch ] testing %s%s\n", std::string(optaro::simd::name(which)).c_str(),
                which == optaro::simd::best_isa() ? " (the default on this CPU)" : "");
    // sizes around the vector widths: remainders of 1..7 rows, and empty batches
    for (std::size_t n : {0u, 1u, 3u, 4u, 5u, 7u, 8u, 9u, 13u, 16u, 17u, 31u, 403u}) {
      rows in = mixed_rows(n, 100 + n);
      check_against_scalar(which, in, false, false, 0x1fff);
    }
    rows in = mixed_rows(3000, 7);
    add_edge_rows(in);
    for (std::size_t i = 0; i < 40; ++i) {  // the edge rows again, scattered over block positions
      rows extra;
      add_edge_rows(extra);
      const std::size_t j = i % extra.size();
      in.add(extra.S[j], extra.K[j], extra.T[j], extra.r[j], extra.q[j], extra.sigma[j], extra.call[j] != 0,
             extra.exact[j]);
      const rows filler = mixed_rows(i % 9, 500 + i);
      for (std::size_t m = 0; m < filler.size(); ++m) {
        in.add(filler.S[m], filler.K[m], filler.T[m], filler.r[m], filler.q[m], filler.sigma[m], filler.call[m] != 0,
               false);
      }
    }
    check_against_scalar(which, in, false, false, 0x1fff);
    check_against_scalar(which, in, true, true, 0x1fff);
    check_against_scalar(which, in, false, true, 0x0a5a);  // some columns missing
    check_against_scalar(which, in, true, false, 0x0001);  // the price alone
  }
}

// Length-1 spans everywhere but one, and a single flag: broadcasting in every input slot.
TEST(SimdDispatch, BroadcastInEverySlot) {
  const rows base = mixed_rows(37, 11);
  for (isa which : isas_under_test(true)) {
    for (int slot = 0; slot < 7; ++slot) {
      rows in = base;
      std::vector<double>* columns[] = {&in.S, &in.K, &in.T, &in.r, &in.q, &in.sigma};
      if (slot < 6) {
        for (double& v : *columns[slot]) v = (*columns[slot])[0];
      } else {
        for (auto& c : in.call) c = in.call[0];
      }
      // the library sees a span of length 1 in that slot; compare with the full column of equal values
      const std::span<const double> S = slot == 0 ? std::span<const double>(in.S).first(1) : in.S;
      const std::span<const double> K = slot == 1 ? std::span<const double>(in.K).first(1) : in.K;
      const std::span<const double> T = slot == 2 ? std::span<const double>(in.T).first(1) : in.T;
      const std::span<const double> r = slot == 3 ? std::span<const double>(in.r).first(1) : in.r;
      const std::span<const double> q = slot == 4 ? std::span<const double>(in.q).first(1) : in.q;
      const std::span<const double> v = slot == 5 ? std::span<const double>(in.sigma).first(1) : in.sigma;
      const std::span<const std::uint8_t> c = slot == 6 ? std::span<const std::uint8_t>(in.call).first(1) : in.call;
      std::vector<double> got(in.size()), full(in.size());
      ASSERT_EQ(optaro::simd::bs_price_batch(which, {S, K, T, r, q, v, c}, got), in.size());
      ASSERT_EQ(optaro::simd::bs_price_batch(which, {in.S, in.K, in.T, in.r, in.q, in.sigma, in.call}, full),
                in.size());
      for (std::size_t i = 0; i < in.size(); ++i) EXPECT_TRUE(same_bits(got[i], full[i])) << slot << " row " << i;
      std::vector<double> delta(in.size()), delta_full(in.size());
      optaro::greeks_columns one, all;
      one.delta = delta;
      all.delta = delta_full;
      ASSERT_EQ(optaro::simd::bs_greeks_batch(which, {S, K, T, r, q, v, c}, one, false), in.size());
      ASSERT_EQ(optaro::simd::bs_greeks_batch(which, {in.S, in.K, in.T, in.r, in.q, in.sigma, in.call}, all, false),
                in.size());
      for (std::size_t i = 0; i < in.size(); ++i)
        EXPECT_TRUE(same_bits(delta[i], delta_full[i])) << slot << " row " << i;
    }
  }
}

// Every instruction set against the 50-digit Greeks of the wide reference set, with the bar of
// test_accuracy.cpp (which checks the default path only).
TEST(SimdDispatch, EveryPathMeetsTheGreeksReferences) {
  const auto t = optaro_test::csv_table::read("bsm_greeks_wide.csv");
  const auto S = t.col("S"), K = t.col("K"), T = t.col("T"), r = t.col("r"), q = t.col("q"), v = t.col("sigma");
  const auto call = t.col_flag("is_call");
  const char* names[13] = {"price", "delta", "gamma", "vega",  "theta", "rho", "vanna",
                           "volga", "charm", "speed", "zomma", "color", "veta"};
  const std::size_t n = t.rows();
  for (isa which : isas_under_test(true)) {
    std::vector<std::vector<double>> g(13, std::vector<double>(n));
    optaro::greeks_columns cols;
    for (std::size_t k = 0; k < 13; ++k) cols.*greek_columns[k] = g[k];
    ASSERT_EQ(optaro::simd::bs_greeks_batch(which, {S, K, T, r, q, v, call}, cols, false), n);
    std::vector<double> price(n);
    ASSERT_EQ(optaro::simd::bs_price_batch(which, {S, K, T, r, q, v, call}, price), n);
    int failures = 0;
    for (std::size_t k = 0; k < 13; ++k) {
      if (!t.has(names[k])) continue;
      const auto ref = t.col(names[k]);
      for (std::size_t i = 0; i < n; ++i) {
        const double tol = 1e-9 * std::fabs(ref[i]) + 1e-12 * std::pow(S[i], greek_degree[k]);
        const double got = g[k][i];
        if (!(std::fabs(got - ref[i]) <= tol) && ++failures <= 10) {
          ADD_FAILURE() << names[k] << " row " << i << ": " << got << " vs " << ref[i] << " ["
                        << optaro::simd::name(which) << "]";
        }
        if (k == 0 && !(std::fabs(price[i] - ref[i]) <= tol) && ++failures <= 10) {
          ADD_FAILURE() << "bs_price_batch row " << i << ": " << price[i] << " vs " << ref[i];
        }
      }
    }
    EXPECT_EQ(failures, 0) << optaro::simd::name(which);
  }
}

// Deep out of the money, prices are tiny and their relative accuracy is what matters. Black-76 prices
// (r = 0) from 1e-300 to 1e-6 against 50-digit prices of the same double inputs, held to the bar the
// scalar black76_price meets in test_accuracy.cpp (Black76PricesWithinTheirConditioning): relative
// error <= eps (32 + 4 (h^2 + t^2) + 2 (1 + |x|) |d ln p / dx|). Far out of the money the last term
// dominates: the rounding of x = ln(F/K) moves the price by eps |x| |h| / s relative, for the scalar
// code as for this one, so "as accurate as the scalar code" is that bound, not equal errors.
TEST(SimdDispatch, TinyPricesKeepTheScalarRelativeAccuracy) {
  rng g(12);
  std::vector<double> F, K, T, sigma, ref_price, tolerance_of;
  std::vector<std::uint8_t> call;
  while (F.size() < 600) {
    const double f = 100.0, t = g.log_uniform(1.0 / 365, 2.0), v = g.uniform(0.05, 0.6);
    const bool c = g.coin();
    const double s = v * std::sqrt(t);
    const double z = g.uniform(4.0, 40.0);  // standard deviations out of the money
    const double k = c ? f * std::exp(z * s) : f * std::exp(-z * s);
    const big bs = big(v) * sqrt(big(t)), bx = log(big(f) / big(k)), th = c ? 1 : -1;
    const big d1 = bx / bs + bs / 2, d2 = d1 - bs;
    const big root2 = sqrt(big(2));
    const big n1 = boost::math::erfc(-th * d1 / root2) / 2, n2 = boost::math::erfc(-th * d2 / root2) / 2;
    const big p = th * (big(f) * n1 - big(k) * n2);
    const double pd = static_cast<double>(p);
    if (!(pd > 1e-300 && pd < 1e-6)) continue;
    // d ln p / dx with F fixed (K = F e^{-x}), as test_accuracy.cpp computes it
    const big b = p / sqrt(big(f) * big(k));
    const double dlnp_dx = static_cast<double>(abs(-0.5 + th * (exp(bx / 2) * n1 + exp(-bx / 2) * n2) / (2 * b)));
    const double h = static_cast<double>(bx / bs), half_s = s / 2, x = static_cast<double>(bx);
    F.push_back(f), K.push_back(k), T.push_back(t), sigma.push_back(v), call.push_back(c ? 1 : 0);
    ref_price.push_back(pd);
    tolerance_of.push_back(eps * (32 + 4 * (h * h + half_s * half_s) + 2 * (1 + std::fabs(x)) * dlnp_dx));
  }
  const std::size_t n = F.size();
  const double r[] = {0.0};
  double worst_scalar = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double scalar = optaro::black76_price(F[i], K[i], T[i], 0.0, sigma[i], call[i] != 0);
    worst_scalar = std::max(worst_scalar, std::fabs(scalar - ref_price[i]) / ref_price[i] / tolerance_of[i]);
  }
  std::printf("[ dispatch ] black76_price tiny prices: worst error / tolerance %.3f over %zu rows\n", worst_scalar, n);
  for (isa which : isas_under_test(true)) {
    std::vector<double> got(n);
    ASSERT_EQ(optaro::simd::black76_price_batch(which, {F, K, T, r, sigma, call}, got), n);
    double worst = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double ratio = std::fabs(got[i] - ref_price[i]) / ref_price[i] / tolerance_of[i];
      worst = std::max(worst, ratio);
      EXPECT_LE(ratio, 1.0) << "F=" << F[i] << " K=" << K[i] << " T=" << T[i] << " sigma=" << sigma[i]
                            << (call[i] ? " call" : " put") << ": got " << got[i] << ", exact " << ref_price[i] << " ["
                            << optaro::simd::name(which) << "]";
    }
    std::printf("[ dispatch ] %-6s tiny prices: worst error / tolerance %.3f over %zu rows\n",
                std::string(optaro::simd::name(which)).c_str(), worst, n);
  }
}

TEST(SimdDispatch, NamesRoundTripAndScalarIsAlwaysThere) {
  for (isa which : {isa::scalar, isa::avx2, isa::avx512}) {
    EXPECT_EQ(optaro::simd::isa_from_name(optaro::simd::name(which)), which);
  }
  EXPECT_FALSE(optaro::simd::isa_from_name("sse9").has_value());
  EXPECT_TRUE(optaro::simd::cpu_supports(isa::scalar));
  EXPECT_TRUE(optaro::simd::cpu_supports(optaro::simd::best_isa()));
  std::vector<double> out(1);
  EXPECT_FALSE(optaro::simd::evaluate(isa::scalar, vector_function::exp, std::vector<double>{1.0}, {}, out));
}

}  // namespace

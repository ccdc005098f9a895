// Properties of the pricing core that need no reference values: put-call parity, scaling invariance,
// price -> IV -> price round trips, batch == scalar (to a stated tolerance for prices and Greeks, bit for bit
// for implied vol), one bad row never spoiling a batch,
// Black-76 == BSM with S = F and q = r, trader units, and the length-mismatch error naming its field.
// Inputs come from std::mt19937_64 with fixed seeds (its output sequence is fixed by the standard;
// doubles are formed from its bits here, not by the implementation-defined distributions).
#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <numbers>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include <optaro/optaro.hpp>

namespace {

constexpr double eps = std::numeric_limits<double>::epsilon();
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double t_min = 15.0 / (365.0 * 24 * 60);  // 15 minutes

class rng {
 public:
  explicit rng(std::uint64_t seed) : gen_(seed) {}
  double uniform(double a, double b) { return a + (b - a) * unit(); }
  double log_uniform(double a, double b) { return std::exp(uniform(std::log(a), std::log(b))); }
  bool coin() { return (gen_() >> 63) != 0; }
  template <class T, std::size_t N>
  T pick(const std::array<T, N>& values) {
    return values[static_cast<std::size_t>(gen_() % N)];
  }

 private:
  double unit() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }
  std::mt19937_64 gen_;
};

constexpr std::array<double, 4> spots{0.0123, 1.0, 100.0, 21543.25};
constexpr std::array<double, 4> rates{-0.005, 0.0, 0.05, 0.12};
constexpr std::array<double, 3> yields{0.0, 0.02, 0.07};

struct option_row {
  double S, K, T, r, q, sigma;
  bool call;
};

// A row with forward log-moneyness x = ln(F/K) drawn as z * sigma sqrt(T), |z| <= z_max, |x| <= 12.
option_row draw(rng& g, double z_max, double t_lo = t_min, double t_hi = 30.0, double v_lo = 0.005, double v_hi = 6.0) {
  option_row o{};
  o.S = g.pick(spots);
  o.r = g.pick(rates);
  o.q = g.pick(yields);
  o.T = g.log_uniform(t_lo, t_hi);
  o.sigma = g.log_uniform(v_lo, v_hi);
  double x = 0;
  do {
    x = g.uniform(-z_max, z_max) * o.sigma * std::sqrt(o.T);
  } while (std::abs(x) > 12);
  o.K = o.S * std::exp(-(x - (o.r - o.q) * o.T));
  o.call = g.coin();
  return o;
}

std::string describe(const option_row& o) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "S=%.17g K=%.17g T=%.17g r=%.17g q=%.17g sigma=%.17g %s", o.S, o.K, o.T, o.r, o.q,
                o.sigma, o.call ? "call" : "put");
  return buf;
}

bool same_bits(double a, double b) {
  return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b) || (std::isnan(a) && std::isnan(b));
}

struct greek_field {
  std::string_view name;
  double optaro::greeks::*member;
  std::span<double> optaro::greeks_columns::*column;
  int degree;  // homogeneity in (S, K)
};

constexpr greek_field fields[] = {{"price", &optaro::greeks::price, &optaro::greeks_columns::price, 1},
                                  {"delta", &optaro::greeks::delta, &optaro::greeks_columns::delta, 0},
                                  {"gamma", &optaro::greeks::gamma, &optaro::greeks_columns::gamma, -1},
                                  {"vega", &optaro::greeks::vega, &optaro::greeks_columns::vega, 1},
                                  {"theta", &optaro::greeks::theta, &optaro::greeks_columns::theta, 1},
                                  {"rho", &optaro::greeks::rho, &optaro::greeks_columns::rho, 1},
                                  {"vanna", &optaro::greeks::vanna, &optaro::greeks_columns::vanna, 0},
                                  {"volga", &optaro::greeks::volga, &optaro::greeks_columns::volga, 1},
                                  {"charm", &optaro::greeks::charm, &optaro::greeks_columns::charm, 0},
                                  {"speed", &optaro::greeks::speed, &optaro::greeks_columns::speed, -2},
                                  {"zomma", &optaro::greeks::zomma, &optaro::greeks_columns::zomma, -1},
                                  {"color", &optaro::greeks::color, &optaro::greeks_columns::color, -1},
                                  {"veta", &optaro::greeks::veta, &optaro::greeks_columns::veta, 1}};

// Thirteen output columns backed by one buffer.
struct greek_buffers {
  explicit greek_buffers(std::size_t n) : data(std::size(fields), std::vector<double>(n, -12345.0)) {
    for (std::size_t k = 0; k < std::size(fields); ++k) cols.*fields[k].column = data[k];
  }
  [[nodiscard]] double at(std::size_t k, std::size_t i) const { return data[k][i]; }
  std::vector<std::vector<double>> data;
  optaro::greeks_columns cols;
};

// Batch == scalar for prices and Greeks. The batch kernels run vectorised (src/simd/): the scalar
// functions' formulas, regions and order of operations, but with vector exp, log, erfcx and erfc that
// differ from the C library's by an ulp or a few (bounds proven in test_vector_math.cpp), so a batch
// value is no longer the scalar one bit for bit. It must agree to what those ulps can move it:
//  - prices within 8 eps relative, or 1e-15 S absolute: far out of the money b is a difference whose
//    cancellation (bounded by b's own conditioning, as in the scalar code) magnifies an ulp of erfcx;
//    the relative accuracy of such tiny prices is scored against mpmath separately
//    (test_vector_math.cpp, every instruction set, same bound as the scalar code's).
//  - Greeks within 1e-9 relative (their accuracy contract against mpmath, test_accuracy.cpp), or
//    1e-12 of the Greek's natural unit S^degree (times the trader-unit factor) where terms cancel
//    near a zero crossing.
// Rows the kernels hand to the scalar function (invalid inputs, T = 0, ...) still match bit for bit.
// implied_vol_batch reduces and solves in vector lanes too: the same status, and sigma within 4x the
// attainable accuracy of the scalar one (the ulps of x = ln(F/K) and of the price's scale move the
// root by that much on ill-conditioned rows; test_accuracy.cpp scores both against mpmath).
bool batch_agrees(std::size_t field, double batch, double scalar, double S, bool trader_units = false) {
  if (same_bits(batch, scalar)) return true;
  if (!std::isfinite(batch) || !std::isfinite(scalar)) return false;
  const double diff = std::abs(batch - scalar);
  if (field == 0) return diff <= 8 * eps * std::abs(scalar) || diff <= 1e-15 * S;
  optaro::greeks ones{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  const double unit = trader_units ? optaro::to_trader_units(ones).*fields[field].member : 1.0;
  return diff <= 1e-9 * std::abs(scalar) + 1e-12 * std::pow(S, fields[field].degree) * unit;
}

// ---- put-call parity -------------------------------------------------------------------------------

TEST(Properties, PutCallParityBsm) {
  rng g(20240601);
  for (int i = 0; i < 3000; ++i) {
    const option_row o = draw(g, 8.0);
    const double c = optaro::bs_price(o.S, o.K, o.T, o.r, o.q, o.sigma, true);
    const double p = optaro::bs_price(o.S, o.K, o.T, o.r, o.q, o.sigma, false);
    const double fs = o.S * std::exp(-o.q * o.T), fk = o.K * std::exp(-o.r * o.T);
    const double x = std::log(o.S / o.K) + (o.r - o.q) * o.T;
    // every term is off by a few ulps of itself, and by x's rounding eps (1 + |x|)
    const double tol = 8 * eps * (2 + std::abs(x)) * (c + p + fs + fk);
    EXPECT_NEAR(c - p, fs - fk, tol) << describe(o);
    // the Greeks obey their own parities: delta_c - delta_p = e^{-qT}; gamma, vega, vanna, volga equal
    const optaro::greeks gc = optaro::bs_greeks(o.S, o.K, o.T, o.r, o.q, o.sigma, true);
    const optaro::greeks gp = optaro::bs_greeks(o.S, o.K, o.T, o.r, o.q, o.sigma, false);
    EXPECT_NEAR(gc.delta - gp.delta, std::exp(-o.q * o.T), 16 * eps) << describe(o);
    EXPECT_NEAR(gc.gamma, gp.gamma, 16 * eps * std::abs(gc.gamma) + 1e-300) << describe(o);
    EXPECT_NEAR(gc.vega, gp.vega, 16 * eps * std::abs(gc.vega) + 1e-300) << describe(o);
    EXPECT_NEAR(gc.rho - gp.rho, o.T * fk, 16 * eps * (std::abs(gc.rho) + std::abs(gp.rho)) + 1e-300) << describe(o);
  }
}

TEST(Properties, PutCallParityBlack76) {
  rng g(20240602);
  for (int i = 0; i < 2000; ++i) {
    const option_row o = draw(g, 8.0);
    const double F = o.S;
    const double c = optaro::black76_price(F, o.K, o.T, o.r, o.sigma, true);
    const double p = optaro::black76_price(F, o.K, o.T, o.r, o.sigma, false);
    const double d = std::exp(-o.r * o.T);
    const double x = std::log(F / o.K);
    EXPECT_NEAR(c - p, d * (F - o.K), 8 * eps * (2 + std::abs(x)) * (c + p + d * (F + o.K))) << describe(o);
  }
}

// ---- scaling invariance ------------------------------------------------------------------------------

// price(l S, l K) = l price(S, K), and every Greek scales with its degree of homogeneity. With l a power
// of 4 the scaled inputs, their ratio and their square roots are exact, so only evaluation roundings
// can differ.
TEST(Properties, ScalingInvariance) {
  rng g(20240603);
  constexpr double lambdas[] = {0x1.0p-20, 0.25, 4.0, 1024.0, 0x1.0p+30};
  for (int i = 0; i < 600; ++i) {
    const option_row o = draw(g, 6.0);
    const optaro::greeks base = optaro::bs_greeks(o.S, o.K, o.T, o.r, o.q, o.sigma, o.call);
    const double price = optaro::bs_price(o.S, o.K, o.T, o.r, o.q, o.sigma, o.call);
    for (double l : lambdas) {
      const double lp = optaro::bs_price(l * o.S, l * o.K, o.T, o.r, o.q, o.sigma, o.call);
      EXPECT_NEAR(lp, l * price, 16 * eps * l * price) << describe(o) << " lambda=" << l;
      const optaro::greeks sc = optaro::bs_greeks(l * o.S, l * o.K, o.T, o.r, o.q, o.sigma, o.call);
      for (const auto& f : fields) {
        const double factor = std::pow(l, f.degree);
        const double expected = factor * (base.*f.member);
        EXPECT_NEAR(sc.*f.member, expected, 16 * eps * std::abs(expected) + 1e-13 * std::pow(l * o.S, f.degree))
            << f.name << ": " << describe(o) << " lambda=" << l;
      }
      // implied vol is invariant; moderate region, where the inversion is well conditioned
      const double h = (std::log(o.S / o.K) + (o.r - o.q) * o.T) / (o.sigma * std::sqrt(o.T));
      const double s = o.sigma * std::sqrt(o.T);
      if (std::abs(h) < 3 && s > 0.01 && s < 3) {  // not where the price rounds to its maximum
        const optaro::iv_result a = optaro::bs_implied_vol(price, o.S, o.K, o.T, o.r, o.q, o.call);
        const optaro::iv_result b = optaro::bs_implied_vol(l * price, l * o.S, l * o.K, o.T, o.r, o.q, o.call);
        EXPECT_EQ(a.st, optaro::status::ok) << describe(o);
        EXPECT_EQ(b.st, a.st) << describe(o) << " lambda=" << l;
        EXPECT_NEAR(b.sigma, a.sigma, 1e-11 * a.sigma) << describe(o) << " lambda=" << l;
      }
    }
  }
}

// ---- round trips ---------------------------------------------------------------------------------

// Normalised-Black quantities in double, good enough for a tolerance.
struct conditioning {
  double att;   // attainable relative accuracy of sigma (CONVENTIONS.md)
  double cond;  // (b - intrinsic) / (s db/ds)
};
conditioning attainable(const option_row& o, double price) {
  const double th = o.call ? 1.0 : -1.0;
  const double x = std::log(o.S / o.K) + (o.r - o.q) * o.T, s = o.sigma * std::sqrt(o.T);
  const double F = o.S * std::exp((o.r - o.q) * o.T), D = std::exp(-o.r * o.T);
  const double d2 = x / s - s / 2;
  const double phi2 = std::exp(-0.5 * d2 * d2) / std::sqrt(2 * std::numbers::pi);
  const double vega_n = std::sqrt(F * o.K) * std::exp(-x / 2) * phi2 * D;  // D sqrt(FK) db/ds
  const double intr = std::max(th * D * (F - o.K), 0.0);
  const double tv = price - intr;
  const double cond = tv / (s * vega_n);
  const double cond_x = 0.5 * std::erfc(-th * d2 / std::sqrt(2.0)) / (phi2 * s);
  const double x_err = 1 + std::abs(std::log(o.S / o.K)) + std::abs((o.r - o.q) * o.T);
  const double p_err = 1 + std::abs(o.r * o.T) + std::abs(o.q * o.T);
  return {eps * ((1 + cond * p_err) * price / tv + cond_x * x_err), cond};
}

// A batch implied vol against bs_implied_vol's sigma for row o at price (see batch_agrees).
bool iv_agrees(double batch, double scalar, const option_row& o, double price) {
  return same_bits(batch, scalar) || std::abs(batch - scalar) <= 4 * attainable(o, price).att * std::abs(scalar);
}

// sigma -> price -> sigma -> price: the recovered sigma within 4x attainable (the bar of the accuracy
// tests), and the price reproduced to what that sigma error moves it plus a few roundings.
TEST(Properties, PriceImpliedVolPriceRoundTrip) {
  rng g(20240604);
  int checked = 0;
  for (int i = 0; i < 3000; ++i) {
    const option_row o = draw(g, 5.0, 1.0 / 365, 10.0, 0.01, 4.0);
    const double p = optaro::bs_price(o.S, o.K, o.T, o.r, o.q, o.sigma, o.call);
    if (!(p > 1e-250)) continue;
    const conditioning c = attainable(o, p);
    if (!(c.att < 1e-6)) continue;  // the time value is lost in the price's rounding
    ++checked;
    const optaro::iv_result res = optaro::bs_implied_vol(p, o.S, o.K, o.T, o.r, o.q, o.call);
    ASSERT_EQ(res.st, optaro::status::ok) << describe(o) << " price=" << p;
    // p itself carries the price's rounding, so compare with the sigma whose exact price it is only
    // through the tolerance: the generating sigma moves p by <~ few eps p, which att covers
    EXPECT_NEAR(res.sigma, o.sigma, 4 * c.att * o.sigma + 4 * eps * o.sigma) << describe(o) << " price=" << p;
    const double p2 = optaro::bs_price(o.S, o.K, o.T, o.r, o.q, res.sigma, o.call);
    const double vega = optaro::bs_greeks(o.S, o.K, o.T, o.r, o.q, o.sigma, o.call).vega;
    EXPECT_NEAR(p2, p, vega * 4 * c.att * o.sigma + 32 * eps * p) << describe(o) << " price=" << p;
  }
  EXPECT_GT(checked, 2000);
}

// ---- batch == scalar ---------------------------------------------------------------------------------

struct batch_rows {
  std::vector<double> S, K, T, r, q, sigma, price;
  std::vector<std::uint8_t> call;
};

batch_rows make_batch(std::uint64_t seed, std::size_t n, double r_all, double q_all) {
  rng g(seed);
  batch_rows b;
  for (std::size_t i = 0; i < n; ++i) {
    option_row o = draw(g, i % 3 == 0 ? 30.0 : 6.0);
    o.r = r_all;
    o.q = q_all;
    b.S.push_back(o.S);
    b.K.push_back(o.K);
    b.T.push_back(o.T);
    b.sigma.push_back(o.sigma);
    b.call.push_back(o.call ? 1 : 0);
    b.price.push_back(optaro::bs_price(o.S, o.K, o.T, r_all, q_all, o.sigma, o.call));
  }
  return b;
}

TEST(Properties, BatchEqualsScalarWithinTolerance) {
  constexpr std::size_t n = 400;
  const double r1[] = {0.05}, q1[] = {0.02};
  const batch_rows b = make_batch(20240605, n, r1[0], q1[0]);

  std::vector<double> price(n);
  ASSERT_EQ(optaro::bs_price_batch({b.S, b.K, b.T, r1, q1, b.sigma, b.call}, price), n);
  for (bool trader : {false, true}) {
    greek_buffers gb(n);
    ASSERT_EQ(optaro::bs_greeks_batch({b.S, b.K, b.T, r1, q1, b.sigma, b.call}, gb.cols, trader), n);
    greek_buffers g76(n);
    ASSERT_EQ(optaro::black76_greeks_batch({b.S, b.K, b.T, r1, b.sigma, b.call}, g76.cols, trader), n);
    for (std::size_t i = 0; i < n; ++i) {
      const optaro::greeks raw = optaro::bs_greeks(b.S[i], b.K[i], b.T[i], r1[0], q1[0], b.sigma[i], b.call[i] != 0);
      const optaro::greeks s = trader ? optaro::to_trader_units(raw) : raw;
      const optaro::greeks raw76 = optaro::black76_greeks(b.S[i], b.K[i], b.T[i], r1[0], b.sigma[i], b.call[i] != 0);
      const optaro::greeks s76 = trader ? optaro::to_trader_units(raw76) : raw76;
      for (std::size_t k = 0; k < std::size(fields); ++k) {
        EXPECT_TRUE(batch_agrees(k, gb.at(k, i), s.*fields[k].member, b.S[i], trader))
            << fields[k].name << " row " << i << " trader_units=" << trader << ": " << gb.at(k, i) << " vs "
            << s.*fields[k].member;
        EXPECT_TRUE(batch_agrees(k, g76.at(k, i), s76.*fields[k].member, b.S[i], trader))
            << "black76 " << fields[k].name << " row " << i << ": " << g76.at(k, i) << " vs " << s76.*fields[k].member;
      }
    }
  }
  std::vector<double> price76(n);
  ASSERT_EQ(optaro::black76_price_batch({b.S, b.K, b.T, r1, b.sigma, b.call}, price76), n);
  std::vector<double> sigma(n);
  std::vector<optaro::status> st(n);
  ASSERT_EQ(optaro::implied_vol_batch({b.price, b.S, b.K, b.T, r1, q1, b.call}, sigma, st), n);
  std::vector<double> sigma_only(n);
  ASSERT_EQ(optaro::implied_vol_batch({b.price, b.S, b.K, b.T, r1, q1, b.call}, sigma_only), n);
  for (std::size_t i = 0; i < n; ++i) {
    const bool c = b.call[i] != 0;
    EXPECT_TRUE(
        batch_agrees(0, price[i], optaro::bs_price(b.S[i], b.K[i], b.T[i], r1[0], q1[0], b.sigma[i], c), b.S[i]))
        << i;
    EXPECT_TRUE(
        batch_agrees(0, price76[i], optaro::black76_price(b.S[i], b.K[i], b.T[i], r1[0], b.sigma[i], c), b.S[i]))
        << i;
    const optaro::iv_result res = optaro::bs_implied_vol(b.price[i], b.S[i], b.K[i], b.T[i], r1[0], q1[0], c);
    EXPECT_TRUE(iv_agrees(sigma[i], res.sigma, {b.S[i], b.K[i], b.T[i], r1[0], q1[0], b.sigma[i], c}, b.price[i]))
        << i << ": " << sigma[i] << " vs " << res.sigma;
    EXPECT_TRUE(same_bits(sigma_only[i], sigma[i])) << i;
    EXPECT_EQ(st[i], res.st) << i;
  }
}

// Length-1 spans broadcast: a single spot and a single flag against many strikes.
TEST(Properties, BatchBroadcastsLengthOneInputs) {
  constexpr std::size_t n = 64;
  std::vector<double> K(n), T(n), sigma(n);
  rng g(20240606);
  for (std::size_t i = 0; i < n; ++i) {
    K[i] = 100.0 * std::exp(g.uniform(-1, 1));
    T[i] = g.log_uniform(t_min, 30.0);
    sigma[i] = g.log_uniform(0.005, 6.0);
  }
  const double S[] = {100.0}, r[] = {0.03}, q[] = {0.01};
  const std::uint8_t call[] = {1};
  std::vector<double> price(n);
  ASSERT_EQ(optaro::bs_price_batch({S, K, T, r, q, sigma, call}, price), n);
  std::vector<double> sig_back(n);
  std::vector<optaro::status> st(n);
  ASSERT_EQ(optaro::implied_vol_batch({price, S, K, T, r, q, call}, sig_back, st), n);
  for (std::size_t i = 0; i < n; ++i) {
    EXPECT_TRUE(batch_agrees(0, price[i], optaro::bs_price(100.0, K[i], T[i], 0.03, 0.01, sigma[i], true), 100.0)) << i;
    const optaro::iv_result res = optaro::bs_implied_vol(price[i], 100.0, K[i], T[i], 0.03, 0.01, true);
    EXPECT_TRUE(iv_agrees(sig_back[i], res.sigma, {100.0, K[i], T[i], 0.03, 0.01, sigma[i], true}, price[i])) << i;
    EXPECT_EQ(st[i], res.st) << i;
  }
  // a single row broadcast against nothing longer: n = 1
  double one[1];
  EXPECT_EQ(optaro::bs_price_batch({S, S, r, r, q, r, call}, one), 1u);
  EXPECT_TRUE(batch_agrees(0, one[0], optaro::bs_price(100.0, 100.0, 0.03, 0.03, 0.01, 0.03, true), 100.0));
}

// Unwanted Greek columns are empty spans and are skipped.
TEST(Properties, GreeksBatchWritesOnlyRequestedColumns) {
  const double S[] = {100.0, 100.0}, K[] = {90.0, 110.0}, T[] = {0.5}, r[] = {0.05}, q[] = {0.0}, sig[] = {0.2};
  const std::uint8_t call[] = {1, 0};
  std::vector<double> delta(2), vega(2);
  optaro::greeks_columns cols;
  cols.delta = delta;
  cols.vega = vega;
  ASSERT_EQ(optaro::bs_greeks_batch({S, K, T, r, q, sig, call}, cols), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const optaro::greeks g = optaro::bs_greeks(S[i], K[i], 0.5, 0.05, 0.0, 0.2, call[i] != 0);
    EXPECT_TRUE(batch_agrees(1, delta[i], g.delta, S[i]));
    EXPECT_TRUE(batch_agrees(3, vega[i], g.vega, S[i]));
  }
}

// ---- bad rows in a batch -------------------------------------------------------------------------------

TEST(Properties, BadRowsDoNotSpoilABatch) {
  // rows: 0 good, 1 T = 0 (ITM call), 2 good, 3 NaN spot, 4 negative sigma, 5 good, 6 K = 0, 7 T = 0 (OTM put),
  // 8 infinite T, 9 good
  const std::vector<double> S{100, 100, 95, nan, 100, 120, 100, 100, 100, 80};
  const std::vector<double> K{100, 90, 100, 100, 100, 100, 0, 90, 100, 100};
  const std::vector<double> T{0.5, 0.0, 1.0, 0.5, 0.5, 2.0, 0.5, 0.0, inf, 0.25};
  const std::vector<double> sig{0.2, 0.2, 0.3, 0.2, -0.2, 0.25, 0.2, 0.2, 0.2, 0.4};
  const std::vector<std::uint8_t> call{1, 1, 0, 1, 1, 1, 0, 0, 1, 0};
  const double r[] = {0.05}, q[] = {0.02};
  const std::size_t n = S.size();
  const std::size_t good[] = {0, 2, 5, 9};

  std::vector<double> price(n);
  ASSERT_EQ(optaro::bs_price_batch({S, K, T, r, q, sig, call}, price), n);
  for (std::size_t i : good) {
    EXPECT_TRUE(batch_agrees(0, price[i], optaro::bs_price(S[i], K[i], T[i], 0.05, 0.02, sig[i], call[i] != 0), S[i]))
        << i;
    EXPECT_TRUE(std::isfinite(price[i]) && price[i] > 0) << i;
  }
  // T = 0 is an input: the intrinsic value (nothing to discount); invalid rows are NaN
  EXPECT_EQ(price[1], 10.0);
  EXPECT_EQ(price[7], 0.0);
  for (std::size_t i : {3u, 4u, 6u, 8u}) EXPECT_TRUE(std::isnan(price[i])) << i;

  greek_buffers gb(n);
  ASSERT_EQ(optaro::bs_greeks_batch({S, K, T, r, q, sig, call}, gb.cols), n);
  for (std::size_t i : good) {
    const optaro::greeks g = optaro::bs_greeks(S[i], K[i], T[i], 0.05, 0.02, sig[i], call[i] != 0);
    for (std::size_t k = 0; k < std::size(fields); ++k) {
      EXPECT_TRUE(batch_agrees(k, gb.at(k, i), g.*fields[k].member, S[i])) << fields[k].name << " row " << i;
    }
  }
  EXPECT_EQ(gb.at(1, 1), 1.0);  // delta of the expired ITM call: the step
  EXPECT_EQ(gb.at(2, 1), 0.0);  // gamma of the limit
  for (std::size_t i : {3u, 4u, 6u, 8u}) {
    for (std::size_t k = 0; k < std::size(fields); ++k) EXPECT_TRUE(std::isnan(gb.at(k, i))) << fields[k].name << i;
  }

  // implied vol: the prices of the good rows, and bad prices elsewhere
  std::vector<double> p{price[0], 10.0, price[2], 5.0, -1.0, price[5], 5.0, nan, 5.0, price[9]};
  std::vector<double> S2{100, 100, 95, 100, 100, 120, 100, 100, 100, 80};
  std::vector<double> K2{100, 90, 100, 100, 100, 100, 0, 90, 100, 100};
  std::vector<double> T2{0.5, 0.0, 1.0, 0.5, 0.5, 2.0, 0.5, 0.5, 0.5, 0.25};
  T2[3] = nan;
  std::vector<double> sigma(n, -1.0);
  std::vector<optaro::status> st(n, optaro::status::not_converged);
  ASSERT_EQ(optaro::implied_vol_batch({p, S2, K2, T2, r, q, call}, sigma, st), n);
  for (std::size_t i : good) {
    EXPECT_EQ(st[i], optaro::status::ok) << i;
    EXPECT_NEAR(sigma[i], sig[i], 1e-12 * sig[i]) << i;
    const optaro::iv_result res = optaro::bs_implied_vol(p[i], S2[i], K2[i], T2[i], 0.05, 0.02, call[i] != 0);
    EXPECT_TRUE(iv_agrees(sigma[i], res.sigma, {S2[i], K2[i], T2[i], 0.05, 0.02, sig[i], call[i] != 0}, p[i])) << i;
  }
  // T = 0, NaN T, negative price, K = 0, NaN price: invalid_input, NaN
  for (std::size_t i : {1u, 3u, 4u, 6u, 7u}) {
    EXPECT_EQ(st[i], optaro::status::invalid_input) << i << ": " << optaro::to_string(st[i]);
    EXPECT_TRUE(std::isnan(sigma[i])) << i;
  }
  // 5.0 for an ATM call (S = K = 100, T = 0.5, r = 5%, q = 2%) is attainable: a normal row among bad ones
  EXPECT_EQ(st[8], optaro::status::ok);
  EXPECT_TRUE(std::isfinite(sigma[8]) && sigma[8] > 0);
}

// ---- Black-76 is BSM with S = F and q = r --------------------------------------------------------------

TEST(Properties, Black76IsBsmOnTheForward) {
  rng g(20240607);
  for (int i = 0; i < 1500; ++i) {
    const option_row o = draw(g, 8.0);
    const double F = o.S;
    const optaro::greeks b = optaro::black76_greeks(F, o.K, o.T, o.r, o.sigma, o.call);
    const optaro::greeks s = optaro::bs_greeks(F, o.K, o.T, o.r, o.r, o.sigma, o.call);
    const double p76 = optaro::black76_price(F, o.K, o.T, o.r, o.sigma, o.call);
    const double pbs = optaro::bs_price(F, o.K, o.T, o.r, o.r, o.sigma, o.call);
    EXPECT_NEAR(p76, pbs, 4 * eps * pbs) << describe(o);
    for (const auto& f : fields) {
      if (f.name == "rho") continue;
      const double v = s.*f.member;
      EXPECT_NEAR(b.*f.member, v, 4 * eps * std::abs(v) + 1e-300) << f.name << ": " << describe(o);
    }
    // F held fixed, only the discount factor depends on r
    EXPECT_NEAR(b.rho, -o.T * b.price, 4 * eps * o.T * b.price + 1e-300) << describe(o);
    const double h = std::log(F / o.K) / (o.sigma * std::sqrt(o.T));
    const double sd = o.sigma * std::sqrt(o.T);
    if (std::abs(h) < 5 && p76 > 1e-200 && sd < 3) {  // not where the price rounds to its maximum
      const optaro::iv_result i76 = optaro::black76_implied_vol(p76, F, o.K, o.T, o.r, o.call);
      const optaro::iv_result ibs = optaro::bs_implied_vol(p76, F, o.K, o.T, o.r, o.r, o.call);
      EXPECT_EQ(i76.st, optaro::status::ok) << describe(o);
      EXPECT_EQ(i76.st, ibs.st) << describe(o);
      EXPECT_NEAR(i76.sigma, ibs.sigma, 4 * eps * ibs.sigma) << describe(o);
    }
  }
}

// ---- trader units --------------------------------------------------------------------------------

TEST(Properties, TraderUnitsScaleEachGreek) {
  const optaro::greeks raw = optaro::bs_greeks(100.0, 105.0, 0.75, 0.04, 0.01, 0.3, true);
  const optaro::greeks t = optaro::to_trader_units(raw);
  // vega, rho, vanna, zomma per vol or rate point; volga per point squared; theta, charm, color per
  // calendar day; veta per point and day; price, delta, gamma, speed unchanged
  const double expected[] = {raw.price,       raw.delta,       raw.gamma,         raw.vega / 100,  raw.theta / 365,
                             raw.rho / 100,   raw.vanna / 100, raw.volga / 10000, raw.charm / 365, raw.speed,
                             raw.zomma / 100, raw.color / 365, raw.veta / 36500};
  for (std::size_t k = 0; k < std::size(fields); ++k) {
    EXPECT_NEAR(t.*fields[k].member, expected[k], 4 * eps * std::abs(expected[k])) << fields[k].name;
  }
  EXPECT_EQ(t.price, raw.price);
  EXPECT_EQ(t.delta, raw.delta);
  EXPECT_EQ(t.gamma, raw.gamma);
  EXPECT_EQ(t.speed, raw.speed);
  // and a day of theta is close to the price change over a calendar day
  const double tomorrow = optaro::bs_price(100.0, 105.0, 0.75 - 1.0 / 365, 0.04, 0.01, 0.3, true);
  EXPECT_NEAR(tomorrow - raw.price, t.theta, 1e-3 * std::abs(t.theta));
  // a vol point of vega is close to the price change for +1 point of vol
  const double bumped = optaro::bs_price(100.0, 105.0, 0.75, 0.04, 0.01, 0.31, true);
  EXPECT_NEAR(bumped - raw.price, t.vega, 1e-2 * t.vega);
}

// ---- scalar edge cases ---------------------------------------------------------------------------

TEST(Properties, ScalarEdgeCases) {
  // T = 0 and sigma = 0: (discounted) intrinsic value
  EXPECT_EQ(optaro::bs_price(100.0, 90.0, 0.0, 0.05, 0.02, 0.2, true), 10.0);
  EXPECT_EQ(optaro::bs_price(100.0, 90.0, 0.0, 0.05, 0.02, 0.2, false), 0.0);
  EXPECT_NEAR(optaro::bs_price(100.0, 90.0, 1.0, 0.05, 0.02, 0.0, true), 100 * std::exp(-0.02) - 90 * std::exp(-0.05),
              1e-13);
  EXPECT_EQ(optaro::bs_price(100.0, 120.0, 1.0, 0.05, 0.02, 0.0, true), 0.0);
  // invalid inputs: NaN
  for (const auto& o : {option_row{-1, 100, 1, 0, 0, 0.2, true}, option_row{100, 0, 1, 0, 0, 0.2, true},
                        option_row{100, 100, -1, 0, 0, 0.2, true}, option_row{100, 100, 1, 0, 0, -0.2, true},
                        option_row{nan, 100, 1, 0, 0, 0.2, true}, option_row{100, 100, 1, nan, 0, 0.2, true},
                        option_row{100, 100, 1, 0, inf, 0.2, true}, option_row{100, 100, 1, 0, 0, nan, true}}) {
    EXPECT_TRUE(std::isnan(optaro::bs_price(o.S, o.K, o.T, o.r, o.q, o.sigma, o.call))) << describe(o);
    EXPECT_TRUE(std::isnan(optaro::bs_greeks(o.S, o.K, o.T, o.r, o.q, o.sigma, o.call).delta)) << describe(o);
  }
  // implied_vol is bs_implied_vol's sigma
  const optaro::iv_result res = optaro::bs_implied_vol(10.0, 100.0, 100.0, 1.0, 0.01, 0.0, true);
  EXPECT_EQ(res.st, optaro::status::ok);
  EXPECT_TRUE(same_bits(optaro::implied_vol(10.0, 100.0, 100.0, 1.0, 0.01, 0.0, true), res.sigma));
  EXPECT_EQ(optaro::to_string(optaro::status::zero_time_value), "zero_time_value");
  EXPECT_EQ(optaro::to_string(optaro::status::invalid_input), "invalid_input");
}

TEST(Properties, PriceIncreasesWithVolatility) {
  rng g(20240608);
  for (int i = 0; i < 2000; ++i) {
    const option_row o = draw(g, 6.0);
    const double a = optaro::bs_price(o.S, o.K, o.T, o.r, o.q, o.sigma, o.call);
    const double b = optaro::bs_price(o.S, o.K, o.T, o.r, o.q, o.sigma * 1.01, o.call);
    EXPECT_GE(b, a) << describe(o);
  }
}

// ---- length mismatch -------------------------------------------------------------------------------

// The message names the field as a word ("K: length 2, expected 3 or 1").
bool names_field(const std::string& message, std::string_view field) {
  for (std::size_t at = message.find(field); at != std::string::npos; at = message.find(field, at + 1)) {
    const auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; };
    const bool left = at == 0 || !word(message[at - 1]);
    const bool right = at + field.size() == message.size() || !word(message[at + field.size()]);
    if (left && right) return true;
  }
  return false;
}

template <class F>
void expect_invalid_argument_naming(F&& call, std::string_view field) {
  try {
    call();
    ADD_FAILURE() << "no std::invalid_argument for a length mismatch of " << field;
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(names_field(e.what(), field)) << "message '" << e.what() << "' does not name " << field;
  }
}

TEST(Properties, LengthMismatchNamesTheField) {
  const double three[] = {100.0, 100.0, 100.0}, two[] = {90.0, 110.0}, one[] = {0.5};
  const std::uint8_t c3[] = {1, 0, 1}, c2[] = {1, 0};
  std::vector<double> out3(3), out2(2);
  std::vector<optaro::status> st2(2);
  expect_invalid_argument_naming(
      [&] {
        (void)optaro::bs_price_batch({three, two, one, one, one, one, c3}, out3);
      },
      "K");
  expect_invalid_argument_naming(
      [&] {
        (void)optaro::bs_price_batch({three, three, one, one, one, two, c3}, out3);
      },
      "sigma");
  expect_invalid_argument_naming(
      [&] {
        (void)optaro::bs_price_batch({three, three, one, one, one, one, c2}, out3);
      },
      "is_call");
  expect_invalid_argument_naming(
      [&] {
        (void)optaro::bs_price_batch({three, three, one, one, one, one, c3}, out2);
      },
      "price");
  expect_invalid_argument_naming(
      [&] {
        (void)optaro::black76_price_batch({three, three, two, one, one, c3}, out3);
      },
      "T");
  expect_invalid_argument_naming(
      [&] {
        optaro::greeks_columns cols;
        cols.delta = out3;
        cols.vega = out2;
        (void)optaro::bs_greeks_batch({three, three, one, one, one, one, c3}, cols);
      },
      "vega");
  expect_invalid_argument_naming(
      [&] {
        (void)optaro::implied_vol_batch({three, three, three, one, one, two, c3}, out3);
      },
      "q");
  expect_invalid_argument_naming(
      [&] {
        (void)optaro::implied_vol_batch({three, three, three, one, one, one, c3}, out2);
      },
      "sigma");
  expect_invalid_argument_naming(
      [&] {
        (void)optaro::implied_vol_batch({two, two, two, one, one, one, c2}, out2,
                                        std::span<optaro::status>(st2.data(), 1));
      },
      "status");
  // lengths that are n or 1 everywhere are fine
  EXPECT_NO_THROW((void)optaro::bs_price_batch({three, three, one, one, one, one, c3}, out3));
}

// A deep in-the-money price from optaro's own pricer may land a few ulps under the intrinsic value
// computed in double; it must come back as zero_time_value (or ok), never as below_intrinsic.
TEST(Properties, OwnPricesNeverReadAsBelowIntrinsic) {
  std::mt19937_64 rng(77);
  std::uniform_real_distribution<double> u(0, 1);
  int checked = 0;
  for (int i = 0; i < 20000; ++i) {
    const bool call = u(rng) < 0.5;
    const double S = 100, K = call ? 50 * std::exp(-3 * u(rng)) : 200 * std::exp(3 * u(rng));
    const double T = std::exp(std::log(1 / 365.0) + u(rng) * std::log(730.0)), sigma = 0.05 + 0.5 * u(rng);
    const double r = 0.05 * u(rng), q = 0.03 * u(rng);
    const double price = optaro::bs_price(S, K, T, r, q, sigma, call);
    const optaro::iv_result res = optaro::bs_implied_vol(price, S, K, T, r, q, call);
    ASSERT_TRUE(res.st == optaro::status::ok || res.st == optaro::status::zero_time_value)
        << "S=" << S << " K=" << K << " T=" << T << " sigma=" << sigma << " call=" << call << " price=" << price
        << " status " << optaro::to_string(res.st);
    ++checked;
  }
  EXPECT_EQ(checked, 20000);
}

}  // namespace

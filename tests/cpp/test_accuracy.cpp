// Accuracy of the pricing core against high-precision truth (tests/data; how each file was made is in
// tests/data/README.md and tests/refgen/). The bars are the issue's, never loosened to fit the code:
//   price and Greeks   |got - ref| <= 1e-9 |ref| + 1e-12 * scale   (../shared/tools/score_pricing.py's
//                      rule; scale = S^k for a Greek homogeneous of degree k in (S, K))
//   implied vol        |got - iv_exact| / iv_exact <= 4 x attainable, attainable =
//                      eps [(1 + cond) tv_ratio + cond_x (1 + |x|)] (CONVENTIONS.md), zero failures
//   unattainable price NaN with the documented status
// A failing test prints the worst rows (inputs to 17 digits, got, expected, error / tolerance) so that
// a numerics engineer can reproduce them.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <limits>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include <optaro/optaro.hpp>

#include "black_detail.hpp"
#include "csv.hpp"
#include "simd/dispatch.hpp"

namespace {

using optaro_test::csv_table;
constexpr double eps = std::numeric_limits<double>::epsilon();
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

std::string g17(long double v) {
  std::ostringstream s;
  s << std::setprecision(17) << v;
  return s.str();
}

std::string g3(double v) {
  std::ostringstream s;
  s << std::setprecision(3) << v;
  return s.str();
}

// Collects the failures of one check and reports the worst of them.
class failure_log {
 public:
  explicit failure_log(std::string what) : what_(std::move(what)) {}
  void checked() noexcept { ++checked_; }
  void fail(double ratio, std::string text) {
    entries_.push_back({std::isnan(ratio) ? std::numeric_limits<double>::infinity() : ratio, std::move(text)});
  }
  [[nodiscard]] std::size_t failures() const noexcept { return entries_.size(); }
  [[nodiscard]] std::string report(std::size_t worst = 12) const {
    std::vector<entry> sorted = entries_;
    std::sort(sorted.begin(), sorted.end(), [](const entry& a, const entry& b) { return a.ratio > b.ratio; });
    std::ostringstream s;
    s << what_ << ": " << entries_.size() << " of " << checked_ << " outside the bar; worst "
      << std::min(worst, sorted.size()) << ":\n";
    for (std::size_t i = 0; i < sorted.size() && i < worst; ++i) {
      s << "  [error/tol " << g3(sorted[i].ratio) << "] " << sorted[i].text << "\n";
    }
    return s.str();
  }
  void expect_none() const { EXPECT_EQ(failures(), 0u) << report(); }

 private:
  struct entry {
    double ratio;
    std::string text;
  };
  std::string what_;
  std::size_t checked_ = 0;
  std::vector<entry> entries_;
};

// ---- price and Greeks ------------------------------------------------------------------------------

struct greek_field {
  std::string_view name;
  double optaro::greeks::*member;
  int scale_power;  // degree of homogeneity in (S, K): the absolute floor is 1e-12 * S^k
};

// The floor scales of score_pricing.py (price, vega, theta, rho, volga ~ S; delta, vanna ~ 1;
// gamma ~ 1/S), extended to the other five by the same dimensional rule: charm ~ 1, speed ~ 1/S^2,
// zomma ~ 1/S, color ~ 1/S, veta ~ S. A value's natural unit in the option's own scale, so the floor
// only matters where a Greek crosses zero; it does not excuse short-dated 1/T growth (the reference
// rows were restricted instead to those where 1e-9 is attainable, see tests/refgen/README.md).
constexpr greek_field greek_fields[] = {
    {"price", &optaro::greeks::price, 1},  {"delta", &optaro::greeks::delta, 0},  {"gamma", &optaro::greeks::gamma, -1},
    {"vega", &optaro::greeks::vega, 1},    {"theta", &optaro::greeks::theta, 1},  {"rho", &optaro::greeks::rho, 1},
    {"vanna", &optaro::greeks::vanna, 0},  {"volga", &optaro::greeks::volga, 1},  {"charm", &optaro::greeks::charm, 0},
    {"speed", &optaro::greeks::speed, -2}, {"zomma", &optaro::greeks::zomma, -1}, {"color", &optaro::greeks::color, -1},
    {"veta", &optaro::greeks::veta, 1}};

struct greeks_input {
  std::vector<double> S, K, T, r, q, sigma;
  std::vector<std::uint8_t> call;
  explicit greeks_input(const csv_table& t)
      : S(t.col("S")),
        K(t.col("K")),
        T(t.col("T")),
        r(t.col("r")),
        q(t.col("q")),
        sigma(t.col("sigma")),
        call(t.col_flag("is_call")) {}
  [[nodiscard]] std::string row(std::size_t i) const {
    return "S=" + g17(S[i]) + " K=" + g17(K[i]) + " T=" + g17(T[i]) + " r=" + g17(r[i]) + " q=" + g17(q[i]) +
           " sigma=" + g17(sigma[i]) + (call[i] ? " call" : " put");
  }
};

void check_greeks_file(const std::string& file) {
  const csv_table t = csv_table::read(file);
  ASSERT_GT(t.rows(), 0u);
  const greeks_input in(t);
  const std::size_t n = t.rows();

  // The batch kernel over the whole file, next to the scalar functions.
  std::vector<std::vector<double>> batch(std::size(greek_fields), std::vector<double>(n));
  optaro::greeks_columns cols;
  std::span<double> optaro::greeks_columns::*col_members[] = {
      &optaro::greeks_columns::price, &optaro::greeks_columns::delta, &optaro::greeks_columns::gamma,
      &optaro::greeks_columns::vega,  &optaro::greeks_columns::theta, &optaro::greeks_columns::rho,
      &optaro::greeks_columns::vanna, &optaro::greeks_columns::volga, &optaro::greeks_columns::charm,
      &optaro::greeks_columns::speed, &optaro::greeks_columns::zomma, &optaro::greeks_columns::color,
      &optaro::greeks_columns::veta};
  for (std::size_t k = 0; k < std::size(greek_fields); ++k) cols.*col_members[k] = batch[k];
  const optaro::bsm_batch bin{in.S, in.K, in.T, in.r, in.q, in.sigma, in.call};
  ASSERT_EQ(optaro::bs_greeks_batch(bin, cols), n);

  std::ostringstream summary;
  summary << file << " worst |error|/|ref| (scalar):";
  failure_log scalar_log(file + " via bs_price/bs_greeks");
  failure_log batch_log(file + " via bs_greeks_batch");
  std::size_t columns = 0;
  for (std::size_t k = 0; k < std::size(greek_fields); ++k) {
    const greek_field& f = greek_fields[k];
    if (!t.has(f.name)) continue;
    ++columns;
    const std::vector<double> ref = t.col(f.name);
    double worst_rel = 0;
    std::size_t fails = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double tol = 1e-9 * std::abs(ref[i]) + 1e-12 * std::pow(in.S[i], f.scale_power);
      const optaro::greeks g =
          optaro::bs_greeks(in.S[i], in.K[i], in.T[i], in.r[i], in.q[i], in.sigma[i], in.call[i] != 0);
      double got = g.*f.member;
      auto judge = [&](failure_log& log, double value, std::string_view how) {
        log.checked();
        const double err = std::abs(value - ref[i]);
        if (!(err <= tol)) {
          ++fails;
          log.fail(err / tol, std::string(f.name) + " (" + std::string(how) + "): " + in.row(i) +
                                  "  got=" + g17(value) + " ref=" + g17(ref[i]) + " rel=" + g3(err / std::abs(ref[i])));
        }
      };
      judge(scalar_log, got, "bs_greeks");
      if (f.name == "price") {
        got = optaro::bs_price(in.S[i], in.K[i], in.T[i], in.r[i], in.q[i], in.sigma[i], in.call[i] != 0);
        judge(scalar_log, got, "bs_price");
      }
      judge(batch_log, batch[k][i], "bs_greeks_batch");
      worst_rel = std::max(worst_rel, std::abs(got - ref[i]) / std::abs(ref[i]));
    }
    summary << " " << f.name << " " << g3(worst_rel);
    if (fails > 0) summary << " (" << fails << " fail)";
  }
  std::cout << "[ accuracy ] " << summary.str() << "\n";
  EXPECT_GE(columns, 8u);
  scalar_log.expect_none();
  batch_log.expect_none();
}

TEST(AccuracyGreeks, SharedReferenceBsm) { check_greeks_file("bsm_ref.csv"); }

TEST(AccuracyGreeks, WideReferenceBsmAllThirteen) { check_greeks_file("bsm_greeks_wide.csv"); }

// ---- implied volatility --------------------------------------------------------------------------

bool is_ok_with(const optaro::iv_result& res) { return res.st == optaro::status::ok && std::isfinite(res.sigma); }

// Degenerate prices (CONVENTIONS.md, score_pricing.py): at intrinsic 0.0 (zero_time_value) or NaN
// (below_intrinsic); at the maximum NaN (above_maximum) or +inf.
bool zero_tv_accepted(const optaro::iv_result& res) {
  return (res.sigma == 0.0 && res.st == optaro::status::zero_time_value) ||
         (std::isnan(res.sigma) && res.st == optaro::status::below_intrinsic);
}
bool at_max_accepted(const optaro::iv_result& res) {
  return (std::isnan(res.sigma) && res.st == optaro::status::above_maximum) ||
         (std::isinf(res.sigma) && res.sigma > 0 && res.st != optaro::status::invalid_input);
}
// Within the rounding of the intrinsic value or the maximum: any consistent answer.
bool edge_accepted(const optaro::iv_result& res) {
  return zero_tv_accepted(res) || at_max_accepted(res) || (is_ok_with(res) && res.sigma >= 0);
}

// An 'ok' row passes on its value, as in score_pricing.py; the status must agree with the value: ok,
// or zero_time_value with 0.0 (which can be within 4x attainable when the time value is an ulp or two
// of the price and attainable exceeds 25%).
bool status_fits(const optaro::iv_result& res) {
  return res.st == optaro::status::ok || (res.st == optaro::status::zero_time_value && res.sigma == 0.0);
}

std::string describe(const optaro::iv_result& res) {
  return "got=" + g17(res.sigma) + " status=" + std::string(optaro::to_string(res.st));
}

// An entry point's name and its result for one row.
struct named_iv {
  std::string how;
  optaro::iv_result res;
};

// implied_vol_batch on every instruction set this CPU has ("implied_vol_batch[avx512]", ...): the
// library's choice is one of them, and each must meet the bars on its own.
struct isa_batches {
  std::vector<std::string> how;
  std::vector<std::vector<optaro::iv_result>> results;  // [isa][row]
  isa_batches(const optaro::iv_batch& in, std::size_t n) {
    for (const auto which : {optaro::simd::isa::scalar, optaro::simd::isa::avx2, optaro::simd::isa::avx512}) {
      if (!optaro::simd::cpu_supports(which)) continue;
      std::vector<double> sigma(n);
      std::vector<optaro::status> st(n);
      EXPECT_EQ(optaro::simd::implied_vol_batch(which, in, sigma, st), n);
      how.push_back("implied_vol_batch[" + std::string(optaro::simd::name(which)) + "]");
      results.emplace_back();
      for (std::size_t i = 0; i < n; ++i) results.back().push_back({sigma[i], st[i]});
    }
  }
  // The scalar entry points' results for row i followed by every batch's.
  [[nodiscard]] std::vector<named_iv> with(std::vector<named_iv> scalar, std::size_t i) const {
    for (std::size_t b = 0; b < how.size(); ++b) scalar.push_back({how[b], results[b][i]});
    return scalar;
  }
};

// The Black-form files: F, K, T, price_double, iv_exact (exact IV of the rounded price), flags.
void check_black_iv_file(const std::string& file) {
  const csv_table t = csv_table::read(file);
  ASSERT_GT(t.rows(), 0u);
  const std::size_t n = t.rows();
  const auto F = t.col("F"), K = t.col("K"), T = t.col("T"), p = t.col("price_double"), q = t.col("q");
  const auto cond = t.col("cond"), tv_ratio = t.col("tv_ratio"), cond_x = t.col("cond_x");
  const auto iv = t.col_ld("iv_exact");
  const auto flag = t.col_str("flag");
  std::vector<std::uint8_t> call(n);
  for (std::size_t i = 0; i < n; ++i) call[i] = q[i] > 0 ? 1 : 0;

  // implied_vol_batch with r and q broadcast from length-1 spans
  const double zero[] = {0.0};
  const isa_batches batches({p, F, K, T, zero, zero, call}, n);

  failure_log log(file);
  std::size_t n_ok = 0, n_deg = 0, good_ok = 0, good_deg = 0;
  double worst = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const bool c = call[i] != 0;
    const std::vector<named_iv> results =
        batches.with({{"black76_implied_vol", optaro::black76_implied_vol(p[i], F[i], K[i], T[i], 0.0, c)},
                      {"bs_implied_vol", optaro::bs_implied_vol(p[i], F[i], K[i], T[i], 0.0, 0.0, c)}},
                     i);
    const std::string row = "F=" + g17(F[i]) + " K=" + g17(K[i]) + " T=" + g17(T[i]) + " price=" + g17(p[i]) +
                            (c ? " call" : " put") + " flag=" + flag[i];
    const double x = std::log(F[i] / K[i]);
    const double att = eps * ((1 + cond[i]) * tv_ratio[i] + cond_x[i] * (1 + std::abs(x)));
    if (flag[i] == "ok") ++n_ok;
    if (flag[i] == "zero_tv" || flag[i] == "at_max") ++n_deg;
    bool all_good = true;
    for (const auto& [how, res] : results) {
      log.checked();
      if (flag[i] == "ok") {
        const long double rel = std::abs(static_cast<long double>(res.sigma) - iv[i]) / iv[i];
        const double ratio = static_cast<double>(rel) / att;
        if (std::isfinite(ratio)) worst = std::max(worst, ratio);
        if (!(ratio <= 4.0 && status_fits(res))) {
          all_good = false;
          log.fail(ratio / 4.0, how + ": " + row + " iv_exact=" + g17(iv[i]) + " " + describe(res) +
                                    " rel=" + g3(static_cast<double>(rel)) + " attainable=" + g3(att) +
                                    " (cond=" + g3(cond[i]) + " tv_ratio=" + g3(tv_ratio[i]) +
                                    " cond_x=" + g3(cond_x[i]) + ") error/attainable=" + g3(ratio));
        }
      } else {
        const bool accepted = flag[i] == "zero_tv"  ? zero_tv_accepted(res)
                              : flag[i] == "at_max" ? at_max_accepted(res)
                                                    : edge_accepted(res);  // near_intrinsic
        if (!accepted) {
          all_good = false;
          log.fail(std::numeric_limits<double>::infinity(), how + ": " + row + " " + describe(res));
        }
      }
    }
    if (all_good && flag[i] == "ok") ++good_ok;
    if (all_good && (flag[i] == "zero_tv" || flag[i] == "at_max")) ++good_deg;
  }
  std::cout << "[ accuracy ] " << file << ": " << good_ok << "/" << n_ok << " within 4x attainable (worst " << g3(worst)
            << "x over every entry point); " << good_deg << "/" << n_deg << " degenerate prices give 0/NaN/inf\n";
  log.expect_none();
}

TEST(AccuracyImpliedVol, SharedBlackRandom) { check_black_iv_file("iv_black_rand.csv"); }
TEST(AccuracyImpliedVol, WideBlackRandom) { check_black_iv_file("iv_black_rand_wide.csv"); }
TEST(AccuracyImpliedVol, WideBlackGrid) { check_black_iv_file("iv_black_grid.csv"); }

// The BSM implied-vol sets: the inputs of a Greeks row (sigma is the generating volatility) plus a price.
struct bsm_iv_input : greeks_input {
  std::vector<double> price;
  explicit bsm_iv_input(const csv_table& t) : greeks_input(t), price(t.col("price")) {}
  [[nodiscard]] std::string row(std::size_t i) const { return "price=" + g17(price[i]) + " " + greeks_input::row(i); }
  [[nodiscard]] isa_batches batches() const { return {{price, S, K, T, r, q, call}, S.size()}; }
};

// iv_ref.csv: BSM with rates and yields; truth is the generating sigma, the tolerance is
// score_pricing.py's input-rounding one, 1e-12 sigma + 16 eps price / vega, on the rows where it is
// below 1e-3 sigma. score_pricing.py passes 99.9% of those; the issue asks for zero failures, and a
// perfect inversion of the double inputs is within 0.03x of the tolerance on every such row (checked
// with mpmath), so zero it is. NB: reducing with x = log(S/K) + (r-q)T and F - K in double costs up to
// ~90x the tolerance on short near-the-money rows; ln(S/K) = log1p((S-K)/K) near the money and the
// time value in normalised units keep within 0.45x.
TEST(AccuracyImpliedVol, SharedBsmWithRatesAndYields) {
  const csv_table t = csv_table::read("iv_ref.csv");
  const bsm_iv_input in(t);
  const auto vega = t.col("vega");
  const isa_batches batches = in.batches();
  failure_log log("iv_ref.csv");
  std::size_t n_well = 0, n_good = 0;
  for (std::size_t i = 0; i < t.rows(); ++i) {
    const double sig = in.sigma[i];
    const double tol = 1e-12 * sig + 16 * eps * in.price[i] / vega[i];
    if (!(tol < 1e-3 * sig)) continue;
    ++n_well;
    const std::vector<named_iv> results = batches.with(
        {{"bs_implied_vol",
          optaro::bs_implied_vol(in.price[i], in.S[i], in.K[i], in.T[i], in.r[i], in.q[i], in.call[i] != 0)},
         {"implied_vol",
          {optaro::implied_vol(in.price[i], in.S[i], in.K[i], in.T[i], in.r[i], in.q[i], in.call[i] != 0),
           optaro::status::ok}}},
        i);
    bool good = true;
    for (const auto& [how, res] : results) {
      log.checked();
      const double err = std::abs(res.sigma - sig);
      if (!(err <= tol && res.st == optaro::status::ok)) {
        good = false;
        log.fail(err / tol, how + ": " + in.row(i) + " " + describe(res) + " |err|=" + g3(err) +
                                " tol=" + g3(tol));
      }
    }
    n_good += good ? 1 : 0;
  }
  std::cout << "[ accuracy ] iv_ref.csv (BSM, r and q): " << n_good << "/" << n_well
            << " within input-rounding tolerance\n";
  EXPECT_GT(n_well, 1000u);
  log.expect_none();
}

// iv_bsm_wide.csv: BSM with rates and yields over the wide ranges; iv_exact is the exact IV of the
// rounded price and the bar is 4x attainable with x's rounding taken as eps (1 + |ln S/K| + |(r-q)T|)
// (x_err) and the price's as eps (1 + |rT| + |qT|) (p_err) -- see tests/refgen/README.md.
TEST(AccuracyImpliedVol, WideBsmWithRatesAndYields) {
  const csv_table t = csv_table::read("iv_bsm_wide.csv");
  const bsm_iv_input in(t);
  const auto iv = t.col_ld("iv_exact");
  const auto cond = t.col("cond"), tv_ratio = t.col("tv_ratio"), cond_x = t.col("cond_x");
  const auto x_err = t.col("x_err"), p_err = t.col("p_err");
  const auto flag = t.col_str("flag");
  const isa_batches batches = in.batches();
  failure_log log("iv_bsm_wide.csv");
  std::size_t n_ok = 0, n_good = 0;
  double worst = 0;
  for (std::size_t i = 0; i < t.rows(); ++i) {
    const std::vector<named_iv> results = batches.with(
        {{"bs_implied_vol",
          optaro::bs_implied_vol(in.price[i], in.S[i], in.K[i], in.T[i], in.r[i], in.q[i], in.call[i] != 0)}},
        i);
    const double att = eps * ((1 + cond[i] * p_err[i]) * tv_ratio[i] + cond_x[i] * x_err[i]);
    bool good = true;
    for (const auto& [how, res] : results) {
      log.checked();
      if (flag[i] == "ok") {
        const long double rel = std::abs(static_cast<long double>(res.sigma) - iv[i]) / iv[i];
        const double ratio = static_cast<double>(rel) / att;
        if (std::isfinite(ratio)) worst = std::max(worst, ratio);
        if (!(ratio <= 4.0 && status_fits(res))) {
          good = false;
          log.fail(ratio / 4.0, how + ": " + in.row(i) + " iv_exact=" + g17(iv[i]) + " " +
                                    describe(res) + " rel=" + g3(static_cast<double>(rel)) + " attainable=" + g3(att) +
                                    " error/attainable=" + g3(ratio));
        }
      } else if (!edge_accepted(res)) {
        good = false;
        log.fail(std::numeric_limits<double>::infinity(),
                 how + ": " + in.row(i) + " flag=" + flag[i] + " " + describe(res));
      }
    }
    if (flag[i] == "ok") {
      ++n_ok;
      n_good += good ? 1 : 0;
    }
  }
  std::cout << "[ accuracy ] iv_bsm_wide.csv: " << n_good << "/" << n_ok << " within 4x attainable (worst " << g3(worst)
            << "x)\n";
  log.expect_none();
}

// The chain analytics solve many normalised problems at once, interleaved (detail::solve_normalised):
// each result must equal the one-at-a-time solve, and the whole reduction bs_implied_vol, bit for bit,
// over the wide sets (every objective of the solver, prices at and beyond the bounds).
TEST(AccuracyImpliedVol, InterleavedSolvesEqualOneAtATime) {
  std::size_t n_problems = 0, n_rows = 0;
  double worst_vector = 0;
  for (const char* file : {"iv_bsm_wide.csv", "iv_ref.csv", "iv_status.csv", "iv_bad.csv"}) {
    const csv_table t = csv_table::read(file);
    const auto S = t.col("S"), K = t.col("K"), T = t.col("T"), r = t.col("r"), q = t.col("q"), p = t.col("price");
    const auto call = t.col_flag("is_call");
    std::vector<optaro::detail::normalised_problem> problems;
    std::vector<optaro::detail::bsm_horizon> horizon;
    std::vector<optaro::iv_result> reference;  // bs_implied_vol of each problem's row
    failure_log log(std::string(file) + " (interleaved solves)");
    for (std::size_t i = 0; i < t.rows(); ++i) {
      ++n_rows;
      const optaro::iv_result scalar = optaro::bs_implied_vol(p[i], S[i], K[i], T[i], r[i], q[i], call[i] != 0);
      if (!(std::isfinite(T[i]) && T[i] > 0 && std::isfinite(r[i]) && std::isfinite(q[i]))) continue;
      const optaro::detail::bsm_horizon h = optaro::detail::make_horizon(T[i], r[i], q[i]);
      const double x = optaro::detail::forward_log_moneyness(S[i], K[i], h);
      const optaro::detail::iv_reduction red =
          optaro::detail::reduce_bs_implied_vol(p[i], S[i], K[i], call[i] != 0, h, x);
      log.checked();
      const optaro::iv_result got =
          red.problem ? optaro::detail::from_normalised(optaro::detail::solve_normalised(*red.problem), h)
                      : red.decided;
      if (!(std::memcmp(&got.sigma, &scalar.sigma, sizeof(double)) == 0 && got.st == scalar.st)) {
        log.fail(std::numeric_limits<double>::infinity(),
                 "reduce + solve: row " + std::to_string(i) + " " + describe(got) + " vs " + describe(scalar));
      }
      if (red.problem) {
        problems.push_back(*red.problem);
        horizon.push_back(h);
        reference.push_back(scalar);
      }
    }
    std::vector<optaro::iv_result> together(problems.size());
    optaro::detail::solve_normalised_interleaved(problems, together);
    for (std::size_t j = 0; j < problems.size(); ++j) {
      log.checked();
      const optaro::iv_result alone = optaro::detail::solve_normalised(problems[j]);
      const optaro::iv_result got = optaro::detail::from_normalised(together[j], horizon[j]);
      if (!(std::memcmp(&together[j].sigma, &alone.sigma, sizeof(double)) == 0 && together[j].st == alone.st &&
            std::memcmp(&got.sigma, &reference[j].sigma, sizeof(double)) == 0 && got.st == reference[j].st)) {
        log.fail(std::numeric_limits<double>::infinity(), "problem " + std::to_string(j) + ": interleaved " +
                                                              describe(together[j]) + " alone " + describe(alone));
      }
    }
    // The vector solvers: the same status, and s within the solve's own rounding of the scalar one.
    for (const auto which : {optaro::simd::isa::avx2, optaro::simd::isa::avx512}) {
      if (!optaro::simd::cpu_supports(which)) continue;
      std::vector<optaro::iv_result> lanes(problems.size());
      optaro::simd::solve_normalised(which, problems, lanes);
      for (std::size_t j = 0; j < problems.size(); ++j) {
        log.checked();
        const double rel = std::abs(lanes[j].sigma - together[j].sigma) / together[j].sigma;
        if (lanes[j].st == optaro::status::ok) worst_vector = std::max(worst_vector, rel);
        if (!(lanes[j].st == together[j].st && (lanes[j].st != optaro::status::ok || rel <= 1e-12))) {
          log.fail(rel / 1e-12, std::string(optaro::simd::name(which)) + " problem " + std::to_string(j) + " beta=" +
                                    g17(problems[j].beta) + " x=" + g17(problems[j].x) + ": " + describe(lanes[j]) +
                                    " scalar " + describe(together[j]));
        }
      }
    }
    n_problems += problems.size();
    log.expect_none();
  }
  std::cout << "[ accuracy ] " << n_problems << " normalised problems of " << n_rows
            << " rows: interleaved == one at a time == bs_implied_vol; vector lanes within " << g3(worst_vector)
            << " relative\n";
  EXPECT_GT(n_problems, 1000u);
}

// ---- unattainable prices -------------------------------------------------------------------------

// iv_bad.csv (../shared/refs): prices no volatility attains -> NaN, whatever the entry point.
TEST(AccuracyImpliedVol, UnattainablePricesGiveNaN) {
  const csv_table t = csv_table::read("iv_bad.csv");
  const auto S = t.col("S"), K = t.col("K"), T = t.col("T"), r = t.col("r"), q = t.col("q"), p = t.col("price");
  const auto call = t.col_flag("is_call");
  const isa_batches batches({p, S, K, T, r, q, call}, t.rows());
  failure_log log("iv_bad.csv");
  std::size_t n_nan = 0;
  for (std::size_t i = 0; i < t.rows(); ++i) {
    const double a = optaro::implied_vol(p[i], S[i], K[i], T[i], r[i], q[i], call[i] != 0);
    const optaro::iv_result b = optaro::bs_implied_vol(p[i], S[i], K[i], T[i], r[i], q[i], call[i] != 0);
    log.checked();
    bool batches_nan = true;
    std::string batch_text;
    for (const auto& [how, res] : batches.with({}, i)) {
      batches_nan = batches_nan && std::isnan(res.sigma) && res.st == b.st;
      batch_text += " " + how + " " + describe(res);
    }
    if (!(std::isnan(a) && std::isnan(b.sigma) && b.st != optaro::status::ok && batches_nan)) {
      log.fail(std::numeric_limits<double>::infinity(),
               "price=" + g17(p[i]) + " S=" + g17(S[i]) + " K=" + g17(K[i]) + " T=" + g17(T[i]) + " r=" + g17(r[i]) +
                   " q=" + g17(q[i]) + (call[i] ? " call" : " put") + ": implied_vol=" + g17(a) + " bs_implied_vol " +
                   describe(b) + batch_text);
    } else {
      ++n_nan;
    }
  }
  std::cout << "[ accuracy ] iv_bad.csv: " << n_nan << "/" << t.rows() << " unattainable prices give NaN\n";
  log.expect_none();
}

// iv_status.csv: every kind of unattainable price (and prices exactly at intrinsic) with its status.
TEST(AccuracyImpliedVol, UnattainablePricesGiveTheirStatus) {
  const csv_table t = csv_table::read("iv_status.csv");
  const auto S = t.col("S"), K = t.col("K"), T = t.col("T"), r = t.col("r"), q = t.col("q"), p = t.col("price");
  const auto call = t.col_flag("is_call");
  const auto expected = t.col_str("status");
  const auto expected_sigma = t.col("sigma");
  const isa_batches batches({p, S, K, T, r, q, call}, t.rows());
  failure_log log("iv_status.csv");
  for (std::size_t i = 0; i < t.rows(); ++i) {
    for (const auto& [how, res] :
         batches.with({{"bs_implied_vol", optaro::bs_implied_vol(p[i], S[i], K[i], T[i], r[i], q[i], call[i] != 0)}}, i)) {
      log.checked();
      const bool sigma_ok = std::isnan(expected_sigma[i]) ? std::isnan(res.sigma) : res.sigma == expected_sigma[i];
      if (!(sigma_ok && optaro::to_string(res.st) == expected[i])) {
        log.fail(std::numeric_limits<double>::infinity(),
                 how + ": price=" + g17(p[i]) + " S=" + g17(S[i]) + " K=" + g17(K[i]) +
                     " T=" + g17(T[i]) + " r=" + g17(r[i]) + " q=" + g17(q[i]) + (call[i] ? " call" : " put") +
                     " expected status=" + expected[i] + " sigma=" + g17(expected_sigma[i]) + ", " + describe(res));
      }
    }
    // the convenience function: NaN, or 0.0 at intrinsic
    const double conv = optaro::implied_vol(p[i], S[i], K[i], T[i], r[i], q[i], call[i] != 0);
    log.checked();
    if (!(std::isnan(expected_sigma[i]) ? std::isnan(conv) : conv == expected_sigma[i])) {
      log.fail(std::numeric_limits<double>::infinity(), "implied_vol: price=" + g17(p[i]) + " S=" + g17(S[i]) +
                                                            " K=" + g17(K[i]) + " T=" + g17(T[i]) + " expected " +
                                                            g17(expected_sigma[i]) + " got " + g17(conv));
    }
  }
  log.expect_none();
}

// ---- the Black function --------------------------------------------------------------------------

// normalised_black itself is scored against its condition numbers in test_normalised_black.cpp.

// Black-76 prices (r = 0) out of and in the money against the exact prices of the Black-form IV sets:
// the relative error must stay within the conditioning of the price in x and s (x = log(F/K) itself is
// rounded by ~eps (1 + |x|)), not the 1e-9 of a textbook formula far out of the money.
void check_black_prices(const std::string& file, double& worst_ratio, failure_log& log) {
  const csv_table t = csv_table::read(file);
  const auto F = t.col("F"), K = t.col("K"), T = t.col("T"), sig = t.col("sigma_gen"), q = t.col("q");
  const auto p = t.col("price_double");
  const auto flag = t.col_str("flag");
  for (std::size_t i = 0; i < t.rows(); ++i) {
    if (flag[i] != "ok") continue;
    const bool c = q[i] > 0;
    const double got = optaro::black76_price(F[i], K[i], T[i], 0.0, sig[i], c);
    const double x = std::log(F[i] / K[i]), s = sig[i] * std::sqrt(T[i]);
    const double h = x / s, half_s = s / 2, th = c ? 1.0 : -1.0;
    // d ln p / dx with F fixed (K = F e^{-x}): -1/2 + (db/dx)/b, db/dx = th (e^{x/2} N(th d1) + e^{-x/2} N(th d2)) / 2
    const double Nd1 = 0.5 * std::erfc(-th * (h + half_s) / std::sqrt(2.0));
    const double Nd2 = 0.5 * std::erfc(-th * (h - half_s) / std::sqrt(2.0));
    const double b = p[i] / std::sqrt(F[i] * K[i]);
    const double dlnp_dx = std::abs(-0.5 + 0.5 * th * (std::exp(x / 2) * Nd1 + std::exp(-x / 2) * Nd2) / b);
    const double tol = eps * (32 + 4 * (h * h + half_s * half_s) + 2 * (1 + std::abs(x)) * dlnp_dx);
    const double rel = std::abs(got - p[i]) / p[i];
    log.checked();
    worst_ratio = std::max(worst_ratio, std::isnan(rel) ? std::numeric_limits<double>::infinity() : rel / tol);
    if (!(rel <= tol)) {
      log.fail(rel / tol, file + ": F=" + g17(F[i]) + " K=" + g17(K[i]) + " T=" + g17(T[i]) + " sigma=" + g17(sig[i]) +
                              (c ? " call" : " put") + " got=" + g17(got) + " ref=" + g17(p[i]) + " rel=" + g3(rel) +
                              " tol=" + g3(tol));
    }
  }
}

TEST(AccuracyBlack, Black76PricesWithinTheirConditioning) {
  failure_log log("black76_price on the Black-form IV sets");
  double worst = 0;
  for (const char* file : {"iv_black_rand.csv", "iv_black_rand_wide.csv", "iv_black_grid.csv"}) {
    check_black_prices(file, worst, log);
  }
  std::cout << "[ accuracy ] black76_price: worst error/tolerance " << g3(worst) << "\n";
  log.expect_none();
}

}  // namespace

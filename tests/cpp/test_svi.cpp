// The SVI smile (src/svi.cpp): recovery of known smiles from noisy and exact quotes, a stress set of
// shapes on which no fit may degenerate, Durrleman's g against an independent evaluation and against
// Gatheral-Jacquier's arbitrageable example, warm starts, and argument checks.
//
// Noise comes from std::mt19937_64 with fixed seeds, turned into doubles from its bits (its output
// sequence is fixed by the standard; the distributions are not).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <numbers>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <optaro/svi.hpp>

namespace {

using optaro::svi_params;

// ---- quotes ---------------------------------------------------------------------------------------

double unit_draw(std::mt19937_64& gen) { return static_cast<double>(gen() >> 11) * 0x1.0p-53; }

// Standard normal (Box-Muller). Its last bits depend on the libm; the tests' tolerances do not.
double normal_draw(std::mt19937_64& gen) {
  const double u1 = 1 - unit_draw(gen);  // (0, 1]
  const double u2 = unit_draw(gen);
  return std::sqrt(-2 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2);
}

// Independent of the library: the raw SVI formula as Gatheral writes it.
double total_variance(const svi_params& p, double k) {
  return p.a + p.b * (p.rho * (k - p.m) + std::sqrt((k - p.m) * (k - p.m) + p.sigma * p.sigma));
}

struct smile_case {
  const char* name;
  svi_params truth;
  double T;  // years
  double k_lo, k_hi;
};

// Arbitrage-free (checked in SviButterfly.CleanSmilesHaveNone), Lee-bounded, with plausible vols:
// ATM about 19%, 23%, 27%, 24%; wings up to 33%, 38%, 60%, 38%.
const smile_case short_expiry{"short expiry (1 week)", {0.0003, 0.012, -0.35, 0.005, 0.03}, 7.0 / 365, -0.10, 0.06};
const smile_case long_expiry{"long expiry (2 years)", {0.05, 0.12, -0.45, 0.15, 0.35}, 2.0, -1.2, 0.6};
const smile_case steep_skew{"steep skew", {0.005, 0.08, -0.9, 0.05, 0.1}, 0.25, -0.5, 0.2};
const smile_case symmetric{"symmetric", {0.01, 0.1, 0.0, 0.0, 0.2}, 0.5, -0.6, 0.6};
const smile_case recovery_cases[] = {short_expiry, long_expiry, steep_skew, symmetric};

struct quotes {
  std::vector<double> k, w, weight, iv;
};

// n strikes evenly spaced in k over [k_lo, k_hi], implied vols of the true smile plus noise_vol times a
// standard normal; weights 1/iv^2, inverse to the variance of the noise that this puts on w = iv^2 T
// (about 2 iv T noise_vol), as a user fitting quotes with equal noise in vol would weight them.
quotes make_quotes(const smile_case& c, int n, double noise_vol, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  quotes q;
  for (int i = 0; i < n; ++i) {
    const double k = c.k_lo + (c.k_hi - c.k_lo) * i / (n - 1);
    const double iv = std::sqrt(total_variance(c.truth, k) / c.T) + noise_vol * normal_draw(gen);
    q.k.push_back(k);
    q.iv.push_back(iv);
    q.w.push_back(iv * iv * c.T);
    q.weight.push_back(1 / (iv * iv));
  }
  return q;
}

double fitted_vol(const svi_params& p, double k, double T) { return std::sqrt(optaro::svi_total_variance(p, k) / T); }

// RMS over 201 evenly spaced k of the quoted range of fitted minus true implied vol, in vol points.
double rms_vol_error_points(const svi_params& fit, const smile_case& c) {
  double sum = 0;
  constexpr int n = 201;
  for (int i = 0; i < n; ++i) {
    const double k = c.k_lo + (c.k_hi - c.k_lo) * i / (n - 1);
    const double e = fitted_vol(fit, k, c.T) - std::sqrt(total_variance(c.truth, k) / c.T);
    sum += e * e;
  }
  return 100 * std::sqrt(sum / n);
}

// The domain fit_svi promises (svi.hpp).
void expect_in_domain(const svi_params& p, const std::string& where) {
  SCOPED_TRACE(where);
  EXPECT_TRUE(std::isfinite(p.a) && std::isfinite(p.b) && std::isfinite(p.rho) && std::isfinite(p.m) &&
              std::isfinite(p.sigma));
  EXPECT_GE(p.b, 0);
  EXPECT_LT(std::fabs(p.rho), 1);
  EXPECT_GT(p.sigma, 0);
  EXPECT_LE(p.b * (1 + std::fabs(p.rho)), 2 * (1 + 1e-12));
  EXPECT_GE(p.a + p.b * p.sigma * std::sqrt(1 - p.rho * p.rho), -1e-15);
}

// ---- recovery -------------------------------------------------------------------------------------

TEST(SviRecovery, NoisyQuotesWithinATenthOfAVolPointOfTheTrueSmile) {
  // 0.2 vol-point noise on 81 quotes (a liquid expiry lists about as many); ten noise draws per smile.
  // A least-squares fit of 5 parameters to n quotes with noise s is off by about s sqrt(5 / n) RMS:
  // 0.05 vol points here.
  for (const smile_case& c : recovery_cases) {
    double worst = 0, total = 0;
    constexpr int draws = 10;
    for (std::uint64_t seed = 1; seed <= draws; ++seed) {
      const quotes q = make_quotes(c, 81, 0.002, seed);
      const optaro::svi_fit_result r = optaro::fit_svi(q.k, q.w, q.weight);
      const std::string where = std::string(c.name) + ", seed " + std::to_string(seed);
      expect_in_domain(r.params, where);
      EXPECT_TRUE(r.converged) << where;
      const double rms = rms_vol_error_points(r.params, c);
      EXPECT_LT(rms, 0.1) << where;
      worst = std::max(worst, rms);
      total += rms;
    }
    std::printf("svi recovery, %-22s RMS vs true smile: mean %.3f, worst %.3f vol points (10 draws)\n", c.name,
                total / draws, worst);
  }
}

TEST(SviRecovery, UnweightedNoisyQuotesStayClose) {
  // Equal weights (the default) over-weight the high-variance wings, but must not break the fit.
  for (const smile_case& c : recovery_cases) {
    const quotes q = make_quotes(c, 41, 0.002, 99);
    const optaro::svi_fit_result r = optaro::fit_svi(q.k, q.w);
    expect_in_domain(r.params, c.name);
    EXPECT_LT(rms_vol_error_points(r.params, c), 0.15) << c.name;
  }
}

TEST(SviRecovery, ExactQuotesGiveTheParameters) {
  for (const smile_case& c : recovery_cases) {
    const quotes q = make_quotes(c, 41, 0.0, 1);
    const optaro::svi_fit_result r = optaro::fit_svi(q.k, q.w);
    const svi_params& p = r.params;
    const svi_params& t = c.truth;
    SCOPED_TRACE(c.name);
    EXPECT_TRUE(r.converged);
    // a and b sigma in units of the ATM total variance; rho; m and sigma in units of the quoted width.
    const double w_atm = total_variance(t, 0), width = c.k_hi - c.k_lo;
    EXPECT_NEAR(p.a / w_atm, t.a / w_atm, 1e-8);
    EXPECT_NEAR(p.b * p.sigma / w_atm, t.b * t.sigma / w_atm, 1e-8);
    EXPECT_NEAR(p.rho, t.rho, 1e-8);
    EXPECT_NEAR(p.m / width, t.m / width, 1e-8);
    EXPECT_NEAR(p.sigma / width, t.sigma / width, 1e-8);
    EXPECT_LT(r.rmse, 1e-12 * w_atm);
    std::printf("svi exact recovery, %-22s |d rho| %.1e, |d m| %.1e, |d sigma| %.1e, rmse/w_atm %.1e, %d iterations\n",
                c.name, std::fabs(p.rho - t.rho), std::fabs(p.m - t.m), std::fabs(p.sigma - t.sigma), r.rmse / w_atm,
                r.iterations);
  }
}

// ---- stress: no degenerate fit --------------------------------------------------------------------

struct stress_case {
  std::string name;
  double T;
  std::vector<double> k, iv;
  std::vector<double> true_iv;  // empty when the quotes come from no smile at all
};

stress_case from_smile(std::string name, const smile_case& c, double k_lo, double k_hi, int n, double noise_vol,
                       std::uint64_t seed) {
  smile_case shifted = c;
  shifted.k_lo = k_lo;
  shifted.k_hi = k_hi;
  const quotes q = make_quotes(shifted, n, noise_vol, seed);
  stress_case s{std::move(name), c.T, q.k, q.iv, {}};
  for (const double k : q.k) s.true_iv.push_back(std::sqrt(total_variance(c.truth, k) / c.T));
  return s;
}

std::vector<stress_case> stress_set() {
  std::vector<stress_case> set;
  {  // a flat smile, 20% everywhere, with noise: SVI's b -> 0 limit
    std::mt19937_64 gen(11);
    stress_case s{"very flat", 0.1, {}, {}, {}};
    for (int i = 0; i < 30; ++i) {
      s.k.push_back(-0.2 + 0.4 * i / 29);
      s.iv.push_back(0.20 + 0.002 * normal_draw(gen));
      s.true_iv.push_back(0.20);
    }
    set.push_back(s);
  }
  // Left wing at 1.78 of Lee's bound of 2, a vertex narrower than a tenth of the range.
  const smile_case very_steep{"very steep", {0.01, 0.9, -0.98, 0.1, 0.05}, 1.0, -0.5, 0.3};
  set.push_back(from_smile("very steep", very_steep, -0.5, 0.3, 40, 0.002, 12));
  set.push_back(from_smile("five points", symmetric, -0.5, 0.5, 5, 0.002, 13));
  set.push_back(from_smile("five points, steep", steep_skew, -0.4, 0.15, 5, 0.002, 14));
  set.push_back(from_smile("wide k range", long_expiry, -3.0, 2.0, 60, 0.002, 15));
  set.push_back(from_smile("puts only", steep_skew, -0.5, -0.02, 25, 0.002, 16));
  set.push_back(from_smile("calls only", short_expiry, 0.0, 0.06, 15, 0.002, 17));
  set.push_back(from_smile("heavy noise (1 vol point)", symmetric, -0.6, 0.6, 30, 0.01, 18));
  set.push_back(from_smile("one day to expiry", {"", {2e-6, 0.002, -0.3, 0.0, 0.004}, 1.0 / 365, 0, 0}, -0.03, 0.02, 30,
                           0.002, 19));
  {  // three bad prints: +10, -5 and +8 vol points
    stress_case s = from_smile("outliers", long_expiry, -1.2, 0.6, 40, 0.002, 20);
    s.iv[5] += 0.10;
    s.iv[20] -= 0.05;
    s.iv[33] += 0.08;
    s.true_iv.clear();
    set.push_back(s);
  }
  {  // not SVI: a quadratic smile in vol (the chain benchmark's), and a smile with an event bump at the money
    stress_case quadratic{"quadratic in vol", 15.0 / 365, {}, {}, {}};
    stress_case bump{"event bump", 10.0 / 365, {}, {}, {}};
    std::mt19937_64 gen(21);
    for (int i = 0; i < 50; ++i) {
      const double k = -0.15 + 0.25 * i / 49;
      quadratic.k.push_back(k);
      quadratic.iv.push_back(0.12 - 0.10 * k + 0.50 * k * k + 0.002 * normal_draw(gen));
      bump.k.push_back(k);
      bump.iv.push_back(0.25 + 0.2 * k * k + 0.08 * std::exp(-k * k / (2 * 0.02 * 0.02)) + 0.002 * normal_draw(gen));
    }
    set.push_back(quadratic);
    set.push_back(bump);
  }
  return set;
}

TEST(SviStress, NoDegenerateFit) {
  for (const stress_case& s : stress_set()) {
    std::vector<double> w, weight;
    for (const double iv : s.iv) {
      w.push_back(iv * iv * s.T);
      weight.push_back(1 / (iv * iv));
    }
    const optaro::svi_fit_result r = optaro::fit_svi(s.k, w, weight);
    expect_in_domain(r.params, s.name);
    EXPECT_TRUE(std::isfinite(r.rmse)) << s.name;
    // Sane: over the quoted range and at the money, the fitted vol stays within [1/2, 2] of the quoted
    // extremes, and the vertex is no narrower than half the strike spacing.
    const auto [lo_iv, hi_iv] = std::minmax_element(s.iv.begin(), s.iv.end());
    const auto [k_lo, k_hi] = std::minmax_element(s.k.begin(), s.k.end());
    double fit_lo = std::numeric_limits<double>::infinity(), fit_hi = 0;
    for (int i = 0; i <= 400; ++i) {
      const double v = fitted_vol(r.params, *k_lo + (*k_hi - *k_lo) * i / 400, s.T);
      fit_lo = std::min(fit_lo, v);
      fit_hi = std::max(fit_hi, v);
    }
    const double atm = fitted_vol(r.params, 0, s.T);
    EXPECT_GE(fit_lo, 0.5 * *lo_iv) << s.name;
    EXPECT_LE(fit_hi, 2 * *hi_iv) << s.name;
    EXPECT_GE(atm, 0.5 * *lo_iv) << s.name;
    EXPECT_LE(atm, 2 * *hi_iv) << s.name;
    const double spacing = (*k_hi - *k_lo) / static_cast<double>(s.k.size() - 1);
    EXPECT_GE(r.params.sigma, 0.5 * spacing * (1 - 1e-12)) << s.name;
    double rms_true = std::numeric_limits<double>::quiet_NaN();
    if (!s.true_iv.empty()) {
      double sum = 0;
      for (std::size_t i = 0; i < s.k.size(); ++i) {
        const double e = fitted_vol(r.params, s.k[i], s.T) - s.true_iv[i];
        sum += e * e;
      }
      rms_true = 100 * std::sqrt(sum / static_cast<double>(s.k.size()));
    }
    std::printf(
        "svi stress, %-26s quotes %5.1f%%..%5.1f%%, fit %5.1f%%..%5.1f%%, ATM %5.1f%%, rmse ~%.2f vol pts, "
        "vs truth %.2f, %d iterations%s\n",
        s.name.c_str(), 100 * *lo_iv, 100 * *hi_iv, 100 * fit_lo, 100 * fit_hi, 100 * atm,
        100 * r.rmse / (s.T * 2 * 0.5 * (*lo_iv + *hi_iv)), rms_true, r.iterations,
        r.converged ? "" : " (not converged)");
  }
}

// ---- Durrleman's g --------------------------------------------------------------------------------

// g from its definition with w' and w'' by central differences of w: shares no code with the library.
double g_by_differences(const svi_params& p, double k) {
  constexpr double h = 1e-4;
  const double w = total_variance(p, k), up = total_variance(p, k + h), down = total_variance(p, k - h);
  const double w1 = (up - down) / (2 * h), w2 = (up - 2 * w + down) / (h * h);
  return (1 - k * w1 / (2 * w)) * (1 - k * w1 / (2 * w)) - w1 * w1 / 4 * (1 / w + 0.25) + w2 / 2;
}

// Gatheral and Jacquier, "Arbitrage-free SVI volatility surfaces" (2014), example 3.1: a fit to SPX
// quotes that admits butterfly arbitrage.
const svi_params gatheral_jacquier{-0.0410, 0.1331, 0.3060, 0.3586, 0.4153};
// The ends of the region where its g < 0: roots of g by bisection with mpmath at 50 digits, g from its
// definition with w', w'' by mpmath.diff, parameters as the decimals above.
constexpr double gj_negative_from = 0.6424078778693806977, gj_negative_to = 1.256912991932127383;

TEST(SviButterfly, DurrlemanGMatchesItsDefinition) {
  for (const svi_params& p : {gatheral_jacquier, short_expiry.truth, long_expiry.truth, steep_skew.truth}) {
    for (int i = 0; i <= 60; ++i) {
      const double k = -1.5 + 0.05 * i;
      EXPECT_NEAR(optaro::svi_durrleman_g(p, k), g_by_differences(p, k), 2e-5) << "k = " << k;
    }
  }
  // mpmath at 50 digits from the definition: g(1) and g(0.9) for Gatheral-Jacquier's parameters.
  EXPECT_NEAR(optaro::svi_durrleman_g(gatheral_jacquier, 1.0), -0.02774169590462628772, 1e-15);
  EXPECT_NEAR(optaro::svi_durrleman_g(gatheral_jacquier, 0.9), -0.03268513070902289986, 1e-15);
  // No valid smile where w <= 0.
  EXPECT_EQ(optaro::svi_durrleman_g({-1, 0.1, 0, 0, 0.1}, 0), -std::numeric_limits<double>::infinity());
}

TEST(SviButterfly, GatheralJacquierExampleHasViolations) {
  std::vector<double> grid;
  for (int i = 0; i <= 4000; ++i) grid.push_back(-1.5 + 0.001 * i);
  const std::vector<double> bad = optaro::svi_butterfly_violations(gatheral_jacquier, grid);
  ASSERT_FALSE(bad.empty());
  // Exactly the grid points inside the region (no grid point is within 1e-6 of its ends).
  std::vector<double> expected;
  for (const double k : grid) {
    if (k > gj_negative_from && k < gj_negative_to) expected.push_back(k);
  }
  EXPECT_EQ(bad, expected);
  // And the finite-difference g agrees on the sign at every violation.
  for (const double k : bad) EXPECT_LT(g_by_differences(gatheral_jacquier, k), 0) << k;
  std::printf("svi butterfly, Gatheral-Jacquier 3.1: g < 0 at %zu of %zu grid points, k in [%.3f, %.3f]\n", bad.size(),
              grid.size(), bad.front(), bad.back());
}

TEST(SviButterfly, ViolationsAreWhereTheScalarGIsNegative) {
  // The scan evaluates g in blocks (vectorised); it must flag exactly the k where svi_durrleman_g < 0,
  // including where w <= 0 (no valid smile: -infinity). 1,000 random k in [-3, 3], unsorted.
  std::mt19937_64 gen(51);
  std::vector<double> grid;
  for (int i = 0; i < 1000; ++i) grid.push_back(-3 + 6 * unit_draw(gen));
  const svi_params negative_variance{-0.05, 0.1, 0.2, 0.0, 0.1};
  for (const svi_params& p : {gatheral_jacquier, steep_skew.truth, negative_variance}) {
    std::vector<double> expected;
    for (const double k : grid) {
      if (optaro::svi_durrleman_g(p, k) < 0) expected.push_back(k);
    }
    EXPECT_EQ(optaro::svi_butterfly_violations(p, grid), expected);
  }
  EXPECT_FALSE(optaro::svi_butterfly_violations(negative_variance, grid).empty());
  EXPECT_TRUE(optaro::svi_butterfly_violations(gatheral_jacquier, {}).empty());
}

TEST(SviButterfly, CleanSmilesHaveNone) {
  std::vector<double> grid;
  for (int i = 0; i <= 6000; ++i) grid.push_back(-3 + 0.001 * i);
  for (const smile_case& c : recovery_cases) {
    EXPECT_TRUE(optaro::svi_butterfly_violations(c.truth, grid).empty()) << c.name;
    const quotes q = make_quotes(c, 41, 0.002, 5);
    const svi_params fit = optaro::fit_svi(q.k, q.w, q.weight).params;
    EXPECT_TRUE(optaro::svi_butterfly_violations(fit, grid).empty()) << c.name << " (fitted)";
  }
}

// ---- warm start -----------------------------------------------------------------------------------

TEST(SviWarmStart, FewerIterationsSameOptimum) {
  for (const smile_case& c : recovery_cases) {
    SCOPED_TRACE(c.name);
    const quotes before = make_quotes(c, 41, 0.002, 31);
    const svi_params previous = optaro::fit_svi(before.k, before.w, before.weight).params;
    // A moment later: the level up 1%, the skew a little steeper, fresh noise.
    smile_case moved = c;
    moved.truth.a *= 1.01;
    moved.truth.rho -= 0.01;
    const quotes after = make_quotes(moved, 41, 0.002, 32);
    const optaro::svi_fit_result cold = optaro::fit_svi(after.k, after.w, after.weight);
    const optaro::svi_fit_result warm = optaro::fit_svi(after.k, after.w, after.weight, &previous);
    EXPECT_TRUE(warm.converged);
    EXPECT_LT(warm.iterations, cold.iterations);
    EXPECT_NEAR(warm.rmse, cold.rmse, 1e-9 * cold.rmse);
    EXPECT_LT(rms_vol_error_points(warm.params, moved), 0.1);
    const double width = c.k_hi - c.k_lo;
    EXPECT_NEAR(warm.params.m / width, cold.params.m / width, 1e-5);
    EXPECT_NEAR(warm.params.sigma / width, cold.params.sigma / width, 1e-5);
    EXPECT_NEAR(warm.params.rho, cold.params.rho, 1e-5);
    std::printf("svi warm start, %-22s iterations cold %d, warm %d\n", c.name, cold.iterations, warm.iterations);
  }
}

TEST(SviWarmStart, AStaleStartStillFits) {
  // previous from another expiry altogether: the fit may take longer but must end as good as a cold one.
  for (const smile_case& c : recovery_cases) {
    const quotes q = make_quotes(c, 81, 0.002, 33);
    const optaro::svi_fit_result cold = optaro::fit_svi(q.k, q.w, q.weight);
    for (const smile_case& other : recovery_cases) {
      const optaro::svi_fit_result warm = optaro::fit_svi(q.k, q.w, q.weight, &other.truth);
      const std::string where = std::string(c.name) + " from " + other.name;
      expect_in_domain(warm.params, where);
      EXPECT_LT(rms_vol_error_points(warm.params, c), 0.1) << where;
      EXPECT_LT(warm.rmse, cold.rmse * (1 + 1e-6)) << where;
    }
  }
}

// ---- arguments ------------------------------------------------------------------------------------

template <class F>
void expect_invalid(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one mentioning '" << needle << "'";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(SviArguments, BadInputThrowsNamingTheArgument) {
  const std::vector<double> k{-0.2, -0.1, 0, 0.1, 0.2}, w{0.02, 0.012, 0.01, 0.011, 0.015};
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  auto with = [](std::vector<double> v, std::size_t i, double x) {
    v[i] = x;
    return v;
  };
  expect_invalid([&] { (void)optaro::fit_svi(k, std::vector<double>(4, 0.01)); }, "w: length 4, expected 5");
  expect_invalid(
      [&] { (void)optaro::fit_svi(std::vector<double>(k.begin(), k.end() - 1), std::vector<double>(4, 0.01)); },
      "k: 4 points, at least 5");
  expect_invalid([&] { (void)optaro::fit_svi(with(k, 2, nan), w); }, "k[2]: not finite");
  expect_invalid([&] { (void)optaro::fit_svi(with(k, 1, inf), w); }, "k[1]: not finite");
  expect_invalid([&] { (void)optaro::fit_svi(k, with(w, 3, -0.01)); }, "w[3]: negative");
  expect_invalid([&] { (void)optaro::fit_svi(k, with(w, 0, nan)); }, "w[0]: not finite");
  expect_invalid([&] { (void)optaro::fit_svi(k, w, std::vector<double>(3, 1.0)); }, "weights: length 3");
  expect_invalid([&] { (void)optaro::fit_svi(k, w, with(std::vector<double>(5, 1.0), 4, -1)); },
                 "weights[4]: negative");
  expect_invalid([&] { (void)optaro::fit_svi(k, w, with(std::vector<double>(5, 1.0), 1, nan)); },
                 "weights[1]: not finite");
  expect_invalid([&] { (void)optaro::fit_svi(k, w, std::vector<double>(5, 0.0)); }, "weights: all zero");
  expect_invalid([&] { (void)optaro::fit_svi(k, w, with(std::vector<double>(5, 1.0), 0, 0)); },
                 "k: 4 distinct values with positive weight");
  expect_invalid([&] { (void)optaro::fit_svi(with(k, 1, 0.0), w); }, "k: 4 distinct values");
  const svi_params bad_sigma{0.01, 0.1, 0, 0, -0.1}, bad_rho{0.01, 0.1, 1.0, 0, 0.1}, bad_b{0.01, -0.1, 0, 0, 0.1},
      bad_a{nan, 0.1, 0, 0, 0.1};
  expect_invalid([&] { (void)optaro::fit_svi(k, w, {}, &bad_sigma); }, "previous.sigma: must be > 0");
  expect_invalid([&] { (void)optaro::fit_svi(k, w, {}, &bad_rho); }, "previous.rho");
  expect_invalid([&] { (void)optaro::fit_svi(k, w, {}, &bad_b); }, "previous.b: negative");
  expect_invalid([&] { (void)optaro::fit_svi(k, w, {}, &bad_a); }, "previous.a: not finite");
  expect_invalid([&] { (void)optaro::svi_butterfly_violations(bad_sigma, k); }, "p.sigma");
  expect_invalid([&] { (void)optaro::svi_butterfly_violations(symmetric.truth, with(k, 2, nan)); }, "k[2]: not finite");
  // Every message starts with the function's name.
  expect_invalid([&] { (void)optaro::fit_svi(k, with(w, 3, -0.01)); }, "fit_svi: ");
  expect_invalid([&] { (void)optaro::svi_butterfly_violations(bad_sigma, k); }, "svi_butterfly_violations: ");
}

TEST(SviArguments, ZeroWeightPointsAreIgnored) {
  quotes q = make_quotes(symmetric, 21, 0.002, 41);
  const optaro::svi_fit_result clean = optaro::fit_svi(q.k, q.w, q.weight);
  // A garbage quote with weight 0 changes nothing.
  q.k.push_back(0.05);
  q.w.push_back(10.0);
  q.weight.push_back(0.0);
  const optaro::svi_fit_result masked = optaro::fit_svi(q.k, q.w, q.weight);
  EXPECT_EQ(masked.params.a, clean.params.a);
  EXPECT_EQ(masked.params.sigma, clean.params.sigma);
  EXPECT_EQ(masked.rmse, clean.rmse);
}

TEST(SviArguments, OrderOfQuotesDoesNotMatter) {
  const quotes q = make_quotes(steep_skew, 30, 0.002, 42);
  quotes shuffled;
  std::mt19937_64 gen(43);
  std::vector<std::size_t> order(q.k.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (std::size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[gen() % (i + 1)]);
  for (const std::size_t i : order) {
    shuffled.k.push_back(q.k[i]);
    shuffled.w.push_back(q.w[i]);
    shuffled.weight.push_back(q.weight[i]);
  }
  const optaro::svi_fit_result a = optaro::fit_svi(q.k, q.w, q.weight);
  const optaro::svi_fit_result b = optaro::fit_svi(shuffled.k, shuffled.w, shuffled.weight);
  EXPECT_EQ(a.params.a, b.params.a);
  EXPECT_EQ(a.params.b, b.params.b);
  EXPECT_EQ(a.params.rho, b.params.rho);
  EXPECT_EQ(a.params.m, b.params.m);
  EXPECT_EQ(a.params.sigma, b.params.sigma);
}

TEST(SviArguments, ZeroVarianceIsAFlatSmile) {
  const std::vector<double> k{-0.2, -0.1, 0, 0.1, 0.2}, w(5, 0.0);
  const optaro::svi_fit_result r = optaro::fit_svi(k, w);
  expect_in_domain(r.params, "zero variance");
  for (const double x : k) EXPECT_NEAR(optaro::svi_total_variance(r.params, x), 0, 1e-15);
}

}  // namespace

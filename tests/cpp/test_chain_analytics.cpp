// Chain analytics (src/chain_analytics.cpp): every value enrich_chain computes is checked against an
// independent computation in this file (plain loops, O(n^2) definitions, root finding on a known
// smile). Random inputs come from std::mt19937_64 with fixed seeds, reduced with % only (its output
// sequence is fixed by the standard; the distributions are not).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <optaro/chain.hpp>
#include <optaro/codec.hpp>
#include <optaro/implied_vol.hpp>
#include <optaro/market.hpp>
#include <optaro/pricing.hpp>

namespace {

using namespace std::chrono_literals;
using optaro::chain_analytics;
using optaro::chain_config;
using optaro::option_chain;
using optaro::quote_analytics;
using optaro::quote_iv_status;

constexpr double seconds_per_year = 31'536'000.0;

optaro::timestamp_ns at(std::chrono::year_month_day d, std::chrono::seconds time_of_day) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             (std::chrono::sys_days(d) + time_of_day).time_since_epoch())
      .count();
}

void add_quote(optaro::chain_side& side, double strike, double bid, double ask, double last, std::int64_t volume,
               std::int64_t oi) {
  side.push_back(strike, bid, ask, last, volume, oi);
}

// ---- the synthetic chain: mids from a known smile ------------------------------------------------

constexpr double spot = 100, rate = 0.05, yield = 0.02;
constexpr std::chrono::year_month_day synthetic_expiry{std::chrono::year{2025}, std::chrono::month{7},
                                                       std::chrono::day{15}};
const optaro::timestamp_ns synthetic_now = at(std::chrono::year{2025} / 1 / 15, 10h + 30min);

double smile(double k) { return 0.15 - 0.1 * k + 0.3 * k * k; }

struct synthetic {
  option_chain chain;
  double T = 0, F = 0;
};

// 81 strikes 60, 61, ..., 140 on both sides; calls ascending, puts descending (unsorted input);
// bid = ask = the model price at sigma(ln(K/F)); OI and volume pseudo-random.
synthetic make_synthetic() {
  synthetic s;
  s.T = ((181 * 86400.0) - 1800.0) / seconds_per_year;  // 2025-01-15T10:30Z to 2025-07-15T10:00Z
  s.F = spot * std::exp((rate - yield) * s.T);
  option_chain& c = s.chain;
  c.product = "SYN";
  c.expiry = synthetic_expiry;
  c.chain_id = "syn-1";
  c.timestamp = synthetic_now;
  c.underlying_price = spot;
  c.rate = rate;
  c.dividend_yield = yield;
  std::mt19937_64 gen(20250115);
  for (int i = 0; i <= 80; ++i) {
    const double K = 60.0 + i;
    const double p = optaro::bs_price(spot, K, s.T, rate, yield, smile(std::log(K / s.F)), true);
    add_quote(c.calls, K, p, p, 0, static_cast<std::int64_t>(gen() % 5000), static_cast<std::int64_t>(gen() % 20000));
  }
  for (int i = 80; i >= 0; --i) {
    const double K = 60.0 + i;
    const double p = optaro::bs_price(spot, K, s.T, rate, yield, smile(std::log(K / s.F)), false);
    add_quote(c.puts, K, p, p, 0, static_cast<std::int64_t>(gen() % 5000), static_cast<std::int64_t>(gen() % 20000));
  }
  return s;
}

void expect_greeks_at_own_iv(const quote_analytics& a, double S, double K, double T, double r, double q, bool call) {
  const optaro::greeks g = optaro::to_trader_units(optaro::bs_greeks(S, K, T, r, q, a.iv, call));
  EXPECT_EQ(a.delta, g.delta) << K;
  EXPECT_EQ(a.gamma, g.gamma) << K;
  EXPECT_EQ(a.vega, g.vega) << K;
  EXPECT_EQ(a.theta, g.theta) << K;
  EXPECT_EQ(a.rho, g.rho) << K;
}

TEST(ChainAnalytics, SyntheticChainRecoversEachQuotesVolAndGreeks) {
  const synthetic s = make_synthetic();
  const chain_analytics a = optaro::enrich_chain(s.chain, chain_config{});
  EXPECT_DOUBLE_EQ(a.time_to_expiry, s.T);
  EXPECT_EQ(a.rate, rate);
  EXPECT_EQ(a.dividend_yield, yield);
  EXPECT_DOUBLE_EQ(a.forward, s.F);
  ASSERT_EQ(a.calls.size(), 81U);
  ASSERT_EQ(a.puts.size(), 81U);
  double worst = 0;
  for (int side = 0; side < 2; ++side) {
    const bool call = side == 0;
    const auto& quotes = call ? a.calls : a.puts;
    const auto& in = call ? s.chain.calls : s.chain.puts;
    for (std::size_t i = 0; i < quotes.size(); ++i) {
      const double K = in.strike[i];
      const double truth = smile(std::log(K / s.F));
      EXPECT_EQ(quotes[i].status, quote_iv_status::ok) << K;
      EXPECT_EQ(quotes[i].price, in.bid[i]);
      EXPECT_NEAR(quotes[i].iv, truth, 1e-10) << (call ? "call " : "put ") << K;
      worst = std::max(worst, std::abs(quotes[i].iv - truth));
      expect_greeks_at_own_iv(quotes[i], spot, K, s.T, rate, yield, call);
      // And close to the Greeks at the true vol (vega times the vol error at most).
      const optaro::greeks g = optaro::to_trader_units(optaro::bs_greeks(spot, K, s.T, rate, yield, truth, call));
      EXPECT_NEAR(quotes[i].delta, g.delta, 1e-8);
    }
  }
  std::printf("[ measured ] synthetic chain: worst |iv - sigma(k)| = %.3g\n", worst);
}

TEST(ChainAnalytics, SyntheticChainAggregatesMatchPlainLoops) {
  const synthetic s = make_synthetic();
  chain_config cfg;
  cfg.pcr_window = 5;
  const chain_analytics a = optaro::enrich_chain(s.chain, cfg);
  const auto& C = s.chain.calls;
  const auto& P = s.chain.puts;

  std::int64_t coi = 0, poi = 0, cvol = 0, pvol = 0;
  for (std::size_t i = 0; i < C.size(); ++i) {
    coi += C.open_interest[i];
    cvol += C.volume[i];
  }
  for (std::size_t i = 0; i < P.size(); ++i) {
    poi += P.open_interest[i];
    pvol += P.volume[i];
  }
  EXPECT_EQ(a.total_call_oi, coi);
  EXPECT_EQ(a.total_put_oi, poi);
  EXPECT_EQ(a.total_call_volume, cvol);
  EXPECT_EQ(a.total_put_volume, pvol);
  ASSERT_TRUE(a.pcr_oi && a.pcr_volume);
  EXPECT_DOUBLE_EQ(*a.pcr_oi, static_cast<double>(poi) / static_cast<double>(coi));
  EXPECT_DOUBLE_EQ(*a.pcr_volume, static_cast<double>(pvol) / static_cast<double>(cvol));

  // Strikes 60..140; ATM = nearest to F, lower on ties.
  ASSERT_EQ(a.strikes.size(), 81U);
  for (std::size_t j = 0; j < 81; ++j) EXPECT_EQ(a.strikes[j], 60.0 + static_cast<double>(j));
  double atm = a.strikes[0];
  for (const double k : a.strikes)
    if (std::abs(k - s.F) < std::abs(atm - s.F)) atm = k;
  ASSERT_TRUE(a.atm_strike);
  EXPECT_EQ(*a.atm_strike, atm);

  // OI and volume by strike, found by searching each side.
  const auto on_side = [](const optaro::chain_side& side, double K, bool oi) {
    std::int64_t sum = 0;
    for (std::size_t i = 0; i < side.size(); ++i)
      if (side.strike[i] == K) sum += oi ? side.open_interest[i] : side.volume[i];
    return sum;
  };
  std::int64_t wc = 0, wp = 0, wcv = 0, wpv = 0;
  for (const double k : a.strikes) {
    if (std::abs(k - atm) <= 5.0) {
      wc += on_side(C, k, true);
      wp += on_side(P, k, true);
      wcv += on_side(C, k, false);
      wpv += on_side(P, k, false);
    }
  }
  ASSERT_TRUE(a.pcr_oi_window && a.pcr_volume_window);
  EXPECT_DOUBLE_EQ(*a.pcr_oi_window, static_cast<double>(wp) / static_cast<double>(wc));
  EXPECT_DOUBLE_EQ(*a.pcr_volume_window, static_cast<double>(wpv) / static_cast<double>(wcv));

  ASSERT_EQ(a.pcr_oi_by_strike.size(), 81U);
  for (std::size_t j = 0; j < 81; ++j) {
    const std::int64_t c = on_side(C, a.strikes[j], true), p = on_side(P, a.strikes[j], true);
    if (c == 0) {
      EXPECT_FALSE(a.pcr_oi_by_strike[j]);
    } else {
      ASSERT_TRUE(a.pcr_oi_by_strike[j]);
      EXPECT_DOUBLE_EQ(*a.pcr_oi_by_strike[j], static_cast<double>(p) / static_cast<double>(c));
    }
  }
  EXPECT_TRUE(a.call_oi_change.empty());
  EXPECT_TRUE(a.put_oi_change.empty());

  // Max pain by the O(n^2) definition (integer strikes and OI: exact in long double).
  std::optional<double> best;
  long double best_pain = 0;
  for (const double s_ : a.strikes) {
    long double pain = 0;
    for (std::size_t i = 0; i < C.size(); ++i)
      pain += static_cast<long double>(C.open_interest[i]) * std::max(0.0L, static_cast<long double>(s_ - C.strike[i]));
    for (std::size_t i = 0; i < P.size(); ++i)
      pain += static_cast<long double>(P.open_interest[i]) * std::max(0.0L, static_cast<long double>(P.strike[i] - s_));
    if (!best || pain < best_pain) {
      best = s_;
      best_pain = pain;
    }
  }
  EXPECT_EQ(a.max_pain, best);

  // Highest-OI strikes, ties to the lower.
  std::optional<double> mc, mp;
  std::int64_t mco = 0, mpo = 0;
  for (const double k : a.strikes) {
    if (on_side(C, k, true) > mco) {
      mco = on_side(C, k, true);
      mc = k;
    }
    if (on_side(P, k, true) > mpo) {
      mpo = on_side(P, k, true);
      mp = k;
    }
  }
  EXPECT_EQ(a.max_call_oi_strike, mc);
  EXPECT_EQ(a.max_put_oi_strike, mp);
}

// sigma at the spot delta `target` on the exact smile: bisection in k over [lo, hi] on
// delta(k) = bs delta at sigma(k) (monotone on these intervals).
double true_vol_at_delta(const synthetic& s, double target, bool call, double lo, double hi) {
  const auto delta = [&](double k) {
    return optaro::bs_greeks(spot, s.F * std::exp(k), s.T, rate, yield, smile(k), call).delta;
  };
  // Deltas decrease with k on both sides.
  for (int it = 0; it < 200; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (delta(mid) > target) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return smile(0.5 * (lo + hi));
}

struct chord {
  double value;  // linear interpolation in delta of the exact sigma at the two bracketing strikes
  double bound;  // the largest deviation of that chord from the exact sigma(delta) between them
};

// The bracketing pair of listed strikes (exact deltas), the chord value at the target and the
// chord's maximum deviation from the exact smile between the two strikes (sampled densely).
chord chord_at_delta(const synthetic& s, double target, bool call) {
  const auto delta = [&](double K) {
    return optaro::bs_greeks(spot, K, s.T, rate, yield, smile(std::log(K / s.F)), call).delta;
  };
  for (int i = 0; i < 80; ++i) {
    const double K0 = 60.0 + i, K1 = K0 + 1;
    const double d0 = delta(K0), d1 = delta(K1);
    if (d0 >= target && target >= d1) {
      const double v0 = smile(std::log(K0 / s.F)), v1 = smile(std::log(K1 / s.F));
      const auto line = [&](double d) { return v0 + (d - d0) / (d1 - d0) * (v1 - v0); };
      double bound = 0;
      for (int j = 0; j <= 1000; ++j) {
        const double K = K0 + j / 1000.0;
        bound = std::max(bound, std::abs(smile(std::log(K / s.F)) - line(delta(K))));
      }
      return {line(target), bound};
    }
  }
  ADD_FAILURE() << "no bracket";
  return {0, 0};
}

TEST(ChainAnalytics, SmileMeasuresOnTheSyntheticSmile) {
  const synthetic s = make_synthetic();
  const chain_analytics a = optaro::enrich_chain(s.chain, chain_config{});
  ASSERT_TRUE(a.atm_iv && a.risk_reversal_25d && a.butterfly_25d && a.expected_move);

  // ATM: the OTM put below F and the OTM call above F, interpolated in ln(K/F).
  const double K_lo = std::floor(s.F), K_hi = std::ceil(s.F);
  const double k_lo = std::log(K_lo / s.F), k_hi = std::log(K_hi / s.F);
  const double atm_chord = smile(k_lo) + (0 - k_lo) / (k_hi - k_lo) * (smile(k_hi) - smile(k_lo));
  EXPECT_NEAR(*a.atm_iv, atm_chord, 1e-10);
  // For the quadratic smile the chord exceeds sigma(0) by exactly 0.3 * (-k_lo) * k_hi.
  const double atm_bound = 0.3 * (-k_lo) * k_hi;
  EXPECT_NEAR(*a.atm_iv, smile(0), atm_bound + 1e-10);
  EXPECT_DOUBLE_EQ(*a.expected_move, s.F * *a.atm_iv * std::sqrt(s.T));

  // 25-delta: (1) the implementation's interpolation reproduced from exact values (differences come
  // only from the IV recovery, <= 1e-10 per quote); (2) against the root of the delta equation on
  // the exact smile, within the chord's largest deviation from the smile between the two strikes.
  const chord c = chord_at_delta(s, 0.25, true);
  const chord p = chord_at_delta(s, -0.25, false);
  EXPECT_NEAR(*a.risk_reversal_25d, c.value - p.value, 1e-9);
  EXPECT_NEAR(*a.butterfly_25d, 0.5 * (c.value + p.value) - atm_chord, 1e-9);

  const double sc = true_vol_at_delta(s, 0.25, true, 0.0, std::log(140 / s.F));
  const double sp = true_vol_at_delta(s, -0.25, false, std::log(60 / s.F), 0.0);
  const double rr = sc - sp, bf = 0.5 * (sc + sp) - smile(0);
  const double rr_tol = c.bound + p.bound + 1e-9;
  const double bf_tol = 0.5 * (c.bound + p.bound) + atm_bound + 1e-9;
  EXPECT_NEAR(*a.risk_reversal_25d, rr, rr_tol);
  EXPECT_NEAR(*a.butterfly_25d, bf, bf_tol);
  std::printf(
      "[ measured ] atm_iv %.12f (sigma(0) 0.15, chord bound %.2e); RR %.10f vs exact %.10f (err %.2e, tol %.2e); "
      "BF %.10f vs exact %.10f (err %.2e, tol %.2e)\n",
      *a.atm_iv, atm_bound, *a.risk_reversal_25d, rr, std::abs(*a.risk_reversal_25d - rr), rr_tol, *a.butterfly_25d, bf,
      std::abs(*a.butterfly_25d - bf), bf_tol);
}

// ---- max pain: O(n log n) against the O(n^2) definition ------------------------------------------

// Strikes are half-integers x/2 (exact); the reference works in integers (2*strike) with exact
// int64 sums: OI < 2^20, |x| < 2^20, n <= 2*10^4 keeps every sum below 2^62.
std::optional<double> max_pain_reference(const std::vector<std::int64_t>& cx, const std::vector<std::int64_t>& coi,
                                         const std::vector<std::int64_t>& px, const std::vector<std::int64_t>& poi) {
  std::vector<std::int64_t> u(cx);
  u.insert(u.end(), px.begin(), px.end());
  std::sort(u.begin(), u.end());
  u.erase(std::unique(u.begin(), u.end()), u.end());
  std::optional<std::int64_t> best;
  std::int64_t best_pain = 0;
  for (const std::int64_t s : u) {
    std::int64_t pain = 0;
    for (std::size_t i = 0; i < cx.size(); ++i) pain += coi[i] * std::max<std::int64_t>(0, s - cx[i]);
    for (std::size_t i = 0; i < px.size(); ++i) pain += poi[i] * std::max<std::int64_t>(0, px[i] - s);
    if (!best || pain < best_pain) {
      best = s;
      best_pain = pain;
    }
  }
  if (!best) return std::nullopt;
  return static_cast<double>(*best) / 2;
}

TEST(ChainAnalytics, MaxPainMatchesTheQuadraticDefinitionOnRandomChains) {
  std::mt19937_64 gen(31337);
  const auto below = [&](std::uint64_t n) { return static_cast<std::int64_t>(gen() % n); };
  int checked = 0, ties = 0;
  std::size_t largest = 0;
  for (int trial = 0; trial < 4000; ++trial) {
    std::size_t nc = 0, np = 0;
    if (trial < 3) {
      nc = np = 6000;  // about 10,400 distinct strikes in the union (range 40,000 half-points)
    } else if (trial < 30) {
      nc = static_cast<std::size_t>(below(2000));
      np = static_cast<std::size_t>(below(2000));
    } else {
      nc = static_cast<std::size_t>(below(25));
      np = static_cast<std::size_t>(below(25));
    }
    // A small strike range forces duplicates within and across sides.
    const std::int64_t range = trial < 3 ? 40000 : 1 + below(3 * (nc + np) / 2 + 2);
    const std::int64_t offset = below(400000);
    const int oi_kind = static_cast<int>(gen() % 4);  // 0: all zero; 1: tiny (many ties); 2, 3: wide
    std::vector<std::int64_t> cx(nc), coi(nc), px(np), poi(np);
    const auto draw_oi = [&] {
      if (oi_kind == 0) return std::int64_t{0};
      if (gen() % 4 == 0) return std::int64_t{0};
      return oi_kind == 1 ? below(3) : below(1 << 20);
    };
    for (std::size_t i = 0; i < nc; ++i) {
      cx[i] = offset + below(static_cast<std::uint64_t>(range));
      coi[i] = draw_oi();
    }
    for (std::size_t i = 0; i < np; ++i) {
      px[i] = offset + below(static_cast<std::uint64_t>(range));
      poi[i] = draw_oi();
    }
    std::vector<double> cs(nc), co(nc), ps(np), po(np);
    for (std::size_t i = 0; i < nc; ++i) {
      cs[i] = static_cast<double>(cx[i]) / 2;
      co[i] = static_cast<double>(coi[i]);
    }
    for (std::size_t i = 0; i < np; ++i) {
      ps[i] = static_cast<double>(px[i]) / 2;
      po[i] = static_cast<double>(poi[i]);
    }
    const std::optional<double> expected = max_pain_reference(cx, coi, px, poi);
    const std::optional<double> got = optaro::max_pain(cs, co, ps, po);
    ASSERT_EQ(got, expected) << "trial " << trial << " nc " << nc << " np " << np;
    std::vector<double> u(cs);
    u.insert(u.end(), ps.begin(), ps.end());
    std::sort(u.begin(), u.end());
    largest = std::max(largest, static_cast<std::size_t>(std::unique(u.begin(), u.end()) - u.begin()));
    ++checked;
    if (oi_kind <= 1) ++ties;
  }
  std::printf(
      "[ measured ] max pain: %d random chains (%d with zero or tiny OI, largest union %zu strikes) identical to "
      "the O(n^2) definition\n",
      checked, ties, largest);
}

TEST(ChainAnalytics, MaxPainEdgeCases) {
  EXPECT_FALSE(optaro::max_pain({}, {}, {}, {}));
  const std::vector<double> k{100, 110, 120}, zero{0, 0, 0};
  EXPECT_EQ(optaro::max_pain(k, zero, k, zero), 100.0);  // all tie: the lowest
  // One side only: calls only -> the lowest strike pays nothing.
  const std::vector<double> oi{5, 1, 7};
  EXPECT_EQ(optaro::max_pain(k, oi, {}, {}), 100.0);
  EXPECT_EQ(optaro::max_pain({}, {}, k, oi), 120.0);
  // Exact tie between two non-adjacent strikes: calls 1 at 100, puts 1 at 120 -> 100..120 all pay 20.
  const std::vector<double> one{1}, k100{100}, k120{120};
  EXPECT_EQ(optaro::max_pain(k100, one, k120, one), 100.0);
  const std::vector<double> unsorted{120, 100, 110}, uoi{7, 5, 1};
  EXPECT_EQ(optaro::max_pain(unsorted, uoi, {}, {}), optaro::max_pain(k, oi, {}, {}));
  const std::vector<double> two{1, 2};
  EXPECT_THROW((void)optaro::max_pain(k, two, {}, {}), std::invalid_argument);
  const std::vector<double> negative{1, -2, 3};
  EXPECT_THROW((void)optaro::max_pain(k, negative, {}, {}), std::invalid_argument);
}

// ---- small functions -----------------------------------------------------------------------------

TEST(ChainAnalytics, QuoteStatusNames) {
  EXPECT_EQ(optaro::to_string(quote_iv_status::ok), "ok");
  EXPECT_EQ(optaro::to_string(quote_iv_status::zero_time_value), "zero_time_value");
  EXPECT_EQ(optaro::to_string(quote_iv_status::no_price), "no_price");
  EXPECT_EQ(optaro::to_string(quote_iv_status::below_intrinsic), "below_intrinsic");
  EXPECT_EQ(optaro::to_string(quote_iv_status::above_maximum), "above_maximum");
  EXPECT_EQ(optaro::to_string(quote_iv_status::expired), "expired");
  EXPECT_EQ(optaro::to_string(quote_iv_status::not_converged), "not_converged");
}

TEST(ChainAnalytics, PcrEdgeCases) {
  EXPECT_FALSE(optaro::pcr({}, {}));
  const std::vector<double> zeros{0, 0}, puts{3, 4}, calls{1, 2, 4};
  EXPECT_FALSE(optaro::pcr(zeros, puts));
  EXPECT_FALSE(optaro::pcr({}, puts));
  EXPECT_EQ(optaro::pcr(calls, puts), 1.0);
  EXPECT_EQ(optaro::pcr(calls, {}), 0.0);
  EXPECT_EQ(optaro::pcr(calls, zeros), 0.0);
}

TEST(ChainAnalytics, TimeToExpiry) {
  const std::chrono::year_month_day expiry = std::chrono::year{2025} / 1 / 30;
  const optaro::timestamp_ns now = at(std::chrono::year{2025} / 1 / 15, 10h + 30min);
  EXPECT_DOUBLE_EQ(optaro::time_to_expiry(expiry, 10h, now), (15 * 86400.0 - 1800.0) / 31536000.0);
  // After expiry: negative; fractions of a second count.
  EXPECT_DOUBLE_EQ(optaro::time_to_expiry(expiry, 10h, at(expiry, 11h)), -3600.0 / 31536000.0);
  EXPECT_DOUBLE_EQ(optaro::time_to_expiry(expiry, 10h, at(expiry, 10h) - 500'000'000), 0.5 / 31536000.0);
  EXPECT_EQ(optaro::time_to_expiry(expiry, 10h, at(expiry, 10h)), 0.0);
  // A different time of day: 15:30 UTC.
  EXPECT_DOUBLE_EQ(optaro::time_to_expiry(expiry, 15h + 30min, now), (15 * 86400.0 + 5 * 3600.0) / 31536000.0);
}

// ---- enrich_chain edge cases ---------------------------------------------------------------------

TEST(ChainAnalytics, ExpiredChainMarksEveryQuote) {
  synthetic s = make_synthetic();
  s.chain.timestamp = at(synthetic_expiry, 10h + 1min);
  const chain_analytics a = optaro::enrich_chain(s.chain, chain_config{});
  EXPECT_DOUBLE_EQ(a.time_to_expiry, -60.0 / seconds_per_year);
  for (const auto* side : {&a.calls, &a.puts}) {
    for (const quote_analytics& q : *side) {
      EXPECT_EQ(q.status, quote_iv_status::expired);
      EXPECT_TRUE(std::isnan(q.iv));
      EXPECT_TRUE(std::isnan(q.delta) && std::isnan(q.gamma) && std::isnan(q.vega) && std::isnan(q.theta) &&
                  std::isnan(q.rho));
      EXPECT_FALSE(std::isnan(q.price));
    }
  }
  // Exactly at expiry is expired too.
  s.chain.timestamp = at(synthetic_expiry, 10h);
  const chain_analytics b = optaro::enrich_chain(s.chain, chain_config{});
  EXPECT_EQ(b.calls[0].status, quote_iv_status::expired);
  EXPECT_FALSE(a.atm_iv || a.risk_reversal_25d || a.butterfly_25d || a.expected_move);
  EXPECT_EQ(a.gamma_exposure, 0.0);
  EXPECT_EQ(a.delta_exposure, 0.0);
  // Positioning does not need IVs.
  EXPECT_TRUE(a.max_pain && a.atm_strike && a.pcr_oi);
}

TEST(ChainAnalytics, EmptyChainGivesNulls) {
  option_chain c;
  c.expiry = std::chrono::year{2025} / 2 / 27;
  c.timestamp = at(std::chrono::year{2025} / 1 / 15, 4h);
  c.underlying_price = 21500;
  chain_config cfg;
  cfg.rate = 0.065;
  const chain_analytics a = optaro::enrich_chain(c, cfg);
  EXPECT_EQ(a.rate, 0.065);
  EXPECT_DOUBLE_EQ(a.forward, 21500 * std::exp(0.065 * a.time_to_expiry));
  EXPECT_FALSE(a.pcr_oi || a.pcr_volume || a.pcr_oi_window || a.pcr_volume_window);
  EXPECT_FALSE(a.max_pain || a.atm_strike || a.atm_iv || a.risk_reversal_25d || a.butterfly_25d || a.expected_move);
  EXPECT_FALSE(a.max_call_oi_strike || a.max_put_oi_strike);
  EXPECT_EQ(a.total_call_oi + a.total_put_oi + a.total_call_volume + a.total_put_volume, 0);
  EXPECT_TRUE(a.calls.empty() && a.puts.empty() && a.strikes.empty() && a.pcr_oi_by_strike.empty());
  EXPECT_EQ(a.gamma_exposure, 0.0);
  EXPECT_EQ(a.delta_exposure, 0.0);
  const chain_analytics b = optaro::enrich_chain(c, cfg, &c);
  EXPECT_TRUE(b.call_oi_change.empty() && b.put_oi_change.empty());
}

TEST(ChainAnalytics, PriceUsedAndStatuses) {
  option_chain c;
  c.expiry = std::chrono::year{2025} / 2 / 27;
  c.timestamp = at(std::chrono::year{2025} / 1 / 15, 4h);
  c.underlying_price = 100;
  const double T = optaro::time_to_expiry(c.expiry, 10h, c.timestamp);
  const double good = optaro::bs_price(100, 100, T, 0, 0, 0.2, true);
  add_quote(c.calls, 100, good - 0.1, good + 0.1, 99, 0, 0);  // mid
  add_quote(c.calls, 101, 0, 0, 0, 0, 0);                     // nothing: no_price
  add_quote(c.calls, 102, 0, 5, 0, 0, 0);                     // bid 0, no last: no_price
  add_quote(c.calls, 103, 3, 2, good, 0, 0);                  // crossed: last
  add_quote(c.calls, 80, 10, 10, 0, 0, 0);                    // below intrinsic 20
  add_quote(c.calls, 90, 150, 150, 0, 0, 0);                  // above S
  add_quote(c.calls, 70, 30, 30, 0, 0, 0);                    // at intrinsic: zero_time_value
  const chain_analytics a = optaro::enrich_chain(c, chain_config{});
  EXPECT_DOUBLE_EQ(a.calls[0].price, good);
  EXPECT_EQ(a.calls[0].status, quote_iv_status::ok);
  EXPECT_NEAR(a.calls[0].iv, 0.2, 1e-12);
  EXPECT_EQ(a.calls[1].status, quote_iv_status::no_price);
  EXPECT_TRUE(std::isnan(a.calls[1].price) && std::isnan(a.calls[1].iv) && std::isnan(a.calls[1].delta));
  EXPECT_EQ(a.calls[2].status, quote_iv_status::no_price);
  EXPECT_EQ(a.calls[3].price, good);
  EXPECT_EQ(a.calls[3].status, quote_iv_status::ok);
  EXPECT_EQ(a.calls[4].status, quote_iv_status::below_intrinsic);
  EXPECT_TRUE(std::isnan(a.calls[4].iv) && std::isnan(a.calls[4].gamma));
  EXPECT_EQ(a.calls[5].status, quote_iv_status::above_maximum);
  EXPECT_EQ(a.calls[6].status, quote_iv_status::zero_time_value);
  EXPECT_EQ(a.calls[6].iv, 0.0);
  EXPECT_EQ(a.calls[6].delta, 1.0);  // sigma = 0 limit: a step
  EXPECT_EQ(a.calls[6].gamma, 0.0);
}

// A chain priced (put and call) at a forward different from S e^{(r-q)T}: parity recovers it.
TEST(ChainAnalytics, ParityForwardRecoversTheForwardOfThePrices) {
  synthetic s = make_synthetic();
  const double true_q = 0.07;
  const double F_true = spot * std::exp((rate - true_q) * s.T);
  for (int side = 0; side < 2; ++side) {
    auto& in = side == 0 ? s.chain.calls : s.chain.puts;
    for (std::size_t i = 0; i < in.size(); ++i) {
      const double K = in.strike[i];
      const double p = optaro::bs_price(spot, K, s.T, rate, true_q, smile(std::log(K / F_true)), side == 0);
      in.bid[i] = in.ask[i] = p;
    }
  }
  chain_config cfg;
  cfg.forward = optaro::forward_method::parity;
  const chain_analytics a = optaro::enrich_chain(s.chain, cfg);
  EXPECT_NEAR(a.forward / F_true - 1, 0.0, 1e-10);
  std::printf("[ measured ] parity forward: relative error %.2e (carry would be off by %.2e)\n",
              std::abs(a.forward / F_true - 1), std::abs(s.F / F_true - 1));
  // The quotes are valued on that forward: the implied dividend yield replaces the chain's, and every
  // IV comes back as the smile's (a carry valuation would be off by the forward's error).
  EXPECT_NEAR(a.dividend_yield, true_q, 1e-8);
  double worst_iv = 0;
  for (int side = 0; side < 2; ++side) {
    const auto& in = side == 0 ? s.chain.calls : s.chain.puts;
    const auto& out = side == 0 ? a.calls : a.puts;
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (out[i].status != optaro::quote_iv_status::ok) continue;
      worst_iv = std::max(worst_iv, std::abs(out[i].iv - smile(std::log(in.strike[i] / F_true))));
    }
  }
  EXPECT_LT(worst_iv, 1e-7);
  std::printf("[ measured ] parity valuation: worst IV error %.2e\n", worst_iv);

  // One strike near the money with a wrong put (and a one-sided strike) does not move it: median.
  s.chain.puts.bid[static_cast<std::size_t>(80 - 40)] *= 1.5;  // puts are descending: index 40 is K = 100
  s.chain.puts.ask[static_cast<std::size_t>(80 - 40)] *= 1.5;
  add_quote(s.chain.calls, 99.5, 3, 3, 0, 0, 0);
  const chain_analytics b = optaro::enrich_chain(s.chain, cfg);
  EXPECT_NEAR(b.forward / F_true - 1, 0.0, 1e-10);

  // No strike with both sides priced: carry.
  option_chain only_calls = s.chain;
  only_calls.puts = optaro::chain_side{};
  const chain_analytics c = optaro::enrich_chain(only_calls, cfg);
  EXPECT_DOUBLE_EQ(c.forward, s.F);
  // Default configuration: carry even though the prices imply another forward.
  EXPECT_DOUBLE_EQ(optaro::enrich_chain(s.chain, chain_config{}).forward, s.F);
}

TEST(ChainAnalytics, ChainOverridesConfiguration) {
  synthetic s = make_synthetic();
  chain_config cfg;
  cfg.rate = 0.5;
  cfg.dividend_yield = 0.4;
  EXPECT_EQ(optaro::enrich_chain(s.chain, cfg).rate, rate);
  s.chain.rate.reset();
  s.chain.dividend_yield.reset();
  const chain_analytics a = optaro::enrich_chain(s.chain, cfg);
  EXPECT_EQ(a.rate, 0.5);
  EXPECT_EQ(a.dividend_yield, 0.4);
}

TEST(ChainAnalytics, OpenInterestChangeAgainstPreviousSnapshot) {
  option_chain now, prev;
  for (option_chain* c : {&now, &prev}) {
    c->expiry = std::chrono::year{2025} / 2 / 27;
    c->timestamp = at(std::chrono::year{2025} / 1 / 15, 4h);
    c->underlying_price = 110;
  }
  add_quote(now.calls, 120, 1, 1, 0, 0, 70);
  add_quote(now.calls, 100, 12, 12, 0, 0, 500);
  add_quote(now.calls, 110, 5, 5, 0, 0, 300);
  add_quote(now.puts, 110, 5, 5, 0, 0, 200);
  add_quote(now.puts, 100, 1, 1, 0, 0, 400);
  add_quote(prev.calls, 100, 12, 12, 0, 0, 450);
  add_quote(prev.calls, 110, 5, 5, 0, 0, 350);
  add_quote(prev.calls, 130, 5, 5, 0, 0, 999);  // no longer listed: ignored
  add_quote(prev.puts, 100, 1, 1, 0, 0, 100);
  add_quote(prev.puts, 120, 1, 1, 0, 0, 60);  // put side gone at 120 now: 0 - 60
  const chain_analytics a = optaro::enrich_chain(now, chain_config{}, &prev);
  ASSERT_EQ(a.strikes, (std::vector<double>{100, 110, 120}));
  EXPECT_EQ(a.call_oi_change, (std::vector<std::int64_t>{50, -50, 70}));
  EXPECT_EQ(a.put_oi_change, (std::vector<std::int64_t>{300, 200, -60}));
  ASSERT_EQ(a.pcr_oi_by_strike.size(), 3U);
  EXPECT_EQ(a.pcr_oi_by_strike[0], 400.0 / 500.0);
  EXPECT_EQ(a.pcr_oi_by_strike[2], 0.0);
  EXPECT_EQ(a.max_call_oi_strike, 100.0);
  EXPECT_EQ(a.max_put_oi_strike, 100.0);
  // Window 0: the ATM strike (110, F = S with r = q = 0) alone.
  chain_config w0;
  w0.pcr_window = 0;
  const chain_analytics b = optaro::enrich_chain(now, w0);
  EXPECT_EQ(b.atm_strike, 110.0);
  EXPECT_EQ(b.pcr_oi_window, 200.0 / 300.0);
  EXPECT_TRUE(b.call_oi_change.empty());
}

TEST(ChainAnalytics, AtmStrikeTiesGoToTheLowerStrike) {
  option_chain c;
  c.expiry = std::chrono::year{2025} / 2 / 27;
  c.timestamp = at(std::chrono::year{2025} / 1 / 15, 4h);
  c.underlying_price = 105;  // r = q = 0: F = 105, halfway between 100 and 110
  add_quote(c.calls, 110, 1, 1, 0, 0, 1);
  add_quote(c.puts, 100, 1, 1, 0, 0, 1);
  EXPECT_EQ(optaro::enrich_chain(c, chain_config{}).atm_strike, 100.0);
}

TEST(ChainAnalytics, ExposuresByHandOnATinyChain) {
  option_chain c;
  c.expiry = std::chrono::year{2025} / 2 / 27;
  c.timestamp = at(std::chrono::year{2025} / 1 / 15, 4h);
  c.underlying_price = 100;
  const double T = optaro::time_to_expiry(c.expiry, 10h, c.timestamp);
  const double r = 0.03, q = 0.01;
  c.rate = r;
  c.dividend_yield = q;
  const double pc = optaro::bs_price(100, 105, T, r, q, 0.18, true);
  const double pp = optaro::bs_price(100, 95, T, r, q, 0.22, false);
  add_quote(c.calls, 105, pc, pc, 0, 10, 1200);
  add_quote(c.calls, 110, 0, 0, 0, 10, 5000);  // no price: contributes nothing
  add_quote(c.puts, 95, pp, pp, 0, 10, 800);
  chain_config cfg;
  cfg.lot_size = 50;
  const chain_analytics a = optaro::enrich_chain(c, cfg);
  const optaro::greeks gc = optaro::bs_greeks(100, 105, T, r, q, a.calls[0].iv, true);
  const optaro::greeks gp = optaro::bs_greeks(100, 95, T, r, q, a.puts[0].iv, false);
  EXPECT_NEAR(a.calls[0].iv, 0.18, 1e-12);
  EXPECT_NEAR(a.puts[0].iv, 0.22, 1e-12);
  ASSERT_LT(gp.delta, 0);
  // Dealers long the calls' gamma, short the puts': calls +, puts -; per 1% move (S^2 / 100).
  const double gex = (gc.gamma * 1200 - gp.gamma * 800) * 50 * 100 * 100 / 100;
  const double dex = (gc.delta * 1200 + gp.delta * 800) * 50 * 100;
  EXPECT_NEAR(a.gamma_exposure, gex, 1e-12 * std::abs(gex));
  EXPECT_NEAR(a.delta_exposure, dex, 1e-12 * std::abs(dex));
  EXPECT_EQ(a.max_call_oi_strike, 110.0);
  EXPECT_EQ(a.max_put_oi_strike, 95.0);
  // The put side alone has negative gamma exposure and negative delta exposure.
  option_chain puts_only = c;
  puts_only.calls = optaro::chain_side{};
  const chain_analytics b = optaro::enrich_chain(puts_only, cfg);
  EXPECT_LT(b.gamma_exposure, 0);
  EXPECT_LT(b.delta_exposure, 0);
  EXPECT_FALSE(b.max_call_oi_strike);
}

// enrich_chain values its quotes through internal entry points (per-chain exponentials, IV solves in
// vector lanes, a kernel for the five Greeks it needs). Its statuses and Greeks equal the scalar API's
// bit for bit; its IVs are the vector solver's, within 1e-12 relative of bs_implied_vol (the lanes'
// elementary functions differ by ulps; test_accuracy.cpp holds them to the 4x-attainable bar). Random
// chains over wide ranges (hours to ten years, vols 1% to 300%, strikes deep in and out of the money,
// rates and yields of either sign, prices at and beyond the bounds) with both forward methods; each
// quote against bs_implied_vol at the chain's r and (implied) q, and the trader-unit bs_greeks at its IV.
TEST(ChainAnalytics, QuotesEqualTheScalarApi) {
  const auto same = [](double a, double b) { return a == b || (std::isnan(a) && std::isnan(b)); };
  const auto close = [&](double a, double b) { return same(a, b) || std::abs(a - b) <= 1e-12 * std::abs(b); };
  const auto expected_status = [](optaro::status st) {
    switch (st) {
      case optaro::status::ok: return quote_iv_status::ok;
      case optaro::status::zero_time_value: return quote_iv_status::zero_time_value;
      case optaro::status::below_intrinsic: return quote_iv_status::below_intrinsic;
      case optaro::status::above_maximum: return quote_iv_status::above_maximum;
      case optaro::status::invalid_input: return quote_iv_status::no_price;
      case optaro::status::not_converged: return quote_iv_status::not_converged;
    }
    return quote_iv_status::not_converged;
  };
  std::mt19937_64 gen(20250607);
  const auto uniform = [&gen](double lo, double hi) {
    return lo + (hi - lo) * static_cast<double>(gen() % 1'000'001) / 1e6;
  };
  const int days[] = {0, 1, 7, 30, 365, 3650};
  std::size_t checked = 0, solved = 0, mismatches = 0;
  for (int trial = 0; trial < 60; ++trial) {
    option_chain c;
    c.expiry = std::chrono::sys_days(std::chrono::year{2025} / 1 / 15) + std::chrono::days(days[trial % 6]);
    c.timestamp = at(std::chrono::year{2025} / 1 / 15, std::chrono::seconds(static_cast<std::int64_t>(gen() % 36000)));
    c.underlying_price = uniform(1, 30000);
    c.rate = uniform(-0.02, 0.15);
    c.dividend_yield = uniform(-0.02, 0.1);
    const double S = c.underlying_price, r = *c.rate, q = *c.dividend_yield;
    const double T = optaro::time_to_expiry(c.expiry, 10h, c.timestamp);
    for (int i = 0; i < 40; ++i) {
      const double K = S * std::exp(uniform(-2, 2));
      for (int side = 0; side < 2; ++side) {
        const bool call = side == 0;
        double p = optaro::bs_price(S, K, T, r, q, std::exp(uniform(std::log(0.01), std::log(3.0))), call);
        const auto kind = gen() % 20;
        if (kind == 0) p *= 0.5;   // below intrinsic, when in the money
        if (kind == 1) p = S * 2;  // above the maximum
        if (kind == 2) p = 0;      // no price
        add_quote(call ? c.calls : c.puts, K, p, p, 0, 1, static_cast<std::int64_t>(gen() % 1000));
      }
    }
    chain_config cfg;
    cfg.forward = trial % 2 == 0 ? optaro::forward_method::carry : optaro::forward_method::parity;
    const chain_analytics a = optaro::enrich_chain(c, cfg);
    for (int side = 0; side < 2; ++side) {
      const bool call = side == 0;
      const auto& in = call ? c.calls : c.puts;
      const auto& out = call ? a.calls : a.puts;
      for (std::size_t i = 0; i < in.size(); ++i) {
        const quote_analytics& got = out[i];
        if (std::isnan(got.price) || !(a.time_to_expiry > 0)) continue;
        ++checked;
        const optaro::iv_result iv =
            optaro::bs_implied_vol(got.price, S, in.strike[i], a.time_to_expiry, a.rate, a.dividend_yield, call);
        bool equal = got.status == expected_status(iv.st) &&
                     close(got.iv, iv.st == optaro::status::ok || iv.st == optaro::status::zero_time_value
                                      ? iv.sigma
                                      : std::numeric_limits<double>::quiet_NaN());
        if (got.status == quote_iv_status::ok || got.status == quote_iv_status::zero_time_value) {
          solved += got.status == quote_iv_status::ok ? 1 : 0;
          const optaro::greeks g = optaro::to_trader_units(
              optaro::bs_greeks(S, in.strike[i], a.time_to_expiry, a.rate, a.dividend_yield, got.iv, call));
          equal = equal && same(got.delta, g.delta) && same(got.gamma, g.gamma) && same(got.vega, g.vega) &&
                  same(got.theta, g.theta) && same(got.rho, g.rho);
        }
        if (!equal && ++mismatches <= 5) {
          ADD_FAILURE() << "trial " << trial << (call ? " call " : " put ") << "K=" << in.strike[i]
                        << " price=" << got.price << ": iv " << got.iv << " vs " << iv.sigma;
        }
      }
    }
  }
  EXPECT_EQ(mismatches, 0U);
  EXPECT_GT(solved, checked / 2);
  std::printf("[ measured ] %zu quotes (%zu solved) equal bs_implied_vol (to 1e-12) and bs_greeks at their IV (bit for bit)\n", checked, solved);
}

TEST(ChainAnalytics, SmileMeasuresNullWhenNotBracketed) {
  // Only calls above the forward: no OTM put below it, and no put deltas.
  option_chain c;
  c.expiry = std::chrono::year{2025} / 2 / 27;
  c.timestamp = at(std::chrono::year{2025} / 1 / 15, 4h);
  c.underlying_price = 100;
  const double T = optaro::time_to_expiry(c.expiry, 10h, c.timestamp);
  for (double K = 101; K <= 130; K += 1) {
    const double p = optaro::bs_price(100, K, T, 0, 0, 0.2, true);
    add_quote(c.calls, K, p, p, 0, 1, 1);
  }
  const chain_analytics a = optaro::enrich_chain(c, chain_config{});
  EXPECT_FALSE(a.atm_iv || a.risk_reversal_25d || a.butterfly_25d || a.expected_move);
  // A put quote exactly at the forward gives the ATM IV by itself.
  const double p = optaro::bs_price(100, 100, T, 0, 0, 0.2, false);
  add_quote(c.puts, 100, p, p, 0, 1, 1);
  const chain_analytics b = optaro::enrich_chain(c, chain_config{});
  ASSERT_TRUE(b.atm_iv);
  EXPECT_NEAR(*b.atm_iv, 0.2, 1e-12);
  EXPECT_FALSE(b.risk_reversal_25d);
}

// ---- fuzz findings (tests/fuzz/fuzz_enrich_chain) ----------------------------------------------------
// Inputs the decoder used to accept overflowed int64 in enrich_chain (undefined behaviour; UBSan
// aborted): time_to_expiry in nanoseconds for expiries outside ~1678-2261, and the OI and volume sums
// (totals, windows, max pain) for counts near INT64_MAX. Now time_to_expiry works in whole seconds, and
// counts above 10^14 are refused by the decoder (and by enrich_chain for direct callers), which keeps
// every sum over a chain exact in int64.
TEST(ChainAnalyticsFuzz, TimeToExpiryOfFarExpiriesDoesNotOverflow) {
  const auto today = std::chrono::sys_days(std::chrono::year{2025} / 1 / 15);
  const auto now = at(std::chrono::year{2025} / 1 / 15, 10h + 30min);
  for (const auto expiry : {std::chrono::year{9999} / 12 / 31, std::chrono::year{1712} / 2 / 15}) {
    const double days = static_cast<double>((std::chrono::sys_days(expiry) - today).count());
    EXPECT_NEAR(optaro::time_to_expiry(expiry, 10h, now), (days * 86400.0 - 1800.0) / seconds_per_year, 1e-6);
  }
  // Before the epoch too (negative timestamps): the same split of whole seconds and nanoseconds.
  const optaro::timestamp_ns before = -1'500'000'000;  // 1969-12-31T23:59:58.5Z
  EXPECT_NEAR(optaro::time_to_expiry(std::chrono::year{1970} / 1 / 1, 0s, before), 1.5 / seconds_per_year, 1e-18);
}

TEST(ChainAnalyticsFuzz, ExtremeExpiriesEnrichAndExtremeCountsAreRefused) {
  // The fuzzer's inputs, minimised; each one overflowed (UBSan) before the fix.
  const std::string head =
      R"({"product":"N","chain_id":"c","timestamp":"2025-01-15T10:30:00Z","underlying_price":100,)";
  const auto now = at(std::chrono::year{2025} / 1 / 15, 10h);
  for (const std::string expiry : {"9999-12-31", "1712-02-15", "0000-01-01"}) {
    const auto r = optaro::enrich_chain_json(head + R"("expiry":")" + expiry + R"(","calls":[],"puts":[]})",
                                             chain_config{}, now);
    EXPECT_TRUE(r) << expiry << ": " << r.error.message();
  }
  const std::string big = "9223372036854775807";
  const auto oi = optaro::enrich_chain_json(
      head + R"("expiry":"2025-01-30","calls":[],"puts":[{"strike":100,"open_interest":)" + big + "}]}",
      chain_config{}, now);
  EXPECT_EQ(oi.error.message(), "puts[0].open_interest: above 10^14 (9223372036854775807)");
  const auto volume = optaro::enrich_chain_json(
      head + R"("expiry":"2025-01-30","puts":[],"calls":[{"strike":100,"volume":100000000000001}]})", chain_config{},
      now);
  EXPECT_EQ(volume.error.message(), "calls[0].volume: above 10^14 (100000000000001)");
  // At the limit, on every quote of the largest chain the decoder takes, the sums stay exact.
  option_chain c;
  c.expiry = std::chrono::year{2025} / 1 / 30;
  c.timestamp = now;
  c.underlying_price = 100;
  constexpr std::int64_t limit = 100'000'000'000'000;
  for (int i = 1; i <= 5000; ++i) {
    c.calls.push_back(i, 0, 0, 0, limit, limit);
    c.puts.push_back(i, 0, 0, 0, limit, limit);
  }
  const chain_analytics a = optaro::enrich_chain(c, chain_config{});
  EXPECT_EQ(a.total_call_oi, 5000 * limit);
  EXPECT_EQ(a.total_put_volume, 5000 * limit);
  // A direct caller's count beyond the limit: refused, naming the column and the row.
  c.puts.open_interest[7] = limit + 1;
  try {
    (void)optaro::enrich_chain(c, chain_config{});
    ADD_FAILURE() << "a count above 10^14 was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "enrich_chain: puts[7].open_interest: outside [0, 10^14] (100000000000001)");
  }
}

}  // namespace

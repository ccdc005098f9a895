// Volatility surfaces (src/surface.cpp): interpolation and extrapolation against their definitions
// written out here, calendar diagnostics on a crossed and a clean pair of expiries, a smile fitted to
// an enriched chain whose prices come from a known SVI smile, and the surface document's round trip.
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <optaro/chain.hpp>
#include <optaro/codec.hpp>
#include <optaro/pricing.hpp>
#include <optaro/surface.hpp>
#include <optaro/svi.hpp>

namespace {

using optaro::smile_slice;
using optaro::svi_params;
using optaro::vol_surface;

double svi(const svi_params& p, double k) {  // the definition, written out
  const double x = k - p.m;
  return p.a + p.b * (p.rho * x + std::sqrt(x * x + p.sigma * p.sigma));
}

smile_slice slice(double t, double forward, svi_params p, double k_min = -0.5, double k_max = 0.4) {
  smile_slice s;
  s.time_to_expiry = t;
  s.forward = forward;
  s.params = p;
  s.k_min = k_min;
  s.k_max = k_max;
  s.points = 20;
  s.rmse = 1e-5;
  return s;
}

// Two calendar-free smiles: the longer one has at least the variance of the shorter at every k.
const svi_params near_params{0.004, 0.03, -0.4, 0.02, 0.12};
const svi_params far_params{0.012, 0.06, -0.35, 0.03, 0.2};
const smile_slice near_slice = slice(0.08, 101.0, near_params);
const smile_slice far_slice = slice(0.5, 104.0, far_params, -0.8, 0.6);

TEST(Surface, InterpolatesLinearlyInTotalVarianceAtFixedK) {
  const vol_surface s({far_slice, near_slice}, 100.0);  // any order
  ASSERT_EQ(s.slices().size(), 2U);
  EXPECT_EQ(s.slices()[0].time_to_expiry, 0.08);
  for (const double k : {-0.45, -0.1, 0.0, 0.05, 0.35}) {
    const double w1 = svi(near_params, k), w2 = svi(far_params, k);
    EXPECT_NEAR(s.total_variance(k, 0.08), w1, 1e-15) << k;
    EXPECT_NEAR(s.total_variance(k, 0.5), w2, 1e-15) << k;
    for (const double t : {0.1, 0.25, 0.49}) {
      EXPECT_NEAR(s.total_variance(k, t), w1 + (w2 - w1) * (t - 0.08) / (0.5 - 0.08), 1e-15) << k << " " << t;
    }
    // Flat implied vol before the first and after the last expiry.
    EXPECT_NEAR(s.total_variance(k, 0.02), w1 * 0.02 / 0.08, 1e-16) << k;
    EXPECT_NEAR(s.total_variance(k, 2.0), w2 * 2.0 / 0.5, 1e-15) << k;
  }
  EXPECT_EQ(s.total_variance(0.1, 0.0), 0.0);
  EXPECT_TRUE(std::isnan(s.total_variance(0.1, -0.01)));
  EXPECT_TRUE(std::isnan(s.total_variance(NAN, 0.1)));
  EXPECT_TRUE(std::isnan(vol_surface().total_variance(0, 0.1)));
}

TEST(Surface, FlatVolBeyondEachSlicesFittedRange) {
  const vol_surface s({near_slice, far_slice});
  EXPECT_EQ(s.total_variance(0.9, 0.08), svi(near_params, 0.4));
  EXPECT_EQ(s.total_variance(-3.0, 0.08), svi(near_params, -0.5));
  EXPECT_EQ(s.total_variance(0.9, 0.5), svi(far_params, 0.6));
  // Between expiries each side is extrapolated on its own range first.
  const double t = 0.3, wt = (t - 0.08) / (0.5 - 0.08);
  EXPECT_NEAR(s.total_variance(0.5, t), svi(near_params, 0.4) + (svi(far_params, 0.5) - svi(near_params, 0.4)) * wt,
              1e-15);
}

TEST(Surface, ForwardIsLogLinearFromTheSpot) {
  const vol_surface s({near_slice, far_slice}, 100.0);
  EXPECT_EQ(s.forward(0), 100.0);
  EXPECT_NEAR(s.forward(0.08), 101.0, 1e-12);
  EXPECT_NEAR(s.forward(0.5), 104.0, 1e-12);
  EXPECT_NEAR(s.forward(0.04), std::exp(std::log(100.0) + (std::log(101.0) - std::log(100.0)) * 0.5), 1e-12);
  const double slope = (std::log(104.0) - std::log(101.0)) / (0.5 - 0.08);
  EXPECT_NEAR(s.forward(1.5), std::exp(std::log(104.0) + slope * 1.0), 1e-11);  // the last carry, continued
  const vol_surface no_spot({near_slice, far_slice});
  EXPECT_EQ(no_spot.forward(0.01), 101.0);  // flat before the first expiry without a spot
  const vol_surface single({near_slice});
  EXPECT_EQ(single.forward(3.0), 101.0);
}

TEST(Surface, IvIsTheSmileAtTheForward) {
  const vol_surface s({near_slice, far_slice}, 100.0);
  for (const double strike : {80.0, 95.0, 101.0, 110.0}) {
    for (const double t : {0.05, 0.08, 0.2, 0.5, 1.0}) {
      const double k = std::log(strike / s.forward(t));
      EXPECT_NEAR(s.iv(strike, t), std::sqrt(s.total_variance(k, t) / t), 1e-15) << strike << " " << t;
    }
    EXPECT_NEAR(s.iv(strike, 0.08), std::sqrt(svi(near_params, std::log(strike / 101.0)) / 0.08), 1e-13);
  }
  EXPECT_TRUE(std::isnan(s.iv(0, 0.1)));
  EXPECT_TRUE(std::isnan(s.iv(100, 0)));
}

TEST(Surface, VectorisedQueriesEqualScalarOnesAndBroadcast) {
  const vol_surface s({near_slice, far_slice}, 100.0);
  const std::vector<double> k = {-0.6, -0.2, 0.0, 0.1, 0.7}, t = {0.01, 0.08, 0.3, 0.5, 3.0};
  std::vector<double> out(5);
  s.total_variance(k, t, out);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(out[i], s.total_variance(k[i], t[i]));
  const std::vector<double> one_t = {0.3};
  s.total_variance(k, one_t, out);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(out[i], s.total_variance(k[i], 0.3));
  const std::vector<double> strikes = {70, 90, 100, 105, 130};
  s.iv(strikes, t, out);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(out[i], s.iv(strikes[i], t[i]));
  const std::vector<double> two = {0.1, 0.2};
  try {
    s.iv(strikes, two, out);
    ADD_FAILURE() << "no throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "t: length 2, expected 5 or 1");
  }
}

TEST(Surface, RejectsBadSlicesNamingTheField) {
  auto message = [](std::vector<smile_slice> slices) -> std::string {
    try {
      const vol_surface s(std::move(slices));
      return "no throw";
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
  };
  smile_slice bad = near_slice;
  bad.params.rho = 1.0;
  EXPECT_EQ(message({far_slice, bad}), "slices[1].svi.rho: must lie in (-1, 1)");
  bad = near_slice;
  bad.time_to_expiry = 0;
  EXPECT_EQ(message({bad}), "slices[0].time_to_expiry: must be finite and > 0");
  bad = near_slice;
  bad.params.a = -0.1;  // minimum variance a + b sigma sqrt(1 - rho^2) < 0
  EXPECT_EQ(message({bad}), "slices[0].svi: negative minimum variance");
  EXPECT_EQ(message({near_slice, near_slice}), "slices: two slices expire at time_to_expiry 0.08");
}

TEST(Surface, CalendarViolationsOnACrossedPairAndNoneOnACleanOne) {
  EXPECT_TRUE(vol_surface({near_slice, far_slice}).calendar_violations().empty());
  // The later expiry's smile is the earlier one's, lowered in the put wing: it crosses below.
  svi_params crossed = near_params;
  crossed.rho = 0.3;  // less put skew: lower variance for k < 0
  const vol_surface s({near_slice, slice(0.1, 101.2, crossed)});
  const auto found = s.calendar_violations(101);
  ASSERT_FALSE(found.empty());
  for (const auto& v : found) {
    EXPECT_EQ(v.t1, 0.08);
    EXPECT_EQ(v.t2, 0.1);
    EXPECT_LT(v.w2, v.w1);
    EXPECT_EQ(v.w1, svi(near_params, v.k));
    EXPECT_EQ(v.w2, svi(crossed, v.k));
    EXPECT_LT(v.k, near_params.m);  // where the new skew is lower
  }
  // Every grid point where the definition says w falls is reported.
  std::size_t expected = 0;
  for (std::size_t j = 0; j < 101; ++j) {
    const double k = -0.5 + 0.9 * static_cast<double>(j) / 100;
    if (svi(crossed, k) < svi(near_params, k) * (1 - 1e-12)) ++expected;
  }
  EXPECT_EQ(found.size(), expected);
}

// ---- a smile fitted to an enriched chain ---------------------------------------------------------

TEST(Surface, FitSmileRecoversTheSmileOfAnEnrichedChain) {
  // A chain priced from a known SVI smile: every OTM quote's IV is the smile's, so the fit returns it.
  const svi_params truth{0.002, 0.04, -0.5, 0.01, 0.1};
  const double spot = 21500, t_days = 20, r = 0.065, q = 0.0;
  optaro::option_chain c;
  c.product = "NIFTY";
  c.expiry = std::chrono::year{2025} / 2 / 4;
  c.chain_id = "x";
  const auto expiry_time = std::chrono::sys_days(c.expiry) + std::chrono::hours(10);
  c.timestamp = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    (expiry_time - std::chrono::hours(24 * static_cast<int>(t_days))).time_since_epoch())
                    .count();
  c.underlying_price = spot;
  const double t = t_days / 365, forward = spot * std::exp((r - q) * t);
  for (int i = -30; i <= 30; ++i) {
    const double strike = 21500 + 100.0 * i;
    const double vol = std::sqrt(svi(truth, std::log(strike / forward)) / t);
    for (const bool call : {true, false}) {
      const double p = optaro::bs_price(spot, strike, t, r, q, vol, call);
      (call ? c.calls : c.puts).push_back(strike, p, p, p, 1, 1);
    }
  }
  optaro::chain_config config;
  config.rate = r;
  const auto analytics = optaro::enrich_chain(c, config);
  const auto s = optaro::fit_smile(c, analytics);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->points, 61U);
  EXPECT_EQ(s->expiry, c.expiry);
  EXPECT_NEAR(s->forward, forward, 1e-9 * forward);
  for (int i = -30; i <= 30; ++i) {
    const double k = std::log((21500 + 100.0 * i) / forward);
    EXPECT_NEAR(std::sqrt(optaro::svi_total_variance(s->params, k) / t), std::sqrt(svi(truth, k) / t), 1e-7) << i;
  }
  // Too few usable quotes: no smile.
  optaro::chain_analytics few = analytics;
  for (std::size_t i = 4; i < few.calls.size(); ++i) few.calls[i].status = optaro::quote_iv_status::no_price;
  for (auto& p : few.puts) p.status = optaro::quote_iv_status::no_price;
  EXPECT_FALSE(optaro::fit_smile(c, few).has_value());
}

// ---- documents -----------------------------------------------------------------------------------

TEST(Surface, DocumentRoundTripsExactly) {
  smile_slice a = near_slice, b = far_slice;
  a.expiry = std::chrono::year{2025} / 1 / 30;
  const vol_surface s({a, b}, 21543.25);
  const std::string text = optaro::encode_surface(s, "NIFTY", 1736937000LL * 1000000000LL);
  const auto doc = nlohmann::json::parse(text);
  EXPECT_EQ(doc["product"], "NIFTY");
  EXPECT_EQ(doc["timestamp"], "2025-01-15T10:30:00Z");
  EXPECT_EQ(doc["slices"][0]["expiry"], "2025-01-30");
  EXPECT_TRUE(doc["slices"][1]["expiry"].is_null());
  EXPECT_EQ(doc["slices"][0]["atm_iv"].get<double>(), std::sqrt(svi(near_params, 0) / 0.08));
  EXPECT_TRUE(doc["calendar_violations"].empty());
  const auto back = optaro::decode_surface(text);
  ASSERT_TRUE(back) << back.error.message();
  ASSERT_EQ(back.value->slices().size(), 2U);
  EXPECT_EQ(back.value->spot(), 21543.25);
  for (std::size_t i = 0; i < 2; ++i) {
    const smile_slice &x = s.slices()[i], &y = back.value->slices()[i];
    EXPECT_EQ(x.expiry, y.expiry);
    EXPECT_EQ(x.time_to_expiry, y.time_to_expiry);
    EXPECT_EQ(x.forward, y.forward);
    EXPECT_EQ(x.params.a, y.params.a);
    EXPECT_EQ(x.params.b, y.params.b);
    EXPECT_EQ(x.params.rho, y.params.rho);
    EXPECT_EQ(x.params.m, y.params.m);
    EXPECT_EQ(x.params.sigma, y.params.sigma);
    EXPECT_EQ(x.k_min, y.k_min);
    EXPECT_EQ(x.k_max, y.k_max);
    EXPECT_EQ(x.points, y.points);
  }
}

TEST(Surface, DocumentErrorsNameTheField) {
  const std::string good = optaro::encode_surface(vol_surface({near_slice}), "N", 0);
  auto error = [](const std::string& text) { return optaro::decode_surface(text).error.message(); };
  EXPECT_EQ(error("{"), "message: not valid JSON");
  EXPECT_EQ(error("[]"), "message: expected an object");
  EXPECT_EQ(error("{}"), "slices: missing");
  auto doc = nlohmann::json::parse(good);
  doc["slices"][0]["svi"].erase("rho");
  EXPECT_EQ(error(doc.dump()), "slices[0].svi.rho: missing");
  doc = nlohmann::json::parse(good);
  doc["slices"][0]["forward"] = "x";
  EXPECT_EQ(error(doc.dump()), "slices[0].forward: expected a number");
  doc = nlohmann::json::parse(good);
  doc["slices"][0]["svi"]["sigma"] = 0;
  EXPECT_EQ(error(doc.dump()), "slices[0].svi.sigma: must be finite and > 0");
  doc = nlohmann::json::parse(good);
  doc["slices"][0]["expiry"] = "2025-02-30";
  EXPECT_EQ(error(doc.dump()), "slices[0].expiry: not a valid date YYYY-MM-DD");
}

TEST(Surface, IvSurfaceMembersNameStrikeAndType) {
  optaro::option_chain c;
  c.calls.strike = {21500, 21550.5};
  c.puts.strike = {21500};
  optaro::chain_analytics a;
  a.calls.resize(2);
  a.puts.resize(1);
  a.calls[0].iv = 0.15;
  a.calls[1].iv = std::nan("");
  a.puts[0].iv = 0.16;
  const auto m = optaro::iv_surface_members(c, a);
  ASSERT_EQ(m.size(), 3U);
  EXPECT_EQ(m[0].member, "21500:C");
  EXPECT_EQ(m[0].score, 21500);
  EXPECT_EQ(m[0].iv, 0.15);
  EXPECT_EQ(m[1].member, "21550.5:C");
  EXPECT_FALSE(m[1].iv.has_value());
  EXPECT_EQ(m[2].member, "21500:P");
  EXPECT_EQ(m[2].iv, 0.16);
}

}  // namespace

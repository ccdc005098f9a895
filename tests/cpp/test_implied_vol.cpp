// Round trips of the normalised implied-vol solver over its whole domain, including the corners the
// reference sets reach only sparsely: |x| from 1e-300 (at the money to the last bit) to 700, s from
// 1e-14 to 100, calls and puts in and out of the money. A price that b(x, s) produces must come back
// with status ok and reprice to 1e-12 relative (sigma itself may be ill-conditioned; the price is not).
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include <optaro/implied_vol.hpp>
#include <optaro/pricing.hpp>

namespace {

struct round_trip_result {
  long checked = 0, failed = 0;
};

round_trip_result round_trip(double x, double s, bool call, round_trip_result acc) {
  const double b = optaro::normalised_black(x, s, call);
  const double intrinsic = optaro::normalised_black(x, 0.0, call);
  const double bmax = std::exp(0.5 * (call ? x : -x));
  // Only prices whose time value is a meaningful part of the price and below the maximum.
  if (!(b - intrinsic > 1e-300) || (b - intrinsic) / b < 1e-10 || b >= bmax * (1 - 1e-14)) return acc;
  ++acc.checked;
  const optaro::iv_result r = optaro::normalised_implied_vol(b, x, call);
  const double repriced = optaro::normalised_black(x, r.sigma, call);
  if (r.st != optaro::status::ok || !(std::fabs(repriced - b) <= 1e-12 * b)) {
    if (++acc.failed <= 5) {
      ADD_FAILURE() << "x=" << x << " s=" << s << " call=" << call << " b=" << b << " -> s=" << r.sigma << " status "
                    << optaro::to_string(r.st) << " repriced " << repriced;
    }
  }
  return acc;
}

TEST(ImpliedVolRoundTrip, RandomOverTheWholeDomain) {
  std::mt19937_64 rng(2026);
  std::uniform_real_distribution<double> u(0, 1);
  round_trip_result acc;
  for (int i = 0; i < 200000; ++i) {
    double x = u(rng) < 0.5 ? std::pow(10.0, -300 + 302.8 * u(rng)) : std::pow(10.0, -18 + 20.8 * u(rng));
    if (u(rng) < 0.05) x = 0;
    if (u(rng) < 0.5) x = -x;
    const double s = std::pow(10.0, -14 + 16 * u(rng));
    acc = round_trip(x, s, u(rng) < 0.5, acc);
  }
  EXPECT_GT(acc.checked, 150000);
  EXPECT_EQ(acc.failed, 0);
}

TEST(ImpliedVolRoundTrip, NearlyAtTheMoney) {
  // The inflection value b_c = bmax (1 - erfcx(sqrt|x|))/2 must not cancel to 0 for tiny |x|, and the
  // objective must not be ln(bmax - b) for prices far below bmax (it would lose their digits).
  round_trip_result acc;
  for (double x : {-1e-300, -1e-40, -1e-20, -1e-16, -1e-12, -1e-8, 0.0, 1e-16, 1e-8}) {
    for (double ls = -12; ls <= 2; ls += 0.05) acc = round_trip(x, std::pow(10.0, ls), true, acc);
  }
  EXPECT_GT(acc.checked, 2000);
  EXPECT_EQ(acc.failed, 0);
}

TEST(ImpliedVolRoundTrip, FarFromTheMoney) {
  round_trip_result acc;
  for (double x : {-700.0, -300.0, -60.0, -50.0, -30.0, 30.0, 300.0}) {
    for (double ls = -3; ls <= 2; ls += 0.02) {
      acc = round_trip(x, std::pow(10.0, ls), true, acc);
      acc = round_trip(x, std::pow(10.0, ls), false, acc);
    }
  }
  EXPECT_GT(acc.checked, 300);
  EXPECT_EQ(acc.failed, 0);
}

}  // namespace

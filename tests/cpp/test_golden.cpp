// Literature golden values: worked examples as the books print them (re-typed facts, with the printed
// precision as the tolerance). Every number below was also recomputed independently with mpmath at 40
// digits from the same inputs (tests/refgen/generate_refs.py's closed forms) before being added.
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include <optaro/optaro.hpp>

namespace {

struct golden_price {
  bool call;
  double K, S, q, r, T, sigma, value;
};

// E. G. Haug, "The Complete Guide to Option Pricing Formulas" (McGraw-Hill; examples of section 1.1:
// generalised Black-Scholes-Merton, Merton 1973, Black 1976 as q = r, Garman-Kohlhagen as q = r_f,
// and the table of European values with b = r - q = 0), as cited by QuantLib's
// test-suite/europeanoption.cpp (testValues, "pag 2-8", "pag 24", "pag 27"); printed to 4 decimals,
// checked there and here to 1e-4.
constexpr golden_price haug_values[] = {
    //  call    K       S      q     r     T    sigma   value
    {true, 65.00, 60.00, 0.00, 0.08, 0.25, 0.30, 2.1334},    // BSM, no dividend
    {false, 95.00, 100.00, 0.05, 0.10, 0.50, 0.20, 2.4648},  // Merton 1973, dividend yield
    {false, 19.00, 19.00, 0.10, 0.10, 0.75, 0.28, 1.7011},   // Black 1976 (futures: q = r)
    {true, 19.00, 19.00, 0.10, 0.10, 0.75, 0.28, 1.7011},
    {true, 1.60, 1.56, 0.08, 0.06, 0.50, 0.12, 0.0291},  // Garman-Kohlhagen (q = foreign rate)
    {false, 70.00, 75.00, 0.05, 0.10, 0.50, 0.35, 4.0870},
    {true, 100.00, 90.00, 0.10, 0.10, 0.10, 0.15, 0.0205},  // table: b = 0, r = 10%
    {true, 100.00, 100.00, 0.10, 0.10, 0.10, 0.15, 1.8734},
    {true, 100.00, 110.00, 0.10, 0.10, 0.10, 0.15, 9.9413},
    {true, 100.00, 90.00, 0.10, 0.10, 0.10, 0.25, 0.3150},
    {true, 100.00, 100.00, 0.10, 0.10, 0.10, 0.25, 3.1217},
    {true, 100.00, 110.00, 0.10, 0.10, 0.10, 0.25, 10.3556},
    {true, 100.00, 90.00, 0.10, 0.10, 0.10, 0.35, 0.9474},
    {true, 100.00, 100.00, 0.10, 0.10, 0.10, 0.35, 4.3693},
    {true, 100.00, 110.00, 0.10, 0.10, 0.10, 0.35, 11.1381},
    {true, 100.00, 90.00, 0.10, 0.10, 0.50, 0.15, 0.8069},
    {true, 100.00, 100.00, 0.10, 0.10, 0.50, 0.15, 4.0232},
    {true, 100.00, 110.00, 0.10, 0.10, 0.50, 0.15, 10.5769},
    {true, 100.00, 90.00, 0.10, 0.10, 0.50, 0.25, 2.7026},
    {true, 100.00, 100.00, 0.10, 0.10, 0.50, 0.25, 6.6997},
    {true, 100.00, 110.00, 0.10, 0.10, 0.50, 0.25, 12.7857},
    {true, 100.00, 90.00, 0.10, 0.10, 0.50, 0.35, 4.9329},
    {true, 100.00, 100.00, 0.10, 0.10, 0.50, 0.35, 9.3679},
    {true, 100.00, 110.00, 0.10, 0.10, 0.50, 0.35, 15.3086},
    {false, 100.00, 90.00, 0.10, 0.10, 0.10, 0.15, 9.9210},
    {false, 100.00, 100.00, 0.10, 0.10, 0.10, 0.15, 1.8734},
    {false, 100.00, 110.00, 0.10, 0.10, 0.10, 0.15, 0.0408},
    {false, 100.00, 90.00, 0.10, 0.10, 0.10, 0.25, 10.2155},
    {false, 100.00, 100.00, 0.10, 0.10, 0.10, 0.25, 3.1217},
    {false, 100.00, 110.00, 0.10, 0.10, 0.10, 0.25, 0.4551},
    {false, 100.00, 90.00, 0.10, 0.10, 0.10, 0.35, 10.8479},
    {false, 100.00, 100.00, 0.10, 0.10, 0.10, 0.35, 4.3693},
    {false, 100.00, 110.00, 0.10, 0.10, 0.10, 0.35, 1.2376},
    {false, 100.00, 90.00, 0.10, 0.10, 0.50, 0.15, 10.3192},
    {false, 100.00, 100.00, 0.10, 0.10, 0.50, 0.15, 4.0232},
    {false, 100.00, 110.00, 0.10, 0.10, 0.50, 0.15, 1.0646},
    {false, 100.00, 90.00, 0.10, 0.10, 0.50, 0.25, 12.2149},
    {false, 100.00, 100.00, 0.10, 0.10, 0.50, 0.25, 6.6997},
    {false, 100.00, 110.00, 0.10, 0.10, 0.50, 0.25, 3.2734},
    {false, 100.00, 90.00, 0.10, 0.10, 0.50, 0.35, 14.4452},
    {false, 100.00, 100.00, 0.10, 0.10, 0.50, 0.35, 9.3679},
    {false, 100.00, 110.00, 0.10, 0.10, 0.50, 0.35, 5.7963},
    {true, 40.00, 42.00, 0.08, 0.04, 0.75, 0.35, 5.0975},
};

std::string describe(const golden_price& v) {
  return std::string(v.call ? "call" : "put") + " K=" + std::to_string(v.K) + " S=" + std::to_string(v.S) +
         " q=" + std::to_string(v.q) + " r=" + std::to_string(v.r) + " T=" + std::to_string(v.T) +
         " sigma=" + std::to_string(v.sigma);
}

TEST(GoldenHaug, EuropeanValues) {
  for (const auto& v : haug_values) {
    EXPECT_NEAR(optaro::bs_price(v.S, v.K, v.T, v.r, v.q, v.sigma, v.call), v.value, 1e-4) << describe(v);
    EXPECT_NEAR(optaro::bs_greeks(v.S, v.K, v.T, v.r, v.q, v.sigma, v.call).price, v.value, 1e-4) << describe(v);
  }
}

// Black 1976 through its own entry point: Haug's futures example (F = 19, K = 19, T = 0.75, r = 10%,
// sigma = 28%): call = put = 1.7011.
TEST(GoldenHaug, Black76FuturesOption) {
  EXPECT_NEAR(optaro::black76_price(19.0, 19.0, 0.75, 0.10, 0.28, true), 1.7011, 1e-4);
  EXPECT_NEAR(optaro::black76_price(19.0, 19.0, 0.75, 0.10, 0.28, false), 1.7011, 1e-4);
  EXPECT_NEAR(optaro::black76_greeks(19.0, 19.0, 0.75, 0.10, 0.28, true).price, 1.7011, 1e-4);
}

// The implied vol of each printed price recovers the book's sigma to within what 4-decimal rounding of
// the price allows: |dsigma| <= 0.5e-4 / vega (first order), checked at 1e-4 / vega.
TEST(GoldenHaug, ImpliedVolOfPrintedPrices) {
  for (const auto& v : haug_values) {
    const double vega = optaro::bs_greeks(v.S, v.K, v.T, v.r, v.q, v.sigma, v.call).vega;
    const optaro::iv_result res = optaro::bs_implied_vol(v.value, v.S, v.K, v.T, v.r, v.q, v.call);
    ASSERT_EQ(res.st, optaro::status::ok) << describe(v);
    EXPECT_NEAR(res.sigma, v.sigma, 1e-4 / vega) << describe(v);
  }
  const optaro::iv_result b76 = optaro::black76_implied_vol(1.7011, 19.0, 19.0, 0.75, 0.10, true);
  const double vega = optaro::black76_greeks(19.0, 19.0, 0.75, 0.10, 0.28, true).vega;
  EXPECT_NEAR(b76.sigma, 0.28, 1e-4 / vega);
}

// Haug's Greeks examples (section 2.1), as cited by QuantLib's test-suite/europeanoption.cpp
// (testGreekValues, "pag 11-16"), to 1e-4. Haug's theta is the calendar-time derivative, the same sign
// convention as optaro's; "theta per day" is theta / 365, our trader units.
TEST(GoldenHaug, GreekValues) {
  // delta: S = 105, K = 100, T = 0.5, r = 10%, b = 0 (q = r), sigma = 36%
  EXPECT_NEAR(optaro::bs_greeks(105.0, 100.0, 0.5, 0.10, 0.10, 0.36, true).delta, 0.5946, 1e-4);
  EXPECT_NEAR(optaro::bs_greeks(105.0, 100.0, 0.5, 0.10, 0.10, 0.36, false).delta, -0.3566, 1e-4);
  // elasticity (lambda = delta S / V) of the put: -4.8775
  const optaro::greeks put = optaro::bs_greeks(105.0, 100.0, 0.5, 0.10, 0.10, 0.36, false);
  EXPECT_NEAR(put.delta * 105.0 / put.price, -4.8775, 1e-4);
  // gamma and vega: S = 55, K = 60, T = 0.75, r = 10%, q = 0, sigma = 30%
  for (bool call : {true, false}) {
    const optaro::greeks g = optaro::bs_greeks(55.0, 60.0, 0.75, 0.10, 0.0, 0.30, call);
    EXPECT_NEAR(g.gamma, 0.0278, 1e-4) << (call ? "call" : "put");
    EXPECT_NEAR(g.vega, 18.9358, 1e-4) << (call ? "call" : "put");
  }
  // theta of a put: S = 430, K = 405, T = 1/12, r = 7%, q = 5%, sigma = 20%: -31.1924 per year,
  // -0.0855 per calendar day
  const optaro::greeks th = optaro::bs_greeks(430.0, 405.0, 1.0 / 12.0, 0.07, 0.05, 0.20, false);
  EXPECT_NEAR(th.theta, -31.1924, 1e-4);
  EXPECT_NEAR(optaro::to_trader_units(th).theta, -0.0855, 1e-4);
  // rho of a call: S = 72, K = 75, T = 1, r = 9%, q = 0, sigma = 19%: 38.7325 (per 1.00 of rate)
  EXPECT_NEAR(optaro::bs_greeks(72.0, 75.0, 1.0, 0.09, 0.0, 0.19, true).rho, 38.7325, 1e-4);
  EXPECT_NEAR(optaro::to_trader_units(optaro::bs_greeks(72.0, 75.0, 1.0, 0.09, 0.0, 0.19, true)).rho, 0.387325, 1e-6);
}

// J. C. Hull, "Options, Futures, and Other Derivatives": the Black-Scholes-Merton worked example
// (S0 = 42, K = 40, r = 10%, sigma = 20%, T = 0.5: c = 4.76, p = 0.81) and the running example of the
// chapter on the Greek letters (S0 = 49, K = 50, r = 5%, sigma = 20%, T = 20 weeks = 0.3846, no
// dividend: c = 2.40, delta = 0.522, gamma = 0.066, vega = 12.1, theta = -4.31 per year, rho = 8.91);
// to half a unit of the last printed digit.
TEST(GoldenHull, WorkedExamples) {
  EXPECT_NEAR(optaro::bs_price(42.0, 40.0, 0.5, 0.10, 0.0, 0.20, true), 4.76, 0.005);
  EXPECT_NEAR(optaro::bs_price(42.0, 40.0, 0.5, 0.10, 0.0, 0.20, false), 0.81, 0.005);
  const optaro::greeks g = optaro::bs_greeks(49.0, 50.0, 0.3846, 0.05, 0.0, 0.20, true);
  EXPECT_NEAR(g.price, 2.40, 0.005);
  EXPECT_NEAR(g.delta, 0.522, 0.0005);
  EXPECT_NEAR(g.gamma, 0.066, 0.0005);
  EXPECT_NEAR(g.vega, 12.1, 0.05);
  EXPECT_NEAR(g.theta, -4.31, 0.005);
  EXPECT_NEAR(g.rho, 8.91, 0.005);
  // and in trader units: vega 0.121 per vol point, theta -0.0118 per calendar day, rho 0.0891 per point
  const optaro::greeks t = optaro::to_trader_units(g);
  EXPECT_NEAR(t.vega, 0.121, 0.0005);
  EXPECT_NEAR(t.theta, -0.0118, 0.00005);
  EXPECT_NEAR(t.rho, 0.0891, 0.00005);
}

}  // namespace

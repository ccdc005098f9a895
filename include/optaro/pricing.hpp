#pragma once
// Black-Scholes-Merton and Black-76 prices and Greeks.
//
// Units (CONVENTIONS.md): T in years, r and q continuous rates per year, sigma per sqrt(year).
// Greeks are raw derivatives: delta = dV/dS, gamma = d2V/dS2, vega = dV/dsigma (per 1.00 of vol),
// theta = dV/dt (per year of calendar time, i.e. -dV/dT), rho = dV/dr (per 1.00),
// vanna = d2V/dS dsigma, volga = d2V/dsigma2, charm = d(delta)/dt, speed = d(gamma)/dS,
// zomma = d(gamma)/dsigma, color = d(gamma)/dt, veta = d(vega)/dt.
// Black-76 takes the forward F and discounts with r; its delta, gamma, speed are with respect to F
// and its rho and theta hold F fixed.
//
// Invalid inputs (non-finite, S, K <= 0, sigma < 0, T < 0) give NaN. T = 0 or sigma = 0 give the
// discounted intrinsic value with Greeks of the limit (delta a step, higher orders 0).
namespace optaro {

struct greeks {
  double price = 0, delta = 0, gamma = 0, vega = 0, theta = 0, rho = 0;
  double vanna = 0, volga = 0, charm = 0, speed = 0, zomma = 0, color = 0, veta = 0;
};

[[nodiscard]] double bs_price(double S, double K, double T, double r, double q, double sigma, bool is_call) noexcept;
[[nodiscard]] greeks bs_greeks(double S, double K, double T, double r, double q, double sigma, bool is_call) noexcept;

[[nodiscard]] double black76_price(double F, double K, double T, double r, double sigma, bool is_call) noexcept;
[[nodiscard]] greeks black76_greeks(double F, double K, double T, double r, double sigma, bool is_call) noexcept;

/// Trader units for display and enriched messages: every Greek re-expressed with a vol or rate point
/// (0.01) and a calendar day (1/365 year) as units. vega, rho, vanna, zomma: /100; volga: /100^2;
/// theta, charm, color: /365; veta: /(100*365). Price, delta, gamma and speed are unchanged.
[[nodiscard]] greeks to_trader_units(const greeks& raw) noexcept;

/// Normalised Black function b(x, s, theta) = theta*(e^{x/2} Phi(theta(x/s + s/2)) - e^{-x/2} Phi(theta(x/s - s/2)))
/// with x = ln(F/K), s = sigma*sqrt(T); the undiscounted price is sqrt(F*K) * b.
/// Accurate to a few ulps wherever the inputs' conditioning allows, including far out of the money.
[[nodiscard]] double normalised_black(double x, double s, bool is_call) noexcept;

}  // namespace optaro

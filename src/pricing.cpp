// Prices and Greeks of Black-Scholes-Merton and Black-76. Prices go through the normalised Black
// function (no cancellation out of the money); Greeks use the closed forms in d1 and d2.
#include <cmath>
#include <limits>

#include <optaro/pricing.hpp>

#include "black_detail.hpp"
#include "normal.hpp"

namespace optaro {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

bool valid_inputs(double S, double K, double T, double r, double q, double sigma) noexcept {
  return std::isfinite(S) && std::isfinite(K) && std::isfinite(T) && std::isfinite(r) && std::isfinite(q) &&
         std::isfinite(sigma) && S > 0 && K > 0 && T >= 0 && sigma >= 0;
}

// sigma*sqrt(T) == 0: the option pays its discounted intrinsic value for sure.
greeks deterministic_greeks(double S, double K, double T, double r, double q, bool is_call) noexcept {
  const double theta_sign = is_call ? 1.0 : -1.0;
  const double dq = std::exp(-q * T), dr = std::exp(-r * T);
  const double forward_moneyness = detail::log_moneyness(S, K) + (r - q) * T;
  greeks g;
  if (theta_sign * forward_moneyness > 0) {
    g.price = theta_sign * (S * dq - K * dr);
    g.delta = theta_sign * dq;
    g.theta = theta_sign * (q * S * dq - r * K * dr);
    g.rho = theta_sign * K * T * dr;
    g.charm = theta_sign * q * dq;
  } else if (forward_moneyness == 0) {
    g.delta = 0.5 * theta_sign * dq;  // the mean of the two one-sided limits of the step
  }
  return g;
}

}  // namespace

double bs_price(double S, double K, double T, double r, double q, double sigma, bool is_call) noexcept {
  if (!valid_inputs(S, K, T, r, q, sigma)) return nan;
  const double x = detail::log_moneyness(S, K) + (r - q) * T;
  const double s = sigma * std::sqrt(T);
  // e^{-rT} sqrt(F K) with F = S e^{(r-q)T}, written so that nothing overflows on the way.
  return std::sqrt(S) * std::sqrt(K) * std::exp(-0.5 * (r + q) * T) * normalised_black(x, s, is_call);
}

greeks bs_greeks(double S, double K, double T, double r, double q, double sigma, bool is_call) noexcept {
  if (!valid_inputs(S, K, T, r, q, sigma)) {
    return {nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan};
  }
  const detail::bsm_horizon h = detail::make_horizon(T, r, q);
  if (sigma * h.sqrt_t == 0) return deterministic_greeks(S, K, T, r, q, is_call);

  // The first-order Greeks come from the kernel the chain analytics use too (black_detail.hpp).
  const double x = detail::forward_log_moneyness(S, K, h);
  const detail::bsm_terms d = detail::make_bsm_terms(x, sigma, h, is_call);
  const double w = d.w, s = d.s, d1 = d.d1, d2 = d.d2, cdf1 = d.cdf1, pdf1 = d.pdf1, sqrt_t = h.sqrt_t;
  const double dq = h.spot_discount, s_dq_pdf1 = S * dq * pdf1;

  greeks g;
  g.price = bs_price(S, K, T, r, q, sigma, is_call);
  const detail::first_order_greeks first = detail::first_order(d, S, K, sigma, h);
  g.delta = first.delta;
  g.gamma = first.gamma;
  g.vega = first.vega;
  g.theta = first.theta;
  g.rho = first.rho;
  g.vanna = -dq * pdf1 * d2 / sigma;
  g.volga = g.vega * d1 * d2 / sigma;
  // Time derivatives in calendar time t = -T (the sign convention of theta), checked against finite
  // differences and the mpmath references.
  const double drift = h.carry;
  g.charm = w * q * dq * cdf1 - dq * pdf1 * (2 * drift - d2 * s) / (2 * T * s);
  g.speed = -g.gamma / S * (d1 / s + 1);
  g.zomma = g.gamma * (d1 * d2 - 1) / sigma;
  g.color = dq * pdf1 / (2 * S * T * s) * (2 * q * T + 1 + d1 * (2 * drift - d2 * s) / s);
  g.veta = s_dq_pdf1 * sqrt_t * (q + (r - q) * d1 / s - (1 + d1 * d2) / (2 * T));
  return g;
}

double black76_price(double F, double K, double T, double r, double sigma, bool is_call) noexcept {
  // Black-76 is BSM on the forward with carry zero: S = F, q = r.
  return bs_price(F, K, T, r, r, sigma, is_call);
}

greeks black76_greeks(double F, double K, double T, double r, double sigma, bool is_call) noexcept {
  greeks g = bs_greeks(F, K, T, r, r, sigma, is_call);
  g.rho = -T * g.price;  // F held fixed: only the discount factor depends on r
  return g;
}

greeks to_trader_units(const greeks& raw) noexcept {
  constexpr double point = detail::trader_point, day = detail::trader_day;
  greeks t = raw;
  t.vega = raw.vega * point;
  t.rho = raw.rho * point;
  t.theta = raw.theta * day;
  t.vanna = raw.vanna * point;
  t.volga = raw.volga * point * point;
  t.charm = raw.charm * day;
  t.zomma = raw.zomma * point;
  t.color = raw.color * day;
  t.veta = raw.veta * point * day;
  return t;
}

}  // namespace optaro

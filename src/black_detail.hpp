#pragma once
// The normalised Black function out of the money, in the pieces the implied-volatility solver needs.
//
// Notation (P. Jaeckel, "Let's Be Rational", Wilmott 2015): x = ln(F/K) <= 0, s = sigma sqrt(T) > 0,
// h = x/s, t = s/2. The out-of-the-money call value is
//     b(x, s) = e^{x/2} Phi(h + t) - e^{-x/2} Phi(h - t)
//             = vega(x, s) * [Y(h + t) - Y(h - t)],   Y(z) = Phi(z)/phi(z),
// with vega = db/ds = exp(-(h^2 + t^2)/2) / sqrt(2 pi). Keeping the bracket ("b over vega") and
// ln(vega) apart lets the solver work with prices far below the smallest normal double.
//
// Also here: the pieces of Black-Scholes-Merton valuation that depend on T, r and q alone, and the
// closed-form first-order Greeks. bs_greeks, bs_implied_vol and the chain analytics all go through
// them, so a chain (one T, r, q for every quote) computes its exponentials once and still gets values
// identical, bit for bit, to the scalar API's.

#include <cmath>
#include <limits>
#include <optional>
#include <span>

#include <optaro/implied_vol.hpp>
#include <optaro/pricing.hpp>

#include "normal.hpp"

namespace optaro::detail {

/// ln(S/K), accurate relative to its own size near the money: S - K is exact there (Sterbenz), so
/// log1p((S-K)/K) carries no absolute error of order eps as log(S/K) does.
inline double log_moneyness(double S, double K) noexcept {
  return (S >= 0.5 * K && S <= 2 * K) ? std::log1p((S - K) / K) : std::log(S / K);
}

struct scaled_black {
  double b_over_vega;  ///< b / (db/ds)
  double ln_vega;      ///< ln(db/ds)
};

/// ln(db/ds) for s > 0.
double ln_normalised_vega(double x, double s) noexcept;

/// b(x, s) for x <= 0, s >= 0 (out of the money, or at the money).
double otm_black(double x, double s) noexcept;

/// b split into b/vega and ln(vega), for x <= 0, s > 0.
scaled_black otm_black_scaled(double x, double s) noexcept;

/// The complement e^{x/2} - b(x, s) = e^{x/2} Phi(-h - t) + e^{-x/2} Phi(h - t) as b/vega-style pair,
/// for x <= 0, s > 0: a sum of positive terms, accurate where b is close to its maximum.
scaled_black otm_black_complement_scaled(double x, double s) noexcept;

/// e^{x/2} - e^{-x/2} for x > 0, else 0: the normalised intrinsic value of a call.
double normalised_intrinsic(double x) noexcept;

/// What valuation derives from the time to expiry and the rates alone: one per chain, not per quote.
struct bsm_horizon {
  double T = 0, r = 0, q = 0;
  double sqrt_t = 0;
  double carry = 0;            ///< (r - q) T: ln(F/S)
  double spot_discount = 0;    ///< e^{-qT}
  double strike_discount = 0;  ///< e^{-rT}
};

inline bsm_horizon make_horizon(double T, double r, double q) noexcept {
  return {T, r, q, std::sqrt(T), (r - q) * T, std::exp(-q * T), std::exp(-r * T)};
}

/// x = ln(F/K) = ln(S/K) + (r - q) T, the one expression every BSM function uses.
inline double forward_log_moneyness(double S, double K, const bsm_horizon& h) noexcept {
  return log_moneyness(S, K) + h.carry;
}

// Implied volatility in three steps, so that a chain can run the expensive middle one on all its quotes
// at once: reduce (checks, bounds, normalisation), solve the normalised problem, scale back to sigma.

/// b(x, s) = beta for s, with x <= 0 and 0 < beta < bmax = e^{x/2}.
struct normalised_problem {
  double beta, x, bmax;
};

/// The outcome of the checks: either decided (no volatility to solve for: `decided` is the answer) or a
/// normalised problem whose solution s gives sigma = s / sqrt(T).
struct iv_reduction {
  iv_result decided{};
  std::optional<normalised_problem> problem;
};

/// bs_implied_vol's checks and reduction with the horizon and x = forward_log_moneyness(S, K, h)
/// supplied by the caller. Any T, r, q: an invalid horizon gives invalid_input.
iv_reduction reduce_bs_implied_vol(double price, double S, double K, bool is_call, const bsm_horizon& h,
                                   double x) noexcept;

/// s = sigma sqrt(T) with status ok, or not_converged.
iv_result solve_normalised(const normalised_problem& p) noexcept;

/// The same for many problems (out[i] for problems[i]; out.size() >= problems.size()), on the widest
/// vector kernels the CPU has (src/simd/implied_vol_kernel.hpp: the same solver in lanes, within the
/// vector functions' ulps of the one-problem function), else interleaved as below.
void solve_normalised(std::span<const normalised_problem> problems, std::span<iv_result> out) noexcept;

/// The portable form: two scalar solves advanced in turn; every result equals the one-problem
/// function's bit for bit.
void solve_normalised_interleaved(std::span<const normalised_problem> problems, std::span<iv_result> out) noexcept;

/// T, r and q that give a horizon: finite, T > 0 (anything else is invalid_input).
inline bool valid_horizon(double T, double r, double q) noexcept {
  return std::isfinite(T) && std::isfinite(r) && std::isfinite(q) && T > 0;
}

/// sigma from a solved s.
inline iv_result from_normalised(iv_result solved, double sqrt_t) noexcept {
  if (solved.st != status::ok) return {std::numeric_limits<double>::quiet_NaN(), solved.st};
  return {solved.sigma / sqrt_t, status::ok};
}
inline iv_result from_normalised(iv_result solved, const bsm_horizon& h) noexcept {
  return from_normalised(solved, h.sqrt_t);
}

/// bs_implied_vol with the horizon and x supplied by the caller: the same checks, the same solver, the
/// same result.
iv_result bs_implied_vol(double price, double S, double K, bool is_call, const bsm_horizon& h, double x) noexcept;

/// The terms of the closed-form Greeks at one (S, K, sigma) with s = sigma sqrt(T) > 0.
struct bsm_terms {
  double w;  ///< +1 call, -1 put
  double s, d1, d2;
  double cdf1, cdf2;  ///< Phi(w d1), Phi(w d2)
  double pdf1;        ///< phi(d1)
};

inline bsm_terms make_bsm_terms(double x, double sigma, const bsm_horizon& h, bool is_call) noexcept {
  const double w = is_call ? 1.0 : -1.0;
  const double s = sigma * h.sqrt_t;
  const double d1 = x / s + 0.5 * s;
  const double d2 = d1 - s;
  return {w, s, d1, d2, norm_cdf(w * d1), norm_cdf(w * d2), norm_pdf(d1)};
}

/// The Greeks an enriched quote carries.
struct first_order_greeks {
  double delta, gamma, vega, theta, rho;
};

/// Raw delta, gamma, vega, theta and rho (CONVENTIONS.md) from the terms.
inline first_order_greeks first_order(const bsm_terms& d, double S, double K, double sigma,
                                      const bsm_horizon& h) noexcept {
  const double dq = h.spot_discount, dr = h.strike_discount;
  const double s_dq_pdf1 = S * dq * d.pdf1;  // = K e^{-rT} phi(d2)
  return {d.w * dq * d.cdf1, dq * d.pdf1 / (S * d.s), s_dq_pdf1 * h.sqrt_t,
          -s_dq_pdf1 * sigma / (2 * h.sqrt_t) - d.w * h.r * K * dr * d.cdf2 + d.w * h.q * S * dq * d.cdf1,
          d.w * K * h.T * dr * d.cdf2};
}

/// The units of trader-unit Greeks (to_trader_units): a vol or rate point and a calendar day.
inline constexpr double trader_point = 0.01;
inline constexpr double trader_day = 1.0 / 365.0;

inline first_order_greeks in_trader_units(first_order_greeks g) noexcept {
  g.vega *= trader_point;
  g.theta *= trader_day;
  g.rho *= trader_point;
  return g;
}

}  // namespace optaro::detail

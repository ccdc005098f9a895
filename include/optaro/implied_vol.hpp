#pragma once
// Implied volatility of the "Let's Be Rational" class (P. Jaeckel, Wilmott 2015): normalised
// variables, a rational initial guess per region, and at most a few Householder steps; accurate to
// what double precision allows for the given inputs.
#include <optaro/status.hpp>

namespace optaro {

struct iv_result {
  double sigma;  ///< implied volatility; NaN unless st is ok (0.0 for zero_time_value)
  status st;
};

/// Black-Scholes-Merton implied volatility with a per-call status.
[[nodiscard]] iv_result bs_implied_vol(double price, double S, double K, double T, double r, double q,
                                       bool is_call) noexcept;
/// Black-76 implied volatility (forward F, discount r) with a per-call status.
[[nodiscard]] iv_result black76_implied_vol(double price, double F, double K, double T, double r,
                                            bool is_call) noexcept;

/// Convenience: the volatility, NaN when no volatility attains the price (0.0 at intrinsic).
[[nodiscard]] double implied_vol(double price, double S, double K, double T, double r, double q, bool is_call) noexcept;

/// The normalised inverse: the s = sigma*sqrt(T) with normalised_black(x, s, is_call) == beta,
/// where beta = price / (discount * sqrt(F*K)).
[[nodiscard]] iv_result normalised_implied_vol(double beta, double x, bool is_call) noexcept;

}  // namespace optaro

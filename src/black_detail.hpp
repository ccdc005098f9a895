#pragma once
// The normalised Black function out of the money, in the pieces the implied-volatility solver needs.
//
// Notation (P. Jaeckel, "Let's Be Rational", Wilmott 2015): x = ln(F/K) <= 0, s = sigma sqrt(T) > 0,
// h = x/s, t = s/2. The out-of-the-money call value is
//     b(x, s) = e^{x/2} Phi(h + t) - e^{-x/2} Phi(h - t)
//             = vega(x, s) * [Y(h + t) - Y(h - t)],   Y(z) = Phi(z)/phi(z),
// with vega = db/ds = exp(-(h^2 + t^2)/2) / sqrt(2 pi). Keeping the bracket ("b over vega") and
// ln(vega) apart lets the solver work with prices far below the smallest normal double.

#include <cmath>

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

}  // namespace optaro::detail

#pragma once
// The SVI smile of one expiry: Gatheral's raw parametrisation of total implied variance
//   w(k) = a + b (rho (k - m) + sqrt((k - m)^2 + sigma^2)),   k = ln(K / F), w = sigma_implied^2 T,
// a robust weighted least-squares fit of it, and Durrleman's butterfly-arbitrage diagnostic.
// Pure functions: no I/O, no globals; the fit allocates only its own scratch.
#include <span>
#include <vector>

namespace optaro {

/// Raw SVI parameters (J. Gatheral, A. Jacquier, "Arbitrage-free SVI volatility surfaces",
/// Quantitative Finance 14(1), 2014, section 3). The domain used throughout: b >= 0, |rho| < 1,
/// sigma > 0; fits also keep the minimum variance a + b sigma sqrt(1 - rho^2) >= 0 and Lee's wing
/// bound b (1 + |rho|) <= 2.
struct svi_params {
  double a = 0;      ///< level of total variance
  double b = 0;      ///< angle between the wings
  double rho = 0;    ///< skew: the slopes of the wings are b (1 - rho) (left) and b (1 + rho) (right)
  double m = 0;      ///< log-moneyness of the vertex
  double sigma = 0;  ///< smoothness of the vertex, in log-moneyness
};

/// Total variance w(k). No checks: any inputs are evaluated as written.
[[nodiscard]] double svi_total_variance(const svi_params& p, double k) noexcept;

/// Durrleman's function g(k) = (1 - k w'/(2w))^2 - (w'^2 / 4) (1/w + 1/4) + w''/2, as in Gatheral-Jacquier
/// (2014, section 2): the risk-neutral density is non-negative at k exactly where g(k) >= 0, so g < 0 is
/// butterfly arbitrage. Where w(k) <= 0 there is no valid smile and the result is -infinity.
[[nodiscard]] double svi_durrleman_g(const svi_params& p, double k) noexcept;

/// Outcome of fit_svi.
struct svi_fit_result {
  svi_params params;
  double rmse = 0;         ///< sqrt(sum weight_i (w(k_i) - w_i)^2 / sum weight_i): total variance units
  int iterations = 0;      ///< optimiser steps: vertex-search (Nelder-Mead) steps plus Levenberg-Marquardt steps
  bool converged = false;  ///< the final Levenberg-Marquardt polish met its tolerances
};

/// Weighted least-squares fit of raw SVI to total variances w at log-moneyness k (w = iv^2 T; weights,
/// e.g. 1/iv^2 for quotes with equal noise in vol, or vega; empty = all 1). Points with weight 0 are
/// ignored; the order of the points does not matter.
///
/// The result always lies in the domain b >= 0, |rho| < 1 (a flat wing keeps 1e-9 of the other wing's
/// slope), a + b sigma sqrt(1 - rho^2) >= 0 and Lee's b (1 + |rho|) <= 2. Because noisy quotes can
/// otherwise be fitted by shapes that say nothing outside them, the fit is also kept near the quotes:
///  - the vertex m within one width of the quoted k range outside it;
///  - sigma between half the median spacing of the quoted k (a narrower vertex is a spike between two
///    strikes) and four widths of the range;
///  - both wing slopes b (1 -+ rho) at most 4 times the steepest chord from the lowest quoted variance to
///    the quotes at least a quarter of the range away from it, so that an unquoted wing cannot be made
///    steep to bend the quoted one. With quotes on both sides of the vertex this binds only when they
///    stay within about sigma / 2 of it, where no fit could tell the wings' slopes anyway.
///
/// previous: the fit of the same expiry a moment ago; the fit then starts from it instead of searching
/// (and falls back to the full search if that start does not converge).
///
/// Throws std::invalid_argument naming the argument: sizes differ, fewer than 5 points (or fewer than
/// 5 distinct k with positive weight: SVI has 5 parameters), k not finite, w negative or not finite,
/// weights negative, not finite or all zero, previous not finite or outside b >= 0, |rho| < 1, sigma > 0.
[[nodiscard]] svi_fit_result fit_svi(std::span<const double> k, std::span<const double> w,
                                     std::span<const double> weights = {}, const svi_params* previous = nullptr);

/// The k of the grid (in its order) where g(k) < 0: butterfly arbitrage. Throws std::invalid_argument
/// naming the argument when p is not finite or outside b >= 0, |rho| < 1, sigma > 0, or a k is not finite.
[[nodiscard]] std::vector<double> svi_butterfly_violations(const svi_params& p, std::span<const double> k);

}  // namespace optaro

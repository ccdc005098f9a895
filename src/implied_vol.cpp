// Implied volatility: reduction to the normalised out-of-the-money problem, an initial guess from
// closed-form maps per region, then Householder steps of order 4 on an objective chosen per region so
// that it is nearly linear in s (P. Jaeckel, "Let's Be Rational", Wilmott 2015, sections 3-5):
//   lower region (b below its inflection value b_c):  g(s) = 1/ln b(s) - 1/ln beta
//   upper region:                                     g(s) = ln(bmax - beta) - ln(bmax - b(s))
// Every quantity is evaluated in a form that keeps its relative accuracy (scaled Black function,
// complement computed as a sum), so the iteration ends at the accuracy the inputs allow.
#include <optaro/implied_vol.hpp>

#include <cmath>
#include <limits>

#include <boost/math/special_functions/erf.hpp>

#include <optaro/pricing.hpp>

#include "black_detail.hpp"
#include "normal.hpp"

namespace optaro {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double sqrt3 = 1.7320508075688772935274463415058723669428;
constexpr double two_pi_over_sqrt27 = 1.2091995761561452337293855050947704881894;  // 2 pi / sqrt(27)
constexpr double inv_sqrt_2pi = 0.3989422804014326779399460599343818684758586311649;
constexpr int max_iterations = 12;
// Once a step is this small relative to s, the order-4 step has left an error far below one ulp.
constexpr double converged_step = 1e-5;

using no_throw_policy = boost::math::policies::policy<
    boost::math::policies::domain_error<boost::math::policies::ignore_error>,
    boost::math::policies::overflow_error<boost::math::policies::ignore_error>,
    boost::math::policies::evaluation_error<boost::math::policies::ignore_error>,
    boost::math::policies::promote_double<false>>;  // long double is slower and not needed for a guess

// Phi^{-1}(p) for 0 < p < 1.
double inverse_norm_cdf(double p) noexcept {
  return -std::numbers::sqrt2 * boost::math::erfc_inv(2 * p, no_throw_policy());
}

// Lower map (Jaeckel eq. 4.36): f(s) = 2pi/sqrt27 |x| Phi(-|x|/(sqrt3 s))^3 ~ b(x, s) as s -> 0; its inverse.
double inverse_lower_map(double x, double beta) noexcept {
  const double ax = std::fabs(x);
  const double p = std::cbrt(beta) / std::cbrt(two_pi_over_sqrt27 * ax);  // two roots: no underflow
  if (!(p < 0.5)) return nan;
  return ax / (sqrt3 * -inverse_norm_cdf(p));
}

// Upper map: bmax - b ~ (e^{x/2} + e^{-x/2}) Phi(-s/2) for large s (exact at x = 0); its inverse.
double inverse_upper_map(double x, double complement) noexcept {
  const double p = complement / (2 * std::cosh(0.5 * x));
  if (!(p > 0 && p < 0.5)) return nan;
  return -2 * inverse_norm_cdf(p);
}

// Householder step of order 4 given the Newton step nu and h2 = g''/g', h3 = g'''/g'.
double householder_step(double nu, double h2, double h3) noexcept {
  return nu * (1 + 0.5 * h2 * nu) / (1 + nu * (h2 + h3 * nu * (1.0 / 6.0)));
}

// Solves b(x, s) = beta for s, with x < 0 and 0 < beta < bmax = e^{x/2}; or x = 0.
iv_result solve_out_of_the_money(double beta, double x) noexcept {
  const double bmax = std::exp(0.5 * x);
  const double s_c = std::sqrt(-2 * x);  // inflection point of b(s)
  // At s_c, h = -t: b_c = bmax (1 - erfcx(sqrt|x|)) / 2 and db/ds = bmax / sqrt(2 pi), in closed form.
  const double b_c = 0.5 * bmax * (1 - detail::erfcx(std::sqrt(-x)));
  const double vega_c = inv_sqrt_2pi * bmax;
  const bool lower = beta < b_c;

  // Bracket: the tangent at s_c bounds s from above in the (convex) lower region and from below in the
  // (concave) upper region.
  const double delta = beta - b_c;
  const double s_tangent = s_c + delta / vega_c;
  double lo = 0, hi = std::numeric_limits<double>::infinity();
  const double complement_beta = bmax - beta;
  // Only the branch's own target is needed.
  const double ln_target = lower ? std::log(beta) : std::log(complement_beta);
  // Initial guess. Near b_c, the inverse function's Taylor series: b''(s_c) = 0 and b'''(s_c) = -vega
  // give s = s_c + delta/v + delta^3/(6 v^3) + O(delta^4), within 3% over [b_c/4, b_c + (bmax-b_c)/3].
  // Further out, the lower map (deep out of the money) or the upper map (close to bmax).
  const double s_cubic = s_tangent + delta * delta * delta / (6 * vega_c * vega_c * vega_c);
  double s;
  if (lower) {
    hi = s_tangent > 0 ? s_tangent : s_c;
    if (beta >= 0.25 * b_c) {
      s = s_cubic;
    } else {
      const double s_map = inverse_lower_map(x, beta);
      s = (s_map > 0 && s_map < hi) ? s_map : 0.5 * hi;
    }
  } else {
    lo = s_tangent > s_c ? s_tangent : s_c;
    if (delta <= (bmax - b_c) * (1.0 / 3.0)) {
      s = s_cubic;
    } else {
      const double s_map = inverse_upper_map(x, complement_beta);
      s = s_map > lo ? s_map : lo;
    }
  }
  if (!(s > lo && s < hi)) s = lower ? 0.5 * (lo + hi) : lo;

  for (int i = 0; i < max_iterations; ++i) {
    const double inv_s = 1 / s, h2_over_s = x * x * inv_s * inv_s * inv_s;
    const double r2 = h2_over_s - 0.25 * s;                   // b''/b'
    const double r3 = r2 * r2 - 3 * h2_over_s * inv_s - 0.25;  // b'''/b'
    double step;
    bool below;  // b(s) < beta
    if (lower) {
      const detail::scaled_black sb = detail::otm_black_scaled(x, s);
      const double L = std::log(sb.b_over_vega) + sb.ln_vega;  // ln b(s)
      const double lam = 1 / sb.b_over_vega;                   // b'/b
      below = L < ln_target;
      const double nu = L * (ln_target - L) / (ln_target * lam);
      const double h2 = r2 - lam * (1 + 2 / L);
      const double h3 = r3 + 2 * lam * lam * (1 + 3 / L * (1 + 1 / L)) - 3 * lam * r2 * (1 + 2 / L);
      step = householder_step(nu, h2, h3);
    } else {
      const detail::scaled_black cb = detail::otm_black_complement_scaled(x, s);
      const double ln_complement = std::log(cb.b_over_vega) + cb.ln_vega;
      const double mu = 1 / cb.b_over_vega;  // b'/(bmax - b)
      below = ln_complement > ln_target;
      const double nu = (ln_complement - ln_target) / mu;
      step = householder_step(nu, r2 + mu, r3 + 3 * mu * r2 + 2 * mu * mu);
    }
    if (below) {
      lo = s > lo ? s : lo;
    } else {
      hi = s < hi ? s : hi;
    }
    const double next = s + step;
    if (std::fabs(step) <= converged_step * s && next > 0) return {next, status::ok};
    s = next;
    if (!(s > lo && s < hi)) {
      // The step left the bracket: bisect (geometrically when the bracket spans orders of magnitude).
      s = std::isinf(hi) ? 2 * lo : (lo > 0 ? std::sqrt(lo * hi) : 0.5 * hi);
    }
  }
  return {s, status::not_converged};
}

}  // namespace

iv_result normalised_implied_vol(double beta, double x, bool is_call) noexcept {
  if (!std::isfinite(beta) || !std::isfinite(x) || beta < 0) return {nan, status::invalid_input};
  const double theta_x = is_call ? x : -x;
  const double intrinsic = detail::normalised_intrinsic(theta_x);
  if (beta == intrinsic) return {0.0, status::zero_time_value};
  if (beta < intrinsic) return {nan, status::below_intrinsic};
  const double x_otm = -std::fabs(x);
  const double beta_otm = beta - intrinsic;
  if (beta_otm >= std::exp(0.5 * x_otm)) return {nan, status::above_maximum};
  return solve_out_of_the_money(beta_otm, x_otm);
}

iv_result bs_implied_vol(double price, double S, double K, double T, double r, double q, bool is_call) noexcept {
  if (!std::isfinite(price) || !std::isfinite(S) || !std::isfinite(K) || !std::isfinite(T) || !std::isfinite(r) ||
      !std::isfinite(q) || price < 0 || !(S > 0) || !(K > 0) || !(T > 0)) {
    return {nan, status::invalid_input};
  }
  const double w = is_call ? 1.0 : -1.0;
  const double discounted_spot = S * std::exp(-q * T), discounted_strike = K * std::exp(-r * T);
  // Intrinsic value and bounds in price space. The intrinsic value itself carries a rounding error of a
  // few ulps of S e^{-qT} + K e^{-rT}; a price below it by no more than that is indistinguishable from
  // one at intrinsic (a deep in-the-money price from any double-precision pricer lands there).
  const double intrinsic = std::fmax(w * (discounted_spot - discounted_strike), 0.0);
  const double intrinsic_rounding = 4 * std::numeric_limits<double>::epsilon() * (discounted_spot + discounted_strike);
  if (price <= intrinsic && (price == intrinsic || intrinsic - price <= intrinsic_rounding)) {
    return {0.0, status::zero_time_value};
  }
  if (price < intrinsic) return {nan, status::below_intrinsic};
  if (price >= (is_call ? discounted_spot : discounted_strike)) return {nan, status::above_maximum};

  const double x = detail::log_moneyness(S, K) + (r - q) * T;
  // e^{-rT} sqrt(F K) = sqrt(S K) e^{-(r+q)T/2}; sqrt of the product when it is a normal double.
  const double sk = S * K;
  const double root_sk = std::isnormal(sk) && std::isfinite(sk) ? std::sqrt(sk) : std::sqrt(S) * std::sqrt(K);
  const double scale = root_sk * std::exp(-0.5 * (r + q) * T);
  // The time value in normalised units: 2 sinh(x/2) is accurate relative to itself, where the
  // price-space intrinsic value carries an error of order eps * S.
  const double beta_otm = price / scale - detail::normalised_intrinsic(is_call ? x : -x);
  const double x_otm = -std::fabs(x);
  if (beta_otm <= 0) return {0.0, status::zero_time_value};
  if (beta_otm >= std::exp(0.5 * x_otm)) return {nan, status::above_maximum};
  iv_result res = solve_out_of_the_money(beta_otm, x_otm);
  res.sigma = res.st == status::ok ? res.sigma / std::sqrt(T) : nan;
  return res;
}

iv_result black76_implied_vol(double price, double F, double K, double T, double r, bool is_call) noexcept {
  return bs_implied_vol(price, F, K, T, r, r, is_call);
}

double implied_vol(double price, double S, double K, double T, double r, double q, bool is_call) noexcept {
  return bs_implied_vol(price, S, K, T, r, q, is_call).sigma;
}

}  // namespace optaro

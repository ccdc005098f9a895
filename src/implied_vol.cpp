// Implied volatility: reduction to the normalised out-of-the-money problem, an initial guess from
// closed-form maps per region, then Householder steps of order 4 on an objective chosen per region so
// that it is nearly linear in s (P. Jaeckel, "Let's Be Rational", Wilmott 2015, sections 3-5):
//   below the inflection value b_c:  g(s) = 1/ln b(s) - 1/ln beta
//   between b_c and bmax/2:           g(s) = b(s) - beta
//   above bmax/2:                     g(s) = ln(bmax - beta) - ln(bmax - b(s))
// Every quantity is evaluated in a form that keeps its relative accuracy (scaled Black function,
// complement computed as a sum), so the iteration ends at the accuracy the inputs allow. See
// docs/numerics.md.
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <span>

#include <boost/math/special_functions/erf.hpp>

#include <optaro/implied_vol.hpp>
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

// Boost.Math without exceptions, and without promoting double to the slower long double: the
// inverse normal only feeds an initial guess.
namespace bmp = boost::math::policies;
using no_throw_policy = bmp::policy<bmp::domain_error<bmp::ignore_error>, bmp::overflow_error<bmp::ignore_error>,
                                    bmp::evaluation_error<bmp::ignore_error>, bmp::promote_double<false>>;

// Phi^{-1}(p) for 0 < p < 1.
double inverse_norm_cdf(double p) noexcept {
  return -std::numbers::sqrt2 * boost::math::erfc_inv(2 * p, no_throw_policy());
}

// Lower map (Jaeckel 2015, section 4): f(s) = 2pi/sqrt27 |x| Phi(-|x|/(sqrt3 s))^3 ~ b(x, s) as s -> 0; its inverse.
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

// The objective the Householder steps drive to zero, chosen per region so that it is nearly linear in s.
enum class objective {
  lower,   // 1/ln b(s) - 1/ln beta, for beta below the inflection value b_c
  middle,  // b(s) - beta, between b_c and bmax/2
  upper,   // ln(bmax - beta) - ln(bmax - b(s)), above bmax/2: the complement keeps its relative accuracy
};

struct start {
  objective obj;
  double s, lo, hi;  // initial guess and a bracket of the root
  double target;     // ln beta, beta or ln(bmax - beta), as the objective needs
};

start initial_guess(double beta, double x, double bmax) noexcept {
  const double s_c = std::sqrt(-2 * x);  // inflection point of b(s)
  // At s_c, h = -t: b_c = bmax (1 - erfcx(sqrt|x|)) / 2 and db/ds = bmax / sqrt(2 pi), in closed form.
  const double b_c = 0.5 * bmax * detail::one_minus_erfcx(std::sqrt(-x));
  const double vega_c = inv_sqrt_2pi * bmax;
  // The tangent at s_c bounds the root from above below b_c (b is convex there) and from below above.
  const double delta = beta - b_c;
  const double s_tangent = s_c + delta / vega_c;
  // Near b_c, the inverse function's Taylor series: b''(s_c) = 0 and b'''(s_c) = -vega_c give
  // s = s_c + delta/v + delta^3/(6 v^3) + O(delta^4), within 3% over [b_c/4, b_c + (bmax - b_c)/3].
  const double s_cubic = s_tangent + delta * delta * delta / (6 * vega_c * vega_c * vega_c);
  if (beta < b_c) {
    const double hi = s_tangent > 0 ? s_tangent : s_c;
    double s = s_cubic;
    if (beta < 0.25 * b_c) {  // deep out of the money: the lower map
      const double s_map = inverse_lower_map(x, beta);
      s = s_map > 0 && s_map < hi ? s_map : 0.5 * hi;
    }
    return {objective::lower, s > 0 && s < hi ? s : 0.5 * hi, 0.0, hi, std::log(beta)};
  }
  const double lo = s_tangent > s_c ? s_tangent : s_c;
  const double complement = bmax - beta;
  double s = s_cubic;
  // Further above b_c, the upper map (exact at the money).
  if (delta > (bmax - b_c) * (1.0 / 3.0)) {
    const double s_map = inverse_upper_map(x, complement);
    if (s_map > lo) s = s_map;
  }
  if (!(s > lo)) s = lo;
  const bool upper = beta > 0.5 * bmax;
  return {upper ? objective::upper : objective::middle, s, lo, std::numeric_limits<double>::infinity(),
          upper ? std::log(complement) : beta};
}

struct householder_result {
  double step;
  bool below;  // b(s) < beta: s is a lower bound of the root
};

// One Householder step of order 4 on the objective at s. With r2 = b''/b' and r3 = b'''/b' (closed
// forms in x and s) the ratios h2 = g''/g' and h3 = g'''/g' of each objective are closed forms too.
householder_result householder(objective obj, double x, double s, double target) noexcept {
  const double inv_s = 1 / s, h2_over_s = x * x * inv_s * inv_s * inv_s;
  const double r2 = h2_over_s - 0.25 * s;                    // b''/b'
  const double r3 = r2 * r2 - 3 * h2_over_s * inv_s - 0.25;  // b'''/b'
  switch (obj) {
    case objective::lower: {
      const detail::scaled_black sb = detail::otm_black_scaled(x, s);
      const double L = std::log(sb.b_over_vega) + sb.ln_vega;  // ln b(s)
      const double lam = 1 / sb.b_over_vega;                   // b'/b
      const double inv_L = 1 / L;
      // nu = -g/g' = L (ln beta - L) / (ln beta * lam), with target = ln beta.
      const double nu = L * (target - L) * sb.b_over_vega / target;
      const double one_plus = 1 + 2 * inv_L;
      const double h2 = r2 - lam * one_plus;
      const double h3 = r3 + 2 * lam * lam * (1 + 3 * inv_L * (1 + inv_L)) - 3 * lam * r2 * one_plus;
      return {householder_step(nu, h2, h3), L < target};
    }
    case objective::middle: {
      const detail::scaled_black sb = detail::otm_black_scaled(x, s);
      const double nu = target * std::exp(-sb.ln_vega) - sb.b_over_vega;  // (beta - b) / b'
      return {householder_step(nu, r2, r3), nu > 0};
    }
    case objective::upper: {
      const detail::scaled_black cb = detail::otm_black_complement_scaled(x, s);
      const double ln_complement = std::log(cb.b_over_vega) + cb.ln_vega;
      const double mu = 1 / cb.b_over_vega;                         // b'/(bmax - b)
      const double nu = (ln_complement - target) * cb.b_over_vega;  // -g/g'
      return {householder_step(nu, r2 + mu, r3 + 3 * mu * r2 + 2 * mu * mu), ln_complement > target};
    }
  }
  return {0.0, false};
}

// One solve of b(x, s) = beta for s, with x <= 0 and 0 < beta < bmax = e^{x/2}, as a state that
// advances one Householder step at a time, so that several solves can be interleaved.
class otm_solve {
 public:
  otm_solve(double beta, double x, double bmax) noexcept : st_(initial_guess(beta, x, bmax)), x_(x), s_(st_.s) {}

  // One step; true once the solve has ended, with its result in `out`.
  bool step(iv_result& out) noexcept {
    const householder_result h = householder(st_.obj, x_, s_, st_.target);
    (h.below ? st_.lo : st_.hi) = s_;
    const double next = s_ + h.step;
    if (std::fabs(h.step) <= converged_step * s_ && next > 0) {
      out = {next, status::ok};
      return true;
    }
    s_ = next;
    if (!(s_ > st_.lo && s_ < st_.hi)) {
      // The step left the bracket: bisect (geometrically when the bracket spans orders of magnitude).
      s_ = std::isinf(st_.hi) ? 2 * st_.lo : (st_.lo > 0 ? std::sqrt(st_.lo * st_.hi) : 0.5 * st_.hi);
    }
    if (++iterations_ == max_iterations) {
      out = {nan, status::not_converged};
      return true;
    }
    return false;
  }

 private:
  start st_;
  double x_, s_;
  int iterations_ = 0;
};

// The callers have bmax already, from their above_maximum check.
iv_result solve_out_of_the_money(double beta, double x, double bmax) noexcept {
  otm_solve solve(beta, x, bmax);
  iv_result out{};
  while (!solve.step(out)) {
  }
  return out;
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
  const double bmax = std::exp(0.5 * x_otm);
  if (beta_otm >= bmax) return {nan, status::above_maximum};
  return solve_out_of_the_money(beta_otm, x_otm, bmax);
}

namespace detail {

iv_reduction reduce_bs_implied_vol(double price, double S, double K, bool is_call, const bsm_horizon& h,
                                   double x) noexcept {
  const auto decided = [](double sigma, status st) { return iv_reduction{{sigma, st}, {}}; };
  if (!std::isfinite(price) || !std::isfinite(S) || !std::isfinite(K) || !std::isfinite(h.T) || !std::isfinite(h.r) ||
      !std::isfinite(h.q) || price < 0 || !(S > 0) || !(K > 0) || !(h.T > 0)) {
    return decided(nan, status::invalid_input);
  }
  const double w = is_call ? 1.0 : -1.0;
  const double discounted_spot = S * h.spot_discount, discounted_strike = K * h.strike_discount;
  // Intrinsic value and bounds in price space. The intrinsic value itself carries a rounding error of a
  // few ulps of S e^{-qT} + K e^{-rT}; a price below it by no more than that is indistinguishable from
  // one at intrinsic (a deep in-the-money price from any double-precision pricer lands there).
  const double intrinsic = std::fmax(w * (discounted_spot - discounted_strike), 0.0);
  const double intrinsic_rounding = 4 * std::numeric_limits<double>::epsilon() * (discounted_spot + discounted_strike);
  if (price <= intrinsic && (price == intrinsic || intrinsic - price <= intrinsic_rounding)) {
    return decided(0.0, status::zero_time_value);
  }
  if (price < intrinsic) return decided(nan, status::below_intrinsic);
  if (price >= (is_call ? discounted_spot : discounted_strike)) return decided(nan, status::above_maximum);

  // e^{-rT} sqrt(F K) = sqrt(S e^{-qT} K e^{-rT}); sqrt of the product when it is a normal double.
  const double product = discounted_spot * discounted_strike;
  const double scale = std::isnormal(product) && std::isfinite(product)
                           ? std::sqrt(product)
                           : std::sqrt(discounted_spot) * std::sqrt(discounted_strike);
  // The time value in normalised units: 2 sinh(x/2) is accurate relative to itself, where the
  // price-space intrinsic value carries an error of order eps * S.
  const double beta_otm = price / scale - normalised_intrinsic(is_call ? x : -x);
  const double x_otm = -std::fabs(x);
  if (beta_otm <= 0) return decided(0.0, status::zero_time_value);
  const double bmax = std::exp(0.5 * x_otm);
  if (beta_otm >= bmax) return decided(nan, status::above_maximum);
  return {{nan, status::ok}, normalised_problem{beta_otm, x_otm, bmax}};
}

iv_result solve_normalised(const normalised_problem& p) noexcept { return solve_out_of_the_money(p.beta, p.x, p.bmax); }

void solve_normalised_interleaved(std::span<const normalised_problem> problems, std::span<iv_result> out) noexcept {
  // Each solve is one long chain of dependent divisions, logarithms and error functions: the core runs
  // it at a fraction of its width and does not overlap consecutive solves on its own (measured: a
  // loop of independent solves costs as much as one where each waits for the previous). Two solves
  // advanced in turn fill that idle width, about 1.4x the throughput, with each solve's arithmetic
  // unchanged (the same results, bit for bit).
  constexpr std::size_t lanes = 2;
  std::array<std::optional<otm_solve>, lanes> solve;
  std::array<std::size_t, lanes> index{};
  std::size_t next = 0, running = 0;
  const auto start_next = [&](std::size_t lane) {
    if (next == problems.size()) {
      solve[lane].reset();
      return;
    }
    const normalised_problem& p = problems[next];
    solve[lane].emplace(p.beta, p.x, p.bmax);
    index[lane] = next++;
    ++running;
  };
  for (std::size_t lane = 0; lane < lanes; ++lane) start_next(lane);
  while (running > 0) {
    for (std::size_t lane = 0; lane < lanes; ++lane) {
      if (solve[lane] && solve[lane]->step(out[index[lane]])) {
        --running;
        start_next(lane);
      }
    }
  }
}

iv_result bs_implied_vol(double price, double S, double K, bool is_call, const bsm_horizon& h, double x) noexcept {
  const iv_reduction red = reduce_bs_implied_vol(price, S, K, is_call, h, x);
  if (!red.problem) return red.decided;
  return from_normalised(solve_normalised(*red.problem), h);
}

}  // namespace detail

iv_result bs_implied_vol(double price, double S, double K, double T, double r, double q, bool is_call) noexcept {
  // T, r and q are checked before they are used: exp and sqrt of garbage would only cost time.
  if (!detail::valid_horizon(T, r, q)) return {nan, status::invalid_input};
  const detail::bsm_horizon h = detail::make_horizon(T, r, q);
  return detail::bs_implied_vol(price, S, K, is_call, h, detail::forward_log_moneyness(S, K, h));
}

iv_result black76_implied_vol(double price, double F, double K, double T, double r, bool is_call) noexcept {
  return bs_implied_vol(price, F, K, T, r, r, is_call);
}

double implied_vol(double price, double S, double K, double T, double r, double q, bool is_call) noexcept {
  return bs_implied_vol(price, S, K, T, r, q, is_call).sigma;
}

}  // namespace optaro

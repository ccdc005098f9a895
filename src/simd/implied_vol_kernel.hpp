#pragma once
// The implied-volatility solver on OPTARO_SIMD_LANES normalised problems at once (same inclusion rules
// as vector_math.hpp; included after black_kernels.hpp, whose normalised Black pieces it shares).
//
// Each lane runs src/implied_vol.cpp's solver: the initial guess of its region, the objective of its
// region, Householder steps of order 4 with the same convergence test, the same bracket and the same
// bisection when a step leaves it, at most as many steps. A lane therefore ends where the scalar solve
// ends, up to the few-ulp differences of the vector elementary functions (the accuracy suite holds the
// batch to the same 4x-attainable bar as the scalar API). Two things differ and only move the starting
// point: the inverse normal CDF in the initial guess is Acklam's rational approximation (relative error
// below 1.2e-9 down to p = 1e-100, a few percent beyond, where the map it feeds is cruder than that),
// and b_c uses 1 - erfcx instead of the cancellation-free form (an absolute error of an ulp of bmax).
//
// A lane goes to the scalar solver (and then gives exactly the scalar result) when its beta is below
// 2^-1000 (logarithms of subnormals), when any step computes a non-finite value (exponentials that
// overflow for extreme s), or when it has not converged after the scalar solver's step limit.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "../black_detail.hpp"

#ifndef OPTARO_SIMD_LANES
#error "include vector_math.hpp first"
#endif

namespace optaro::simd {
namespace {

inline constexpr double sqrt3 = 1.7320508075688772935274463415058723669428;
inline constexpr double two_pi_over_sqrt27 = 1.2091995761561452337293855050947704881894;
inline constexpr int iv_max_iterations = 12;  // src/implied_vol.cpp's max_iterations
inline constexpr double iv_converged_step = 1e-5;
inline constexpr double smallest_vector_beta = 0x1p-1000;
// Relative distance from a price bound inside which the batch leaves the row to bs_implied_vol.
inline constexpr double bound_margin = 0x1p-44;

/// Phi^{-1}(p) for 0 < p <= 1/2, p normal: P. J. Acklam's rational approximation ("An algorithm for
/// computing the inverse normal cumulative distribution function", 2003; coefficients from there).
[[gnu::always_inline]] inline vd inverse_norm_cdf_lower(vd p) noexcept {
  const vd q = p - 0.5, r = q * q;
  const vd central = q *
                     poly(r, 2.506628277459239e+00, -3.066479806614716e+01, 1.383577518672690e+02,
                          -2.759285104469687e+02, 2.209460984245205e+02, -3.969683028665376e+01) /
                     poly(r, 1.0, -1.328068155288572e+01, 6.680131188771972e+01, -1.556989798598866e+02,
                          1.615858368580409e+02, -5.447609879822406e+01);
  const vm tail = p < 0.02425;
  if (!any(tail)) return central;
  const vd u = sqrt(-2.0 * log_plus(select(tail, p, splat(0.5)), splat(0.0)));
  const vd lower = poly(u, 2.938163982698783e+00, 4.374664141464968e+00, -2.549732539343734e+00,
                        -2.400758277161838e+00, -3.223964580411365e-01, -7.784894002430293e-03) /
                   poly(u, 1.0, 3.754408661907416e+00, 2.445134137142996e+00, 3.224671290700398e-01,
                        7.784695709041462e-03);
  return select(tail, lower, central);
}

/// The regions' objectives (src/implied_vol.cpp's enum objective): a lane is lower, upper or neither
/// (middle).
struct iv_lanes {
  vd beta, x, bmax;
  vm lower, upper;
  vd s, lo, hi;  ///< iterate and bracket
  vd target;     ///< ln beta, beta or ln(bmax - beta)
  vm scalar;     ///< lanes left to the scalar solver
  vd start;      ///< which start the guess took, 0-4 (lower map, lower cubic, middle, upper cubic, upper map)
};

/// src/implied_vol.cpp's initial_guess on every lane.
[[gnu::always_inline]] inline void iv_initial_guess(iv_lanes& v) noexcept {
  const vd beta = v.beta, x = v.x, bmax = v.bmax;
  const vd s_c = sqrt(-2.0 * x);
  const vd b_c = 0.5 * bmax * (1.0 - erfcx(sqrt(-x)));
  const vd vega_c = inv_sqrt_2pi * bmax;
  const vd delta = beta - b_c;
  const vd s_tangent = s_c + delta / vega_c;
  const vd s_cubic = s_tangent + delta * delta * delta / (6.0 * vega_c * vega_c * vega_c);
  const vd complement = bmax - beta;
  v.lower = beta < b_c;
  v.upper = ~v.lower & (beta > 0.5 * bmax);
  const vd hi_lower = select(s_tangent > 0.0, s_tangent, s_c);
  const vd lo_upper = select(s_tangent > s_c, s_tangent, s_c);
  // The lower map deep out of the money, the upper map far above b_c; both through one inverse CDF.
  const vm deep = v.lower & (beta < 0.25 * b_c);
  const vm far = ~v.lower & (delta > (bmax - b_c) * (1.0 / 3.0));
  vd s_lower = s_cubic, s_upper = s_cubic;
  if (any(deep | far)) {
    // Lower map: p = cbrt(beta / (2pi/sqrt27 |x|)), through logarithms (no underflow); upper map:
    // p = (bmax - beta) / (2 cosh(x/2)) with 2 cosh(x/2) = bmax + 1/bmax.
    const vd ax = abs(x);
    const vd lower_ratio = select(deep, beta, splat(1.0)), lower_scale = select(deep, two_pi_over_sqrt27 * ax, splat(1.0));
    v.scalar |= deep & ~(lower_scale >= 0x1p-1000);
    const vd p_lower = exp((log_plus(lower_ratio, splat(0.0)) -
                            log_plus(select(lower_scale >= 0x1p-1000, lower_scale, splat(1.0)), splat(0.0))) *
                           (1.0 / 3.0));
    const vd p_upper = complement / (bmax + 1.0 / bmax);
    const vd p = select(deep, p_lower, p_upper);
    const vm usable = (p > 0.0) & (p < 0.5);
    const vd z = inverse_norm_cdf_lower(select(usable, p, splat(0.25)));
    const vd map_lower = ax / (sqrt3 * -z);
    s_lower = select(deep, select(usable & (map_lower > 0.0) & (map_lower < hi_lower), map_lower, 0.5 * hi_lower),
                     s_lower);
    const vd map_upper = -2.0 * z;
    s_upper = select(far & usable & (map_upper > lo_upper), map_upper, s_upper);
  }
  v.start = select(v.lower, select(deep, splat(0.0), splat(1.0)),
                   select(v.upper, select(far, splat(4.0), splat(3.0)), splat(2.0)));
  s_lower = select((s_lower > 0.0) & (s_lower < hi_lower), s_lower, 0.5 * hi_lower);
  s_upper = select(s_upper > lo_upper, s_upper, lo_upper);
  v.s = select(v.lower, s_lower, s_upper);
  v.lo = select(v.lower, splat(0.0), lo_upper);
  v.hi = select(v.lower, hi_lower, splat(__builtin_inf()));
  // ln beta (lower), ln(bmax - beta) (upper): logarithms of positive normal numbers only.
  const vd log_arg = select(v.lower, beta, select(v.upper, complement, splat(1.0)));
  v.scalar |= ~(log_arg >= 0x1p-1022);
  const vd logs = log_plus(select(log_arg >= 0x1p-1022, log_arg, splat(1.0)), splat(0.0));
  v.target = select(v.lower | v.upper, logs, beta);
}

struct iv_step {
  vd step;
  vm below;  ///< b(s) < beta: s bounds the root from below
};

/// src/implied_vol.cpp's householder() on every lane: b over vega by the region of otm_black_scaled
/// (or the complement on upper lanes), then the objective's Newton step and ratios.
[[gnu::always_inline]] inline iv_step iv_householder(const iv_lanes& v) noexcept {
  const vd x = v.x, s = v.s;
  const vd inv_s = 1.0 / s, h2_over_s = x * x * inv_s * inv_s * inv_s;
  const vd r2 = h2_over_s - 0.25 * s;
  const vd r3 = r2 * r2 - 3.0 * h2_over_s * inv_s - 0.25;
  const vd h = x / s, t = 0.5 * s;
  const vd ln_vega = -ln_sqrt_2pi - 0.5 * (h * h + t * t);
  const vm middle = ~v.lower & ~v.upper;
  // Regions of otm_black_scaled for the lower and middle objectives (normalised_black.cpp).
  const vm plain = ~v.upper & (s * (0.5 * s - plain_difference_min_d1) + x > 0.0);
  const vm taylor = ~v.upper & ~plain & (t < taylor_max_t) & (x >= -taylor_max_abs_x);
  const vm difference = ~v.upper & ~plain & ~taylor;
  // One erfcx pass for every form: Y'(h) on Taylor lanes, erfcx(-(h+t)/sqrt2) for the difference and
  // erfcx((h+t)/sqrt2) for the complement; a second one, erfcx((t-h)/sqrt2), for both of those.
  const vd z = -h * inv_sqrt2;
  vd tail = splat(0.0);
  const vd first = erfcx(select(taylor, z, select(v.upper, (t + h) * inv_sqrt2, -(h + t) * inv_sqrt2)), &tail);
  vd scaled = splat(1.0);  // b/vega, or (bmax - b)/vega on upper lanes
  if (any(taylor)) {
    const vd a = select(z >= 4.0, sqrt_pi * tail, 1.0 + h * sqrt_pi_over_2 * first);
    scaled = select(taylor, taylor_b_over_vega(a, h, t), scaled);
  }
  if (any(difference | v.upper)) {
    const vd second = erfcx((t - h) * inv_sqrt2);
    scaled = select(difference, max_zero(sqrt_pi_over_2 * (first - second)), scaled);
    scaled = select(v.upper, sqrt_pi_over_2 * (first + second), scaled);
  }
  vd inv_vega = splat(0.0);
  if (any(plain | middle)) inv_vega = exp(-ln_vega);
  if (any(plain)) {
    // e^{x/2} Phi(h+t) - e^{-x/2} Phi(h-t), with e^{x/2} = bmax exactly as the scalar code computes it.
    const vd plain_value = v.bmax * norm_cdf(h + t) - norm_cdf(h - t) / v.bmax;
    scaled = select(plain, max_zero(plain_value) * inv_vega, scaled);
  }
  // ln b (lower) or ln(bmax - b) (upper); a lane whose scaled value is not a positive normal number
  // (b far below the smallest double's reach) is caught by the caller's finiteness check.
  const vm logged = v.lower | v.upper;
  const vd ln_value = log_plus(select(logged & (scaled >= 0x1p-1022), scaled, splat(1.0)), splat(0.0)) + ln_vega;
  const vd inv_scaled = 1.0 / scaled;
  vd nu, h2, h3;
  vm below;
  {
    // lower: g = 1/ln b - 1/ln beta
    const vd L = ln_value, inv_L = 1.0 / L, lam = inv_scaled;
    const vd one_plus = 1.0 + 2.0 * inv_L;
    nu = L * (v.target - L) * scaled / v.target;
    h2 = r2 - lam * one_plus;
    h3 = r3 + 2.0 * lam * lam * (1.0 + 3.0 * inv_L * (1.0 + inv_L)) - 3.0 * lam * r2 * one_plus;
    below = L < v.target;
  }
  if (any(middle)) {
    // middle: g = b - beta
    const vd nu_middle = v.target * inv_vega - scaled;
    nu = select(middle, nu_middle, nu);
    h2 = select(middle, r2, h2);
    h3 = select(middle, r3, h3);
    below = (middle & (nu_middle > 0.0)) | (~middle & below);
  }
  if (any(v.upper)) {
    // upper: g = ln(bmax - beta) - ln(bmax - b)
    const vd mu = inv_scaled;
    nu = select(v.upper, (ln_value - v.target) * scaled, nu);
    h2 = select(v.upper, r2 + mu, h2);
    h3 = select(v.upper, r3 + 3.0 * mu * r2 + 2.0 * mu * mu, h3);
    below = (v.upper & (ln_value > v.target)) | (~v.upper & below);
  }
  const vd step = nu * (1.0 + 0.5 * h2 * nu) / (1.0 + nu * (h2 + h3 * nu * (1.0 / 6.0)));
  // Lanes whose value left the normal range get a NaN step, which sends them to the scalar solver.
  const vm unusual = logged & ~(scaled >= 0x1p-1022);
  return {select(unusual, splat(__builtin_nan("")), step), below};
}

/// Up to iv_chunk normalised problems in columns; then their initial guesses, then their results.
/// A vector of lanes steps until its slowest lane has converged, and pays for every form of the Black
/// function and every objective its lanes need: the solves are taken in the order of the start their
/// guess took (counting sort), so that a vector's lanes are alike in both.
inline constexpr std::size_t iv_chunk = 256;

struct iv_queue {
  std::size_t size = 0;
  double beta[iv_chunk], x[iv_chunk], bmax[iv_chunk];
  // From the guesses: the start of each solve; start NaN for the scalar solver's.
  double s[iv_chunk], lo[iv_chunk], hi[iv_chunk], target[iv_chunk], start[iv_chunk];
  // From the solves: s where converged; the others are the scalar solver's.
  double result[iv_chunk];
  bool converged[iv_chunk];
};

[[gnu::always_inline]] inline vd gather(const double* column, const std::uint16_t* index) noexcept {
  double values[lanes];
  for (int j = 0; j < lanes; ++j) values[j] = column[index[j]];
  vd v;
  std::memcpy(&v, values, sizeof v);
  return v;
}

/// src/implied_vol.cpp's otm_solve on every entry of the queue.
inline void iv_solve_queue(iv_queue& q) noexcept {
  // The guesses, a vector of entries at a time.
  for (std::size_t k = 0; k < q.size; k += lanes) {
    const std::size_t count = rows_in(q.size, k, lanes);
    iv_lanes v;
    v.beta = load(std::span<const double>(q.beta, q.size), k, count);
    v.x = load(std::span<const double>(q.x, q.size), k, count);
    v.bmax = load(std::span<const double>(q.bmax, q.size), k, count);
    v.scalar = ~(v.beta >= smallest_vector_beta) | ~is_finite(v.x) | ~is_finite(v.bmax);
    // Stand-ins on the scalar lanes, so that they compute harmless values.
    v.beta = select(v.scalar, splat(0.25), v.beta);
    v.x = select(v.scalar, splat(0.0), v.x);
    v.bmax = select(v.scalar, splat(1.0), v.bmax);
    iv_initial_guess(v);
    double values[lanes];
    const auto put = [&](double* column, vd value) {
      store_at(values, value);
      std::memcpy(column + k, values, count * sizeof(double));
    };
    put(q.s, v.s);
    put(q.lo, v.lo);
    put(q.hi, v.hi);
    put(q.target, v.target);
    // The form of b at the start (normalised_black.cpp's regions: plain difference, Taylor, erfcx) too.
    const vd t = 0.5 * v.s;
    const vm plain = ~v.upper & (v.s * (t - plain_difference_min_d1) + v.x > 0.0);
    const vm taylor = ~plain & (t < taylor_max_t) & (v.x >= -taylor_max_abs_x);
    const vd form = select(plain, splat(0.0), select(taylor, splat(1.0), splat(2.0)));
    put(q.start, select(v.scalar, splat(__builtin_nan("")), 3.0 * v.start + form));
  }
  // The order of the solves: by start; the scalar solver's are left out.
  constexpr int starts = 15;  // five starts times three forms
  std::uint16_t order[iv_chunk + lanes];
  std::size_t first[starts + 1] = {};
  for (std::size_t k = 0; k < q.size; ++k) {
    q.converged[k] = false;
    if (q.start[k] == q.start[k]) ++first[static_cast<int>(q.start[k]) + 1];
  }
  for (int c = 0; c < starts; ++c) first[c + 1] += first[c];
  const std::size_t solves = first[starts];
  for (std::size_t k = 0; k < q.size; ++k) {
    if (q.start[k] == q.start[k]) order[first[static_cast<int>(q.start[k])]++] = static_cast<std::uint16_t>(k);
  }
  for (std::size_t k = solves; k < solves + lanes; ++k) order[k] = order[0];  // padding lanes repeat one
  for (std::size_t b = 0; b < solves; b += lanes) {
    const std::uint16_t* index = order + b;
    const std::size_t count = rows_in(solves, b, lanes);
    iv_lanes v;
    v.x = gather(q.x, index);
    v.bmax = gather(q.bmax, index);
    v.s = gather(q.s, index);
    v.lo = gather(q.lo, index);
    v.hi = gather(q.hi, index);
    v.target = gather(q.target, index);
    const vd start = gather(q.start, index);
    v.lower = start < 5.5;  // starts 0 and 1
    v.upper = start > 8.5;  // starts 3 and 4
    vm active = v.x == v.x;
    vd result = splat(0.0);
    vm converged = ~active;
    for (int iteration = 0; iteration < iv_max_iterations && any(active); ++iteration) {
      const iv_step h = iv_householder(v);
      active &= is_finite(h.step);
      v.lo = select(active & h.below, v.s, v.lo);
      v.hi = select(active & ~h.below, v.s, v.hi);
      const vd next = v.s + h.step;
      const vm done = active & (abs(h.step) <= iv_converged_step * v.s) & (next > 0.0);
      result = select(done, next, result);
      converged |= done;
      active &= ~done;
      // A step out of the bracket: bisect (geometrically when the bracket spans orders of magnitude).
      const vd bisected =
          select(v.hi == __builtin_inf(), 2.0 * v.lo, select(v.lo > 0.0, sqrt(v.lo * v.hi), 0.5 * v.hi));
      const vd stepped = select((next > v.lo) & (next < v.hi), next, bisected);
      v.s = select(active, stepped, v.s);
    }
    double values[lanes];
    store_at(values, result);
    const unsigned converged_bits = lane_bits(converged);
    for (std::size_t j = 0; j < count; ++j) {
      q.result[index[j]] = values[j];
      q.converged[index[j]] = (converged_bits >> j) & 1U;
    }
  }
}

/// out[i] = detail::solve_normalised(problems[i]) up to the vector functions' ulps.
inline void solve_normalised_rows(std::span<const detail::normalised_problem> problems,
                                  std::span<iv_result> out) noexcept {
  iv_queue q;
  for (std::size_t begin = 0; begin < problems.size(); begin += iv_chunk) {
    q.size = rows_in(problems.size(), begin, iv_chunk);
    for (std::size_t k = 0; k < q.size; ++k) {
      const detail::normalised_problem& p = problems[begin + k];
      q.beta[k] = p.beta, q.x[k] = p.x, q.bmax[k] = p.bmax;
    }
    iv_solve_queue(q);
    for (std::size_t k = 0; k < q.size; ++k) {
      out[begin + k] =
          q.converged[k] ? iv_result{q.result[k], status::ok} : detail::solve_normalised(problems[begin + k]);
    }
  }
}

/// implied_vol_batch's rows: bs_implied_vol's checks and reduction (src/implied_vol.cpp,
/// reduce_bs_implied_vol) in lanes, then the solves. A row the reduction does not leave with a plain
/// problem (invalid inputs, a price at or near a bound, values outside the vector functions' range) and
/// a row the solver leaves are computed by bs_implied_vol itself, so every status is the scalar one.
inline void implied_vol_rows(const iv_batch& in, std::size_t n, std::span<double> sigma,
                             std::span<status> st) noexcept {
  const auto write = [&](std::size_t row, const iv_result& res) {
    sigma[row] = res.sigma;
    if (!st.empty()) st[row] = res.st;
  };
  const auto scalar = [&](std::size_t row) {
    write(row, bs_implied_vol(at(in.price, row), at(in.S, row), at(in.K, row), at(in.T, row), at(in.r, row),
                              at(in.q, row), call_at(in.is_call, row)));
  };
  iv_queue q;
  std::size_t row_of[iv_chunk];
  double sqrt_t_of[iv_chunk];
  for (std::size_t begin = 0; begin < n; begin += iv_chunk) {
    const std::size_t end = begin + rows_in(n, begin, iv_chunk);
    q.size = 0;
    for (std::size_t i = begin; i < end; i += lanes) {
      const std::size_t count = rows_in(end, i, lanes);
      vd price = load(in.price, i, count), S = load(in.S, i, count), K = load(in.K, i, count);
      vd T = load(in.T, i, count), r = load(in.r, i, count), q_rate = load(in.q, i, count);
      const vd w = load_sign(in.is_call, i, count);
      vm plain = is_finite(price) & is_finite(S) & is_finite(K) & is_finite(T) & is_finite(r) & is_finite(q_rate) &
                 (price >= 0.0) & (S > 0.0) & (K > 0.0) & (T > 0.0);
      // Stand-ins on the other lanes: an at-the-money problem with time value.
      price = select(plain, price, splat(0.1));
      S = select(plain, S, splat(1.0));
      K = select(plain, K, splat(1.0));
      T = select(plain, T, splat(1.0));
      r = select(plain, r, splat(0.0));
      q_rate = select(plain, q_rate, splat(0.0));
      // make_horizon and forward_log_moneyness
      vm unusual = ~plain;
      const vd x = log_moneyness(S, K, unusual) + (r - q_rate) * T;
      const vd discounted_spot = S * exp(-q_rate * T), discounted_strike = K * exp(-r * T);
      // Only prices clearly between the intrinsic value and the maximum, with normal scales, stay here:
      // within a margin far above the lanes' rounding differences of either bound, the scalar code
      // decides (zero_time_value, below_intrinsic, above_maximum), so a status never depends on the path.
      // Out of the money by more than that margin, the intrinsic value is 0 on both paths and any
      // positive price has time value.
      const vd moneyness = w * (discounted_spot - discounted_strike);
      const vd intrinsic = max_zero(moneyness);
      const vd maximum = select(w > 0.0, discounted_spot, discounted_strike);
      const vd margin = bound_margin * (discounted_spot + discounted_strike);
      const vd product = discounted_spot * discounted_strike;
      plain &= ~unusual & (abs(x) <= 700.0) & ((price - intrinsic > margin) | ((moneyness < -margin) & (price > 0.0))) &
               (price < maximum * (1.0 - bound_margin)) & (product >= 0x1p-1022) & is_finite(product);
      const vd theta_x = w * x;
      const vm in_the_money = theta_x > 0.0;
      vd normalised_intrinsic = splat(0.0);
      if (any(in_the_money & plain)) {
        normalised_intrinsic =
            select(in_the_money, twice_sinh(0.5 * select(in_the_money & plain, theta_x, splat(0.0))), splat(0.0));
      }
      const vd normalised_price = price / sqrt(product);
      const vd beta = normalised_price - normalised_intrinsic;
      const vd x_otm = -abs(x);
      const vd bmax = exp(0.5 * x_otm);
      plain &= (beta > bound_margin * normalised_price) & (beta < bmax * (1.0 - bound_margin));
      double beta_of[lanes], x_of[lanes], bmax_of[lanes], sqrt_t_lanes[lanes];
      store_at(beta_of, beta);
      store_at(x_of, x_otm);
      store_at(bmax_of, bmax);
      store_at(sqrt_t_lanes, sqrt(T));
      const unsigned plain_bits = lane_bits(plain);
      for (std::size_t j = 0; j < count; ++j) {
        if (!((plain_bits >> j) & 1U)) {
          scalar(i + j);
          continue;
        }
        q.beta[q.size] = beta_of[j], q.x[q.size] = x_of[j], q.bmax[q.size] = bmax_of[j];
        row_of[q.size] = i + j, sqrt_t_of[q.size] = sqrt_t_lanes[j];
        ++q.size;
      }
    }
    iv_solve_queue(q);
    for (std::size_t k = 0; k < q.size; ++k) {
      if (q.converged[k]) {
        write(row_of[k], {q.result[k] / sqrt_t_of[k], status::ok});
      } else {
        scalar(row_of[k]);
      }
    }
  }
}

}  // namespace
}  // namespace optaro::simd

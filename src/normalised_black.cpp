// The normalised Black function, accurate to a few ulps wherever the inputs' conditioning allows.
//
// After reduction to an out-of-the-money call (x <= 0), one of three forms is used (h = x/s, t = s/2):
//  - h + t > 0.85: the plain difference e^{x/2} Phi(h+t) - e^{-x/2} Phi(h-t). The first term is more
//    than ~4 times the second, so the subtraction loses at most a bit or two.
//  - t < 0.21 and |x| <= 2: a Taylor expansion of Y(h+t) - Y(h-t) in t to order t^13, whose
//    coefficients are polynomials in h^2 and a = Y'(h) = 1 + h Y(h) (derived from Y' = 1 + h Y).
//    a itself is computed without cancellation from Cody's erfcx tail when h < -4 sqrt(2).
//  - otherwise: vega * sqrt(pi/2) * [erfcx(-(h+t)/sqrt2) - erfcx(-(h-t)/sqrt2)]; its cancellation is
//    bounded by |h|/(2t), which is below the conditioning of b with respect to x once |x| > 2 or t > 0.21.
// The region layout follows Jaeckel's "Let's Be Rational" (2015) with our own Taylor expansion and
// bounds; see docs/numerics.md.
#include <cmath>
#include <limits>

#include <optaro/pricing.hpp>

#include "black_detail.hpp"
#include "normal.hpp"

namespace optaro {
namespace detail {
namespace {

constexpr double sqrt_pi = 1.7724538509055160272981674833411451827975;
constexpr double sqrt_pi_over_2 = 1.2533141373155002512078826424055226265035;
constexpr double ln_sqrt_2pi = 0.91893853320467274178032973640561763986140;
constexpr double taylor_max_t = 0.21;     // 2 * eps^(1/16): t^14 below eps
constexpr double taylor_max_abs_x = 2.0;  // keeps each Taylor term's cancellation below one ulp
constexpr double plain_difference_min_d1 = 0.85;

// Y'(h) = 1 + h Y(h) for h <= 0, where Y(h) = sqrt(pi/2) erfcx(-h/sqrt2).
double y_prime(double h) noexcept {
  const double z = -h * inv_sqrt2;  // erfcx argument, >= 0
  if (z >= 4.0) {
    // erfcx(z) = (1/sqrt(pi) - tail)/z  =>  1 + h Y(h) = sqrt(pi) * tail, no cancellation.
    return sqrt_pi * erfcx_tail(z);
  }
  return 1.0 + h * sqrt_pi_over_2 * erfcx(z);
}

// [Y(h+t) - Y(h-t)] by its Taylor series in t (odd powers 1..13); t < 0.21, |2 h t| <= 2.
double taylor_b_over_vega(double h, double t) noexcept {
  const double a = y_prime(h);
  const double g = h * h, w = t * t;
  // Y^(k)(h) / k! for k = 3, 5, ..., 13, each as (a * P(g) - Q(g)) / k!.
  const double c3 = (a * (g + 3) - 1) * (1.0 / 6);
  const double c5 = (a * ((g + 10) * g + 15) - (g + 7)) * (1.0 / 120);
  const double c7 = (a * (((g + 21) * g + 105) * g + 105) - ((g + 18) * g + 57)) * (1.0 / 5040);
  const double c9 =
      (a * ((((g + 36) * g + 378) * g + 1260) * g + 945) - (((g + 33) * g + 285) * g + 561)) * (1.0 / 362880);
  const double c11 = (a * (((((g + 55) * g + 990) * g + 6930) * g + 17325) * g + 10395) -
                      ((((g + 52) * g + 840) * g + 4680) * g + 6555)) *
                     (1.0 / 39916800);
  const double c13 = (a * ((((((g + 78) * g + 2145) * g + 25740) * g + 135135) * g + 270270) * g + 135135) -
                      (((((g + 75) * g + 1926) * g + 20370) * g + 82845) * g + 89055)) *
                     (1.0 / 6227020800.0);
  return 2 * t * (a + w * (c3 + w * (c5 + w * (c7 + w * (c9 + w * (c11 + w * c13))))));
}

// sqrt(pi/2) [erfcx(-(h+t)/sqrt2) - erfcx(-(h-t)/sqrt2)] = Y(h+t) - Y(h-t).
double erfcx_b_over_vega(double h, double t) noexcept {
  return sqrt_pi_over_2 * (erfcx(-(h + t) * inv_sqrt2) - erfcx(-(h - t) * inv_sqrt2));
}

bool plain_difference_region(double x, double s) noexcept {
  // h + t > 0.85 without dividing by s.
  return s * (0.5 * s - plain_difference_min_d1) + x > 0;
}

bool taylor_region(double x, double s) noexcept { return 0.5 * s < taylor_max_t && x >= -taylor_max_abs_x; }

double plain_difference(double x, double s) noexcept {
  const double h = x / s, t = 0.5 * s;
  const double e = std::exp(0.5 * x);
  return e * norm_cdf(h + t) - norm_cdf(h - t) / e;
}

}  // namespace

double ln_normalised_vega(double x, double s) noexcept {
  const double h = x / s, t = 0.5 * s;
  return -ln_sqrt_2pi - 0.5 * (h * h + t * t);
}

double otm_black(double x, double s) noexcept {
  if (s == 0) return 0.0;  // out of the money or at the money: no time value
  if (!(s > 0)) return std::numeric_limits<double>::quiet_NaN();
  if (plain_difference_region(x, s)) return std::fmax(plain_difference(x, s), 0.0);
  const scaled_black sb = otm_black_scaled(x, s);
  return sb.b_over_vega * std::exp(sb.ln_vega);
}

scaled_black otm_black_scaled(double x, double s) noexcept {
  const double h = x / s, t = 0.5 * s;
  const double ln_vega = ln_normalised_vega(x, s);
  if (plain_difference_region(x, s)) {
    return {std::fmax(plain_difference(x, s), 0.0) * std::exp(-ln_vega), ln_vega};
  }
  if (taylor_region(x, s)) return {taylor_b_over_vega(h, t), ln_vega};
  return {std::fmax(erfcx_b_over_vega(h, t), 0.0), ln_vega};
}

scaled_black otm_black_complement_scaled(double x, double s) noexcept {
  // e^{x/2} Phi(-(h+t)) + e^{-x/2} Phi(h-t) = vega sqrt(pi/2) [erfcx((h+t)/sqrt2) + erfcx((t-h)/sqrt2)].
  const double h = x / s, t = 0.5 * s;
  return {sqrt_pi_over_2 * (erfcx((t + h) * inv_sqrt2) + erfcx((t - h) * inv_sqrt2)), ln_normalised_vega(x, s)};
}

double normalised_intrinsic(double x) noexcept { return x > 0 ? 2.0 * std::sinh(0.5 * x) : 0.0; }

}  // namespace detail

double normalised_black(double x, double s, bool is_call) noexcept {
  if (std::isnan(x) || std::isnan(s) || s < 0) return std::numeric_limits<double>::quiet_NaN();
  // b(x, s, put) = b(-x, s, call); in the money, b = intrinsic + out-of-the-money value.
  const double theta_x = is_call ? x : -x;
  const double otm = std::isinf(s) ? std::exp(-0.5 * std::fabs(x)) : detail::otm_black(-std::fabs(x), s);
  return detail::normalised_intrinsic(theta_x) + otm;
}

}  // namespace optaro

// The scaled complementary error function erfcx(x) = exp(x^2) erfc(x), and the tail part that lets
// Y'(h) = 1 + h Y(h) be computed without cancellation.
//
// The rational approximations are W. J. Cody's (src/cody_erf.hpp): at least 18 significant digits in
// each interval, and, above x = 4, no exponential at all.
#include <cmath>
#include <limits>

#include "cody_erf.hpp"
#include "normal.hpp"

namespace optaro::detail {
namespace {

constexpr double inv_sqrt_pi = 0.56418958354775628695;  // 1/sqrt(pi)

// erf(x) = x * P(x^2) / Q(x^2) on |x| <= 0.46875.
double erf_small(double x) noexcept {
  const double z = x * x;
  return x * cody::horner(z, cody::erf_small_p) / cody::horner(z, cody::erf_small_q);
}

// erfcx(x) = P(x) / Q(x) on 0.46875 <= x <= 4.
double erfcx_middle(double x) noexcept {
  return cody::horner(x, cody::erfcx_middle_p) / cody::horner(x, cody::erfcx_middle_q);
}

}  // namespace

double erfcx_tail(double x) noexcept {
  const double w = 1.0 / (x * x);
  return w * cody::horner(w, cody::erfcx_tail_p) / cody::horner(w, cody::erfcx_tail_q);
}

namespace {

// erfcx(y) for y > 0.46875.
double erfcx_positive(double y) noexcept {
  if (y <= 4.0) return erfcx_middle(y);
  if (y < 6.71e7) return (inv_sqrt_pi - erfcx_tail(y)) / y;
  return inv_sqrt_pi / y;  // 1 - 1/(2 y^2) == 1 in double
}

}  // namespace

double erfcx(double x) noexcept {
  if (std::isnan(x)) return x;
  const double y = std::fabs(x);
  // exp(x^2) (1 - erf(x)) directly, for either sign.
  if (y <= 0.46875) return std::exp(x * x) * (1.0 - erf_small(x));
  if (x > 0) return erfcx_positive(y);
  // erfcx(-y) = 2 exp(y^2) - erfcx(y). exp(y^2) with y^2 split exactly into hi + lo so that the
  // rounding of y^2 (relative error up to y^2 * eps in the exponential) does not show.
  if (y > 26.7) return std::numeric_limits<double>::infinity();
  const double hi = y * y;
  const double lo = std::fma(y, y, -hi);
  return 2.0 * std::exp(hi) * (1.0 + lo) - erfcx_positive(y);
}

double one_minus_erfcx(double y) noexcept {
  if (y > 0.46875) return 1.0 - erfcx(y);
  // 1 - e^{y^2} (1 - erf y) = e^{y^2} erf(y) - (e^{y^2} - 1): no cancellation, one exponential.
  const double e = std::expm1(y * y);
  return (1.0 + e) * erf_small(y) - e;
}

}  // namespace optaro::detail

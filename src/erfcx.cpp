// The scaled complementary error function erfcx(x) = exp(x^2) erfc(x), and the tail part that lets
// Y'(h) = 1 + h Y(h) be computed without cancellation.
//
// The rational approximations and their coefficients are W. J. Cody's, "Rational Chebyshev
// approximations for the error function", Math. Comp. 23 (1969) 631-638 (the erf/erfc/erfcx packet of
// SPECFUN): at least 18 significant digits in each interval, and, above x = 4, no exponential at all.
#include <cmath>
#include <limits>

#include "normal.hpp"

namespace optaro::detail {
namespace {

constexpr double inv_sqrt_pi = 0.56418958354775628695;  // 1/sqrt(pi)

// erf(x) = x * P(x^2) / Q(x^2) on |x| <= 0.46875.
double erf_small(double x) noexcept {
  const double z = x * x;
  const double num =
      (((0.185777706184603153 * z + 3.1611237438705656) * z + 113.864154151050156) * z + 377.485237685302021) * z +
      3209.37758913846947;
  const double den =
      (((z + 23.6012909523441209) * z + 244.024637934444173) * z + 1282.61652607737228) * z + 2844.23683343917062;
  return x * num / den;
}

// erfcx(x) = P(x) / Q(x) on 0.46875 <= x <= 4.
double erfcx_middle(double x) noexcept {
  const double num =
      (((((((2.15311535474403846e-8 * x + 0.564188496988670089) * x + 8.88314979438837594) * x + 66.1191906371416295) *
              x +
          298.635138197400131) *
             x +
         881.95222124176909) *
            x +
        1712.04761263407058) *
           x +
       2051.07837782607147) *
          x +
      1230.33935479799725;
  const double den =
      (((((((x + 15.7449261107098347) * x + 117.693950891312499) * x + 537.181101862009858) * x + 1621.38957456669019) *
             x +
         3290.79923573345963) *
            x +
        4362.61909014324716) *
           x +
       3439.36767414372164) *
          x +
      1230.33935480374942;
  return num / den;
}

}  // namespace

double erfcx_tail(double x) noexcept {
  const double w = 1.0 / (x * x);
  const double num =
      ((((0.0163153871373020978 * w + 0.305326634961232344) * w + 0.360344899949804439) * w + 0.125781726111229246) *
           w +
       0.0160837851487422766) *
          w +
      6.58749161529837803e-4;
  const double den =
      ((((w + 2.56852019228982242) * w + 1.87295284992346047) * w + 0.527905102951428412) * w + 0.0605183413124413191) *
          w +
      0.00233520497626869185;
  return w * num / den;
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

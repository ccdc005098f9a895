#pragma once
// The standard normal distribution, internal to the library.
#include <cmath>
#include <numbers>

namespace optaro::detail {

inline constexpr double inv_sqrt_2pi = 0.3989422804014326779399460599343818684758586311649;  // 1/sqrt(2 pi)
inline constexpr double inv_sqrt2 = 0.7071067811865475244008443621048490392848359376885;     // 1/sqrt(2)

inline double norm_pdf(double z) noexcept { return inv_sqrt_2pi * std::exp(-0.5 * z * z); }

/// Phi(z) via erfc, which keeps full relative accuracy in the lower tail (Phi(-38) ~ 3e-316).
inline double norm_cdf(double z) noexcept { return 0.5 * std::erfc(-z * inv_sqrt2); }

/// The scaled complementary error function erfcx(x) = exp(x^2) erfc(x), accurate for all x.
double erfcx(double x) noexcept;

/// 1 - erfcx(y) for y >= 0, without the cancellation of the difference for small y.
double one_minus_erfcx(double y) noexcept;

/// For x >= 4: erfcx(x) = (1/sqrt(pi) - erfcx_tail(x)) / x, with erfcx_tail(x) ~ 1/(2 sqrt(pi) x^2)
/// computed without cancellation (Cody's third interval).
double erfcx_tail(double x) noexcept;

}  // namespace optaro::detail

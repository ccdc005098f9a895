#include <optaro/pricing.hpp>
#include <cmath>
#include "normal.hpp"
namespace optaro {
// interim textbook version, replaced by the accurate one in this same change
double normalised_black(double x, double s, bool is_call) noexcept {
  const double w = is_call ? 1.0 : -1.0;
  if (s <= 0) return std::fmax(w * (std::exp(0.5 * x) - std::exp(-0.5 * x)), 0.0);
  return w * (std::exp(0.5 * x) * detail::norm_cdf(w * (x / s + 0.5 * s)) -
              std::exp(-0.5 * x) * detail::norm_cdf(w * (x / s - 0.5 * s)));
}
namespace detail { double erfcx(double x) noexcept { return std::exp(x * x) * std::erfc(x); } }
}  // namespace optaro

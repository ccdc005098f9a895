#include <optaro/implied_vol.hpp>
#include <optaro/pricing.hpp>
#include <cmath>
#include <limits>
namespace optaro {
// interim bisection, replaced by the rational-guess Householder solver in this same change
iv_result normalised_implied_vol(double beta, double x, bool is_call) noexcept {
  double lo = 0, hi = 1;
  while (normalised_black(x, hi, is_call) < beta && hi < 1e3) hi *= 2;
  for (int i = 0; i < 200; ++i) {
    double mid = 0.5 * (lo + hi);
    (normalised_black(x, mid, is_call) < beta ? lo : hi) = mid;
  }
  return {0.5 * (lo + hi), status::ok};
}
iv_result bs_implied_vol(double price, double S, double K, double T, double r, double q, bool is_call) noexcept {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (!(price >= 0) || !(S > 0) || !(K > 0) || !(T > 0) || !std::isfinite(price + S + K + T + r + q)) return {nan, status::invalid_input};
  const double x = std::log(S / K) + (r - q) * T;
  const double beta = price / (std::sqrt(S) * std::sqrt(K) * std::exp(-0.5 * (r + q) * T));
  iv_result res = normalised_implied_vol(beta, x, is_call);
  res.sigma /= std::sqrt(T);
  return res;
}
iv_result black76_implied_vol(double price, double F, double K, double T, double r, bool is_call) noexcept {
  return bs_implied_vol(price, F, K, T, r, r, is_call);
}
double implied_vol(double price, double S, double K, double T, double r, double q, bool is_call) noexcept {
  return bs_implied_vol(price, S, K, T, r, q, is_call).sigma;
}
}  // namespace optaro

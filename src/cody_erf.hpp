#pragma once
// The coefficients of W. J. Cody's rational approximations of erf, erfc and erfcx, "Rational Chebyshev
// approximations for the error function", Math. Comp. 23 (1969) 631-638 (the SPECFUN packet): at least
// 18 significant digits in each interval. One copy for the scalar functions (src/erfcx.cpp) and the
// vector kernels (src/simd/vector_math.hpp). Each array is in ascending powers of its variable.
#include <array>
#include <cstddef>

namespace optaro::detail::cody {

/// erf(x) = x P(x^2) / Q(x^2) on |x| <= 0.46875.
inline constexpr std::array<double, 5> erf_small_p{3209.37758913846947, 377.485237685302021, 113.864154151050156,
                                                   3.1611237438705656, 0.185777706184603153};
inline constexpr std::array<double, 5> erf_small_q{2844.23683343917062, 1282.61652607737228, 244.024637934444173,
                                                   23.6012909523441209, 1.0};

/// erfcx(x) = P(x) / Q(x) on 0.46875 <= x <= 4.
inline constexpr std::array<double, 9> erfcx_middle_p{
    1230.33935479799725, 2051.07837782607147, 1712.04761263407058, 881.95222124176909,  298.635138197400131,
    66.1191906371416295, 8.88314979438837594, 0.564188496988670089, 2.15311535474403846e-8};
inline constexpr std::array<double, 9> erfcx_middle_q{
    1230.33935480374942, 3439.36767414372164, 4362.61909014324716, 3290.79923573345963, 1621.38957456669019,
    537.181101862009858, 117.693950891312499, 15.7449261107098347, 1.0};

/// For x >= 4, with w = 1/x^2: erfcx(x) = (1/sqrt(pi) - w P(w) / Q(w)) / x.
inline constexpr std::array<double, 6> erfcx_tail_p{6.58749161529837803e-4, 0.0160837851487422766,
                                                    0.125781726111229246,   0.360344899949804439,
                                                    0.305326634961232344,   0.0163153871373020978};
inline constexpr std::array<double, 6> erfcx_tail_q{0.00233520497626869185, 0.0605183413124413191,
                                                    0.527905102951428412,   1.87295284992346047,
                                                    2.56852019228982242,    1.0};

/// c[0] + c[1] x + ... by Horner's rule, highest power first: ((c[n-1] x + c[n-2]) x + ...) x + c[0].
template <std::size_t N>
[[nodiscard]] constexpr double horner(double x, const std::array<double, N>& c) noexcept {
  double r = c[N - 1];
  for (std::size_t i = N - 1; i-- > 0;) r = r * x + c[i];
  return r;
}

}  // namespace optaro::detail::cody

#pragma once
// Vector elementary functions for the batch kernels: exp, log, 2 sinh, erfcx, erfc and the normal
// CDF on OPTARO_SIMD_LANES doubles at once (GCC vector extensions; 4 = AVX2 + FMA, 8 = AVX-512).
//
// Include this only from a translation unit that has already (1) included every standard header it
// uses and <immintrin.h>, (2) switched the target on with `#pragma GCC target` and (3) defined
// OPTARO_SIMD_LANES (src/simd/batch_avx2.cpp and batch_avx512.cpp do). Everything here is in an
// anonymous namespace, so the AVX-512 and the AVX2 instances can never be merged by the linker, and no
// standard-library function is instantiated under the target (which could then leak, as a weak
// symbol, into code running on a CPU without it).
//
// Error bounds (relative, in ulps of the double result; "ulp" = 2^-52 * 2^floor(log2|y|)). Each one
// is derived below next to its function and checked against Boost.Multiprecision references at 50
// digits over the function's whole used domain in tests/cpp/test_vector_math.cpp:
//   exp          <= 1 ulp for normal results; subnormal results within 1.5 x 2^-1074 (the final
//                   rounding plus the polynomial's ulp, which is worth up to one unit there).
//   log(u) + c   <= 1 ulp (plus |c|-sized terms: c is a correction below one ulp of log u).
//   2 sinh(y)    <= 2 ulps.
//   erfcx        <= 5 ulps: Cody's rational forms, whose middle interval is itself only good to a few
//                   ulps in double arithmetic (the scalar src/erfcx.cpp reaches 5.7 on the same sweep).
//   erfc, Phi    <= 7 ulps down to the smallest normal result (erfcx, the exponential and two
//                   roundings; glibc's erfc is within ~3); the subnormal tail within 2 x 2^-1074.
// These are a few ulps like the scalar code's (glibc exp/log/erfc and src/erfcx.cpp). Prices far out
// of the money go through erfcx (as in the scalar code), where this one is the more accurate, so they
// keep the scalar path's relative accuracy; erfc and Phi feed the Greeks, whose contract is 1e-9.
#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>

#include <immintrin.h>

#include "../cody_erf.hpp"

#ifndef OPTARO_SIMD_LANES
#error "define OPTARO_SIMD_LANES (4 or 8) and the matching #pragma GCC target before including vector_math.hpp"
#endif

namespace optaro::simd {
namespace {

// ---- the vector types and the few operations that need intrinsics -----------------------------------

#if OPTARO_SIMD_LANES == 8
using vd = __m512d;
#elif OPTARO_SIMD_LANES == 4
using vd = __m256d;
#else
#error "OPTARO_SIMD_LANES must be 4 or 8"
#endif
inline constexpr int lanes = OPTARO_SIMD_LANES;
using vm = decltype(vd{} < vd{});  // lane masks: all ones or all zeros per 64-bit lane
using vu = unsigned long long __attribute__((vector_size(8 * OPTARO_SIMD_LANES)));

template <class To, class From>
[[gnu::always_inline]] inline To bits_as(From v) noexcept {
  return __builtin_bit_cast(To, v);
}

[[gnu::always_inline]] inline vd fma(vd a, vd b, vd c) noexcept {
#if OPTARO_SIMD_LANES == 8
  return _mm512_fmadd_pd(a, b, c);
#else
  return _mm256_fmadd_pd(a, b, c);
#endif
}

[[gnu::always_inline]] inline vd sqrt(vd a) noexcept {
#if OPTARO_SIMD_LANES == 8
  // Not _mm512_sqrt_pd: its undefined pass-through operand trips GCC 12's -Wmaybe-uninitialized.
  return _mm512_mask_sqrt_pd(a, static_cast<__mmask8>(0xff), a);
#else
  return _mm256_sqrt_pd(a);
#endif
}

/// Bit j set when lane j of the mask is set.
[[gnu::always_inline]] inline unsigned lane_bits(vm m) noexcept {
#if OPTARO_SIMD_LANES == 8
  const __m512i bits = bits_as<__m512i>(m);
  return _mm512_test_epi64_mask(bits, bits);
#else
  return static_cast<unsigned>(_mm256_movemask_pd(bits_as<__m256d>(m)));
#endif
}

[[gnu::always_inline]] inline bool any(vm m) noexcept { return lane_bits(m) != 0; }

[[gnu::always_inline]] inline vd splat(double c) noexcept { return vd{} + c; }

[[gnu::always_inline]] inline vd select(vm m, vd if_set, vd if_clear) noexcept { return m ? if_set : if_clear; }

[[gnu::always_inline]] inline vd abs(vd x) noexcept { return bits_as<vd>(bits_as<vu>(x) & 0x7fffffffffffffffULL); }

/// max(x, 0) with NaN -> 0, as std::fmax(x, 0.0).
[[gnu::always_inline]] inline vd max_zero(vd x) noexcept { return select(x > 0.0, x, splat(0.0)); }

/// Lanes holding a finite number (x - x is NaN for NaN and for infinities).
[[gnu::always_inline]] inline vm is_finite(vd x) noexcept { return (x - x) == 0.0; }

/// c0 + x (c1 + x (c2 + ...)): Horner's scheme with one rounding per step (FMA).
[[gnu::always_inline]] inline vd poly(vd, double c) noexcept { return splat(c); }
template <class... Rest>
[[gnu::always_inline]] inline vd poly(vd x, double c0, Rest... rest) noexcept {
  return fma(poly(x, rest...), x, splat(c0));
}
/// The polynomial of an array of ascending coefficients (src/cody_erf.hpp), or of the same reversed.
template <std::size_t N, std::size_t... I>
[[gnu::always_inline]] inline vd poly(vd x, const std::array<double, N>& c, std::index_sequence<I...>) noexcept {
  return poly(x, c[I]...);
}
template <std::size_t N>
[[gnu::always_inline]] inline vd poly(vd x, const std::array<double, N>& c) noexcept {
  return poly(x, c, std::make_index_sequence<N>{});
}
template <std::size_t N, std::size_t... I>
[[gnu::always_inline]] inline vd poly_reversed(vd x, const std::array<double, N>& c, std::index_sequence<I...>) noexcept {
  return poly(x, c[N - 1 - I]...);
}
template <std::size_t N>
[[gnu::always_inline]] inline vd poly_reversed(vd x, const std::array<double, N>& c) noexcept {
  return poly_reversed(x, c, std::make_index_sequence<N>{});
}

// ---- exp -----------------------------------------------------------------------------------------

inline constexpr double log2e = 0x1.71547652b82fep+0;
// ln 2 = ln2_hi + ln2_lo, ln2_hi with 42 significant bits: k ln2_hi is exact for |k| < 2^11.
inline constexpr double ln2_hi = 0x1.62e42fefa3800p-1;
inline constexpr double ln2_lo = 0x1.ef35793c76730p-45;
// Adding 1.5 * 2^52 rounds a double of magnitude < 2^51 to an integer held in the low mantissa bits.
inline constexpr double round_shift = 0x1.8p52;

/// 2^k for integer-valued k in [-1022, 1023], as a bit pattern.
/// 2^k from its biased exponent k + 1023 in [1, 2046]. The integer work on exponents is unsigned
/// throughout: NaN lanes carry garbage there, and unsigned arithmetic wraps where signed would overflow.
[[gnu::always_inline]] inline vd pow2_biased(vu biased) noexcept { return bits_as<vd>(biased << 52); }

/// exp(x) for every double (NaN stays NaN, overflow gives +inf, underflow 0 or subnormal).
///
/// x = k ln2 + r with k = round(x log2e), |r| <= 0.3466 (+ a rounding at the half-way point).
/// r = fma(-k, ln2_lo, fma(-k, ln2_hi, x)): the inner FMA is exact (the difference needs < 53 bits)
/// and the outer rounds once: |dr| <= 0.5 ulp(r), worth <= 0.18 ulp of exp(r) as |r| < 0.35.
/// exp(r) by its Taylor polynomial to r^13: the first omitted term 0.35^14/14! < 5e-18 < 0.05 ulp.
/// Horner with FMA: 0.5 ulp for the last step plus |r| (< 0.35) times the inner steps' error, < 0.3
/// ulp. The scaling by 2^k is exact for normal results, so <= 1 ulp (0.5 + 0.3 + 0.18 + 0.05) in all.
/// 2^k is applied as two factors 2^k1 2^k2 so that results near overflow or subnormal are still
/// rounded once: p 2^k1 is exact, and only the product with 2^k2 rounds.
[[gnu::always_inline]] inline vd exp_polynomial(vd r) noexcept {
  return poly(r, 1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880,
              1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800.0);
}

[[gnu::always_inline]] inline vd exp(vd x) noexcept {
  // Most arguments in pricing are small (discount factors, e^{x^2} for |x| < 0.47). When every lane
  // has |x| <= 0.34 < ln(2)/2, k = 0 and the polynomial alone is bit for bit what the general path
  // computes, so a lane's value never depends on its neighbours.
  if (!any(~(abs(x) <= 0.34))) return exp_polynomial(x);
  // Beyond these e^x is inf or 0; clamping keeps k in range. NaN passes both comparisons unchanged.
  x = select(x < -746.0, splat(-746.0), x);
  x = select(x > 710.0, splat(710.0), x);
  const vd shifted = fma(x, splat(log2e), splat(round_shift));
  const vd kf = shifted - round_shift;
  // k + 2048, in [971, 3073]: the low bits of the shifted sum hold k.
  const vu k_offset = bits_as<vu>(shifted) - bits_as<vu>(splat(round_shift)) + 2048ULL;
  vd r = fma(-kf, splat(ln2_hi), x);
  r = fma(-kf, splat(ln2_lo), r);
  const vd p = exp_polynomial(r);
  // k in [-1077, 1025]: k1 = floor(k / 2) through a shift of k + 2048 > 0 (AVX2 has no 64-bit
  // arithmetic shift), k2 = k - k1; both in [-539, 513], so both biased exponents are in range.
  const vu k1_offset = k_offset >> 1;                // k1 + 1024
  const vu k1_biased = k1_offset - 1ULL;             // k1 + 1023
  const vu k2_biased = k_offset - k1_offset - 1ULL;  // k - k1 + 1023
  return p * pow2_biased(k1_biased) * pow2_biased(k2_biased);
}

// ---- log -----------------------------------------------------------------------------------------

inline constexpr unsigned long long sqrt_half_bits = 0x3fe6a09e667f3bcdULL;  // sqrt(1/2)

/// log(u) + c for positive normal finite u and |c| below an ulp of u (a log1p correction, or 0).
/// Callers send other lanes to the scalar path.
///
/// u = 2^k m with m in [sqrt(1/2), sqrt(2)), f = m - 1 exact. With s = f / (2 + f):
///   log(1 + f) = 2 atanh(s) = f - f^2/2 + s (f^2/2 + R),  R = sum_{j>=1} 2 s^{2j} / (2j + 1),
/// (because 2s = f - f^2/2 + s f^2/2). |s| <= 0.1716, s^2 <= 0.02944: R to j = 10, the first omitted
/// term s^23 * 2/23 is < 7e-19 |log(1+f)|. f is exact and carries the result; the rounding of s and of
/// the polynomial enter only through s (f^2/2 + R) ~ f^3/4, and f^2/2 is < 0.09 |f|, so the sum of the
/// small terms is within 0.2 ulp and the final additions (exact k ln2_hi) round once: <= 1 ulp.
[[gnu::always_inline]] inline vd log_plus(vd u, vd c) noexcept {
  // k = floor(log2(u / sqrt(1/2))) through unsigned arithmetic (offset by 2048 to stay positive).
  const vu bits = bits_as<vu>(u);
  const vu biased = bits - sqrt_half_bits + (2048ULL << 52);
  const vu k_offset = biased >> 52;
  const vu m_bits = bits - ((k_offset - 2048ULL) << 52);
  // k as a double: put k into the low mantissa bits of 1.5 * 2^52 and subtract that again.
  const vd kf = bits_as<vd>(k_offset - 2048ULL + bits_as<vu>(splat(round_shift))) - round_shift;
  const vd f = bits_as<vd>(m_bits) - 1.0;
  const vd s = f / (f + 2.0);
  const vd z = s * s;
  const vd R =
      z * poly(z, 2.0 / 3, 2.0 / 5, 2.0 / 7, 2.0 / 9, 2.0 / 11, 2.0 / 13, 2.0 / 15, 2.0 / 17, 2.0 / 19, 2.0 / 21);
  const vd half_f2 = 0.5 * f * f;
  const vd small = f - (half_f2 - fma(s, half_f2 + R, fma(kf, splat(ln2_lo), c)));
  return fma(kf, splat(ln2_hi), small);
}

/// ln(S/K) exactly as detail::log_moneyness chooses it: log1p((S - K)/K) near the money (S - K is exact
/// there), log(S/K) elsewhere. `unusual` gets the lanes whose argument is not a positive normal finite
/// double (the caller patches them with the scalar function).
[[gnu::always_inline]] inline vd log_moneyness(vd S, vd K, vm& unusual) noexcept {
  const vm near = (S >= 0.5 * K) & (S <= 2.0 * K);
  vd u = splat(1.0), c = splat(0.0);
  if (any(near)) {
    const vd y = (S - K) / K;
    const vd one_plus_y = 1.0 + y;
    // log1p(y) = log(1 + y rounded) + (y - (1 + y rounded - 1)) / (1 + y rounded); the rounding error
    // of 1 + y is exact (u - 1 is exact by Sterbenz for u in [1/2, 2]).
    u = one_plus_y;
    c = select(near, (y - (one_plus_y - 1.0)) / one_plus_y, c);
  }
  if (any(~near)) u = select(near, u, S / K);
  const vm normal = (u >= 0x1p-1022) & (u <= 0x1.fffffffffffffp+1023);
  unusual |= ~normal;
  u = select(normal, u, splat(1.0));
  return log_plus(u, c);
}

// ---- 2 sinh --------------------------------------------------------------------------------------

/// 2 sinh(y) = e^y - e^-y for y >= 0 (the normalised intrinsic value).
/// y < 1: 2 y (1 + y^2/3! + ... + y^16/17!), first omitted term y^18/19! < 9e-18; Horner from the small
/// end keeps it within 1 ulp. y >= 1: e^y - 1/e^y cancels at most coth(1) = 1.31x: <= 2 ulps.
[[gnu::always_inline]] inline vd twice_sinh(vd y) noexcept {
  const vd z = y * y;
  vd result = 2.0 * (y * poly(z, 1.0, 1.0 / 6, 1.0 / 120, 1.0 / 5040, 1.0 / 362880, 1.0 / 39916800, 1.0 / 6227020800.0,
                              1.0 / 1307674368000.0, 1.0 / 355687428096000.0));
  const vm large = y >= 1.0;
  if (any(large)) {
    const vd e = exp(y);
    result = select(large, e - 1.0 / e, result);
  }
  return result;
}

// ---- erfcx, erfc, the normal distribution ------------------------------------------------------------
// W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969): the
// same three rational forms as src/erfcx.cpp (its coefficients, in ascending order here). Numerators
// and denominators have positive coefficients and are evaluated at positive arguments, so Horner is
// stable (about an ulp each, half an ulp for the division); what is left of the 5-ulp bound is the
// approximation itself, as measured for both implementations in tests/cpp/test_vector_math.cpp.

inline constexpr double inv_sqrt_pi = 0.56418958354775628695;
inline constexpr double inv_sqrt2 = 0.7071067811865475244008443621048490392848359376885;
inline constexpr double inv_sqrt_2pi = 0.3989422804014326779399460599343818684758586311649;
inline constexpr double erfcx_small_max = 0.46875;

// Each form below is a fraction, and the functions divide once at the end, whichever forms their
// lanes need: the divider is the scarcest unit in these kernels.
struct fraction {
  vd num, den;
};

/// 1 - erf(x) = (Q - x P) / Q with erf(x) = x P(x^2) / Q(x^2), |x| <= 0.46875 (|erf| < 0.5: the
/// difference loses less than a bit, and the FMA rounds it once).
[[gnu::always_inline]] inline fraction one_minus_erf_small(vd x) noexcept {
  const vd z = x * x;
  const vd num = poly(z, detail::cody::erf_small_p);
  const vd den = poly(z, detail::cody::erf_small_q);
  return {fma(-x, num, den), den};
}

/// erfcx(x) = P(x) / Q(x) for 0.46875 <= x <= 4.
[[gnu::always_inline]] inline fraction erfcx_middle(vd x) noexcept {
  const vd num = poly(x, detail::cody::erfcx_middle_p);
  const vd den = poly(x, detail::cody::erfcx_middle_q);
  return {num, den};
}

/// Cody's tail for x >= 4: the scalar erfcx_tail(x) = w P(w) / Q(w) with w = 1/x^2 is U(u) / (u V(u))
/// in u = x^2 (P and Q times u^5, reversed: same coefficients, same sign, so the same stable
/// evaluation). From x = 6.71e7 on, where U(u) would overflow further out, the limit
/// 1/(2 sqrt(pi) x^2), which the next term changes by less than 2e-16 relative there.
inline constexpr double erfcx_far = 6.71e7;

[[gnu::always_inline]] inline fraction erfcx_tail_fraction(vd x) noexcept {
  const vm far = x >= erfcx_far;
  const vd xc = select(far, splat(4.0), x);
  const vd u = xc * xc;
  const vd num = poly_reversed(u, detail::cody::erfcx_tail_p);
  const vd den = u * poly_reversed(u, detail::cody::erfcx_tail_q);
  return {select(far, splat(0.5 * inv_sqrt_pi), num), select(far, x * x, den)};
}

/// erfcx_tail(x) = erfcx's tail term ~ 1/(2 sqrt(pi) x^2) for x >= 4 (detail::erfcx_tail).
[[gnu::always_inline]] inline vd erfcx_tail(vd x) noexcept {
  const fraction f = erfcx_tail_fraction(x);
  return f.num / f.den;
}

/// erfcx(y) for y > 0.46875 (other lanes: a finite don't-care value). Above 4,
/// (1/sqrt(pi) - tail)/y = (den/sqrt(pi) - num) / (y den): the tail is below 1/(32 sqrt(pi)) of the
/// first term, so the difference loses < 0.1 bit; beyond 6.71e7, 1/(sqrt(pi) y) as in the scalar code.
/// With `tail` given, also erfcx_tail(y) on the lanes above 4 (a caller that needs both, as Y'(h) does
/// next to the difference of the Black function, shares the polynomials).
[[gnu::always_inline]] inline fraction erfcx_positive(vd y, vd* tail = nullptr) noexcept {
  const vm middle = y <= 4.0;
  fraction result{splat(0.0), splat(1.0)};
  if (any(middle)) result = erfcx_middle(select(middle, y, splat(1.0)));
  if (any(~middle)) {
    const vm far = y >= erfcx_far;
    const vd yt = select(middle | far, splat(4.0), y);
    const fraction f = erfcx_tail_fraction(select(middle, splat(4.0), y));
    result.num = select(middle, result.num, select(far, splat(inv_sqrt_pi), fma(splat(inv_sqrt_pi), f.den, -f.num)));
    result.den = select(middle, result.den, select(far, y, yt * f.den));
    if (tail != nullptr) *tail = f.num / f.den;
  }
  return result;
}

/// e^{-y^2} for y >= 0 without the rounding of y^2 showing: y^2 = hi + lo exactly, e^{-lo} = 1 - lo.
[[gnu::always_inline]] inline vd exp_minus_square(vd y) noexcept {
  const vd hi = y * y;
  const vd lo = fma(y, y, -hi);
  return exp(-hi) * (1.0 - lo);
}

/// erfcx(x) = e^{x^2} erfc(x) for every x, as detail::erfcx; with `tail` given, also erfcx_tail(x)
/// on the lanes above 4 (see erfcx_positive).
[[gnu::always_inline]] inline vd erfcx(vd x, vd* tail = nullptr) noexcept {
  const vd y = abs(x);
  const vm small = y <= erfcx_small_max;
  fraction result{splat(0.0), splat(1.0)};
  if (any(small)) {
    // e^{x^2} (1 - erf(x))
    const vd xs = select(small, x, splat(0.0));
    result = one_minus_erf_small(xs);
    result.num = exp(xs * xs) * result.num;
  }
  const vm positive_large = ~small & (x > 0.0);
  const vm negative_large = ~small & ~(x > 0.0);  // NaN lanes land here and stay NaN
  if (any(~small)) {
    const fraction pos = erfcx_positive(y, tail);
    result.num = select(positive_large, pos.num, result.num);
    result.den = select(positive_large, pos.den, result.den);
    if (any(negative_large)) {
      // erfcx(-y) = 2 e^{y^2} - erfcx(y) = (2 e^{y^2} Q - P) / Q (erfcx(y) < 0.6 < 2 e^{y^2}: no
      // cancellation), with y^2 = hi + lo split exactly; inf beyond y = 26.7. Only the negative lanes'
      // squares go into the exponential, so that it can take its short path.
      const vd yc = select(negative_large & (y <= 26.7), y, splat(0.0));
      const vd hi = yc * yc;
      const vd lo = fma(yc, yc, -hi);
      const vd twice_e = 2.0 * exp(hi) * (1.0 + lo);
      const vm overflow = y > 26.7;
      vd num = fma(twice_e, pos.den, -pos.num), den = pos.den;
      // Above 4 the tail form's denominator ~ y^13 times e^{y^2} would overflow: divide there.
      const vm tail_form = negative_large & (y > 4.0);
      if (any(tail_form)) {
        num = select(tail_form, twice_e - pos.num / pos.den, num);
        den = select(tail_form, splat(1.0), den);
      }
      result.num = select(negative_large, select(overflow, splat(__builtin_inf()), num), result.num);
      result.den = select(negative_large, select(overflow, splat(1.0), den), result.den);
    }
  }
  return result.num / result.den;
}

/// erfc(x) for every x. |x| <= 0.46875: 1 - erf(x) (|erf| < 0.5, no cancellation). Otherwise
/// e^{-x^2} erfcx(|x|), and 2 - that for x < 0 (that is below 0.51, so no cancellation either).
/// |x| is capped at 40, where erfc is 0 (or 2) already.
[[gnu::always_inline]] inline vd erfc(vd x) noexcept {
  vd y = abs(x);
  y = select(y > 40.0, splat(40.0), y);
  const vm small = y <= erfcx_small_max;
  fraction result{splat(0.0), splat(1.0)};
  if (any(small)) result = one_minus_erf_small(select(small, x, splat(0.0)));
  if (any(~small)) {
    const vd yl = select(small, splat(1.0), y);
    const vd e = exp_minus_square(yl);
    const fraction upper = erfcx_positive(yl);
    // e P / Q, or 2 - e P / Q = (2 Q - e P) / Q for x < 0
    const vd e_num = e * upper.num;
    result.num = select(small, result.num, select(x < 0.0, fma(splat(2.0), upper.den, -e_num), e_num));
    result.den = select(small, result.den, upper.den);
  }
  return result.num / result.den;
}

/// Phi(z) = erfc(-z / sqrt 2) / 2, as detail::norm_cdf: full relative accuracy in the lower tail.
[[gnu::always_inline]] inline vd norm_cdf(vd z) noexcept { return 0.5 * erfc(-z * inv_sqrt2); }

/// phi(z), as detail::norm_pdf.
[[gnu::always_inline]] inline vd norm_pdf(vd z) noexcept { return inv_sqrt_2pi * exp(-0.5 * z * z); }

}  // namespace
}  // namespace optaro::simd

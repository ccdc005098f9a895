#pragma once
// The batch kernels over OPTARO_SIMD_LANES rows at a time, on top of vector_math.hpp (same inclusion
// rules: from batch_avx2.cpp / batch_avx512.cpp only, after the target pragma).
//
// Every lane follows the scalar code's formulas and region choices (src/normalised_black.cpp,
// src/pricing.cpp, black_detail.hpp), in the same order of operations, so a lane differs from the
// scalar result only by the few-ulp differences of the elementary functions. Lanes the vector code does
// not handle (invalid inputs, sigma sqrt(T) == 0 or infinite, ratios S/K outside the normal range,
// |ln(F/K)| > 700, and for the Greeks S sigma sqrt(T), sigma or T below 2^-300) are flagged and
// recomputed with the scalar function, so that edge cases give exactly what the scalar API gives.
//
// Measured on the benchmark set (bench/bench_pricing.cpp), most vectors mix the Taylor and the erfcx
// forms of otm_black and so pay for both; regrouping rows by form (gathered by index per chunk) was
// tried and lost more to the gathering than it saved, because each form's erfcx still mixes ranges.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include <optaro/batch.hpp>
#include <optaro/pricing.hpp>

#ifndef OPTARO_SIMD_LANES
#error "include vector_math.hpp first"
#endif

namespace optaro::simd {
namespace {

inline constexpr double sqrt_pi = 1.7724538509055160272981674833411451827975;
inline constexpr double sqrt_pi_over_2 = 1.2533141373155002512078826424055226265035;
inline constexpr double ln_sqrt_2pi = 0.91893853320467274178032973640561763986140;
// The region boundaries of src/normalised_black.cpp.
inline constexpr double taylor_max_t = 0.21;
inline constexpr double taylor_max_abs_x = 2.0;
inline constexpr double plain_difference_min_d1 = 0.85;

// ---- the normalised Black function ---------------------------------------------------------------

/// Y(h+t) - Y(h-t) by its Taylor series in t (normalised_black.cpp's taylor_b_over_vega), given
/// a = Y'(h) = 1 + h Y(h).
[[gnu::always_inline]] inline vd taylor_b_over_vega(vd a, vd h, vd t) noexcept {
  const vd g = h * h, w = t * t;
  const vd c3 = (a * (g + 3.0) - 1.0) * (1.0 / 6);
  const vd c5 = (a * ((g + 10.0) * g + 15.0) - (g + 7.0)) * (1.0 / 120);
  const vd c7 = (a * (((g + 21.0) * g + 105.0) * g + 105.0) - ((g + 18.0) * g + 57.0)) * (1.0 / 5040);
  const vd c9 = (a * ((((g + 36.0) * g + 378.0) * g + 1260.0) * g + 945.0) - (((g + 33.0) * g + 285.0) * g + 561.0)) *
                (1.0 / 362880);
  const vd c11 = (a * (((((g + 55.0) * g + 990.0) * g + 6930.0) * g + 17325.0) * g + 10395.0) -
                  ((((g + 52.0) * g + 840.0) * g + 4680.0) * g + 6555.0)) *
                 (1.0 / 39916800);
  const vd c13 = (a * ((((((g + 78.0) * g + 2145.0) * g + 25740.0) * g + 135135.0) * g + 270270.0) * g + 135135.0) -
                  (((((g + 75.0) * g + 1926.0) * g + 20370.0) * g + 82845.0) * g + 89055.0)) *
                 (1.0 / 6227020800.0);
  return 2.0 * t * (a + w * (c3 + w * (c5 + w * (c7 + w * (c9 + w * (c11 + w * c13))))));
}

/// b(x, s) for x <= 0 and finite s > 0 (normalised_black.cpp's otm_black), with h = x/s.
[[gnu::always_inline]] inline vd otm_black(vd x, vd s, vd h) noexcept {
  const vd t = 0.5 * s;
  const vm plain = s * (0.5 * s - plain_difference_min_d1) + x > 0.0;
  vd result = splat(0.0);
  if (any(plain)) {
    const vd e = exp(0.5 * x);
    result = max_zero(e * norm_cdf(h + t) - norm_cdf(h - t) / e);
  }
  const vm scaled = ~plain;
  if (any(scaled)) {
    const vd ln_vega = -ln_sqrt_2pi - 0.5 * (h * h + t * t);
    const vm taylor = scaled & (t < taylor_max_t) & (x >= -taylor_max_abs_x);
    const vm difference = scaled & ~taylor;
    // One erfcx pass serves both forms: the Taylor lanes need erfcx(-h/sqrt2) for Y'(h) (or, above 4,
    // Cody's tail, which comes out of the same polynomials), the difference lanes erfcx(-(h+t)/sqrt2).
    const vd z = -h * inv_sqrt2;
    vd tail = splat(0.0);
    const vd first = erfcx(select(taylor, z, -(h + t) * inv_sqrt2), &tail);
    vd b_over_vega = splat(0.0);
    if (any(taylor)) {
      // Y'(h) = 1 + h Y(h); above z = 4, sqrt(pi) * tail without the cancellation (y_prime).
      const vd a = select(z >= 4.0, sqrt_pi * tail, 1.0 + h * sqrt_pi_over_2 * first);
      b_over_vega = taylor_b_over_vega(a, h, t);
    }
    if (any(difference)) {
      const vd d = sqrt_pi_over_2 * (first - erfcx(-(h - t) * inv_sqrt2));
      b_over_vega = select(difference, max_zero(d), b_over_vega);
    }
    result = select(scaled, b_over_vega * exp(ln_vega), result);
  }
  return result;
}

/// normalised_black(x, s, call) for finite x and finite s > 0, h = x / s; w = +1 call, -1 put.
[[gnu::always_inline]] inline vd normalised_black(vd x, vd s, vd h, vd w) noexcept {
  const vd theta_x = w * x;
  // -|x| / s is -|x / s| exactly (s > 0): callers that have x / s already pass it.
  const vd otm = otm_black(-abs(x), s, -abs(h));
  const vm in_the_money = theta_x > 0.0;
  vd intrinsic = splat(0.0);
  if (any(in_the_money))
    intrinsic = select(in_the_money, twice_sinh(0.5 * select(in_the_money, theta_x, splat(0.0))), intrinsic);
  return intrinsic + otm;
}

// ---- loading and storing blocks of rows ------------------------------------------------------------

/// Rows [i, i + count) of a broadcastable input; lanes past count repeat row i (their results are
/// dropped).
[[gnu::always_inline]] inline vd load(std::span<const double> in, std::size_t i, std::size_t count) noexcept {
  if (in.size() == 1) return splat(in[0]);
  vd v;
  if (count == static_cast<std::size_t>(lanes)) {
    std::memcpy(&v, in.data() + i, sizeof v);
    return v;
  }
  double block[lanes];
  for (std::size_t j = 0; j < static_cast<std::size_t>(lanes); ++j) block[j] = in[i + (j < count ? j : 0)];
  std::memcpy(&v, block, sizeof v);
  return v;
}

/// +1 for a call, -1 for a put.
[[gnu::always_inline]] inline vd load_sign(std::span<const std::uint8_t> is_call, std::size_t i,
                                           std::size_t count) noexcept {
  if (is_call.size() == 1) return splat(is_call[0] != 0 ? 1.0 : -1.0);
  std::uint8_t flags[lanes];
  if (count == static_cast<std::size_t>(lanes)) {
    std::memcpy(flags, is_call.data() + i, sizeof flags);
  } else {
    for (std::size_t j = 0; j < static_cast<std::size_t>(lanes); ++j) flags[j] = is_call[i + (j < count ? j : 0)];
  }
  // Widen the bytes to 64-bit lanes and compare with zero.
#if OPTARO_SIMD_LANES == 8
  std::uint64_t eight;
  std::memcpy(&eight, flags, sizeof eight);
  // maskz: the unmasked form's undefined pass-through trips GCC 12's -Wmaybe-uninitialized
  const __m512i wide =
      _mm512_maskz_cvtepu8_epi64(static_cast<__mmask8>(0xff), _mm_cvtsi64_si128(static_cast<long long>(eight)));
#else
  std::uint32_t four;
  std::memcpy(&four, flags, sizeof four);
  const __m256i wide = _mm256_cvtepu8_epi64(_mm_cvtsi32_si128(static_cast<int>(four)));
#endif
  return select(bits_as<vm>(wide) != 0, splat(1.0), splat(-1.0));
}

[[gnu::always_inline]] inline bool call_at(std::span<const std::uint8_t> is_call, std::size_t row) noexcept {
  return is_call[is_call.size() == 1 ? 0 : row] != 0;
}

[[gnu::always_inline]] inline double at(std::span<const double> in, std::size_t row) noexcept {
  return in[in.size() == 1 ? 0 : row];
}

/// One block of inputs. For Black-76 q is r (its batch passes the r span as q).
struct block_inputs {
  vd S, K, T, r, q, sigma, w;
  vd sqrt_t, s, x;
  vm scalar_lanes;  ///< lanes to recompute with the scalar function
};

/// Loads rows [i, i + count) and validates them as bs_price does. Invalid lanes get harmless stand-in
/// values; they are flagged and recomputed by the scalar function anyway.
[[gnu::always_inline]] inline block_inputs load_inputs(const bsm_batch& in, std::size_t i, std::size_t count) noexcept {
  block_inputs b;
  b.S = load(in.S, i, count);
  b.K = load(in.K, i, count);
  b.T = load(in.T, i, count);
  b.r = load(in.r, i, count);
  b.q = load(in.q, i, count);
  b.sigma = load(in.sigma, i, count);
  b.w = load_sign(in.is_call, i, count);
  const vm valid = is_finite(b.S) & is_finite(b.K) & is_finite(b.T) & is_finite(b.r) & is_finite(b.q) &
                   is_finite(b.sigma) & (b.S > 0.0) & (b.K > 0.0) & (b.T >= 0.0) & (b.sigma >= 0.0);
  b.S = select(valid, b.S, splat(1.0));
  b.K = select(valid, b.K, splat(1.0));
  b.T = select(valid, b.T, splat(1.0));
  b.r = select(valid, b.r, splat(0.0));
  b.q = select(valid, b.q, splat(0.0));
  b.sigma = select(valid, b.sigma, splat(0.2));
  b.sqrt_t = sqrt(b.T);
  b.s = b.sigma * b.sqrt_t;
  // s == 0 (the deterministic limit) and s == inf have their own scalar branches.
  b.scalar_lanes = ~valid | ~(b.s > 0.0) | ~is_finite(b.s);
  b.x = splat(0.0);
  return b;
}

/// x = ln(F/K) as bs_price computes it; flags the lanes the vector code leaves to the scalar one.
[[gnu::always_inline]] inline void add_forward_moneyness(block_inputs& b) noexcept {
  b.x = log_moneyness(b.S, b.K, b.scalar_lanes) + (b.r - b.q) * b.T;
  // 2 sinh(x/2) would overflow (no valid double S/K gets there without an extreme carry).
  b.scalar_lanes |= ~(abs(b.x) <= 700.0);
  // Flagged lanes compute on stand-ins, so that they add no work to the branches below.
  b.x = select(b.scalar_lanes, splat(0.0), b.x);
  b.s = select(b.scalar_lanes, splat(0.2), b.s);
}

[[gnu::always_inline]] inline void store(std::span<double> out, std::size_t i, std::size_t count,
                                         const double* values) noexcept {
  if (!out.empty()) std::memcpy(out.data() + i, values, count * sizeof(double));
}

[[gnu::always_inline]] inline void store_at(double* values, vd v) noexcept { std::memcpy(values, &v, sizeof v); }

// ---- the kernels ---------------------------------------------------------------------------------

[[gnu::always_inline]] inline std::size_t rows_in(std::size_t n, std::size_t i, std::size_t step) noexcept {
  return n - i < step ? n - i : step;
}

inline void price_rows(const bsm_batch& in, std::size_t n, std::span<double> price) noexcept {
  for (std::size_t i = 0; i < n; i += lanes) {
    const std::size_t count = rows_in(n, i, lanes);
    block_inputs b = load_inputs(in, i, count);
    add_forward_moneyness(b);
    double values[lanes];
    store_at(values,
             sqrt(b.S) * sqrt(b.K) * exp(-0.5 * (b.r + b.q) * b.T) * normalised_black(b.x, b.s, b.x / b.s, b.w));
    for (unsigned patch = lane_bits(b.scalar_lanes); patch != 0; patch &= patch - 1) {
      const std::size_t j = static_cast<std::size_t>(__builtin_ctz(patch));
      if (j >= count) break;
      const std::size_t row = i + j;
      values[j] = bs_price(at(in.S, row), at(in.K, row), at(in.T, row), at(in.r, row), at(in.q, row), at(in.sigma, row),
                           call_at(in.is_call, row));
    }
    store(price, i, count, values);
  }
}

/// The greeks columns in the order of struct greeks.
inline constexpr std::size_t greek_count = 13;

inline void greeks_rows(const bsm_batch& in, std::size_t n, const greeks_columns& out, bool black76,
                        bool trader_units) noexcept {
  const std::span<double> columns[greek_count] = {out.price, out.delta, out.gamma, out.vega,  out.theta,
                                                  out.rho,   out.vanna, out.volga, out.charm, out.speed,
                                                  out.zomma, out.color, out.veta};
  for (std::size_t i = 0; i < n; i += lanes) {
    const std::size_t count = rows_in(n, i, lanes);
    block_inputs b = load_inputs(in, i, count);
    add_forward_moneyness(b);
    // The reciprocals below would overflow for absurdly small S sigma sqrt(T), sigma or T, where the
    // scalar formulas divide into 0/0 or x/0 in their own way: those rows go to the scalar code too.
    const vm scalar_lanes = b.scalar_lanes | ~(b.S * b.s >= 0x1p-300) | ~(b.sigma >= 0x1p-300) | ~(b.T >= 0x1p-300);
    const vd S = select(scalar_lanes, splat(1.0), b.S), T = select(scalar_lanes, splat(1.0), b.T);
    const vd K = b.K, r = b.r, q = b.q, w = b.w;
    const vd sqrt_t = select(scalar_lanes, splat(1.0), b.sqrt_t);
    const vd sigma = select(scalar_lanes, splat(0.2), b.sigma);
    const vd s = select(scalar_lanes, splat(0.2), b.s), x = select(scalar_lanes, splat(0.0), b.x);
    // bs_greeks' formulas (black_detail.hpp's make_bsm_terms and first_order, pricing.cpp).
    const vd carry = (r - q) * T;
    const vd dq = exp(-q * T), dr = exp(-r * T);
    const vd h = x / s;
    const vd d1 = h + 0.5 * s;
    const vd d2 = d1 - s;
    const vd cdf1 = norm_cdf(w * d1), cdf2 = norm_cdf(w * d2), pdf1 = norm_pdf(d1);
    const vd s_dq_pdf1 = S * dq * pdf1;
    vd g[greek_count];
    g[0] = sqrt(S) * sqrt(K) * exp(-0.5 * (r + q) * T) * normalised_black(x, s, h, w);
    g[1] = w * dq * cdf1;
    // The scalar formulas divide a dozen times; here each divisor is inverted once (one more rounding
    // per Greek, far inside their 1e-9 contract).
    const vd inv_s = 1.0 / s, inv_sigma = 1.0 / sigma, inv_S = 1.0 / S, half_inv_T = 0.5 / T;
    const vd dq_pdf1 = dq * pdf1;
    const vd d1_over_s = d1 * inv_s;
    const vd drift_term = 2.0 * carry - d2 * s;  // 2 (r - q) T - d2 s
    g[2] = dq_pdf1 * inv_S * inv_s;
    g[3] = s_dq_pdf1 * sqrt_t;
    g[4] = -s_dq_pdf1 * sigma * (0.5 / sqrt_t) - w * r * K * dr * cdf2 + w * q * S * dq * cdf1;
    g[5] = black76 ? -T * g[0] : w * K * T * dr * cdf2;
    g[6] = -dq_pdf1 * d2 * inv_sigma;
    g[7] = g[3] * d1 * d2 * inv_sigma;
    g[8] = w * q * dq * cdf1 - dq_pdf1 * drift_term * (half_inv_T * inv_s);
    g[9] = -g[2] * inv_S * (d1_over_s + 1.0);
    g[10] = g[2] * (d1 * d2 - 1.0) * inv_sigma;
    g[11] = dq_pdf1 * (half_inv_T * inv_S * inv_s) * (2.0 * q * T + 1.0 + d1_over_s * drift_term);
    g[12] = s_dq_pdf1 * sqrt_t * (q + (r - q) * d1_over_s - (1.0 + d1 * d2) * half_inv_T);
    if (trader_units) {
      // to_trader_units, factor for factor.
      constexpr double point = 0.01, day = 1.0 / 365.0;
      g[3] = g[3] * point;
      g[5] = g[5] * point;
      g[4] = g[4] * day;
      g[6] = g[6] * point;
      g[7] = g[7] * point * point;
      g[8] = g[8] * day;
      g[10] = g[10] * point;
      g[11] = g[11] * day;
      g[12] = g[12] * point * day;
    }
    double values[greek_count][lanes];
    for (std::size_t k2 = 0; k2 < greek_count; ++k2) {
      if (!columns[k2].empty()) store_at(values[k2], g[k2]);
    }
    for (unsigned patch = lane_bits(scalar_lanes); patch != 0; patch &= patch - 1) {
      const std::size_t j = static_cast<std::size_t>(__builtin_ctz(patch));
      if (j >= count) break;
      const std::size_t row = i + j;
      const double Sj = at(in.S, row), Kj = at(in.K, row), Tj = at(in.T, row), rj = at(in.r, row);
      const double sigmaj = at(in.sigma, row);
      const bool call = call_at(in.is_call, row);
      const greeks raw = black76 ? black76_greeks(Sj, Kj, Tj, rj, sigmaj, call)
                                 : bs_greeks(Sj, Kj, Tj, rj, at(in.q, row), sigmaj, call);
      const greeks scalar = trader_units ? to_trader_units(raw) : raw;
      const double fields[greek_count] = {scalar.price, scalar.delta, scalar.gamma, scalar.vega,  scalar.theta,
                                          scalar.rho,   scalar.vanna, scalar.volga, scalar.charm, scalar.speed,
                                          scalar.zomma, scalar.color, scalar.veta};
      for (std::size_t k2 = 0; k2 < greek_count; ++k2) values[k2][j] = fields[k2];
    }
    for (std::size_t k2 = 0; k2 < greek_count; ++k2) store(columns[k2], i, count, values[k2]);
  }
}

}  // namespace
}  // namespace optaro::simd

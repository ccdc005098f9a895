#pragma once
// The entry points of one instruction set's kernels (declared in dispatch.hpp): the body of
// batch_avx2.cpp and batch_avx512.cpp, each of which includes it once, after its target pragma, with
// OPTARO_SIMD_NAMESPACE set to avx2 or avx512 (one source, compiled twice).
#include "vector_math.hpp"
// after vector_math.hpp, which it builds on
#include "black_kernels.hpp"
// after black_kernels.hpp, whose normalised Black pieces it shares
#include "implied_vol_kernel.hpp"

#ifndef OPTARO_SIMD_NAMESPACE
#error "define OPTARO_SIMD_NAMESPACE"
#endif

namespace optaro::simd::OPTARO_SIMD_NAMESPACE {

void price_rows(const bsm_batch& in, std::size_t n, std::span<double> price) noexcept {
  simd::price_rows(in, n, price);
}

void greeks_rows(const bsm_batch& in, std::size_t n, const greeks_columns& out, bool black76,
                 bool trader_units) noexcept {
  simd::greeks_rows(in, n, out, black76, trader_units);
}

void solve_normalised(std::span<const detail::normalised_problem> problems, std::span<iv_result> out) noexcept {
  simd::solve_normalised_rows(problems, out);
}

void implied_vol_rows(const iv_batch& in, std::size_t n, std::span<double> sigma, std::span<status> st) noexcept {
  simd::implied_vol_rows(in, n, sigma, st);
}

void evaluate(vector_function f, std::span<const double> a, std::span<const double> b, std::span<double> out) noexcept {
  const std::size_t n = out.size();
  for (std::size_t i = 0; i < n; i += lanes) {
    const std::size_t count = n - i < static_cast<std::size_t>(lanes) ? n - i : static_cast<std::size_t>(lanes);
    const vd x = load(a, i, count);
    const vd y = b.empty() ? splat(1.0) : load(b, i, count);
    vd result = splat(0.0);
    vm unusual = x != x;
    switch (f) {
      case vector_function::exp: result = simd::exp(x); break;
      case vector_function::log: result = log_plus(x, splat(0.0)); break;
      case vector_function::log_moneyness: result = simd::log_moneyness(x, y, unusual); break;
      case vector_function::twice_sinh: result = twice_sinh(x); break;
      case vector_function::erfcx: result = simd::erfcx(x); break;
      case vector_function::erfc: result = simd::erfc(x); break;
      case vector_function::norm_cdf: result = simd::norm_cdf(x); break;
      case vector_function::normalised_black_call: result = simd::normalised_black(x, y, x / y, splat(1.0)); break;
      case vector_function::normalised_black_put: result = simd::normalised_black(x, y, x / y, splat(-1.0)); break;
    }
    double values[lanes];
    std::memcpy(values, &result, sizeof result);
    std::memcpy(out.data() + i, values, count * sizeof(double));
  }
}

}  // namespace optaro::simd::OPTARO_SIMD_NAMESPACE

#pragma once
// Runtime choice of the batch kernels' instruction set, internal to the library (and its tests).
//
// The library is built for the baseline x86-64 (no -march flags: it ships in a wheel). The AVX2 + FMA
// and AVX-512 kernels are compiled with `#pragma GCC target` in their own translation units
// (batch_avx2.cpp, batch_avx512.cpp) and only called after the CPU says it has the instructions.
// Everywhere else (other architectures, other compilers) the batch functions are the scalar loop.
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include <optaro/batch.hpp>
#include <optaro/implied_vol.hpp>

#if defined(__x86_64__) && defined(__GNUC__)
#define OPTARO_SIMD_X86 1
#else
#define OPTARO_SIMD_X86 0
#endif

namespace optaro::detail {
struct normalised_problem;
}

namespace optaro::simd {

enum class isa { scalar, avx2, avx512 };

[[nodiscard]] std::string_view name(isa which) noexcept;
/// "scalar", "avx2" or "avx512"; nullopt for anything else.
[[nodiscard]] std::optional<isa> isa_from_name(std::string_view text) noexcept;
/// Whether this CPU (and OS) can run the kernels of that instruction set; scalar always.
[[nodiscard]] bool cpu_supports(isa which) noexcept;
/// The widest supported instruction set, detected once.
[[nodiscard]] isa best_isa() noexcept;

// The public batch functions with the instruction set chosen by the caller (the tests run every path
// through these). An instruction set the CPU lacks falls back to the scalar loop.
std::size_t bs_price_batch(isa which, const bsm_batch& in, std::span<double> price);
std::size_t bs_greeks_batch(isa which, const bsm_batch& in, const greeks_columns& out, bool trader_units);
std::size_t black76_price_batch(isa which, const black76_batch& in, std::span<double> price);
std::size_t black76_greeks_batch(isa which, const black76_batch& in, const greeks_columns& out, bool trader_units);
std::size_t implied_vol_batch(isa which, const iv_batch& in, std::span<double> sigma, std::span<status> st = {});
/// detail::solve_normalised's batch form on one instruction set (scalar: the interleaved scalar solver).
void solve_normalised(isa which, std::span<const detail::normalised_problem> problems,
                      std::span<iv_result> out) noexcept;

/// The vector functions, for the tests: out[i] = f(a[i], b[i]) on one instruction set.
enum class vector_function {
  exp,                    ///< e^a
  log,                    ///< ln a (a positive normal)
  log_moneyness,          ///< ln(a/b) as detail::log_moneyness(a, b)
  twice_sinh,             ///< 2 sinh(a), a >= 0
  erfcx,                  ///< erfcx(a)
  erfc,                   ///< erfc(a)
  norm_cdf,               ///< Phi(a)
  normalised_black_call,  ///< normalised_black(a, b, true), b > 0 finite
  normalised_black_put,   ///< normalised_black(a, b, false)
};
/// Returns false (and writes nothing) when the CPU lacks the instruction set or it is scalar.
bool evaluate(isa which, vector_function f, std::span<const double> a, std::span<const double> b,
              std::span<double> out) noexcept;

// The kernels of each instruction set, on n rows whose lengths the caller has checked. For Black-76
// the batch is passed with S = F and q = r, and black76 set (its rho differs).
#if OPTARO_SIMD_X86
namespace avx2 {
void implied_vol_rows(const iv_batch& in, std::size_t n, std::span<double> sigma, std::span<status> st) noexcept;
void solve_normalised(std::span<const detail::normalised_problem> problems, std::span<iv_result> out) noexcept;
void price_rows(const bsm_batch& in, std::size_t n, std::span<double> price) noexcept;
void greeks_rows(const bsm_batch& in, std::size_t n, const greeks_columns& out, bool black76,
                 bool trader_units) noexcept;
void evaluate(vector_function f, std::span<const double> a, std::span<const double> b, std::span<double> out) noexcept;
}  // namespace avx2
namespace avx512 {
void implied_vol_rows(const iv_batch& in, std::size_t n, std::span<double> sigma, std::span<status> st) noexcept;
void solve_normalised(std::span<const detail::normalised_problem> problems, std::span<iv_result> out) noexcept;
void price_rows(const bsm_batch& in, std::size_t n, std::span<double> price) noexcept;
void greeks_rows(const bsm_batch& in, std::size_t n, const greeks_columns& out, bool black76,
                 bool trader_units) noexcept;
void evaluate(vector_function f, std::span<const double> a, std::span<const double> b, std::span<double> out) noexcept;
}  // namespace avx512
#endif

}  // namespace optaro::simd

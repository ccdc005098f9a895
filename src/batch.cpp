// Batch kernels over broadcastable spans. Prices and Greeks run on the widest vector kernels the CPU
// supports (src/simd/: AVX-512 or AVX2 + FMA, chosen at run time), else on a loop of the scalar
// functions, which is also what the vector kernels fall back to for their edge-case rows. The scalar
// functions are noexcept and total (NaN or a status for bad rows), so a loop body can never fail.
#include <algorithm>
#include <array>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

#include <optaro/batch.hpp>
#include <optaro/implied_vol.hpp>
#include <optaro/pricing.hpp>

#include "black_detail.hpp"
#include "simd/dispatch.hpp"

namespace optaro {
namespace {

struct named_length {
  std::string_view name;
  std::size_t length;
};

// Rows = the longest input; every input has that length or 1, every output exactly that length.
std::size_t batch_rows(std::initializer_list<named_length> inputs, std::initializer_list<named_length> outputs) {
  std::size_t n = 0;
  for (const auto& in : inputs) n = std::max(n, in.length);
  for (const auto& in : inputs) {
    if (in.length != n && in.length != 1) {
      throw std::invalid_argument(std::string(in.name) + ": length " + std::to_string(in.length) + ", expected " +
                                  std::to_string(n) + " or 1");
    }
  }
  for (const auto& out : outputs) {
    if (out.length != n) {
      throw std::invalid_argument(std::string(out.name) + ": length " + std::to_string(out.length) + ", expected " +
                                  std::to_string(n));
    }
  }
  return n;
}

// Element i of a broadcastable input: a span of length 1 stands for every row.
template <class T>
inline T at(std::span<const T> s, std::size_t i) noexcept {
  return s.size() == 1 ? s[0] : s[i];
}

void write_greeks(const greeks_columns& out, std::size_t i, const greeks& g) noexcept {
  const auto put = [i](std::span<double> column, double value) {
    if (!column.empty()) column[i] = value;
  };
  put(out.price, g.price);
  put(out.delta, g.delta);
  put(out.gamma, g.gamma);
  put(out.vega, g.vega);
  put(out.theta, g.theta);
  put(out.rho, g.rho);
  put(out.vanna, g.vanna);
  put(out.volga, g.volga);
  put(out.charm, g.charm);
  put(out.speed, g.speed);
  put(out.zomma, g.zomma);
  put(out.color, g.color);
  put(out.veta, g.veta);
}

// Rows of a greeks batch, checking only the columns that are wanted.
std::size_t greeks_rows(std::initializer_list<named_length> inputs, const greeks_columns& out) {
  const std::size_t n = batch_rows(inputs, {});
  const std::array<named_length, 13> columns = {{{"price", out.price.size()},
                                                 {"delta", out.delta.size()},
                                                 {"gamma", out.gamma.size()},
                                                 {"vega", out.vega.size()},
                                                 {"theta", out.theta.size()},
                                                 {"rho", out.rho.size()},
                                                 {"vanna", out.vanna.size()},
                                                 {"volga", out.volga.size()},
                                                 {"charm", out.charm.size()},
                                                 {"speed", out.speed.size()},
                                                 {"zomma", out.zomma.size()},
                                                 {"color", out.color.size()},
                                                 {"veta", out.veta.size()}}};
  for (const auto& c : columns) {
    if (c.length != 0 && c.length != n) {
      throw std::invalid_argument(std::string(c.name) + ": length " + std::to_string(c.length) + ", expected " +
                                  std::to_string(n));
    }
  }
  return n;
}

// The scalar loops: the portable path.
void scalar_price_rows(const bsm_batch& in, std::size_t n, std::span<double> price) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    price[i] = bs_price(at(in.S, i), at(in.K, i), at(in.T, i), at(in.r, i), at(in.q, i), at(in.sigma, i),
                        at(in.is_call, i) != 0);
  }
}

void scalar_greeks_rows(const bsm_batch& in, std::size_t n, const greeks_columns& out, bool black76,
                        bool trader_units) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const bool call = at(in.is_call, i) != 0;
    const greeks g =
        black76 ? black76_greeks(at(in.S, i), at(in.K, i), at(in.T, i), at(in.r, i), at(in.sigma, i), call)
                : bs_greeks(at(in.S, i), at(in.K, i), at(in.T, i), at(in.r, i), at(in.q, i), at(in.sigma, i), call);
    write_greeks(out, i, trader_units ? to_trader_units(g) : g);
  }
}

void run_price_rows(simd::isa which, const bsm_batch& in, std::size_t n, std::span<double> price) noexcept {
#if OPTARO_SIMD_X86
  if (which == simd::isa::avx512 && simd::cpu_supports(which)) return simd::avx512::price_rows(in, n, price);
  if (which == simd::isa::avx2 && simd::cpu_supports(which)) return simd::avx2::price_rows(in, n, price);
#endif
  (void)which;
  scalar_price_rows(in, n, price);
}

void run_greeks_rows(simd::isa which, const bsm_batch& in, std::size_t n, const greeks_columns& out, bool black76,
                     bool trader_units) noexcept {
#if OPTARO_SIMD_X86
  if (which == simd::isa::avx512 && simd::cpu_supports(which)) {
    return simd::avx512::greeks_rows(in, n, out, black76, trader_units);
  }
  if (which == simd::isa::avx2 && simd::cpu_supports(which)) {
    return simd::avx2::greeks_rows(in, n, out, black76, trader_units);
  }
#endif
  (void)which;
  scalar_greeks_rows(in, n, out, black76, trader_units);
}

// Black-76 is BSM on the forward with q = r: the r span serves as q too.
bsm_batch as_bsm(const black76_batch& in) noexcept { return {in.F, in.K, in.T, in.r, in.r, in.sigma, in.is_call}; }

}  // namespace

namespace simd {

std::string_view name(isa which) noexcept {
  switch (which) {
    case isa::avx2: return "avx2";
    case isa::avx512: return "avx512";
    case isa::scalar: break;
  }
  return "scalar";
}

std::optional<isa> isa_from_name(std::string_view text) noexcept {
  for (isa which : {isa::scalar, isa::avx2, isa::avx512}) {
    if (text == name(which)) return which;
  }
  return std::nullopt;
}

bool cpu_supports(isa which) noexcept {
#if OPTARO_SIMD_X86
  // __builtin_cpu_supports also checks that the OS saves the vector registers (XGETBV). Detected once;
  // __builtin_cpu_init first in case the first batch runs from a static initializer.
  static const bool avx2 = (__builtin_cpu_init(), __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
  static const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
  switch (which) {
    case isa::avx2: return avx2;
    case isa::avx512: return avx512;
    case isa::scalar: return true;
  }
  return false;
#else
  return which == isa::scalar;
#endif
}

isa best_isa() noexcept {
  static const isa best = cpu_supports(isa::avx512) ? isa::avx512 : cpu_supports(isa::avx2) ? isa::avx2 : isa::scalar;
  return best;
}

std::size_t bs_price_batch(isa which, const bsm_batch& in, std::span<double> price) {
  const std::size_t n = batch_rows({{"S", in.S.size()},
                                    {"K", in.K.size()},
                                    {"T", in.T.size()},
                                    {"r", in.r.size()},
                                    {"q", in.q.size()},
                                    {"sigma", in.sigma.size()},
                                    {"is_call", in.is_call.size()}},
                                   {{"price", price.size()}});
  run_price_rows(which, in, n, price);
  return n;
}

std::size_t bs_greeks_batch(isa which, const bsm_batch& in, const greeks_columns& out, bool trader_units) {
  const std::size_t n = greeks_rows({{"S", in.S.size()},
                                     {"K", in.K.size()},
                                     {"T", in.T.size()},
                                     {"r", in.r.size()},
                                     {"q", in.q.size()},
                                     {"sigma", in.sigma.size()},
                                     {"is_call", in.is_call.size()}},
                                    out);
  run_greeks_rows(which, in, n, out, false, trader_units);
  return n;
}

std::size_t black76_price_batch(isa which, const black76_batch& in, std::span<double> price) {
  const std::size_t n = batch_rows({{"F", in.F.size()},
                                    {"K", in.K.size()},
                                    {"T", in.T.size()},
                                    {"r", in.r.size()},
                                    {"sigma", in.sigma.size()},
                                    {"is_call", in.is_call.size()}},
                                   {{"price", price.size()}});
  run_price_rows(which, as_bsm(in), n, price);
  return n;
}

std::size_t black76_greeks_batch(isa which, const black76_batch& in, const greeks_columns& out, bool trader_units) {
  const std::size_t n = greeks_rows({{"F", in.F.size()},
                                     {"K", in.K.size()},
                                     {"T", in.T.size()},
                                     {"r", in.r.size()},
                                     {"sigma", in.sigma.size()},
                                     {"is_call", in.is_call.size()}},
                                    out);
  run_greeks_rows(which, as_bsm(in), n, out, true, trader_units);
  return n;
}

bool evaluate(isa which, vector_function f, std::span<const double> a, std::span<const double> b,
              std::span<double> out) noexcept {
#if OPTARO_SIMD_X86
  if (!cpu_supports(which)) return false;
  if (which == isa::avx512) return simd::avx512::evaluate(f, a, b, out), true;
  if (which == isa::avx2) return simd::avx2::evaluate(f, a, b, out), true;
#endif
  (void)which, (void)f, (void)a, (void)b, (void)out;
  return false;
}

void solve_normalised(isa which, std::span<const detail::normalised_problem> problems,
                      std::span<iv_result> out) noexcept {
#if OPTARO_SIMD_X86
  if (which == isa::avx512 && cpu_supports(which)) return avx512::solve_normalised(problems, out);
  if (which == isa::avx2 && cpu_supports(which)) return avx2::solve_normalised(problems, out);
#endif
  (void)which;
  detail::solve_normalised_interleaved(problems, out);
}

std::size_t implied_vol_batch(isa which, const iv_batch& in, std::span<double> sigma, std::span<status> st) {
  const std::size_t n = batch_rows({{"price", in.price.size()},
                                    {"S", in.S.size()},
                                    {"K", in.K.size()},
                                    {"T", in.T.size()},
                                    {"r", in.r.size()},
                                    {"q", in.q.size()},
                                    {"is_call", in.is_call.size()}},
                                   {{"sigma", sigma.size()}});
  if (!st.empty() && st.size() != n) {
    throw std::invalid_argument("status: length " + std::to_string(st.size()) + ", expected " + std::to_string(n));
  }
#if OPTARO_SIMD_X86
  if (which == isa::avx512 && cpu_supports(which)) return avx512::implied_vol_rows(in, n, sigma, st), n;
  if (which == isa::avx2 && cpu_supports(which)) return avx2::implied_vol_rows(in, n, sigma, st), n;
#endif
  const auto write = [&](std::size_t row, const iv_result& res) {
    sigma[row] = res.sigma;
    if (!st.empty()) st[row] = res.st;
  };
  // The portable path: bs_implied_vol in three passes over chunks of rows: the checks and the reduction
  // row by row, the normalised problems of the chunk solved together (interleaved), sigma = s / sqrt(T).
  constexpr std::size_t chunk = 256;
  std::array<detail::normalised_problem, chunk> problems;
  std::array<iv_result, chunk> solved;
  std::array<std::size_t, chunk> problem_row;
  std::array<double, chunk> problem_sqrt_t;
  for (std::size_t begin = 0; begin < n; begin += chunk) {
    const std::size_t end = std::min(n, begin + chunk);
    std::size_t m = 0;
    for (std::size_t i = begin; i < end; ++i) {
      const double T = at(in.T, i), r = at(in.r, i), q = at(in.q, i), S = at(in.S, i);
      if (!detail::valid_horizon(T, r, q)) {
        write(i, {std::numeric_limits<double>::quiet_NaN(), status::invalid_input});
        continue;
      }
      const detail::bsm_horizon h = detail::make_horizon(T, r, q);
      const double K = at(in.K, i);
      const detail::iv_reduction red = detail::reduce_bs_implied_vol(at(in.price, i), S, K, at(in.is_call, i) != 0, h,
                                                                     detail::forward_log_moneyness(S, K, h));
      if (!red.problem) {
        write(i, red.decided);
        continue;
      }
      problems[m] = *red.problem;
      problem_row[m] = i;
      problem_sqrt_t[m] = h.sqrt_t;
      ++m;
    }
    detail::solve_normalised_interleaved(std::span(problems.data(), m), std::span(solved.data(), m));
    for (std::size_t j = 0; j < m; ++j) {
      write(problem_row[j], detail::from_normalised(solved[j], problem_sqrt_t[j]));
    }
  }
  return n;
}

}  // namespace simd

std::size_t bs_price_batch(const bsm_batch& in, std::span<double> price) {
  return simd::bs_price_batch(simd::best_isa(), in, price);
}

std::size_t bs_greeks_batch(const bsm_batch& in, const greeks_columns& out, bool trader_units) {
  return simd::bs_greeks_batch(simd::best_isa(), in, out, trader_units);
}

std::size_t black76_price_batch(const black76_batch& in, std::span<double> price) {
  return simd::black76_price_batch(simd::best_isa(), in, price);
}

std::size_t black76_greeks_batch(const black76_batch& in, const greeks_columns& out, bool trader_units) {
  return simd::black76_greeks_batch(simd::best_isa(), in, out, trader_units);
}

std::size_t implied_vol_batch(const iv_batch& in, std::span<double> sigma, std::span<status> st) {
  return simd::implied_vol_batch(simd::best_isa(), in, sigma, st);
}

namespace detail {

void solve_normalised(std::span<const normalised_problem> problems, std::span<iv_result> out) noexcept {
  simd::solve_normalised(simd::best_isa(), problems, out);
}

}  // namespace detail
}  // namespace optaro

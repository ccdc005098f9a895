// Pricing-core benchmarks: ns per option for price, price + all Greeks, implied vol and the
// normalised Black function, on the fixed option set of bench_inputs.hpp (1M options by default).
//
// Every benchmark reports `per_option` (CPU time per option, in seconds: the console shows "45.6ns")
// and items_per_second. Repetitions are on by default (10, interleaved at random between the
// benchmarks, aggregates only on the console, every repetition in --benchmark_out files) with a `min`
// statistic next to mean/median/stddev/cv: the machines are shared and noisy, so read the median and
// the min, never one run.
//
//   optaro_bench_pricing [google-benchmark flags]    e.g. --benchmark_filter=implied_vol
//   OPTARO_BENCH_OPTIONS=10000 optaro_bench_pricing  a smaller set, for a quick check
//
// BM_price_batch and BM_greeks_batch_all run the kernels the library picks for this CPU; the
// *_isa/<name> variants force each instruction set (scalar loop, AVX2 + FMA, AVX-512) through the
// library's internal dispatch entry points, so that one run compares them. A variant the CPU lacks is
// reported as skipped.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <optaro/optaro.hpp>

#include "bench_inputs.hpp"
// Internal (not installed) but part of this source tree, which the standalone build also compiles from:
// the batch functions with the instruction set chosen by the caller.
#include "../src/simd/dispatch.hpp"

namespace {

using optaro_bench::option_set;

std::size_t option_count() {
  if (const char* env = std::getenv("OPTARO_BENCH_OPTIONS")) {
    char* end = nullptr;
    const unsigned long long n = std::strtoull(env, &end, 10);
    if (end != env && *end == '\0' && n > 0) return static_cast<std::size_t>(n);
  }
  return 1'000'000;
}

// Everything the benchmarks read, built once (outside any timed region) and shared.
struct dataset {
  option_set all;
  std::vector<double> price;              // bs_price of every option: the input of the IV benchmarks
  std::vector<optaro::status> iv_status;  // what implied_vol_batch reports for each of those prices
  std::vector<double> x, s, beta;         // normalised inputs: x = ln(F/K), s = sigma*sqrt(T), beta = b(x, s)
  // The rows whose price keeps some time value in double precision (implied vol status ok). Prices
  // at intrinsic (deep in or out of the money, short expiry, low vol) leave the solver early; this
  // subset shows the cost of a real inversion without those cheap rows.
  option_set time_value;
  std::vector<double> time_value_price;
};

optaro::bsm_batch as_batch(const option_set& o) { return {o.S, o.K, o.T, o.r, o.q, o.sigma, o.is_call}; }

optaro::iv_batch as_iv_batch(const option_set& o, std::span<const double> price) {
  return {price, o.S, o.K, o.T, o.r, o.q, o.is_call};
}

dataset build_dataset() {
  dataset d;
  const std::size_t n = option_count();
  d.all = optaro_bench::make_option_set(n);
  d.price.resize(n);
  optaro::bs_price_batch(as_batch(d.all), d.price);

  std::vector<double> sigma(n);
  d.iv_status.resize(n);
  optaro::implied_vol_batch(as_iv_batch(d.all, d.price), sigma, d.iv_status);

  d.x.resize(n);
  d.s.resize(n);
  d.beta.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const option_set& o = d.all;
    d.x[i] = std::log(o.S[i] / o.K[i]) + (o.r[i] - o.q[i]) * o.T[i];
    d.s[i] = o.sigma[i] * std::sqrt(o.T[i]);
    d.beta[i] = optaro::normalised_black(d.x[i], d.s[i], o.is_call[i] != 0);
  }

  for (std::size_t i = 0; i < n; ++i) {
    if (d.iv_status[i] != optaro::status::ok) continue;
    const option_set& o = d.all;
    d.time_value.S.push_back(o.S[i]);
    d.time_value.K.push_back(o.K[i]);
    d.time_value.T.push_back(o.T[i]);
    d.time_value.r.push_back(o.r[i]);
    d.time_value.q.push_back(o.q[i]);
    d.time_value.sigma.push_back(o.sigma[i]);
    d.time_value.is_call.push_back(o.is_call[i]);
    d.time_value_price.push_back(d.price[i]);
  }
  return d;
}

const dataset& data() {
  static const dataset d = build_dataset();
  return d;
}

// per_option = CPU time / (iterations * options), in seconds (the console prints "123.4ns"): an
// inverted iteration-invariant rate. Its `min` aggregate is the best repetition.
void set_per_option_counters(benchmark::State& state, std::size_t options) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(options));
  state.counters["per_option"] = benchmark::Counter(
      static_cast<double>(options), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// Runs fill(out), which writes all n outputs, once per benchmark iteration; reports time per option.
template <class T, class Fill>
void time_per_option(benchmark::State& state, std::size_t n, Fill fill) {
  std::vector<T> out(n);
  for (auto _ : state) {
    fill(out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_per_option_counters(state, n);
}

// ---------------------------------------------------------------------------------------------
// Batch API (what the Python functions call)

void BM_price_batch(benchmark::State& state) {
  const dataset& d = data();
  time_per_option<double>(state, d.all.K.size(),
                          [&](std::vector<double>& out) { optaro::bs_price_batch(as_batch(d.all), out); });
}

// Price and all 12 Greeks of the whole option set into 13 columns by `greeks(batch, columns)`, per option.
template <class Greeks>
void time_all_greeks(benchmark::State& state, Greeks&& greeks) {
  const dataset& d = data();
  const std::size_t n = d.all.K.size();
  std::array<std::vector<double>, 13> col;
  for (auto& c : col) c.resize(n);
  const optaro::greeks_columns out{col[0], col[1], col[2], col[3],  col[4],  col[5], col[6],
                                   col[7], col[8], col[9], col[10], col[11], col[12]};
  for (auto _ : state) {
    greeks(as_batch(d.all), out);
    benchmark::DoNotOptimize(col[0].data());
    benchmark::ClobberMemory();
  }
  set_per_option_counters(state, n);
}

void BM_greeks_batch_all(benchmark::State& state) {
  time_all_greeks(state, [](const optaro::bsm_batch& in, const optaro::greeks_columns& out) {
    optaro::bs_greeks_batch(in, out);
  });
}

// The same two batches with the instruction set forced; range(0) indexes optaro::simd::isa.
optaro::simd::isa forced_isa(benchmark::State& state) {
  const auto which = static_cast<optaro::simd::isa>(state.range(0));
  state.SetLabel(std::string(optaro::simd::name(which)));
  if (!optaro::simd::cpu_supports(which)) state.SkipWithError("this CPU lacks the instruction set");
  return which;
}

void BM_price_batch_isa(benchmark::State& state) {
  const optaro::simd::isa which = forced_isa(state);
  const dataset& d = data();
  time_per_option<double>(state, d.all.K.size(),
                          [&](std::vector<double>& out) { optaro::simd::bs_price_batch(which, as_batch(d.all), out); });
}

void BM_greeks_batch_all_isa(benchmark::State& state) {
  const optaro::simd::isa which = forced_isa(state);
  time_all_greeks(state, [which](const optaro::bsm_batch& in, const optaro::greeks_columns& out) {
    optaro::simd::bs_greeks_batch(which, in, out, false);
  });
}

void run_implied_vol_batch(benchmark::State& state, const option_set& o, std::span<const double> price) {
  const std::size_t n = price.size();
  std::vector<double> sigma(n);
  std::vector<optaro::status> st(n);
  for (auto _ : state) {
    optaro::implied_vol_batch(as_iv_batch(o, price), sigma, st);
    benchmark::DoNotOptimize(sigma.data());
    benchmark::DoNotOptimize(st.data());
    benchmark::ClobberMemory();
  }
  set_per_option_counters(state, n);
}

void BM_implied_vol_batch(benchmark::State& state) {
  const dataset& d = data();
  run_implied_vol_batch(state, d.all, d.price);
  const auto ok = std::count(d.iv_status.begin(), d.iv_status.end(), optaro::status::ok);
  state.counters["ok_share"] = static_cast<double>(ok) / static_cast<double>(d.iv_status.size());
}

void BM_implied_vol_batch_time_value_rows(benchmark::State& state) {
  const dataset& d = data();
  if (d.time_value_price.empty()) {
    state.SkipWithError("no row with time value");
    return;
  }
  run_implied_vol_batch(state, d.time_value, d.time_value_price);
}

// ---------------------------------------------------------------------------------------------
// Normalised functions: the Black function alone, and its inverse, without the conversions from
// (S, K, T, r, q). IV / Black of these two is "how many Black evaluations an implied vol costs".

void BM_normalised_black(benchmark::State& state) {
  const dataset& d = data();
  time_per_option<double>(state, d.x.size(), [&](std::vector<double>& out) {
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i] = optaro::normalised_black(d.x[i], d.s[i], d.all.is_call[i] != 0);
    }
  });
}

void BM_normalised_implied_vol(benchmark::State& state) {
  const dataset& d = data();
  time_per_option<double>(state, d.x.size(), [&](std::vector<double>& out) {
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i] = optaro::normalised_implied_vol(d.beta[i], d.x[i], d.all.is_call[i] != 0).sigma;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Scalar convenience functions in a plain loop: the batch kernels should cost no more than this.

void BM_price_scalar_loop(benchmark::State& state) {
  const option_set& o = data().all;
  time_per_option<double>(state, o.K.size(), [&](std::vector<double>& out) {
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i] = optaro::bs_price(o.S[i], o.K[i], o.T[i], o.r[i], o.q[i], o.sigma[i], o.is_call[i] != 0);
    }
  });
}

void BM_greeks_scalar_loop(benchmark::State& state) {
  const option_set& o = data().all;
  time_per_option<optaro::greeks>(state, o.K.size(), [&](std::vector<optaro::greeks>& out) {
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i] = optaro::bs_greeks(o.S[i], o.K[i], o.T[i], o.r[i], o.q[i], o.sigma[i], o.is_call[i] != 0);
    }
  });
}

void BM_implied_vol_scalar_loop(benchmark::State& state) {
  const dataset& d = data();
  const option_set& o = d.all;
  time_per_option<double>(state, o.K.size(), [&](std::vector<double>& out) {
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i] = optaro::implied_vol(d.price[i], o.S[i], o.K[i], o.T[i], o.r[i], o.q[i], o.is_call[i] != 0);
    }
  });
}

double min_of(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end()); }

void configure(benchmark::internal::Benchmark* b) {
  b->Unit(benchmark::kMillisecond)->ComputeStatistics("min", min_of);
}

BENCHMARK(BM_price_batch)->Apply(configure);
BENCHMARK(BM_greeks_batch_all)->Apply(configure);
// Arguments: the optaro::simd::isa values scalar = 0, avx2 = 1, avx512 = 2.
BENCHMARK(BM_price_batch_isa)->Apply(configure)->DenseRange(0, 2);
BENCHMARK(BM_greeks_batch_all_isa)->Apply(configure)->DenseRange(0, 2);
BENCHMARK(BM_implied_vol_batch)->Apply(configure);
BENCHMARK(BM_implied_vol_batch_time_value_rows)->Apply(configure);
BENCHMARK(BM_normalised_black)->Apply(configure);
BENCHMARK(BM_normalised_implied_vol)->Apply(configure);
BENCHMARK(BM_price_scalar_loop)->Apply(configure);
BENCHMARK(BM_greeks_scalar_loop)->Apply(configure);
BENCHMARK(BM_implied_vol_scalar_loop)->Apply(configure);

}  // namespace

int main(int argc, char** argv) {
  // Defaults first, so that the same flags given on the command line override them. Repetitions
  // run in random order across benchmarks, so that a burst of load from other processes on a shared
  // machine spreads over all of them instead of skewing one (and the ratios between them).
  std::vector<char*> args{argv[0]};
  std::string repetitions = "--benchmark_repetitions=10";
  std::string interleave = "--benchmark_enable_random_interleaving=true";
  std::string aggregates = "--benchmark_display_aggregates_only=true";
  args.push_back(repetitions.data());
  args.push_back(interleave.data());
  args.push_back(aggregates.data());
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  int count = static_cast<int>(args.size());
  args.push_back(nullptr);

  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;

  benchmark::AddCustomContext("optaro_version", std::string(optaro::version()));
  benchmark::AddCustomContext("options", std::to_string(option_count()));
  benchmark::AddCustomContext("option_set",
                              "mt19937_64 seed " + std::to_string(optaro_bench::kSeed) +
                                  "; S=F=100, r=q=0; K log-uniform [50,200]; T log-uniform [1/365,2]; "
                                  "sigma uniform [0.05,1]; call/put from the top bit (bench/bench_inputs.hpp)");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

// The SVI smile: a fit of a 100-strike smile from scratch and warm-started from the fit of the same
// expiry a moment earlier, and Durrleman's g on a 1,001-point grid (issue 4 targets: <= 200 us cold,
// <= 50 us warm, <= 10 us for the scan).
//
// Inputs: a 3-month equity-index smile, raw SVI a = 0.005, b = 0.08, rho = -0.7, m = 0.05, sigma = 0.1,
// T = 0.25 (implied vols 21% to 57%, 26% at the money), quoted at 100 log-moneyness points evenly spaced on
// [-0.5, 0.25]; implied vols perturbed by 0.2 vol points of Gaussian noise (Box-Muller from the bits of
// std::mt19937_64, seed 20250115; the "moment earlier" quotes: the level 1% lower, seed 20250114),
// weights 1/iv^2. The scan: g of Gatheral-Jacquier's example 3.1 (which has butterfly arbitrage) on
// 1,001 points evenly spaced on [-1.5, 1.5].
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include <optaro/optaro.hpp>

namespace {

constexpr double expiry = 0.25;
constexpr optaro::svi_params true_smile{0.005, 0.08, -0.7, 0.05, 0.1};
constexpr optaro::svi_params gatheral_jacquier{-0.0410, 0.1331, 0.3060, 0.3586, 0.4153};

double unit_draw(std::mt19937_64& gen) { return static_cast<double>(gen() >> 11) * 0x1.0p-53; }

struct smile_quotes {
  std::vector<double> k, w, weight;
};

smile_quotes make_quotes(const optaro::svi_params& truth, std::size_t n, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  smile_quotes q;
  for (std::size_t i = 0; i < n; ++i) {
    const double k = -0.5 + 0.75 * static_cast<double>(i) / static_cast<double>(n - 1);
    const double u1 = 1 - unit_draw(gen), u2 = unit_draw(gen);
    const double noise = std::sqrt(-2 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2);
    const double iv = std::sqrt(optaro::svi_total_variance(truth, k) / expiry) + 0.002 * noise;
    q.k.push_back(k);
    q.w.push_back(iv * iv * expiry);
    q.weight.push_back(1 / (iv * iv));
  }
  return q;
}

const smile_quotes& quotes_now() {
  static const smile_quotes q = make_quotes(true_smile, 100, 20250115);
  return q;
}

void BM_fit_svi_cold(benchmark::State& state) {
  const smile_quotes& q = quotes_now();
  int iterations = 0;
  for (auto _ : state) {
    const optaro::svi_fit_result r = optaro::fit_svi(q.k, q.w, q.weight);
    iterations = r.iterations;
    benchmark::DoNotOptimize(r);
  }
  state.counters["fit_iterations"] = iterations;
  state.SetItemsProcessed(state.iterations());
}

void BM_fit_svi_warm(benchmark::State& state) {
  const smile_quotes& q = quotes_now();
  optaro::svi_params earlier_truth = true_smile;
  earlier_truth.a *= 0.99;
  const smile_quotes earlier = make_quotes(earlier_truth, 100, 20250114);
  const optaro::svi_params previous = optaro::fit_svi(earlier.k, earlier.w, earlier.weight).params;
  int iterations = 0;
  for (auto _ : state) {
    const optaro::svi_fit_result r = optaro::fit_svi(q.k, q.w, q.weight, &previous);
    iterations = r.iterations;
    benchmark::DoNotOptimize(r);
  }
  state.counters["fit_iterations"] = iterations;
  state.SetItemsProcessed(state.iterations());
}

std::vector<double> scan_grid() {
  std::vector<double> k(1001);
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = -1.5 + 3.0 * static_cast<double>(i) / 1000.0;
  return k;
}

// The diagnostic as called: argument checks, g at every point, the offending k collected.
void BM_butterfly_scan(benchmark::State& state) {
  const std::vector<double> k = scan_grid();
  for (auto _ : state) {
    auto bad = optaro::svi_butterfly_violations(gatheral_jacquier, k);
    benchmark::DoNotOptimize(bad.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(k.size()));
}

// g alone, for the cost per point.
void BM_durrleman_g(benchmark::State& state) {
  const std::vector<double> k = scan_grid();
  for (auto _ : state) {
    double lowest = 0;
    for (const double x : k) lowest = std::min(lowest, optaro::svi_durrleman_g(gatheral_jacquier, x));
    benchmark::DoNotOptimize(lowest);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(k.size()));
}

}  // namespace

BENCHMARK(BM_fit_svi_cold)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_fit_svi_warm)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_butterfly_scan)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_durrleman_g)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();

// OHLC candles (issue 5 target: >= 20M ticks/s into three windows, one thread), batch and streaming.
//
// Inputs: 1,000,000 ticks of one product from 2025-01-15T03:45:00Z (09:15 IST), gaps uniform in
// [0, 2] ms (about 17 minutes in all), price a random walk from 23,000 in steps of -0.10 to +0.10,
// volumes 1 to 100; from std::mt19937_64 seeded with 20250115 (draws taken from its bits). Windows
// 1, 5 and 15 minutes anchored at 03:45 UTC. The shuffled variant is the same ticks in random order
// (seed 20250116). Streaming: allowed lateness 2 s, every tick's events collected into one vector that
// the loop clears, as an engine publishing the updated candles would.
//
// items_per_second is ticks per second into all three windows.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include <optaro/optaro.hpp>

namespace {

using namespace std::chrono_literals;

constexpr std::size_t tick_count = 1'000'000;
constexpr std::chrono::seconds nse_open_utc = 3h + 45min;
const std::vector<std::chrono::seconds> windows{1min, 5min, 15min};

struct tick_columns {
  std::vector<optaro::timestamp_ns> t;
  std::vector<double> price, volume;
};

tick_columns make_ticks() {
  std::mt19937_64 gen(20250115);
  tick_columns ticks;
  optaro::timestamp_ns t = 1'736'912'700'000'000'000;  // 2025-01-15T03:45:00Z
  double price = 23000;
  for (std::size_t i = 0; i < tick_count; ++i) {
    t += static_cast<std::int64_t>(gen() % 2'000'001);
    price += 0.05 * (static_cast<double>(gen() % 5) - 2);
    ticks.t.push_back(t);
    ticks.price.push_back(price);
    ticks.volume.push_back(static_cast<double>(1 + gen() % 100));
  }
  return ticks;
}

const tick_columns& sorted_ticks() {
  static const tick_columns ticks = make_ticks();
  return ticks;
}

const tick_columns& shuffled_ticks() {
  static const tick_columns ticks = [] {
    const tick_columns& in = sorted_ticks();
    std::vector<std::size_t> order(in.t.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), std::mt19937_64(20250116));
    tick_columns out;
    for (std::size_t i : order) {
      out.t.push_back(in.t[i]);
      out.price.push_back(in.price[i]);
      out.volume.push_back(in.volume[i]);
    }
    return out;
  }();
  return ticks;
}

void run_batch(benchmark::State& state, const tick_columns& ticks) {
  for (auto _ : state) {
    for (std::chrono::seconds window : windows) {
      std::vector<optaro::candle> candles = optaro::ohlc(ticks.t, ticks.price, ticks.volume, window, nse_open_utc);
      benchmark::DoNotOptimize(candles.data());
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(ticks.t.size()));
}

void BM_ohlc_batch_sorted(benchmark::State& state) { run_batch(state, sorted_ticks()); }
void BM_ohlc_batch_shuffled(benchmark::State& state) { run_batch(state, shuffled_ticks()); }

void BM_ohlc_streaming(benchmark::State& state) {
  const tick_columns& ticks = sorted_ticks();
  std::vector<optaro::candle_event> events;
  events.reserve(16);
  std::int64_t late = 0;
  for (auto _ : state) {
    optaro::candle_aggregator aggregator({windows, nse_open_utc, 2s});
    for (std::size_t i = 0; i < ticks.t.size(); ++i) {
      events.clear();
      aggregator.push(ticks.t[i], ticks.price[i], ticks.volume[i], events);
      benchmark::DoNotOptimize(events.data());
    }
    late = aggregator.late_ticks();
  }
  state.counters["late"] = static_cast<double>(late);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(ticks.t.size()));
}

}  // namespace

BENCHMARK(BM_ohlc_batch_sorted)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ohlc_batch_shuffled)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ohlc_streaming)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();

// The chain path: decode a market:option_chain message, compute its analytics, encode the enriched
// message; JSON in -> JSON out as one call; the same message through nlohmann/json (parse, and dump of
// the enriched document) as the reference point of issue 3; max pain on 200 and 10,000 strikes.
//
// Inputs: a synthetic NIFTY-like chain (spot 21543.25, strikes every 50 around it, calls and puts at
// every strike, prices from a smile sigma(k) = 0.12 - 0.10 k + 0.50 k^2 with k = ln(K/F), bid/ask 0.5%
// around, open interest and volume from mt19937_64 with a fixed seed), encoded by optaro's own encoder.
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <optaro/optaro.hpp>

namespace {

using namespace std::chrono;

constexpr optaro::timestamp_ns quote_time = 1736937000LL * 1000000000LL;  // 2025-01-15T10:30:00Z

optaro::option_chain synthetic_chain(std::size_t strikes, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  optaro::option_chain c;
  c.product = "NIFTY";
  c.expiry = year_month_day{year{2025}, month{1}, day{30}};
  c.chain_id = "NIFTY-20250130-000123";
  c.timestamp = quote_time;
  c.underlying_price = 21543.25;
  const double T = 15.0 / 365, r = 0.065, q = 0.012, S = c.underlying_price;
  const double F = S * std::exp((r - q) * T);
  const double first = 50 * std::floor(S / 50) - 50 * static_cast<double>(strikes / 2);
  for (optaro::chain_side* side : {&c.calls, &c.puts}) {
    const bool call = side == &c.calls;
    for (std::size_t i = 0; i < strikes; ++i) {
      const double K = first + 50 * static_cast<double>(i);
      const double k = std::log(K / F), sigma = 0.12 - 0.10 * k + 0.50 * k * k;
      const double p = optaro::bs_price(S, K, T, r, q, sigma, call);
      const auto volume = static_cast<std::int64_t>(u(rng) * 200000);  // draws in this order
      const auto oi = static_cast<std::int64_t>(u(rng) * 3000000);
      side->push_back(K, std::round(p * 0.995 * 20) / 20, std::round(p * 1.005 * 20) / 20 + 0.05,
                      std::round(p * 20) / 20, volume, oi);
    }
  }
  return c;
}

struct chain_inputs {
  optaro::option_chain chain;
  std::string message;   // market:option_chain
  std::string enriched;  // enriched:option_chain
  optaro::chain_config config;
};

const chain_inputs& inputs() {
  static const chain_inputs in = [] {
    chain_inputs d;
    d.chain = synthetic_chain(100, 20250115);  // 100 strikes x 2 sides = 200 quotes
    d.config.rate = 0.065;
    d.config.dividend_yield = 0.012;
    optaro::encode(d.message, d.chain);
    const optaro::chain_analytics a = optaro::enrich_chain(d.chain, d.config);
    optaro::encode_enriched_chain(d.enriched, d.chain, a, quote_time, 0.0);
    return d;
  }();
  return in;
}

void per_message(benchmark::State& state, std::size_t bytes) {
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(bytes));
}

void BM_decode_chain(benchmark::State& state) {
  const chain_inputs& in = inputs();
  optaro::message_decoder decoder;
  for (auto _ : state) {
    auto chain = decoder.decode_chain(in.message);
    benchmark::DoNotOptimize(chain);
  }
  per_message(state, in.message.size());
}

void BM_analytics_chain(benchmark::State& state) {
  const chain_inputs& in = inputs();
  for (auto _ : state) {
    auto a = optaro::enrich_chain(in.chain, in.config);
    benchmark::DoNotOptimize(a);
  }
  per_message(state, 0);
}

void BM_encode_enriched_chain(benchmark::State& state) {
  const chain_inputs& in = inputs();
  const optaro::chain_analytics a = optaro::enrich_chain(in.chain, in.config);
  std::string out;
  for (auto _ : state) {
    out.clear();
    optaro::encode_enriched_chain(out, in.chain, a, quote_time, 0.0);
    benchmark::DoNotOptimize(out.data());
  }
  per_message(state, out.size());
}

void BM_enrich_chain_json(benchmark::State& state) {
  const chain_inputs& in = inputs();
  optaro::message_decoder decoder;  // a worker keeps one
  for (auto _ : state) {
    auto out = optaro::enrich_chain_json(decoder, in.message, in.config, quote_time);
    benchmark::DoNotOptimize(out);
  }
  per_message(state, in.message.size());
}

// The reference point: nlohmann/json parsing the same message, and writing the enriched document.
void BM_nlohmann_parse_chain(benchmark::State& state) {
  const chain_inputs& in = inputs();
  for (auto _ : state) {
    auto doc = nlohmann::json::parse(in.message);
    benchmark::DoNotOptimize(doc);
  }
  per_message(state, in.message.size());
}

void BM_nlohmann_dump_enriched(benchmark::State& state) {
  const chain_inputs& in = inputs();
  const nlohmann::json doc = nlohmann::json::parse(in.enriched);
  for (auto _ : state) {
    std::string out = doc.dump();
    benchmark::DoNotOptimize(out.data());
  }
  per_message(state, in.enriched.size());
}

void BM_max_pain(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> strikes(n), call_oi(n), put_oi(n);
  for (std::size_t i = 0; i < n; ++i) {
    strikes[i] = 10000 + 50 * static_cast<double>(i);
    call_oi[i] = std::floor(u(rng) * 1e6);
    put_oi[i] = std::floor(u(rng) * 1e6);
  }
  for (auto _ : state) {
    auto s = optaro::max_pain(strikes, call_oi, strikes, put_oi);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

}  // namespace

BENCHMARK(BM_decode_chain)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_analytics_chain)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_encode_enriched_chain)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_enrich_chain_json)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_nlohmann_parse_chain)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_nlohmann_dump_enriched)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_max_pain)->Arg(200)->Arg(10000)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();

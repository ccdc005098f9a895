// The Redis adapter against a real server (issue 6): cache writes per second pipelined and not, the
// atomic write of a 100-strike smile (target <= 1 ms), Streams consume + acknowledge, and the
// idempotency claim + complete of one message.
//
// Needs OPTARO_BENCH_REDIS_URL (bench/run.sh starts a redis-server on a free loopback port and sets it);
// without it every benchmark is skipped. Values: 300-byte strings (a latest:pcr:* value is ~70 bytes, a
// candle ~200, an enriched tick ~500) with a 300 s TTL; keys bench:* are deleted at the end.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <optaro/optaro.hpp>
#include <optaro/redis/ports.hpp>

namespace {

using namespace std::chrono_literals;
namespace redis = optaro::redis;

/// The pool of the server under test, or null (and the benchmark is skipped) without one.
redis::connection_pool* server(benchmark::State& state) {
  static std::unique_ptr<redis::connection_pool> pool = [] {
    const char* url = std::getenv("OPTARO_BENCH_REDIS_URL");
    if (url == nullptr) return std::unique_ptr<redis::connection_pool>{};
    redis::connection_options options;
    options.address = redis::url::parse(url);
    return std::make_unique<redis::connection_pool>(options);
  }();
  if (!pool) state.SkipWithError("OPTARO_BENCH_REDIS_URL is not set (bench/run.sh starts a server)");
  return pool.get();
}

std::vector<optaro::cache_write> writes(std::size_t n) {
  std::vector<optaro::cache_write> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back({"bench:cache:" + std::to_string(i), std::string(300, 'x'), 300s});
  return out;
}

// items: cache writes. range(0): writes per set() call (1 = one round trip per write).
void BM_RedisCacheSet(benchmark::State& state) {
  redis::connection_pool* pool = server(state);
  if (pool == nullptr) return;
  redis::cache cache{*pool};
  const auto batch = static_cast<std::size_t>(state.range(0));
  const std::vector<optaro::cache_write> all = writes(1000);
  for (auto _ : state) {
    for (std::size_t i = 0; i < all.size(); i += batch) cache.set(std::span{all}.subspan(i, batch));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(all.size()));
}
BENCHMARK(BM_RedisCacheSet)->Arg(1)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond)->UseRealTime();

// One atomic replacement of a 100-strike smile (calls and puts: 200 members, sorted set + hash).
void BM_RedisSmileReplace(benchmark::State& state) {
  redis::connection_pool* pool = server(state);
  if (pool == nullptr) return;
  redis::cache cache{*pool};
  std::vector<optaro::smile_point> smile;
  for (int i = 0; i < 100; ++i) {
    const double strike = 21000 + 10.0 * i;
    for (const char side : {'C', 'P'})
      smile.push_back({std::to_string(static_cast<int>(strike)) + ':' + side, strike, 0.12 + 0.0001 * i});
  }
  for (auto _ : state) cache.replace_smile("bench:iv_surface", "bench:iv_surface_iv", smile, 300s);
}
BENCHMARK(BM_RedisSmileReplace)->Unit(benchmark::kMicrosecond)->UseRealTime();

// items: stream entries received and acknowledged (XREADGROUP + XACK), filled beforehand by XADD.
void BM_RedisStreamConsumeAck(benchmark::State& state) {
  redis::connection_pool* pool = server(state);
  if (pool == nullptr) return;
  constexpr std::size_t entries = 2000;
  const std::string payload(500, 'p');
  redis::stream_options settings;
  settings.streams.underlying = "bench:stream:underlying";
  settings.streams.option_quote = "bench:stream:option_quote";
  settings.streams.option_chain = "bench:stream:option_chain";
  settings.group = "bench";
  optaro::in_memory_dead_letter_queue dead_letters;
  redis::stream_source source{pool->options(), settings, dead_letters};
  redis::stream_sink producer{*pool};
  std::vector<optaro::delivery> batch;
  for (auto _ : state) {
    state.PauseTiming();
    for (std::size_t i = 0; i < entries; ++i) producer.publish(settings.streams.underlying, payload);
    state.ResumeTiming();
    std::size_t done = 0;
    while (done < entries) {
      batch.clear();
      source.receive(batch, 256, 1000ms);
      for (const optaro::delivery& d : batch) source.acknowledge(d);
      done += batch.size();
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(entries));
  auto c = pool->acquire();
  c->command({"DEL", settings.streams.underlying, settings.streams.option_quote, settings.streams.option_chain});
}
BENCHMARK(BM_RedisStreamConsumeAck)->Unit(benchmark::kMillisecond)->UseRealTime();

// items: messages claimed and completed (two Lua scripts, two round trips), as the engine does per message.
void BM_RedisClaimComplete(benchmark::State& state) {
  redis::connection_pool* pool = server(state);
  if (pool == nullptr) return;
  redis::idempotency_store claims{*pool, 7};
  std::int64_t id = 0;
  for (auto _ : state) {
    const std::string key = "bench:processed:underlying:NIFTY:" + std::to_string(id++);
    const optaro::claim_result r = claims.claim(key, 60s);
    benchmark::DoNotOptimize(claims.complete(key, r.token, 60s));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RedisClaimComplete)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

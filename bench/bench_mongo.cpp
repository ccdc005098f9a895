// The MongoDB document store against a real server: documents inserted per second by bulk size (1, 10,
// 100, 1000) for enriched ticks (~500 bytes) and enriched chains (~68 KB), the latency of the read
// path's queries (latest chain with 1000 chains stored, latest underlying tick), and a cache-aside read
// that hits optaro::in_memory_cache, for comparison with going to the database.
//
// Against FerretDB 1.24 (the tests' server) the reads are not served by the indexes: its SQLite backend
// fetches and sorts the matching documents itself, so latest_chain over 1000 stored chains took 48 s and
// latest_underlying 0.3 s on a 2-core machine, against 3.4 us for the cache-aside hit. Read latencies
// mean something only against MongoDB; the insert rates are FerretDB's too.
//
// Needs OPTARO_BENCH_MONGO_URI (a MongoDB or FerretDB server); without it every benchmark is skipped.
// Each benchmark uses a database of its own, "bench_<name>", dropped first and at the end. Inputs are
// deterministic: ticks of one product with consecutive ids, chains of 2 x 260 strikes priced off a
// fixed smile (about 68 KB enriched).
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <benchmark/benchmark.h>

#include <optaro/optaro.hpp>
#include <optaro/mongo/store.hpp>

namespace {

using namespace std::chrono_literals;
namespace mongo = optaro::mongo;

constexpr optaro::timestamp_ns ns_per_s = 1'000'000'000;
constexpr optaro::timestamp_ns t0 = 1'736'937'000 * ns_per_s;  // 2025-01-15T10:30:00Z

std::optional<std::string> server_uri() {
  const char* uri = std::getenv("OPTARO_BENCH_MONGO_URI");  // NOLINT(concurrency-mt-unsafe)
  if (uri == nullptr || *uri == '\0') return std::nullopt;
  return std::string{uri};
}

/// A store on a database of its own ("bench_<name>", dropped before and after), or, without a server,
/// none (and the benchmark is skipped).
class bench_database {
 public:
  bench_database(benchmark::State& state, const std::string& name) {
    const auto uri = server_uri();
    if (!uri) {
      state.SkipWithError("OPTARO_BENCH_MONGO_URI is not set (a MongoDB or FerretDB server to measure)");
      return;
    }
    options_.uri = *uri;
    options_.database = "bench_" + name;
    options_.timeout = 60s;  // a server that scans (FerretDB) can take seconds over 1000 chains
    drop();
    store_ = std::make_unique<mongo::document_store>(options_);
  }
  bench_database(const bench_database&) = delete;
  bench_database& operator=(const bench_database&) = delete;
  ~bench_database() {
    if (store_) {
      store_.reset();
      drop();
    }
  }
  [[nodiscard]] mongo::document_store* store() const noexcept { return store_.get(); }
  /// Empties the database (the indexes are created again by a new store).
  void reset() {
    store_.reset();
    drop();
    store_ = std::make_unique<mongo::document_store>(options_);
  }

 private:
  void drop();
  mongo::store_options options_;
  std::unique_ptr<mongo::document_store> store_;
};

}  // namespace

namespace {

void bench_database::drop() { mongo::drop_database(options_); }

struct document_text {
  optaro::message_kind kind;
  std::string product, id;
  optaro::timestamp_ns timestamp;
  std::string json;
  [[nodiscard]] optaro::stored_document view() const { return {kind, product, {}, id, timestamp, json}; }
};

/// An enriched underlying tick (about 500 bytes: the tick and three candles).
document_text enriched_tick(std::int64_t id) {
  const optaro::timestamp_ns ts = t0 + id * 1'000'000;
  const optaro::underlying_tick tick{"NIFTY", id, 21543.25 + 0.05 * static_cast<double>(id % 100), 150, ts};
  const optaro::candle bar{ts - ts % (60 * ns_per_s), 21540.0, 21560.5, 21530.25, 21543.25, 150'000, 21545.125, 1000};
  const std::vector<optaro::labelled_candle> candles = {{"1m", bar}, {"5m", bar}, {"15m", bar}};
  std::string json;
  optaro::encode_enriched_underlying(json, tick, candles, false, ts + 250'000, 12.5);
  return {optaro::message_kind::underlying, "NIFTY", std::to_string(id), ts, std::move(json)};
}

/// An enriched chain of 2 x 100 strikes (about 68 KB).
document_text enriched_chain(std::int64_t id, std::string_view expiry_text = "2025-01-30") {
  optaro::option_chain c;
  c.product = "NIFTY";
  c.expiry = *optaro::parse_date(expiry_text);
  c.chain_id = "NIFTY-" + std::to_string(id);
  c.timestamp = t0 + id * ns_per_s;
  c.underlying_price = 21543.25;
  const double t = optaro::time_to_expiry(c.expiry, std::chrono::seconds{10 * 3600}, c.timestamp);
  for (int i = -50; i < 50; ++i) {
    const double k = 21550.0 + 50.0 * i;
    const double m = std::log(k / c.underlying_price);
    const double vol = 0.14 + 0.3 * m * m - 0.05 * m;
    for (const bool call : {true, false}) {
      const double p = optaro::bs_price(c.underlying_price, k, t, 0, 0, vol, call);
      (call ? c.calls : c.puts).push_back(k, std::max(0.05, p - 0.25), p + 0.25, p, 1000 + i, 50'000 + 10 * i);
    }
  }
  std::string raw;
  optaro::encode(raw, c);
  auto enriched = optaro::enrich_chain_json(raw, optaro::chain_config{}, c.timestamp + 1'000'000);
  return {optaro::message_kind::option_chain, "NIFTY", c.chain_id, c.timestamp, std::move(*enriched.value)};
}

// items: documents inserted; range(0): documents per insert_many call. Every iteration inserts new
// identities; the database is emptied (outside the timing) when it grows past 20,000 ticks / 2,000 chains.
template <bool chains>
void BM_MongoInsert(benchmark::State& state) {
  bench_database db{state, chains ? "insert_chains" : "insert_ticks"};
  if (db.store() == nullptr) return;
  const auto batch = static_cast<std::size_t>(state.range(0));
  const std::size_t per_iteration = std::max<std::size_t>(batch, chains ? 100 : 1000);
  const std::size_t limit = chains ? 2000 : 20'000;
  const document_text model = chains ? enriched_chain(0) : enriched_tick(0);
  std::vector<document_text> docs;
  std::vector<optaro::stored_document> views;
  std::int64_t next_id = 0;
  std::size_t stored = 0;
  for (auto _ : state) {
    state.PauseTiming();
    if (stored + per_iteration > limit) {
      db.reset();
      stored = 0;
    }
    docs.clear();
    for (std::size_t i = 0; i < per_iteration; ++i) {
      // The same content under new identities: only the id fields differ (conversion cost is the same).
      document_text d = model;
      const std::int64_t id = next_id++;
      d.id = chains ? "NIFTY-" + std::to_string(id) : std::to_string(id);
      const std::string old_id = chains ? "\"chain_id\":\"NIFTY-0\"" : "\"tick_id\":0,";
      const std::string new_id = chains ? "\"chain_id\":\"" + d.id + "\"" : "\"tick_id\":" + d.id + ",";
      d.json.replace(d.json.find(old_id), old_id.size(), new_id);
      docs.push_back(std::move(d));
    }
    views.clear();
    for (const document_text& d : docs) views.push_back(d.view());
    state.ResumeTiming();
    for (std::size_t i = 0; i < views.size(); i += batch)
      benchmark::DoNotOptimize(db.store()->insert_many(std::span{views}.subspan(i, std::min(batch, views.size() - i))));
    stored += per_iteration;
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(per_iteration));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(per_iteration * model.json.size()));
  state.counters["doc_bytes"] = static_cast<double>(model.json.size());
}
BENCHMARK(BM_MongoInsert<false>)
    ->Name("BM_MongoInsertTicks")
    ->Arg(1)->Arg(10)->Arg(100)->Arg(1000)
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MongoInsert<true>)
    ->Name("BM_MongoInsertChains")
    ->Arg(1)->Arg(10)->Arg(100)
    ->Unit(benchmark::kMillisecond)->UseRealTime();

// Chains stored for the reads: OPTARO_BENCH_MONGO_CHAINS, default 1000 (10 expiries x 100 snapshots).
// bench/run.sh asks for 100 against FerretDB, whose latest_chain reads every matching chain.
std::int64_t stored_chains() {
  const char* text = std::getenv("OPTARO_BENCH_MONGO_CHAINS");  // NOLINT(concurrency-mt-unsafe)
  return text != nullptr ? std::max<std::int64_t>(10, std::atoll(text)) : 1000;
}

// A store with stored_chains() chains over 10 expiries and 1000 ticks, built once per benchmark.
struct read_fixture {
  explicit read_fixture(benchmark::State& state, const std::string& name) : db{state, name} {
    if (db.store() == nullptr) return;
    static const std::array<std::string_view, 10> expiries = {"2025-01-30", "2025-02-06", "2025-02-13", "2025-02-20",
                                                              "2025-02-27", "2025-03-06", "2025-03-13", "2025-03-20",
                                                              "2025-03-27", "2025-04-03"};
    std::vector<document_text> docs;
    for (std::int64_t i = 0; i < stored_chains(); ++i)
      docs.push_back(enriched_chain(i, expiries[static_cast<std::size_t>(i % 10)]));
    for (std::int64_t i = 0; i < 1000; ++i) docs.push_back(enriched_tick(i));
    std::vector<optaro::stored_document> views;
    for (const document_text& d : docs) views.push_back(d.view());
    for (std::size_t i = 0; i < views.size(); i += 100)
      static_cast<void>(db.store()->insert_many(std::span{views}.subspan(i, std::min<std::size_t>(100, views.size() - i))));
  }
  bench_database db;
};

void BM_MongoLatestChain(benchmark::State& state) {
  read_fixture f{state, "latest_chain"};
  if (f.db.store() == nullptr) return;
  for (auto _ : state) benchmark::DoNotOptimize(f.db.store()->latest_chain("NIFTY", "2025-02-20"));
}
BENCHMARK(BM_MongoLatestChain)->Unit(benchmark::kMicrosecond)->UseRealTime()->Iterations(3);

void BM_MongoLatestUnderlying(benchmark::State& state) {
  read_fixture f{state, "latest_underlying"};
  if (f.db.store() == nullptr) return;
  for (auto _ : state) benchmark::DoNotOptimize(f.db.store()->latest_underlying("NIFTY"));
}
BENCHMARK(BM_MongoLatestUnderlying)->Unit(benchmark::kMicrosecond)->UseRealTime();

// The same latest-chain read through optaro::cache_aside over the in-memory cache: a hit every time
// (the TTL never passes on the manual clock), which is what a hot dashboard key costs.
void BM_MongoCacheAsideHit(benchmark::State& state) {
  read_fixture f{state, "cache_aside"};
  if (f.db.store() == nullptr) return;
  optaro::manual_clock clock{optaro::clock::time_point{std::chrono::nanoseconds{t0}}};
  optaro::in_memory_cache cache{clock};
  optaro::cache_aside reads{cache, 5s};
  const optaro::cache_aside::loader load = [&] { return f.db.store()->latest_chain("NIFTY", "2025-02-20"); };
  const std::string key = "latest:chain:NIFTY:2025-02-20";
  benchmark::DoNotOptimize(reads.get(key, load));
  for (auto _ : state) benchmark::DoNotOptimize(reads.get(key, load));
  state.counters["loads"] = static_cast<double>(reads.stats().loads);
}
BENCHMARK(BM_MongoCacheAsideHit)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

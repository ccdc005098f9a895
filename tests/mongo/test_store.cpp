// optaro::mongo::document_store against a real server (FerretDB, see README.md): indexes, unordered bulk
// inserts with duplicates, reads, cache-aside with single flight over the reads, and outages (the server
// stopped and started again under the store and under the engine). Each test uses a database of its
// own ("t_<test>_<pid>"), dropped at the end.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <latch>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <optaro/cache_aside.hpp>
#include <optaro/codec.hpp>
#include <optaro/engine.hpp>
#include <optaro/idempotency.hpp>
#include <optaro/memory_ports.hpp>
#include <optaro/mongo/store.hpp>


namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using optaro::message_kind;
namespace mongo = optaro::mongo;

constexpr optaro::timestamp_ns ns_per_s = 1'000'000'000;
constexpr optaro::timestamp_ns t0 = 1'736'937'000 * ns_per_s;  // 2025-01-15T10:30:00Z

std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read before any thread starts
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

/// stop | start | restart the test server through the harness's control script.
void control_server(const std::string& action) {
  const auto script = environment("OPTARO_TEST_MONGO_CONTROL");
  ASSERT_TRUE(script.has_value()) << "OPTARO_TEST_MONGO_CONTROL is not set";
  const std::string command = "bash \"" + *script + "\" " + action + " >/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;  // NOLINT(concurrency-mt-unsafe,cert-env33-c)
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = 20'000ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

/// The store's options for this test: its own database and a short timeout, so that outages show fast.
mongo::store_options test_options(std::chrono::milliseconds timeout = 5000ms) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string{"t_"} + info->name();
  name.resize(std::min<std::size_t>(name.size(), 48));
  mongo::store_options options;
  options.uri = environment("OPTARO_TEST_MONGO_URI").value_or("mongodb://127.0.0.1:27017/");
  options.database = name + "_" + std::to_string(::getpid());
  options.timeout = timeout;
  return options;
}

/// Drops the test's database when the test ends, whatever its outcome.
struct database_guard {
  explicit database_guard(mongo::store_options o) : options{std::move(o)} {}
  database_guard(const database_guard&) = delete;
  database_guard& operator=(const database_guard&) = delete;
  ~database_guard() {
    try {
      mongo::drop_database(options);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "dropping " << options.database << ": " << e.what();
    }
  }
  mongo::store_options options;
};

#define OPTARO_REQUIRE_MONGO()                                                                     \
  do {                                                                                             \
    if (!environment("OPTARO_TEST_MONGO_URI")) {                                                   \
      GTEST_SKIP() << "OPTARO_TEST_MONGO_URI is not set (run through ctest or with-mongo.sh)";     \
    }                                                                                              \
  } while (false)

std::string tick_json(std::string_view product, std::int64_t id, double price, optaro::timestamp_ns ts) {
  std::string out;
  optaro::encode(out, optaro::underlying_tick{std::string{product}, id, price, 10 + id, ts});
  return out;
}

optaro::option_chain make_chain(std::string_view product, std::string_view id, optaro::timestamp_ns ts) {
  optaro::option_chain c;
  c.product = product;
  c.expiry = std::chrono::year{2025} / 1 / 30;
  c.chain_id = id;
  c.timestamp = ts;
  c.underlying_price = 21543.25;
  for (int i = -5; i <= 5; ++i) {
    c.calls.push_back(21500.0 + 50 * i, 100 - 5 * i, 101 - 5 * i, 100.5 - 5 * i, 1000, 50'000 + i);
    c.puts.push_back(21500.0 + 50 * i, 90 + 5 * i, 91 + 5 * i, 90.5 + 5 * i, 1000, 40'000 - i);
  }
  return c;
}

/// An enriched chain (the analytics' JSON, nested arrays of quote objects).
std::string enriched_chain_json(std::string_view product, std::string_view id, optaro::timestamp_ns ts) {
  std::string raw;
  optaro::encode(raw, make_chain(product, id, ts));
  auto enriched = optaro::enrich_chain_json(raw, optaro::chain_config{}, ts + 1'234'567);
  if (!enriched) throw std::runtime_error(enriched.error.message());
  return *enriched.value;
}

/// Owns the texts that stored_document's views point at.
struct owned_document {
  message_kind kind;
  std::string product, symbol, id;
  optaro::timestamp_ns timestamp;
  std::string json;
  [[nodiscard]] optaro::stored_document view() const { return {kind, product, symbol, id, timestamp, json}; }
};

owned_document tick_document(std::string_view product, std::int64_t id, optaro::timestamp_ns ts) {
  return {message_kind::underlying, std::string{product}, {}, std::to_string(id), ts, tick_json(product, id, 100.25 + static_cast<double>(id), ts)};
}

owned_document chain_document(std::string_view product, std::string_view id, optaro::timestamp_ns ts) {
  return {message_kind::option_chain, std::string{product}, {}, std::string{id}, ts, enriched_chain_json(product, id, ts)};
}

std::vector<optaro::stored_document> views(const std::vector<owned_document>& docs) {
  std::vector<optaro::stored_document> out;
  for (const owned_document& d : docs) out.push_back(d.view());
  return out;
}

/// The JSON as the store returns it: timestamps truncated to whole milliseconds.
json truncated(const std::string& text) {
  json j = json::parse(text);
  for (const char* key : {"timestamp", "enriched_at"}) {
    if (!j.contains(key)) continue;
    const auto t = optaro::parse_timestamp(j[key].get<std::string>());
    const optaro::timestamp_ns ns = *t - ((*t % 1'000'000) + 1'000'000) % 1'000'000;
    j[key] = optaro::format_timestamp(ns);
  }
  return j;
}

std::vector<mongo::index_info> sorted(std::vector<mongo::index_info> v) {
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return v;
}

TEST(MongoStore, CreatesTheIndexesOfMessagesMd) {
  OPTARO_REQUIRE_MONGO();
  const mongo::store_options options = test_options();
  const database_guard guard{options};
  const mongo::document_store store{options};
  using keys = std::vector<std::pair<std::string, int>>;
  const mongo::index_info id_index{"_id_", keys{{"_id", 1}}, false};
  EXPECT_EQ(sorted(store.indexes(message_kind::underlying)),
            sorted({id_index,
                    {"product_1_timestamp_-1", keys{{"product", 1}, {"timestamp", -1}}, false},
                    {"product_1_tick_id_1", keys{{"product", 1}, {"tick_id", 1}}, true}}));
  EXPECT_EQ(sorted(store.indexes(message_kind::option_quote)),
            sorted({id_index,
                    {"product_1_timestamp_-1", keys{{"product", 1}, {"timestamp", -1}}, false},
                    {"symbol_1_timestamp_-1", keys{{"symbol", 1}, {"timestamp", -1}}, false},
                    {"symbol_1_quote_id_1", keys{{"symbol", 1}, {"quote_id", 1}}, true}}));
  EXPECT_EQ(sorted(store.indexes(message_kind::option_chain)),
            sorted({id_index,
                    {"product_1_expiry_1_timestamp_-1", keys{{"product", 1}, {"expiry", 1}, {"timestamp", -1}}, false},
                    {"chain_id_1", keys{{"chain_id", 1}}, true}}));
  // A second store on the same database finds identical indexes: fine.
  const mongo::document_store again{options};
  EXPECT_EQ(again.indexes(message_kind::underlying).size(), 3u);
  const optaro::port_health health = store.health();
  EXPECT_TRUE(health.ok) << health.detail;
}

TEST(MongoStore, BulkInsertWithDuplicatesCountsEachDocumentOnce) {
  OPTARO_REQUIRE_MONGO();
  const mongo::store_options options = test_options();
  const database_guard guard{options};
  mongo::document_store store{options};

  // Stored beforehand: ids 0..4.
  std::vector<owned_document> earlier;
  for (int id = 0; id < 5; ++id) earlier.push_back(tick_document("NIFTY", id, t0 + id * ns_per_s));
  for (const auto o : store.insert_many(views(earlier))) EXPECT_EQ(o, optaro::insert_outcome::inserted);

  // 100 documents: ids 0..89 once (0..4 already stored), and ids 5..9 once more within the batch, twice
  // for 5 and 6 (10 repeated identities: 5 stored before, 5 repeated in the batch).
  std::vector<owned_document> batch;
  std::vector<optaro::insert_outcome> expected;
  std::set<int> seen;
  for (int id = 0; id < 90; ++id) batch.push_back(tick_document("NIFTY", id, t0 + id * ns_per_s));
  for (int id : {5, 6, 7, 8, 9, 5, 6, 5, 6, 7}) batch.push_back(tick_document("NIFTY", id, t0 + id * ns_per_s));
  for (const owned_document& d : batch) {
    const int id = std::stoi(d.id);
    const bool first = id >= 5 && seen.insert(id).second;
    expected.push_back(first ? optaro::insert_outcome::inserted : optaro::insert_outcome::duplicate);
  }
  ASSERT_EQ(batch.size(), 100u);
  EXPECT_EQ(store.insert_many(views(batch)), expected);
  EXPECT_EQ(store.count(message_kind::underlying), 90);
  // The same identity under another product is another document.
  EXPECT_EQ(store.insert(tick_document("BANKNIFTY", 1, t0).view()), optaro::insert_outcome::inserted);
  EXPECT_EQ(store.insert(tick_document("BANKNIFTY", 1, t0).view()), optaro::insert_outcome::duplicate);
  // Mixed collections in one batch: outcomes in the order given.
  const std::vector<owned_document> mixed = {chain_document("NIFTY", "c-1", t0), tick_document("NIFTY", 3, t0),
                                             chain_document("NIFTY", "c-1", t0), tick_document("NIFTY", 500, t0)};
  EXPECT_EQ(store.insert_many(views(mixed)),
            (std::vector{optaro::insert_outcome::inserted, optaro::insert_outcome::duplicate,
                         optaro::insert_outcome::duplicate, optaro::insert_outcome::inserted}));
  EXPECT_EQ(store.count(message_kind::option_chain), 1);
  // What no unique index would accept is refused before anything is sent, as the in-memory store does.
  owned_document no_id = tick_document("NIFTY", 1, t0);
  no_id.id.clear();
  EXPECT_THROW(static_cast<void>(store.insert(no_id.view())), std::invalid_argument);
  owned_document bad = tick_document("NIFTY", 1000, t0);
  bad.json = "[not json";
  EXPECT_THROW(static_cast<void>(store.insert(bad.view())), mongo::store_error);
}

TEST(MongoStore, ReadsReturnWhatWasWrittenSorted) {
  OPTARO_REQUIRE_MONGO();
  const mongo::store_options options = test_options();
  const database_guard guard{options};
  mongo::document_store store{options};

  // Ticks in shuffled time order, with sub-millisecond parts that the store truncates.
  std::vector<owned_document> ticks;
  for (int i = 0; i < 20; ++i) {
    const int slot = (i * 7) % 20;
    ticks.push_back(tick_document("NIFTY", i, t0 + slot * ns_per_s + 123'456));
  }
  ticks.push_back(tick_document("BANKNIFTY", 1, t0 + 100 * ns_per_s));
  static_cast<void>(store.insert_many(views(ticks)));

  const auto latest = store.latest_underlying("NIFTY");
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(json::parse(*latest), truncated(ticks[static_cast<std::size_t>(std::find_if(ticks.begin(), ticks.end(), [](const owned_document& d) {
                                                                   return d.timestamp == t0 + 19 * ns_per_s + 123'456;
                                                                 }) - ticks.begin())]
                                                .json));
  EXPECT_FALSE(store.latest_underlying("SENSEX").has_value());

  // [t0 + 5 s, t0 + 15 s): slots 5..14 (their stored times are t0 + slot s + 0 ms: the 123 us are gone).
  const std::vector<std::string> range = store.ticks("NIFTY", t0 + 5 * ns_per_s, t0 + 15 * ns_per_s);
  ASSERT_EQ(range.size(), 10u);
  for (std::size_t k = 0; k < range.size(); ++k) {
    const json j = json::parse(range[k]);
    EXPECT_EQ(j["timestamp"], optaro::format_timestamp(t0 + static_cast<optaro::timestamp_ns>(k + 5) * ns_per_s));
    const auto original = std::find_if(ticks.begin(), ticks.end(), [&](const owned_document& d) {
      return d.product == "NIFTY" && d.id == std::to_string(j["tick_id"].get<std::int64_t>());
    });
    ASSERT_NE(original, ticks.end());
    EXPECT_EQ(j, truncated(original->json));
    EXPECT_FALSE(j.contains("_id"));
  }
  EXPECT_TRUE(store.ticks("NIFTY", t0 + 15 * ns_per_s, t0 + 5 * ns_per_s).empty());

  // Chains: the latest of (product, expiry), with the whole enriched document back.
  std::vector<owned_document> chains;
  for (int i = 0; i < 5; ++i) chains.push_back(chain_document("NIFTY", "c-" + std::to_string(i), t0 + ((i * 3) % 5) * ns_per_s + 999'999));
  static_cast<void>(store.insert_many(views(chains)));
  const auto chain = store.latest_chain("NIFTY", "2025-01-30");
  ASSERT_TRUE(chain.has_value());
  const json read = json::parse(*chain);
  EXPECT_EQ(read["chain_id"], "c-3");  // slot (3*3)%5 = 4: the greatest timestamp
  EXPECT_EQ(read, truncated(chains[3].json));
  EXPECT_FALSE(store.latest_chain("NIFTY", "2025-02-27").has_value());
}

TEST(MongoStore, CacheAsideOverTheStoreLoadsAnExpiredKeyOnceFor32Readers) {
  OPTARO_REQUIRE_MONGO();
  const mongo::store_options options = test_options();
  const database_guard guard{options};
  mongo::document_store store{options};
  const owned_document chain = chain_document("NIFTY", "c-1", t0);
  ASSERT_EQ(store.insert(chain.view()), optaro::insert_outcome::inserted);

  optaro::manual_clock clock{optaro::clock::time_point{std::chrono::nanoseconds{t0}}};
  optaro::in_memory_cache cache{clock};
  optaro::cache_aside reads{cache, 5s};
  std::atomic<int> loads{0};
  const optaro::cache_aside::loader load = [&] {
    loads.fetch_add(1);
    return store.latest_chain("NIFTY", "2025-01-30");
  };
  const std::string key = "latest:chain:NIFTY:2025-01-30";
  ASSERT_TRUE(reads.get(key, load).has_value());
  ASSERT_EQ(loads.load(), 1);
  clock.advance(6s);  // expired

  constexpr int readers = 32;
  std::latch go{readers};
  std::vector<std::optional<std::string>> results(readers);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < readers; ++i) {
    threads.emplace_back([&, i] {
      go.arrive_and_wait();
      results[i] = reads.get(key, load);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(loads.load(), 2);  // one load for the 32 readers of the expired key
  for (const auto& r : results) {
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(json::parse(*r), truncated(chain.json));
  }
}

TEST(MongoStore, ServerStoppedMeansRetryableErrorsAndNothingIsLostAfterRestart) {
  OPTARO_REQUIRE_MONGO();
  const mongo::store_options options = test_options(1000ms);
  const database_guard guard{options};
  mongo::document_store store{options};
  std::vector<owned_document> before;
  for (int id = 0; id < 50; ++id) before.push_back(tick_document("NIFTY", id, t0 + id * ns_per_s));
  static_cast<void>(store.insert_many(views(before)));

  control_server("stop");
  std::vector<owned_document> during;
  for (int id = 50; id < 100; ++id) during.push_back(tick_document("NIFTY", id, t0 + id * ns_per_s));
  const auto started = std::chrono::steady_clock::now();
  EXPECT_THROW(static_cast<void>(store.insert_many(views(during))), optaro::retryable_error);
  EXPECT_THROW(static_cast<void>(store.insert(during.front().view())), optaro::retryable_error);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  EXPECT_THROW(static_cast<void>(store.latest_underlying("NIFTY")), optaro::retryable_error);
  const optaro::port_health down = store.health();
  EXPECT_FALSE(down.ok);
  EXPECT_FALSE(down.detail.empty());

  control_server("start");
  // The batch is retried whole until the pool sees the server again.
  std::vector<optaro::insert_outcome> outcomes;
  ASSERT_TRUE(eventually([&] {
    try {
      outcomes = store.insert_many(views(during));
      return true;
    } catch (const optaro::retryable_error&) {
      return false;
    }
  }));
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), optaro::insert_outcome::inserted), 50);
  EXPECT_EQ(store.count(message_kind::underlying), 100);
  EXPECT_TRUE(store.health().ok);
  EXPECT_EQ(store.ticks("NIFTY", t0, t0 + 100 * ns_per_s).size(), 100u);
}

TEST(MongoStore, EngineOverAStoppedStoreStoresEveryMessageExactlyOnce) {
  OPTARO_REQUIRE_MONGO();
  const mongo::store_options options = test_options(1000ms);
  const database_guard guard{options};
  mongo::document_store store{options};

  optaro::system_clock clock;
  optaro::in_memory_sink sink;
  optaro::in_memory_cache cache{clock};
  optaro::in_memory_idempotency_store claims{clock};
  optaro::in_memory_dead_letter_queue dead_letters;
  optaro::enricher_ports ports;
  ports.sink = &sink;
  ports.store = &store;
  ports.cache = &cache;
  ports.idempotency = &claims;
  ports.dead_letters = &dead_letters;
  ports.time = &clock;
  optaro::enricher_config config;
  config.random_seed = 7;
  config.workers = 4;
  config.idle_wait = 1ms;
  config.retry.max_retries = 10;
  config.retry.base_delay = 200ms;
  config.retry.multiplier = 2;
  config.retry.max_delay = 1s;
  config.fit_surfaces = false;
  optaro::enricher engine{ports, config};
  engine.start();

  constexpr int per_product = 60;
  const std::vector<std::string> products = {"NIFTY", "BANKNIFTY", "FINNIFTY"};
  const auto submit = [&](int from, int to) {
    for (int id = from; id < to; ++id) {
      for (const std::string& p : products) {
        engine.submit({message_kind::underlying, "market:underlying",
                       tick_json(p, id, 100.0 + id, t0 + id * ns_per_s), {}});
      }
    }
    for (int id = from; id < to; id += 10) {
      std::string raw;
      optaro::encode(raw, make_chain("NIFTY", "chain-" + std::to_string(id), t0 + id * ns_per_s));
      engine.submit({message_kind::option_chain, "market:option_chain", raw, {}});
    }
  };
  submit(0, 20);
  ASSERT_TRUE(engine.wait_quiescent(30s));
  control_server("stop");
  submit(20, 40);
  std::this_thread::sleep_for(3s);  // the store stays away for a few seconds: retries pile up
  control_server("start");
  submit(40, per_product);

  const auto settled = [&] {
    const optaro::enricher_stats s = engine.stats();
    return s.retries_pending == 0 && s.queued == 0 && s.in_flight == 0;
  };
  ASSERT_TRUE(eventually(settled, 60s));
  if (dead_letters.size() > 0) {  // retries exhausted: a replay must complete them, exactly once
    engine.replay_dead_letters();
    ASSERT_TRUE(eventually(settled, 60s));
  }
  engine.stop();
  EXPECT_EQ(dead_letters.size(), 0u);
  EXPECT_GT(engine.stats().retries, 0u);
  EXPECT_EQ(store.count(message_kind::underlying), static_cast<std::int64_t>(per_product * products.size()));
  EXPECT_EQ(store.count(message_kind::option_chain), per_product / 10);
  for (const std::string& p : products) {
    const std::vector<std::string> stored = store.ticks(p, t0, t0 + per_product * ns_per_s);
    ASSERT_EQ(stored.size(), static_cast<std::size_t>(per_product)) << p;
    for (std::size_t i = 0; i < stored.size(); ++i)
      EXPECT_EQ(json::parse(stored[i])["tick_id"], static_cast<std::int64_t>(i)) << p;
  }
}

}  // namespace

// The enrichment engine on its in-memory ports: what it writes for each message kind, idempotency,
// retries with the policy's delays on a manual clock, dead letters and replay, ordering, backpressure and
// shutdown. Time is a manual clock, so retry schedules of seconds run in milliseconds.
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <optaro/codec.hpp>
#include <optaro/engine.hpp>
#include <optaro/memory_ports.hpp>
#include <optaro/ohlc.hpp>
#include <optaro/pricing.hpp>
#include <optaro/surface.hpp>

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using optaro::message_kind;

constexpr optaro::timestamp_ns ns_per_s = 1'000'000'000;
// 2025-01-15T10:30:00Z
constexpr optaro::timestamp_ns t0 = 1'736'937'000 * ns_per_s;

std::string tick_json(std::string_view product, std::int64_t id, double price, std::int64_t volume,
                      optaro::timestamp_ns ts) {
  std::string out;
  optaro::encode(out, optaro::underlying_tick{std::string{product}, id, price, volume, ts});
  return out;
}

/// A chain priced by Black-Scholes on a smile, so that every IV converges and a smile can be fitted.
optaro::option_chain make_chain(std::string_view product, std::string_view id, optaro::timestamp_ns ts, double spot) {
  optaro::option_chain c;
  c.product = product;
  c.expiry = std::chrono::year{2025} / 1 / 30;
  c.chain_id = id;
  c.timestamp = ts;
  c.underlying_price = spot;
  const double t = optaro::time_to_expiry(c.expiry, std::chrono::seconds{10 * 3600}, ts);
  for (int i = -10; i <= 10; ++i) {
    const double k = spot + 100.0 * i;
    const double m = std::log(k / spot);
    const double vol = 0.14 + 0.3 * m * m - 0.05 * m;
    for (const bool call : {true, false}) {
      const double p = optaro::bs_price(spot, k, t, 0, 0, vol, call);
      optaro::chain_side& side = call ? c.calls : c.puts;
      side.push_back(k, std::max(0.05, p - 0.25), p + 0.25, p, 1000 + 10 * i, 50'000 + 1'000 * (10 - std::abs(i)));
    }
  }
  return c;
}

std::string chain_json(std::string_view product, std::string_view id, optaro::timestamp_ns ts, double spot = 21500) {
  std::string out;
  optaro::encode(out, make_chain(product, id, ts, spot));
  return out;
}

std::string quote_json(std::string_view symbol, std::int64_t id) {
  optaro::option_quote q;
  q.product = "NIFTY";
  q.symbol = symbol;
  q.expiry = std::chrono::year{2025} / 1 / 30;
  q.strike = 21500;
  q.is_call = true;
  q.bid = 180.5;
  q.ask = 182;
  q.last = 181.2;
  q.volume = 125000;
  q.open_interest = 2'300'000;
  q.underlying_price = 21543.25;
  q.quote_id = id;
  q.timestamp = t0;
  std::string out;
  optaro::encode(out, q);
  return out;
}

optaro::delivery message(message_kind kind, std::string payload) {
  return {kind, "market:" + std::string{optaro::to_string(kind)}, std::move(payload), {}};
}

/// Every port in memory, a manual clock, and an engine over them.
struct rig {
  explicit rig(optaro::enricher_config config = defaults(), bool with_source = false)
      : clock{optaro::clock::time_point{std::chrono::nanoseconds{t0}}}, memory{clock} {
    optaro::enricher_ports p = memory.ports(with_source);
    p.events = &events;
    p.log_minimum = optaro::log_level::debug;
    engine = std::make_unique<optaro::enricher>(p, std::move(config));
  }
  static optaro::enricher_config defaults() {
    optaro::enricher_config c;
    c.random_seed = 42;
    c.workers = 2;
    c.idle_wait = 1ms;
    return c;
  }
  /// The same ports with another sink (a second engine sharing the store, claims and dead letters).
  optaro::enricher_ports ports_with(optaro::message_sink& other) {
    optaro::enricher_ports p = memory.ports();
    p.sink = &other;
    return p;
  }
  void quiesce() { ASSERT_TRUE(engine->wait_quiescent(10s)); }
  /// Moves the clock, then waits for whatever became due.
  void advance(std::chrono::nanoseconds step) {
    clock.advance(step);
    quiesce();
  }

  optaro::manual_clock clock;
  optaro::in_memory_ports memory;
  optaro::in_memory_source& source = memory.source;
  optaro::in_memory_sink& sink = memory.sink;
  optaro::in_memory_document_store& store = memory.store;
  optaro::in_memory_cache& cache = memory.cache;
  optaro::in_memory_idempotency_store& claims = memory.claims;
  optaro::in_memory_dead_letter_queue& dead_letters = memory.dead_letters;
  optaro::memory_event_sink events;
  std::unique_ptr<optaro::enricher> engine;
};

TEST(Engine, EnrichesATickIntoCandlesCacheStoreAndChannel) {
  rig r;
  r.engine->start();
  r.engine->submit(message(message_kind::underlying, tick_json("NIFTY", 1, 100, 10, t0 + 5 * ns_per_s)));
  r.engine->submit(message(message_kind::underlying, tick_json("NIFTY", 2, 103, 30, t0 + 20 * ns_per_s)));
  r.quiesce();

  ASSERT_EQ(r.sink.count("enriched:underlying"), 2u);
  const json second = json::parse(r.sink.messages("enriched:underlying")[1]);
  EXPECT_EQ(second["tick_id"], 2);
  EXPECT_EQ(second["late"], false);
  const json& bar = second["ohlc"]["1m"];
  EXPECT_EQ(bar["start"], "2025-01-15T10:30:00Z");
  EXPECT_EQ(bar["open"], 100.0);
  EXPECT_EQ(bar["high"], 103.0);
  EXPECT_EQ(bar["close"], 103.0);
  EXPECT_EQ(bar["volume"], 40.0);
  EXPECT_DOUBLE_EQ(bar["vwap"].get<double>(), (100.0 * 10 + 103.0 * 30) / 40);
  EXPECT_EQ(bar["ticks"], 2);
  EXPECT_TRUE(second["ohlc"].contains("5m"));
  EXPECT_TRUE(second["ohlc"].contains("15m"));

  EXPECT_EQ(r.store.size(message_kind::underlying), 2u);
  EXPECT_EQ(r.store.find(message_kind::underlying, "NIFTY", "2"), r.sink.messages("enriched:underlying")[1]);
  EXPECT_EQ(r.cache.get("latest:underlying:NIFTY"), r.sink.messages("enriched:underlying")[1]);
  EXPECT_EQ(r.cache.ttl("latest:underlying:NIFTY"), std::chrono::nanoseconds{300s});
  const auto candle = r.cache.get("ohlc:NIFTY:5m");
  ASSERT_TRUE(candle);
  EXPECT_EQ(json::parse(*candle)["window"], "5m");
  EXPECT_EQ(json::parse(*candle)["close"], 103.0);
  EXPECT_EQ(r.cache.ttl("ohlc:NIFTY:5m"), std::chrono::nanoseconds{300s});
  EXPECT_EQ(r.cache.ttl("ohlc:NIFTY:15m"), std::chrono::nanoseconds{900s});
  const optaro::enricher_stats s = r.engine->stats();
  EXPECT_EQ(s.received, 2u);
  EXPECT_EQ(s.enriched, 2u);
  EXPECT_EQ(s.dead_lettered, 0u);
}

TEST(Engine, EnrichesAChainWithItsSmileAndSurface) {
  rig r;
  r.engine->start();
  const std::string payload = chain_json("NIFTY", "NIFTY-1", t0);
  r.engine->submit(message(message_kind::option_chain, payload));
  r.quiesce();

  ASSERT_EQ(r.sink.count("enriched:option_chain"), 1u);
  const std::string enriched = r.sink.messages("enriched:option_chain")[0];
  // The engine's enrichment is the library's: compare with enrich_chain on the same input.
  const optaro::chain_analytics expected = optaro::enrich_chain(make_chain("NIFTY", "NIFTY-1", t0, 21500), {});
  const json doc = json::parse(enriched);
  EXPECT_EQ(doc["chain_id"], "NIFTY-1");
  EXPECT_EQ(doc["max_pain"].get<double>(), *expected.max_pain);
  EXPECT_EQ(doc["pcr_oi"].get<double>(), *expected.pcr_oi);
  EXPECT_EQ(doc["calls"][10]["iv"].get<double>(), expected.calls[10].iv);
  EXPECT_EQ(doc["enriched_at"], "2025-01-15T10:30:00Z");  // the injected clock

  EXPECT_EQ(r.store.find(message_kind::option_chain, "", "NIFTY-1"), enriched);
  EXPECT_EQ(r.cache.get("latest:chain:NIFTY:2025-01-30"), enriched);
  const json pcr = json::parse(*r.cache.get("latest:pcr:NIFTY:2025-01-30"));
  EXPECT_EQ(pcr["pcr_oi"].get<double>(), *expected.pcr_oi);
  EXPECT_EQ(pcr["timestamp"], "2025-01-15T10:30:00Z");
  const std::vector<optaro::smile_point> smile = r.cache.sorted_set("iv_surface:NIFTY:2025-01-30");
  EXPECT_EQ(smile.size(), 42u);  // 21 strikes, both sides
  EXPECT_EQ(r.cache.hash_value("iv_surface_iv:NIFTY:2025-01-30", "21500:C"), expected.calls[10].iv);
  const auto surface = r.cache.get("volatility_surface:NIFTY");
  ASSERT_TRUE(surface);
  const auto decoded = optaro::decode_surface(*surface);
  ASSERT_TRUE(decoded) << decoded.error.message();
  EXPECT_EQ(decoded.value->slices().size(), 1u);
  EXPECT_NEAR(decoded.value->iv(21500, decoded.value->slices()[0].time_to_expiry), 0.14, 0.002);
}

TEST(Engine, ComputesOpenInterestChangeAgainstThePreviousChain) {
  rig r;
  r.engine->start();
  optaro::option_chain later = make_chain("NIFTY", "NIFTY-2", t0 + 60 * ns_per_s, 21500);
  later.calls.open_interest[0] += 500;
  std::string second;
  optaro::encode(second, later);
  r.engine->submit(message(message_kind::option_chain, chain_json("NIFTY", "NIFTY-1", t0)));
  r.engine->submit(message(message_kind::option_chain, second));
  r.quiesce();
  const json doc = json::parse(r.sink.messages("enriched:option_chain")[1]);
  EXPECT_EQ(doc["strikes"][0]["call_oi_change"], 500);
  EXPECT_EQ(doc["strikes"][1]["call_oi_change"], 0);
}

TEST(Engine, CachesTheLatestQuote) {
  rig r;
  r.engine->start();
  r.engine->submit(message(message_kind::option_quote, quote_json("NIFTY25JAN21500CE", 7)));
  r.quiesce();
  EXPECT_EQ(r.store.size(message_kind::option_quote), 1u);
  const auto cached = r.cache.get("latest:option:NIFTY25JAN21500CE");
  ASSERT_TRUE(cached);
  EXPECT_EQ(json::parse(*cached)["quote_id"], 7);
  EXPECT_EQ(r.sink.total(), 0u);  // no quote channel configured
}

TEST(Engine, PoisonMessagesAreDeadLetteredOnceAndConsumptionGoesOn) {
  rig r;
  r.engine->start();
  const std::string negative_oi = R"({"product": "NIFTY", "expiry": "2025-01-30", "chain_id": "bad-1",
    "timestamp": "2025-01-15T10:30:00Z", "underlying_price": 21543.25,
    "calls": [{"strike": 21500, "bid": 1, "ask": 2, "last": 1, "volume": 1, "open_interest": -5}], "puts": []})";
  const std::string not_json = "{\"product\": \"NIFTY\", \xff garbage";
  r.engine->submit(message(message_kind::option_chain, negative_oi));
  r.engine->submit(message(message_kind::underlying, not_json));
  r.engine->submit(message(message_kind::underlying, tick_json("NIFTY", 1, 100, 1, t0)));
  r.quiesce();

  ASSERT_EQ(r.dead_letters.size(), 2u);
  std::vector<optaro::dead_letter> letters = r.dead_letters.list(0, 10);
  std::sort(letters.begin(), letters.end(), [](const auto& a, const auto& b) { return a.kind < b.kind; });
  EXPECT_EQ(letters[0].payload, not_json);  // byte for byte
  EXPECT_EQ(letters[0].reason, optaro::dead_letter_reason::invalid_message);
  EXPECT_EQ(letters[0].attempts, 1);
  EXPECT_EQ(letters[1].payload, negative_oi);
  EXPECT_EQ(letters[1].error, "calls[0].open_interest: negative (-5)");
  EXPECT_EQ(letters[1].channel, "market:option_chain");
  EXPECT_EQ(letters[1].failed_at, t0);
  EXPECT_EQ(letters[1].trace_id.size(), 32u);
  EXPECT_EQ(r.engine->stats().retries, 0u);  // never retried
  EXPECT_EQ(r.store.size(message_kind::underlying), 1u);

  // The log names the same trace id, and every line is one JSON object.
  bool logged = false;
  for (const std::string& line : r.events.lines()) {
    const json event = json::parse(line);
    if (event["event"] == "dead_lettered" && event["trace_id"] == letters[1].trace_id) {
      logged = true;
      EXPECT_EQ(event["reason"], "invalid_message");
      EXPECT_EQ(event["level"], "error");
    }
  }
  EXPECT_TRUE(logged);
}

// Names become parts of Redis keys and MongoDB filters: a message whose product, symbol or chain id is
// not a plain name (key separators, operators, objects in place of strings), or that exceeds the size
// limits, is dead-lettered with the field and the reason, and writes no key, document or message.
TEST(Engine, HostileNamesAndOversizedMessagesReachNoKeyStoreOrChannel) {
  rig r;
  r.engine->start();
  const std::string tick_head = R"({"tick_id": 1, "price": 1, "volume": 1, "timestamp": "2025-01-15T10:30:00Z", "product": )";
  const std::string oversized = tick_head + R"("NIFTY"})" + std::string(std::size_t{1} << 20, ' ');
  const std::vector<std::pair<std::string, std::string>> hostile = {
      {tick_head + R"("NIFTY:latest"})", R"(product: does not match [A-Za-z0-9_.-]{1,32} ("NIFTY:latest"))"},
      {tick_head + R"("$gt"})", R"(product: does not match [A-Za-z0-9_.-]{1,32} ("$gt"))"},
      {tick_head + R"({"$ne": null}})", "product: expected a string"},
      {tick_head + R"("NIFTY\r\nFLUSHALL"})", R"(product: does not match [A-Za-z0-9_.-]{1,32} ("NIFTY\x0D\x0AFLUSHALL"))"},
      {tick_head + "\"" + std::string(33, 'N') + "\"}", "product: does not match [A-Za-z0-9_.-]{1,32} (\"" +
                                                           std::string(33, 'N') + "\")"},
      {oversized, "message: " + std::to_string(oversized.size()) + " bytes exceed the limit of 1048576"},
  };
  for (const auto& [payload, error] : hostile) r.engine->submit(message(message_kind::underlying, payload));
  std::string long_id = chain_json("NIFTY", std::string(129, 'x'), t0);
  r.engine->submit(message(message_kind::option_chain, long_id));
  std::string quote = quote_json("NIFTY25JAN21500CE", 1);
  const std::string symbol = R"("symbol":"NIFTY25JAN21500CE")";
  ASSERT_NE(quote.find(symbol), std::string::npos);
  quote.replace(quote.find(symbol), symbol.size(), R"("symbol":"*")");
  r.engine->submit(message(message_kind::option_quote, quote));
  r.quiesce();

  EXPECT_EQ(r.sink.total(), 0u);
  EXPECT_EQ(r.cache.size(), 0u);
  for (const auto kind : {message_kind::underlying, message_kind::option_quote, message_kind::option_chain}) {
    EXPECT_EQ(r.store.size(kind), 0u);
  }
  const std::vector<optaro::dead_letter> letters = r.dead_letters.list(0, 100);
  ASSERT_EQ(letters.size(), hostile.size() + 2);
  std::vector<std::string> errors;
  for (const optaro::dead_letter& letter : letters) {
    EXPECT_EQ(letter.reason, optaro::dead_letter_reason::invalid_message);
    errors.push_back(letter.error);
  }
  for (const auto& [payload, error] : hostile) {
    EXPECT_NE(std::find(errors.begin(), errors.end(), error), errors.end()) << error;
  }
  EXPECT_NE(std::find(errors.begin(), errors.end(), "chain_id: longer than 128 bytes"), errors.end());
  EXPECT_NE(std::find(errors.begin(), errors.end(), R"(symbol: does not match [A-Za-z0-9_.-]{1,64} ("*"))"),
            errors.end());
}

TEST(Engine, RetriesWithThePolicysDelaysThenDeadLettersAndReplaysExactlyOnce) {
  rig r;  // default policy: 3 retries after 5, 10, 20 s
  r.engine->start();
  r.store.set_available(false);
  r.engine->submit(message(message_kind::underlying, tick_json("NIFTY", 9, 100, 1, t0)));
  r.quiesce();
  EXPECT_EQ(r.store.inserts_attempted(), 1u);
  EXPECT_EQ(r.engine->stats().retries_pending, 1u);

  for (const auto delay : {5s, 10s, 20s}) {
    const std::uint64_t attempts = r.store.inserts_attempted();
    r.advance(delay - 1ms);
    EXPECT_EQ(r.store.inserts_attempted(), attempts) << "retried before its delay of " << delay.count() << " s";
    r.advance(1ms);
    EXPECT_EQ(r.store.inserts_attempted(), attempts + 1);
  }
  ASSERT_EQ(r.dead_letters.size(), 1u);
  const optaro::dead_letter letter = r.dead_letters.list(0, 1)[0];
  EXPECT_EQ(letter.reason, optaro::dead_letter_reason::retries_exhausted);
  EXPECT_EQ(letter.attempts, 4);
  EXPECT_EQ(letter.first_failed_at, t0);
  EXPECT_EQ(letter.failed_at, t0 + 35 * ns_per_s);
  EXPECT_EQ(letter.error, "document store unavailable");
  EXPECT_EQ(r.engine->stats().retries, 3u);
  EXPECT_EQ(r.sink.total(), 0u);  // nothing published before the durable write

  r.store.set_available(true);
  EXPECT_EQ(r.engine->replay_dead_letters(), 1u);
  r.quiesce();
  EXPECT_EQ(r.store.size(message_kind::underlying), 1u);
  EXPECT_EQ(r.sink.count("enriched:underlying"), 1u);
  EXPECT_EQ(r.dead_letters.size(), 0u);
  // The same message again (a second replay, a redelivery): already done, skipped.
  r.engine->submit(message(message_kind::underlying, tick_json("NIFTY", 9, 100, 1, t0)));
  r.quiesce();
  EXPECT_EQ(r.store.size(message_kind::underlying), 1u);
  EXPECT_EQ(r.sink.count("enriched:underlying"), 1u);
  EXPECT_EQ(r.engine->stats().duplicates, 1u);
}

TEST(Engine, ARetryResumesAtTheStageThatFailed) {
  rig r;
  r.engine->start();
  r.cache.set_available(false);
  r.engine->submit(message(message_kind::underlying, tick_json("NIFTY", 1, 100, 1, t0)));
  r.quiesce();
  EXPECT_EQ(r.store.size(message_kind::underlying), 1u);  // the store write happened
  r.cache.set_available(true);
  r.advance(5s);
  EXPECT_EQ(r.store.inserts_attempted(), 1u);  // and is not repeated
  EXPECT_TRUE(r.cache.get("latest:underlying:NIFTY"));
  EXPECT_EQ(r.sink.count("enriched:underlying"), 1u);
  EXPECT_EQ(r.engine->stats().enriched, 1u);
  EXPECT_EQ(r.dead_letters.size(), 0u);
}

TEST(Engine, AcknowledgesTheSourceOnlyAfterTheDurableWrite) {
  rig r{rig::defaults(), true};
  r.engine->start();
  r.store.set_available(false);
  r.source.push(message_kind::underlying, tick_json("NIFTY", 1, 100, 1, t0));
  for (int i = 0; i < 10000 && r.engine->stats().retries_pending == 0; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(r.source.unacknowledged(), 1u);
  r.store.set_available(true);
  r.advance(5s);
  EXPECT_EQ(r.source.unacknowledged(), 0u);
  EXPECT_EQ(r.store.size(message_kind::underlying), 1u);
}

TEST(Engine, AMessageAnotherWorkerHoldsIsDeferredNotDroppedAndProcessedWhenItsLeaseRunsOut) {
  // A worker claimed the message and died before its store write (a Streams consumer killed): a
  // redelivery meanwhile must not be acknowledged as a duplicate, or the message would be lost.
  rig r{rig::defaults(), true};
  const std::string payload = tick_json("NIFTY", 7, 100, 1, t0);
  const optaro::claim_result dead_worker = r.claims.claim("processed:underlying:NIFTY:7", 60s);
  ASSERT_EQ(dead_worker.outcome, optaro::claim_outcome::claimed);
  r.engine->start();
  r.source.push(message_kind::underlying, payload);
  for (int i = 0; i < 10000 && r.engine->stats().deferred == 0; ++i) std::this_thread::sleep_for(1ms);
  r.quiesce();
  EXPECT_EQ(r.engine->stats().deferred, 1u);
  EXPECT_EQ(r.engine->stats().duplicates, 0u);
  EXPECT_EQ(r.source.unacknowledged(), 1u);  // left for a redelivery
  EXPECT_EQ(r.store.size(message_kind::underlying), 0u);

  r.clock.advance(60s);  // the dead worker's lease runs out; the source redelivers (a reclaim)
  EXPECT_EQ(r.source.redeliver_unacknowledged(), 1u);
  for (int i = 0; i < 10000 && r.engine->stats().enriched == 0; ++i) std::this_thread::sleep_for(1ms);
  r.quiesce();
  EXPECT_EQ(r.store.size(message_kind::underlying), 1u);
  EXPECT_EQ(r.source.unacknowledged(), 0u);
  EXPECT_EQ(r.engine->stats().enriched, 1u);
}

TEST(Engine, TwoEnginesRacingForOneMessageProcessItOnce) {
  // Two processes subscribed to the same channel (pub/sub fans out) share claims and the store.
  for (int round = 0; round < 50; ++round) {
    rig a;
    optaro::in_memory_sink other_sink;
    optaro::enricher b{a.ports_with(other_sink), rig::defaults()};
    a.engine->start();
    b.start();
    const std::string payload = tick_json("NIFTY", round, 100, 1, t0);
    std::thread first([&] { a.engine->submit(message(message_kind::underlying, payload)); });
    std::thread second([&] { b.submit(message(message_kind::underlying, payload)); });
    first.join();
    second.join();
    a.quiesce();
    ASSERT_TRUE(b.wait_quiescent(10s));
    EXPECT_EQ(a.store.inserts_attempted(), 1u);
    EXPECT_EQ(a.sink.total() + other_sink.total(), 1u);
    EXPECT_EQ(a.engine->stats().enriched + b.stats().enriched, 1u);
    // The other saw it done (a duplicate) or still in work (deferred: left for a redelivery).
    EXPECT_EQ(a.engine->stats().duplicates + b.stats().duplicates + a.engine->stats().deferred + b.stats().deferred, 1u);
  }
}

TEST(Engine, KeepsEachProductsTicksInOrder) {
  optaro::enricher_config config = rig::defaults();
  config.queue_capacity = 8;  // the producer waits often: interleaving varies
  rig r{config};
  r.engine->start();
  std::vector<optaro::timestamp_ns> times;
  std::vector<double> prices, volumes;
  for (int i = 0; i < 3000; ++i) {
    const optaro::timestamp_ns ts = t0 + i * (ns_per_s / 2);
    const double price = 100 + std::sin(i * 0.1) * 5;
    times.push_back(ts);
    prices.push_back(price);
    volumes.push_back(1 + i % 7);
    for (const char* product : {"NIFTY", "BANKNIFTY", "FINNIFTY"})
      r.engine->submit(message(message_kind::underlying, tick_json(product, i, price, 1 + i % 7, ts)));
  }
  r.quiesce();
  const std::vector<optaro::candle> expected = optaro::ohlc(times, prices, volumes, 60s);
  for (const char* product : {"NIFTY", "BANKNIFTY", "FINNIFTY"}) {
    const json last = json::parse(*r.cache.get("latest:underlying:" + std::string{product}));
    const json& bar = last["ohlc"]["1m"];
    EXPECT_EQ(bar["open"].get<double>(), expected.back().open) << product;
    EXPECT_EQ(bar["close"].get<double>(), expected.back().close) << product;
    EXPECT_EQ(bar["ticks"], expected.back().ticks) << product;
    EXPECT_EQ(r.store.size(message_kind::underlying), 9000u);
  }
  EXPECT_EQ(r.engine->stats().late_ticks, 0u);
}

TEST(Engine, ReportsLateTicksAndStoresThemWithoutCandles) {
  optaro::enricher_config config = rig::defaults();
  config.candles.windows = {60s};
  rig r{config};
  r.engine->start();
  r.engine->submit(message(message_kind::underlying, tick_json("NIFTY", 1, 100, 1, t0 + 30 * ns_per_s)));
  r.engine->submit(message(message_kind::underlying, tick_json("NIFTY", 2, 101, 1, t0 + 70 * ns_per_s)));
  r.engine->submit(message(message_kind::underlying, tick_json("NIFTY", 3, 99, 1, t0 + 50 * ns_per_s)));
  r.quiesce();
  const std::vector<std::string> out = r.sink.messages("enriched:underlying");
  ASSERT_EQ(out.size(), 3u);
  const json late = json::parse(out[2]);
  EXPECT_EQ(late["late"], true);
  EXPECT_TRUE(late["ohlc"].empty());
  EXPECT_EQ(r.engine->stats().late_ticks, 1u);
  EXPECT_EQ(r.store.size(message_kind::underlying), 3u);
  EXPECT_EQ(json::parse(*r.cache.get("ohlc:NIFTY:1m"))["close"], 101.0);  // not overwritten by the late tick
}

/// A sink that holds every publish until released: the engine's queues fill up behind it.
class gate_sink final : public optaro::message_sink {
 public:
  void publish(std::string_view, std::string_view) override {
    std::unique_lock lock{mutex_};
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    ++published_;
  }
  void open() {
    const std::lock_guard lock{mutex_};
    open_ = true;
    changed_.notify_all();
  }
  void wait_for_waiting(int n) {
    std::unique_lock lock{mutex_};
    changed_.wait(lock, [&] { return waiting_ >= n; });
  }
  int published() {
    const std::lock_guard lock{mutex_};
    return published_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
  int waiting_ = 0, published_ = 0;
};

// ---- batches: a worker runs each stage for every message it took at once --------------------------------

/// A store that counts insert_many calls and can refuse one id for good (a permanent failure).
class batch_counting_store final : public optaro::document_store {
 public:
  explicit batch_counting_store(optaro::document_store& inner) : inner_(inner) {}
  optaro::insert_outcome insert(const optaro::stored_document& d) override {
    if (d.id == refused_id) throw std::runtime_error("document " + refused_id + " rejected");
    return inner_.insert(d);
  }
  std::vector<optaro::insert_outcome> insert_many(std::span<const optaro::stored_document> documents) override {
    batch_sizes.push_back(documents.size());
    return optaro::document_store::insert_many(documents);  // one by one through insert()
  }
  std::string refused_id;
  std::vector<std::size_t> batch_sizes;  // only the engine's worker thread writes it

 private:
  optaro::document_store& inner_;
};

/// A rig whose engine is built over `store` with one worker, the messages submitted before it starts,
/// so that the worker takes them as one batch.
struct batch_rig {
  explicit batch_rig(const std::vector<optaro::delivery>& messages) : counting{r.store} {
    optaro::enricher_config config = rig::defaults();
    config.workers = 1;
    config.worker_batch = 64;
    optaro::enricher_ports p = r.memory.ports();
    p.store = &counting;
    engine = std::make_unique<optaro::enricher>(p, config);
    for (const optaro::delivery& m : messages) EXPECT_TRUE(engine->submit(m));
  }
  void run() {
    engine->start();
    ASSERT_TRUE(engine->wait_quiescent(10s));
  }
  rig r;
  batch_counting_store counting;
  std::unique_ptr<optaro::enricher> engine;
};

std::vector<optaro::delivery> nifty_ticks(int count) {
  std::vector<optaro::delivery> out;
  for (int i = 0; i < count; ++i) out.push_back(message(message_kind::underlying, tick_json("NIFTY", i, 100 + i, 1, t0 + i)));
  return out;
}

TEST(EngineBatches, AWorkerStoresABatchWithOneCallAndEveryMessageOnce) {
  batch_rig b{nifty_ticks(40)};
  b.counting.refused_id = "none";
  b.run();
  EXPECT_EQ(b.counting.batch_sizes, std::vector<std::size_t>{40});
  EXPECT_EQ(b.r.store.size(message_kind::underlying), 40u);
  EXPECT_EQ(b.r.sink.count("enriched:underlying"), 40u);
  EXPECT_EQ(b.engine->stats().enriched, 40u);
}

TEST(EngineBatches, APermanentFailureInABatchDeadLettersOnlyItsOwnMessage) {
  batch_rig b{nifty_ticks(40)};
  b.counting.refused_id = "17";
  b.run();
  // The batch call failed at id 17 after storing 0..16; each message then had its own attempt.
  EXPECT_EQ(b.r.store.size(message_kind::underlying), 39u);
  EXPECT_EQ(b.r.sink.count("enriched:underlying"), 39u);
  ASSERT_EQ(b.r.dead_letters.size(), 1u);
  const optaro::dead_letter d = b.r.dead_letters.list(0, 1).front();
  EXPECT_EQ(d.id, "17");
  EXPECT_EQ(d.reason, optaro::dead_letter_reason::processing_failed);
  EXPECT_EQ(d.error, "document 17 rejected");
  EXPECT_EQ(b.engine->stats().enriched, 39u);
}

TEST(EngineBatches, ARetryableFailureRetriesEveryMessageOfTheBatchAtTheFailedStage) {
  batch_rig b{nifty_ticks(10)};
  b.r.store.set_available(false);
  b.run();
  EXPECT_EQ(b.engine->stats().retries_pending, 10u);
  EXPECT_EQ(b.r.sink.count("enriched:underlying"), 0u);
  b.r.store.set_available(true);
  b.r.clock.advance(60s);
  ASSERT_TRUE(b.engine->wait_quiescent(10s));
  EXPECT_EQ(b.r.store.size(message_kind::underlying), 10u);
  EXPECT_EQ(b.r.sink.count("enriched:underlying"), 10u);
  EXPECT_EQ(b.engine->stats().retries, 10u);
  EXPECT_EQ(b.engine->stats().enriched, 10u);
  EXPECT_EQ(b.r.dead_letters.size(), 0u);
}

TEST(EngineBatches, TheSameMessageTwiceInOneBatchIsProcessedOnceThenSeenAsADuplicate) {
  std::vector<optaro::delivery> messages = nifty_ticks(5);
  messages.push_back(messages[2]);  // a producer's retry, in the same batch as the original
  batch_rig b{messages};
  b.run();
  EXPECT_EQ(b.r.store.size(message_kind::underlying), 5u);
  EXPECT_EQ(b.r.sink.count("enriched:underlying"), 5u);
  EXPECT_EQ(b.engine->stats().duplicates, 1u);
  EXPECT_EQ(b.engine->stats().deferred, 0u);
}

TEST(EngineBatches, ASinkThatFailsForOneMessageOfABatchPublishesEveryOtherOnce) {
  rig r;
  std::vector<std::string> published;  // only the engine's one worker writes it
  optaro::callback_sink sink{[&](std::string_view, std::string_view payload) {
    const auto tick = nlohmann::json::parse(payload);
    if (tick.at("tick_id") == 2) throw std::runtime_error("the subscriber refused tick 2");
    published.push_back(tick.at("tick_id").dump());
  }};
  optaro::enricher_config config = rig::defaults();
  config.workers = 1;
  optaro::enricher engine{r.ports_with(sink), config};
  for (const optaro::delivery& m : nifty_ticks(5)) ASSERT_TRUE(engine.submit(m));  // one batch
  engine.start();
  ASSERT_TRUE(engine.wait_quiescent(10s));
  EXPECT_EQ(published, (std::vector<std::string>{"0", "1", "3", "4"}));
  ASSERT_EQ(r.dead_letters.size(), 1u);
  EXPECT_EQ(r.dead_letters.list(0, 1).front().id, "2");
}

TEST(EngineBatches, TheCacheKeepsTheNewestTickWhenABatchHoldsThemOutOfOrder) {
  batch_rig b{{message(message_kind::underlying, tick_json("NIFTY", 2, 102, 1, t0 + 2'000'000'000)),
               message(message_kind::underlying, tick_json("NIFTY", 1, 101, 1, t0 + 1'000'000'000))}};
  b.run();
  const std::optional<std::string> latest = b.r.cache.get("latest:underlying:NIFTY");
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(nlohmann::json::parse(*latest).at("tick_id"), 2);
  EXPECT_EQ(b.r.store.size(message_kind::underlying), 2u);
}

TEST(Engine, BackpressureBlocksTheProducerAndShutdownLosesNothing) {
  rig r;
  gate_sink gate;
  optaro::enricher_config config = rig::defaults();
  config.workers = 1;
  config.queue_capacity = 2;
  config.worker_batch = 1;  // in flight: exactly one message (a batch would hold up to worker_batch)
  optaro::enricher engine{r.ports_with(gate), config};
  engine.start();
  std::atomic<int> submitted{0};
  std::thread producer([&] {
    for (int i = 0; i < 10; ++i) {
      engine.submit(message(message_kind::underlying, tick_json("NIFTY", i, 100, 1, t0 + i)));
      submitted.fetch_add(1);
    }
  });
  gate.wait_for_waiting(1);  // one in flight, held by the sink
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(submitted.load(), 3);  // the one in flight and a full queue of two; the producer waits
  gate.open();
  producer.join();
  engine.stop();  // drains everything queued and in flight
  EXPECT_EQ(gate.published(), 10);
  EXPECT_EQ(r.store.size(message_kind::underlying), 10u);
  EXPECT_EQ(engine.stats().enriched, 10u);
  EXPECT_FALSE(engine.submit(message(message_kind::underlying, tick_json("NIFTY", 99, 1, 1, t0))));
}

TEST(Engine, ShutdownKeepsMessagesWaitingForARetryAsDeadLetters) {
  rig r;
  r.engine->start();
  r.store.set_available(false);
  for (int i = 0; i < 5; ++i) r.engine->submit(message(message_kind::underlying, tick_json("NIFTY", i, 100, 1, t0 + i)));
  r.quiesce();
  EXPECT_EQ(r.engine->stats().retries_pending, 5u);
  r.engine->stop();
  EXPECT_EQ(r.dead_letters.size(), 5u);
  for (const optaro::dead_letter& d : r.dead_letters.list(0, 5)) {
    EXPECT_EQ(d.reason, optaro::dead_letter_reason::shutdown);
    EXPECT_EQ(d.error, "document store unavailable");
  }
  // A new engine over the same ports replays them: each processed once.
  r.store.set_available(true);
  optaro::enricher next{r.memory.ports(), rig::defaults()};
  next.start();
  EXPECT_EQ(next.replay_dead_letters(), 5u);
  ASSERT_TRUE(next.wait_quiescent(10s));
  EXPECT_EQ(r.store.size(message_kind::underlying), 5u);
  EXPECT_EQ(next.stats().enriched, 5u);
}

TEST(Engine, ConsumesFromASourceUntilStopped) {
  rig r{rig::defaults(), true};
  r.engine->start();
  for (int i = 0; i < 500; ++i) r.source.push(message_kind::underlying, tick_json("NIFTY", i, 100, 1, t0 + i));
  r.source.push(message_kind::option_chain, chain_json("NIFTY", "c-1", t0));
  for (int i = 0; i < 10000 && r.engine->stats().received < 100; ++i) std::this_thread::sleep_for(100us);
  r.engine->stop();  // stops reading; what it read is finished
  const std::uint64_t taken = r.engine->stats().received;
  EXPECT_GE(taken, 100u);
  EXPECT_EQ(r.engine->stats().enriched, taken);
  EXPECT_EQ(r.source.unacknowledged(), 0u);
  EXPECT_EQ(r.source.pending() + taken, 501u);
}

TEST(Engine, MetricsAndHealth) {
  rig r;
  r.engine->start();
  r.engine->submit(message(message_kind::underlying, tick_json("NIFTY", 1, 100, 1, t0)));
  r.engine->submit(message(message_kind::underlying, "not json"));
  r.quiesce();
  const std::string text = r.engine->metrics().prometheus_text();
  EXPECT_NE(text.find("optaro_messages_enriched_total{kind=\"underlying\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("optaro_messages_dead_lettered_total{kind=\"underlying\",reason=\"invalid_message\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("optaro_processing_seconds_count{kind=\"underlying\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("optaro_queue_depth 0\n"), std::string::npos);

  EXPECT_TRUE(r.engine->health().ok);
  r.store.set_available(false);
  const optaro::health_report h = r.engine->health();
  EXPECT_FALSE(h.ok);
  const json doc = json::parse(h.to_json());
  EXPECT_EQ(doc["ok"], false);
  EXPECT_EQ(doc["ports"]["store"]["ok"], false);
  EXPECT_EQ(doc["ports"]["cache"]["ok"], true);
}

TEST(Engine, RejectsAnInvalidConfigurationNamingTheField) {
  rig r;
  const optaro::enricher_ports p = r.memory.ports();
  auto message_of = [&](optaro::enricher_config c, optaro::enricher_ports ports) -> std::string {
    try {
      optaro::enricher e{ports, std::move(c)};
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "accepted";
  };
  optaro::enricher_config c;
  c.workers = 0;
  EXPECT_EQ(message_of(c, p), "enricher_config.workers: must be >= 1");
  c = {};
  c.retry.multiplier = 0.5;
  EXPECT_NE(message_of(c, p).find("enricher_config.retry: "), std::string::npos);
  c = {};
  c.candles.windows = {};
  EXPECT_NE(message_of(c, p).find("enricher_config.candles: "), std::string::npos);
  optaro::enricher_ports missing = p;
  missing.store = nullptr;
  EXPECT_EQ(message_of({}, missing), "enricher_ports.store: missing");
}

}  // namespace

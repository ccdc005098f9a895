// Integration tests of the Redis stream consumer group (stream_source, stream_sink): at-least-once
// delivery, the takeover of a dead consumer's entries, dead-lettering past max_deliveries, recovery
// from a server restart, and the whole engine on streams with nothing lost and nothing duplicated.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <optaro/engine.hpp>
#include <optaro/memory_ports.hpp>

#include "ports_test_support.hpp"

namespace optaro::redis {
namespace {

using namespace std::chrono_literals;
using testing::control_server;
using testing::eventually;
using testing::prefixed_names;
using testing::server_options;
using testing::unique_prefix;

reply run(connection_pool& pool, std::initializer_list<std::string_view> args) {
  auto c = pool.acquire();
  return c->command(args);
}

// Entries of `stream` in the group's pending list (XPENDING summary).
std::int64_t pending(connection_pool& pool, const std::string& stream, const std::string& group) {
  const reply r = run(pool, {"XPENDING", stream, group});
  return r.elements.empty() ? 0 : r.elements[0].integer;
}

stream_options settings(const std::string& prefix, std::string consumer, std::chrono::milliseconds claim_idle = 30s,
                        int max_deliveries = 5) {
  stream_options s;
  s.streams = prefixed_names(prefix);
  s.group = "enrichers";
  s.consumer = std::move(consumer);
  s.claim_idle = claim_idle;
  s.max_deliveries = max_deliveries;
  return s;
}

std::vector<delivery> receive_for(message_source& source, std::size_t want, std::chrono::milliseconds limit) {
  std::vector<delivery> got;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
    source.receive(got, want - got.size(), 100ms);
  }
  return got;
}

TEST(RedisStreams, DeliversEveryEntryAndAcknowledges) {
  OPTARO_REQUIRE_REDIS();
  const std::string prefix = unique_prefix();
  connection_pool pool{server_options()};
  in_memory_dead_letter_queue letters;
  stream_source source{server_options(), settings(prefix, "solo"), letters};
  EXPECT_EQ(source.consumer(), "solo");
  stream_sink sink{pool, 1000};
  const inbound_names names = prefixed_names(prefix);
  const std::string binary("\x00\xff{", 3);
  sink.publish(names.underlying, "u1");
  sink.publish(names.option_chain, binary);
  sink.publish(names.option_quote, "q1");
  sink.publish(names.underlying, "u2");

  const std::vector<delivery> got = receive_for(source, 4, 5s);
  ASSERT_EQ(got.size(), 4U);
  std::map<std::string, delivery> by_payload;
  for (const delivery& d : got) {
    EXPECT_FALSE(d.receipt.empty());
    by_payload[d.payload] = d;
  }
  ASSERT_EQ(by_payload.size(), 4U);
  EXPECT_EQ(by_payload.at("u1").kind, message_kind::underlying);
  EXPECT_EQ(by_payload.at("u1").channel, names.underlying);
  EXPECT_EQ(by_payload.at(binary).kind, message_kind::option_chain);
  EXPECT_EQ(by_payload.at(binary).channel, names.option_chain);
  EXPECT_EQ(by_payload.at("q1").kind, message_kind::option_quote);
  EXPECT_EQ(pending(pool, names.underlying, "enrichers"), 2);
  for (const delivery& d : got) source.acknowledge(d);
  EXPECT_EQ(pending(pool, names.underlying, "enrichers"), 0);
  EXPECT_EQ(pending(pool, names.option_chain, "enrichers"), 0);
  EXPECT_EQ(pending(pool, names.option_quote, "enrichers"), 0);
  std::vector<delivery> more;
  EXPECT_EQ(source.receive(more, 10, 200ms), 0U);
  EXPECT_EQ(letters.size(), 0U);
  EXPECT_TRUE(source.health().ok);
  EXPECT_TRUE(sink.health().ok);
  // MAXLEN ~ keeps the stream bounded (approximately: whole macro nodes).
  EXPECT_EQ(run(pool, {"XLEN", names.underlying}).integer, 2);
}

TEST(RedisStreams, ReceiveHonoursMaxAndKeepsTheRestForLater) {
  OPTARO_REQUIRE_REDIS();
  const std::string prefix = unique_prefix();
  connection_pool pool{server_options()};
  in_memory_dead_letter_queue letters;
  stream_source source{server_options(), settings(prefix, "c"), letters};
  stream_sink sink{pool};
  const inbound_names names = prefixed_names(prefix);
  for (int i = 0; i < 5; ++i) {
    sink.publish(names.underlying, "u" + std::to_string(i));
    sink.publish(names.option_quote, "q" + std::to_string(i));
  }
  std::vector<delivery> got;
  EXPECT_EQ(source.receive(got, 3, 1s), 3U);
  EXPECT_EQ(source.receive(got, 3, 1s), 3U);
  const std::vector<delivery> rest = receive_for(source, 4, 2s);
  got.insert(got.end(), rest.begin(), rest.end());
  std::set<std::string> payloads;
  for (const delivery& d : got) payloads.insert(d.payload);
  EXPECT_EQ(payloads.size(), 10U);
}

TEST(RedisStreams, CloseWakesABlockedReceive) {
  OPTARO_REQUIRE_REDIS();
  in_memory_dead_letter_queue letters;
  stream_source source{server_options(), settings(unique_prefix(), "c"), letters};
  std::size_t received = 99;
  const auto started = std::chrono::steady_clock::now();
  std::thread receiver{[&] {
    std::vector<delivery> out;
    received = source.receive(out, 10, 30s);
  }};
  std::this_thread::sleep_for(150ms);
  source.close();
  receiver.join();
  EXPECT_EQ(received, 0U);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  std::vector<delivery> out;
  EXPECT_EQ(source.receive(out, 10, 1s), 0U);
}

TEST(RedisStreams, ADeadConsumersEntriesAreClaimedByAnotherAndProcessedOnce) {
  OPTARO_REQUIRE_REDIS();
  const std::string prefix = unique_prefix();
  const inbound_names names = prefixed_names(prefix);
  connection_pool pool{server_options()};
  in_memory_dead_letter_queue letters;
  stream_sink sink{pool};
  auto doomed = std::make_unique<stream_source>(server_options(), settings(prefix, "doomed", 200ms), letters);
  for (int i = 0; i < 6; ++i) sink.publish(i % 2 == 0 ? names.underlying : names.option_chain, "m" + std::to_string(i));
  ASSERT_EQ(receive_for(*doomed, 6, 5s).size(), 6U);
  doomed.reset();  // dies without acknowledging anything
  EXPECT_EQ(pending(pool, names.underlying, "enrichers") + pending(pool, names.option_chain, "enrichers"), 6);

  stream_source survivor{server_options(), settings(prefix, "survivor", 200ms), letters};
  std::multiset<std::string> processed;
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < deadline) {
    std::vector<delivery> got;
    survivor.receive(got, 10, 50ms);
    for (const delivery& d : got) {
      processed.insert(d.payload);
      survivor.acknowledge(d);
    }
    if (processed.size() == 6) break;
  }
  // A while longer: nothing comes back once acknowledged.
  for (int i = 0; i < 5; ++i) {
    std::vector<delivery> got;
    survivor.receive(got, 10, 100ms);
    for (const delivery& d : got) processed.insert(d.payload);
  }
  ASSERT_EQ(processed.size(), 6U);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(processed.count("m" + std::to_string(i)), 1U) << i;
  EXPECT_EQ(pending(pool, names.underlying, "enrichers") + pending(pool, names.option_chain, "enrichers"), 0);
  EXPECT_EQ(letters.size(), 0U);
}

TEST(RedisStreams, AConsumerProcessThatExitsBeforeAcknowledgingLosesNothing) {
  OPTARO_REQUIRE_REDIS();
  const std::string prefix = unique_prefix();
  const inbound_names names = prefixed_names(prefix);
  connection_pool pool{server_options()};
  in_memory_dead_letter_queue letters;
  // The group exists before anything is written, as a deployed group does.
  stream_source survivor{server_options(), settings(prefix, "survivor", 200ms), letters};
  stream_sink sink{pool};
  for (int i = 0; i < 20; ++i) sink.publish(names.option_quote, "q" + std::to_string(i));

  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // A worker that reads everything and crashes before acknowledging any of it.
    int status = 1;
    try {
      in_memory_dead_letter_queue own_letters;
      stream_source doomed{server_options(), settings(prefix, "crashing", 200ms), own_letters};
      if (receive_for(doomed, 20, 5s).size() == 20) status = 0;
    } catch (...) {
      status = 2;
    }
    ::_exit(status);
  }
  int status = -1;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(pending(pool, names.option_quote, "enrichers"), 20);

  std::multiset<std::string> processed;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (processed.size() < 20 && std::chrono::steady_clock::now() < deadline) {
    std::vector<delivery> got;
    survivor.receive(got, 8, 50ms);
    for (const delivery& d : got) {
      processed.insert(d.payload);
      survivor.acknowledge(d);
    }
  }
  std::vector<delivery> late;
  survivor.receive(late, 10, 300ms);
  EXPECT_TRUE(late.empty());
  ASSERT_EQ(processed.size(), 20U);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(processed.count("q" + std::to_string(i)), 1U) << i;
  EXPECT_EQ(pending(pool, names.option_quote, "enrichers"), 0);
}

TEST(RedisStreams, EntriesDeliveredMoreThanMaxDeliveriesAreDeadLetteredOnce) {
  OPTARO_REQUIRE_REDIS();
  const std::string prefix = unique_prefix();
  const inbound_names names = prefixed_names(prefix);
  connection_pool pool{server_options()};
  dead_letter_queue letters{pool, prefix + "dlq"};
  stream_sink sink{pool};
  // Written before the group exists: the group starts at "$", so these are never read.
  for (int i = 0; i < 3; ++i) sink.publish(names.option_quote, "early" + std::to_string(i));
  auto first = std::make_unique<stream_source>(server_options(), settings(prefix, "first", 200ms, 2), letters);
  for (int i = 0; i < 3; ++i) sink.publish(names.option_quote, "q" + std::to_string(i));
  ASSERT_EQ(receive_for(*first, 3, 5s).size(), 3U);  // delivery 1
  first.reset();
  auto second = std::make_unique<stream_source>(server_options(), settings(prefix, "second", 200ms, 2), letters);
  ASSERT_EQ(receive_for(*second, 3, 5s).size(), 3U);  // delivery 2, claimed
  second.reset();
  stream_source third{server_options(), settings(prefix, "third", 200ms, 2), letters};
  // Delivery 3 would exceed max_deliveries = 2: dead-lettered and acknowledged instead.
  const std::vector<delivery> none = receive_for(third, 1, 1500ms);
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(pending(pool, names.option_quote, "enrichers"), 0);
  const std::vector<dead_letter> dead = letters.list(0, 10);
  ASSERT_EQ(dead.size(), 3U);
  std::set<std::string> payloads;
  for (const dead_letter& d : dead) {
    payloads.insert(d.payload);
    EXPECT_EQ(d.reason, dead_letter_reason::retries_exhausted);
    EXPECT_EQ(d.kind, message_kind::option_quote);
    EXPECT_EQ(d.channel, names.option_quote);
    EXPECT_EQ(d.attempts, 2);
    EXPECT_NE(d.error.find("delivered 2 times"), std::string::npos) << d.error;
  }
  EXPECT_EQ(payloads, (std::set<std::string>{"q0", "q1", "q2"}));
  std::vector<delivery> later;
  third.receive(later, 10, 300ms);
  EXPECT_TRUE(later.empty());
  EXPECT_EQ(letters.size(), 3U);  // once
}

TEST(RedisStreams, AnEntryWithoutPayloadIsDeadLetteredAsInvalid) {
  OPTARO_REQUIRE_REDIS();
  const std::string prefix = unique_prefix();
  const inbound_names names = prefixed_names(prefix);
  connection_pool pool{server_options()};
  in_memory_dead_letter_queue letters;
  stream_source source{server_options(), settings(prefix, "c"), letters};
  (void)run(pool, {"XADD", names.underlying, "*", "body", "x"});
  stream_sink{pool}.publish(names.underlying, "ok");
  const std::vector<delivery> got = receive_for(source, 1, 2s);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0].payload, "ok");
  ASSERT_EQ(letters.size(), 1U);
  EXPECT_EQ(letters.list(0, 1)[0].reason, dead_letter_reason::invalid_message);
  EXPECT_EQ(pending(pool, names.underlying, "enrichers"), 1);  // only "ok", not yet acknowledged
}

TEST(RedisStreams, ASourceCarriesOnAfterTheServerRestarts) {
  OPTARO_REQUIRE_REDIS();
  const std::string prefix = unique_prefix();
  const inbound_names names = prefixed_names(prefix);
  connection_pool pool{server_options()};
  in_memory_dead_letter_queue letters;
  stream_source source{server_options(), settings(prefix, "c"), letters};
  stream_sink sink{pool};
  sink.publish(names.underlying, "before");
  const std::vector<delivery> before = receive_for(source, 1, 2s);
  ASSERT_EQ(before.size(), 1U);
  source.acknowledge(before[0]);

  control_server("restart");  // no persistence: the stream and the group are gone
  std::set<std::string> heard;
  int published = 0;
  EXPECT_TRUE(eventually([&] {
    try {
      if (published < 3) {
        sink.publish(names.option_chain, "after" + std::to_string(published));
        ++published;
      }
      std::vector<delivery> got;
      source.receive(got, 10, 50ms);
      for (const delivery& d : got) heard.insert(d.payload);
      // A pooled connection from before the restart fails once; an entry whose XACK failed stays
      // pending (and would come back after claim_idle): the same source simply carries on.
      for (const delivery& d : got) {
        try {
          source.acknowledge(d);
        } catch (const retryable_error&) {
        }
      }
    } catch (const retryable_error&) {
    }
    return heard.size() == 3;
  }));
  // Written while the group was missing, yet none lost: the group is made again from the start.
  EXPECT_EQ(heard, (std::set<std::string>{"after0", "after1", "after2"}));
  EXPECT_TRUE(source.health().ok);
}

// ---- the engine on streams -------------------------------------------------------------------------

/// Redis ports under a key prefix of their own, an in-memory store and sink, and the engine's ports over them.
struct engine_on_streams {
  std::string prefix = unique_prefix();
  inbound_names names = prefixed_names(prefix);
  connection_pool pool{server_options()};
  dead_letter_queue letters{pool, prefix + "dlq:enrichment"};
  stream_source source{server_options(), settings(prefix, "engine"), letters};
  stream_sink producer{pool};
  cache redis_cache{pool};
  idempotency_store claims{pool};
  in_memory_document_store store;
  in_memory_sink sink;
  system_clock time;

  enricher_ports ports() { return {&source, &sink, &store, &redis_cache, &claims, &letters, &time}; }
};

TEST(RedisStreams, TheEngineConsumesEveryMessageOnceFromStreams) {
  OPTARO_REQUIRE_REDIS();
  constexpr int messages = 300;
  engine_on_streams r;

  enricher_config config;
  config.workers = 3;
  config.names.key_prefix = r.prefix;
  config.retry.base_delay = 10ms;
  enricher engine{r.ports(), config};
  engine.start();
  for (int i = 0; i < messages; ++i) {
    const std::string product = "P" + std::to_string(i % 5);
    const std::string tick = R"({"product":")" + product + R"(","tick_id":)" + std::to_string(i) +
                             R"(,"price":)" + std::to_string(100 + i) + R"(,"volume":10,"timestamp":)" +
                             std::to_string(1'736'937'000'000'000'000LL + i * 1'000'000'000LL) + "}";
    r.producer.publish(r.names.underlying, tick);
    if (i % 50 == 0) r.producer.publish(r.names.underlying, tick);  // a producer's retry: a true duplicate
  }
  EXPECT_TRUE(eventually([&] { return r.store.size(message_kind::underlying) == messages; }, 20s));
  EXPECT_TRUE(eventually([&] { return pending(r.pool, r.names.underlying, "enrichers") == 0; }, 5s));
  engine.stop();

  const enricher_stats stats = engine.stats();
  EXPECT_EQ(r.store.size(message_kind::underlying), static_cast<std::size_t>(messages));
  EXPECT_EQ(stats.enriched, static_cast<std::uint64_t>(messages));
  EXPECT_EQ(stats.duplicates, 6U);  // the six repeated entries, and nothing else
  EXPECT_EQ(stats.dead_lettered, 0U);
  EXPECT_EQ(r.letters.size(), 0U);
  EXPECT_EQ(r.sink.count("enriched:underlying"), static_cast<std::size_t>(messages));
  EXPECT_EQ(pending(r.pool, r.names.underlying, "enrichers"), 0);
  EXPECT_TRUE(r.redis_cache.get(r.prefix + "latest:underlying:P0").has_value());
  EXPECT_EQ(run(r.pool, {"GET", r.prefix + "processed:underlying:P3:3"}).text, "done");
  EXPECT_TRUE(engine.health().ok) << engine.health().to_json();
}

TEST(RedisStreams, DeadLettersInRedisAreReplayedThroughTheEngineExactlyOnce) {
  // The r.store is down longer than the retry policy lasts: every message ends in the Redis dead-letter
  // list (acknowledged, so the stream holds nothing pending); once the r.store is back, a replay
  // processes each exactly once, and a second replay finds nothing to do.
  OPTARO_REQUIRE_REDIS();
  constexpr int messages = 20;
  engine_on_streams r;
  r.store.set_available(false);

  enricher_config config;
  config.names.key_prefix = r.prefix;
  config.retry.max_retries = 2;
  config.retry.base_delay = 10ms;
  config.retry.max_delay = 20ms;
  enricher engine{r.ports(), config};
  engine.start();
  std::vector<std::string> payloads;
  for (int i = 0; i < messages; ++i) {
    payloads.push_back(R"({"product":"NIFTY","tick_id":)" + std::to_string(i) + R"(,"price":100.5,"volume":1,)" +
                       R"("timestamp":"2025-01-15T10:30:0)" + std::to_string(i % 10) + R"(Z"})");
    r.producer.publish(r.names.underlying, payloads.back());
  }
  ASSERT_TRUE(eventually([&] { return r.letters.size() == static_cast<std::size_t>(messages); }, 20s)) << r.letters.size();
  EXPECT_TRUE(eventually([&] { return pending(r.pool, r.names.underlying, "enrichers") == 0; }, 5s));
  for (const dead_letter& d : r.letters.list(0, messages)) {
    EXPECT_EQ(d.reason, dead_letter_reason::retries_exhausted);
    EXPECT_EQ(d.attempts, 3);
    EXPECT_EQ(d.channel, r.names.underlying);
    EXPECT_NE(std::find(payloads.begin(), payloads.end(), d.payload), payloads.end());  // byte for byte
  }
  EXPECT_EQ(r.store.size(message_kind::underlying), 0U);

  r.store.set_available(true);
  EXPECT_EQ(engine.replay_dead_letters(), static_cast<std::size_t>(messages));
  EXPECT_TRUE(eventually([&] { return r.store.size(message_kind::underlying) == static_cast<std::size_t>(messages); }, 10s));
  EXPECT_TRUE(engine.wait_quiescent(10s));
  EXPECT_EQ(engine.replay_dead_letters(), 0U);
  engine.stop();
  EXPECT_EQ(r.store.size(message_kind::underlying), static_cast<std::size_t>(messages));
  EXPECT_EQ(r.sink.count("enriched:underlying"), static_cast<std::size_t>(messages));
  EXPECT_EQ(r.letters.size(), 0U);
}

}  // namespace
}  // namespace optaro::redis

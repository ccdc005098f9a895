// The in-memory ports (src/memory_ports.cpp): the source's FIFO order, receipts, acknowledgements,
// redelivery, close and backpressure; the sink's records and subscribers; the store's identities per
// kind, duplicates and latest(), and its retention bound; the cache's TTLs on a manual clock and atomic smile replacement;
// injected faults; and threads hammering each port (the counts come out exact).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <future>
#include <latch>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <optaro/clock.hpp>
#include <optaro/memory_ports.hpp>

namespace {

using namespace std::chrono_literals;
using optaro::cache_write;
using optaro::delivery;
using optaro::insert_outcome;
using optaro::message_kind;
using optaro::smile_point;
using optaro::stored_document;

// prefix + n, built by appending: GCC 12 warns falsely (-Wrestrict, its bug 105329) on
// `"literal" + std::to_string(n)`.
std::string numbered(std::string_view prefix, std::size_t n) {
  std::string text(prefix);
  text += std::to_string(n);
  return text;
}

std::vector<std::string> payloads_of(const std::vector<delivery>& deliveries) {
  std::vector<std::string> out;
  for (const delivery& d : deliveries) out.push_back(d.payload);
  return out;
}

// ---- source ----------------------------------------------------------------------------------------

TEST(InMemorySource, DeliversInOrderWithSequenceReceiptsAndChannels) {
  optaro::in_memory_source source;
  EXPECT_TRUE(source.push(message_kind::underlying, "a"));
  EXPECT_TRUE(source.push(message_kind::option_quote, "b"));
  EXPECT_TRUE(source.try_push(message_kind::option_chain, "c"));
  EXPECT_EQ(source.pending(), 3U);

  std::vector<delivery> got;
  EXPECT_EQ(source.receive(got, 2, 0ms), 2U);
  EXPECT_EQ(source.receive(got, 10, 0ms), 1U);
  ASSERT_EQ(got.size(), 3U);
  EXPECT_EQ(payloads_of(got), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(got[0].receipt, "1");
  EXPECT_EQ(got[1].receipt, "2");
  EXPECT_EQ(got[2].receipt, "3");
  EXPECT_EQ(got[0].channel, "market:underlying");
  EXPECT_EQ(got[1].channel, "market:option_quote");
  EXPECT_EQ(got[2].channel, "market:option_chain");
  EXPECT_EQ(got[2].kind, message_kind::option_chain);
  EXPECT_EQ(source.pending(), 0U);
  EXPECT_EQ(source.unacknowledged(), 3U);
  EXPECT_EQ(source.receive(got, 10, 0ms), 0U);
}

TEST(InMemorySource, ChannelNamesAreConfigurable) {
  optaro::in_memory_source source({.capacity = 0,
                                   .underlying_channel = "u",
                                   .option_quote_channel = "q",
                                   .option_chain_channel = "feed:chains"});
  ASSERT_TRUE(source.push(message_kind::option_chain, "{}"));
  std::vector<delivery> got;
  ASSERT_EQ(source.receive(got, 1, 0ms), 1U);
  EXPECT_EQ(got[0].channel, "feed:chains");
  EXPECT_EQ(source.channel(message_kind::option_quote), "q");
}

TEST(InMemorySource, AcknowledgeForgetsAndCountsUnknownReceipts) {
  optaro::in_memory_source source;
  ASSERT_TRUE(source.push(message_kind::underlying, "a"));
  ASSERT_TRUE(source.push(message_kind::underlying, "b"));
  std::vector<delivery> got;
  ASSERT_EQ(source.receive(got, 2, 0ms), 2U);

  source.acknowledge(got[1]);
  EXPECT_EQ(source.unacknowledged(), 1U);
  EXPECT_EQ(source.unknown_acknowledgements(), 0U);
  source.acknowledge(got[1]);  // twice
  delivery stranger = got[0];
  stranger.receipt = "not-a-number";
  source.acknowledge(stranger);
  stranger.receipt = "999";
  source.acknowledge(stranger);
  EXPECT_EQ(source.unknown_acknowledgements(), 3U);
  EXPECT_EQ(source.unacknowledged(), 1U);
  source.acknowledge(got[0]);
  EXPECT_EQ(source.unacknowledged(), 0U);
}

TEST(InMemorySource, RedeliversUnacknowledgedAtTheFrontOldestFirst) {
  optaro::in_memory_source source;
  for (const char* p : {"a", "b", "c", "d"}) ASSERT_TRUE(source.push(message_kind::underlying, p));
  std::vector<delivery> first;
  ASSERT_EQ(source.receive(first, 3, 0ms), 3U);  // a b c
  source.acknowledge(first[1]);                 // b done; a and c lost with their consumer

  EXPECT_EQ(source.redeliver_unacknowledged(), 2U);
  EXPECT_EQ(source.unacknowledged(), 0U);
  EXPECT_EQ(source.pending(), 3U);
  std::vector<delivery> again;
  ASSERT_EQ(source.receive(again, 10, 0ms), 3U);
  EXPECT_EQ(payloads_of(again), (std::vector<std::string>{"a", "c", "d"}));
  EXPECT_EQ(again[0].receipt, first[0].receipt);  // a stream entry keeps its id
  EXPECT_EQ(source.redeliver_unacknowledged(), 3U);
  EXPECT_EQ(source.redeliver_unacknowledged(), 0U);
}

TEST(InMemorySource, ReplayedDeliveryGetsANewReceiptAndItsKindsChannel) {
  optaro::in_memory_source source;
  delivery replay;
  replay.kind = message_kind::option_quote;
  replay.payload = "{}";
  replay.receipt = "stale";
  ASSERT_TRUE(source.push(replay));
  std::vector<delivery> got;
  ASSERT_EQ(source.receive(got, 1, 0ms), 1U);
  EXPECT_EQ(got[0].receipt, "1");
  EXPECT_EQ(got[0].channel, "market:option_quote");
}

TEST(InMemorySource, ReceiveTimesOutWhenEmpty) {
  optaro::in_memory_source source;
  std::vector<delivery> got;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(source.receive(got, 1, 20ms), 0U);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
  EXPECT_EQ(source.receive(got, 0, 0ms), 0U);
}

TEST(InMemorySource, ReceiveWakesForAPushFromAnotherThread) {
  optaro::in_memory_source source;
  auto received = std::async(std::launch::async, [&] {
    std::vector<delivery> got;
    source.receive(got, 1, 10s);
    return got;
  });
  std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(source.push(message_kind::underlying, "late"));
  ASSERT_EQ(received.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(payloads_of(received.get()), std::vector<std::string>{"late"});
}

TEST(InMemorySource, CloseWakesABlockedReceiverAndRefusesPushes) {
  optaro::in_memory_source source;
  auto received = std::async(std::launch::async, [&] {
    std::vector<delivery> got;
    return source.receive(got, 1, 60s);
  });
  std::this_thread::sleep_for(10ms);
  source.close();
  ASSERT_EQ(received.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(received.get(), 0U);

  EXPECT_TRUE(source.closed());
  EXPECT_FALSE(source.push(message_kind::underlying, "x"));
  EXPECT_FALSE(source.try_push(message_kind::underlying, "x"));
  std::vector<delivery> got;
  EXPECT_EQ(source.receive(got, 1, 1s), 0U);  // at once
  EXPECT_TRUE(source.health().ok);
}

TEST(InMemorySource, CapacityBlocksAProducerUntilAReceive) {
  optaro::in_memory_source source({.capacity = 2});
  ASSERT_TRUE(source.push(message_kind::underlying, "1"));
  ASSERT_TRUE(source.push(message_kind::underlying, "2"));
  EXPECT_FALSE(source.try_push(message_kind::underlying, "refused"));

  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    EXPECT_TRUE(source.push(message_kind::underlying, "3"));
    pushed = true;
  });
  std::this_thread::sleep_for(30ms);
  EXPECT_FALSE(pushed.load());
  EXPECT_EQ(source.pending(), 2U);

  std::vector<delivery> got;
  ASSERT_EQ(source.receive(got, 1, 0ms), 1U);
  producer.join();
  EXPECT_TRUE(pushed.load());
  ASSERT_EQ(source.receive(got, 10, 0ms), 2U);
  EXPECT_EQ(payloads_of(got), (std::vector<std::string>{"1", "2", "3"}));
}

TEST(InMemorySource, CloseReleasesABlockedProducer) {
  optaro::in_memory_source source({.capacity = 1});
  ASSERT_TRUE(source.push(message_kind::underlying, "1"));
  auto blocked = std::async(std::launch::async, [&] { return source.push(message_kind::underlying, "2"); });
  std::this_thread::sleep_for(10ms);
  source.close();
  ASSERT_EQ(blocked.wait_for(5s), std::future_status::ready);
  EXPECT_FALSE(blocked.get());
}

TEST(InMemorySource, ProducersAndConsumersLoseAndDuplicateNothing) {
  constexpr std::size_t producers = 4, consumers = 4, per_producer = 2000;
  optaro::in_memory_source source({.capacity = 64});
  std::atomic<std::size_t> received{0};
  std::mutex seen_mutex;
  std::set<std::string> seen;

  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < consumers; ++c) {
    threads.emplace_back([&] {
      std::vector<delivery> batch;
      while (true) {
        batch.clear();
        if (source.receive(batch, 16, 50ms) == 0) {
          if (source.closed()) return;
          continue;
        }
        for (const delivery& d : batch) {
          source.acknowledge(d);
          const std::scoped_lock lock{seen_mutex};
          EXPECT_TRUE(seen.insert(d.payload).second) << d.payload;
        }
        received += batch.size();
      }
    });
  }
  std::vector<std::thread> producer_threads;
  for (std::size_t p = 0; p < producers; ++p) {
    producer_threads.emplace_back([&, p] {
      for (std::size_t i = 0; i < per_producer; ++i) {
        ASSERT_TRUE(source.push(message_kind::underlying, numbered(numbered("p", p) + "-", i)));
      }
    });
  }
  for (std::thread& t : producer_threads) t.join();
  while (received.load() < producers * per_producer) std::this_thread::sleep_for(1ms);
  source.close();
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(received.load(), producers * per_producer);
  EXPECT_EQ(seen.size(), producers * per_producer);
  EXPECT_EQ(source.unacknowledged(), 0U);
  EXPECT_EQ(source.unknown_acknowledgements(), 0U);
}

// ---- sinks -----------------------------------------------------------------------------------------

TEST(InMemorySink, RecordsPerChannelAndCallsSubscribers) {
  optaro::in_memory_sink sink;
  std::vector<std::string> heard;
  sink.subscribe([&](std::string_view channel, std::string_view payload) {
    heard.push_back(std::string(channel) + "=" + std::string(payload));
  });
  sink.publish("enriched:underlying", "u1");
  sink.publish("enriched:option_chain", "c1");
  sink.publish("enriched:underlying", "u2");

  EXPECT_EQ(sink.messages("enriched:underlying"), (std::vector<std::string>{"u1", "u2"}));
  EXPECT_EQ(sink.count("enriched:option_chain"), 1U);
  EXPECT_EQ(sink.count("enriched:nothing"), 0U);
  EXPECT_TRUE(sink.messages("enriched:nothing").empty());
  EXPECT_EQ(sink.total(), 3U);
  EXPECT_EQ(heard, (std::vector<std::string>{"enriched:underlying=u1", "enriched:option_chain=c1",
                                             "enriched:underlying=u2"}));
}

TEST(InMemorySink, WithoutRetainingOnlyCounts) {
  optaro::in_memory_sink sink({.retain = false});
  for (int i = 0; i < 5; ++i) sink.publish("enriched:underlying", "x");
  EXPECT_EQ(sink.count("enriched:underlying"), 5U);
  EXPECT_TRUE(sink.messages("enriched:underlying").empty());
}

TEST(InMemorySink, ASubscriberMayReadTheSinkAndItsExceptionPropagates) {
  optaro::in_memory_sink sink;
  std::size_t count_seen = 0;
  sink.subscribe([&](std::string_view channel, std::string_view) { count_seen = sink.count(channel); });
  sink.subscribe([](std::string_view, std::string_view payload) {
    if (payload == "bad") throw std::runtime_error("subscriber failed");
  });
  sink.publish("c", "ok");
  EXPECT_EQ(count_seen, 1U);
  EXPECT_THROW(sink.publish("c", "bad"), std::runtime_error);
  EXPECT_EQ(sink.count("c"), 2U);  // recorded before the subscribers ran
}

TEST(InMemorySink, ConcurrentPublishersAreAllCounted) {
  optaro::in_memory_sink sink;
  std::atomic<std::size_t> heard{0};
  sink.subscribe([&](std::string_view, std::string_view) { ++heard; });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) sink.publish(i % 2 == 0 ? "even" : "odd", "x");
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(sink.count("even"), 2000U);
  EXPECT_EQ(sink.messages("odd").size(), 2000U);
  EXPECT_EQ(heard.load(), 4000U);
}

TEST(InMemoryCallbackSink, ForwardsAndPropagatesExceptions) {
  std::vector<std::string> got;
  optaro::callback_sink sink([&](std::string_view channel, std::string_view payload) {
    if (payload == "boom") throw optaro::retryable_error("gateway down");
    got.push_back(std::string(channel) + ":" + std::string(payload));
  });
  sink.publish("a", "1");
  EXPECT_EQ(got, std::vector<std::string>{"a:1"});
  EXPECT_THROW(sink.publish("a", "boom"), optaro::retryable_error);
  EXPECT_THROW(optaro::callback_sink(optaro::callback_sink::callback{}), std::invalid_argument);
}

// ---- document store --------------------------------------------------------------------------------

stored_document tick(std::string_view product, std::string_view id, optaro::timestamp_ns t, std::string_view json) {
  stored_document d;
  d.kind = message_kind::underlying;
  d.product = product;
  d.id = id;
  d.timestamp = t;
  d.json = json;
  return d;
}

TEST(InMemoryDocumentStore, UnderlyingIdentityIsProductAndId) {
  optaro::in_memory_document_store store;
  EXPECT_EQ(store.insert(tick("NIFTY", "1", 10, "n1")), insert_outcome::inserted);
  EXPECT_EQ(store.insert(tick("BANKNIFTY", "1", 10, "b1")), insert_outcome::inserted);  // same id, other product
  EXPECT_EQ(store.insert(tick("NIFTY", "1", 11, "n1-again")), insert_outcome::duplicate);
  EXPECT_EQ(store.size(message_kind::underlying), 2U);
  EXPECT_EQ(store.find(message_kind::underlying, "NIFTY", "1"), "n1");  // the first insert is kept
  EXPECT_EQ(store.find(message_kind::underlying, "BANKNIFTY", "1"), "b1");
  EXPECT_EQ(store.find(message_kind::underlying, "NIFTY", "2"), std::nullopt);
  EXPECT_EQ(store.documents(message_kind::underlying), (std::vector<std::string>{"n1", "b1"}));
  EXPECT_EQ(store.size(message_kind::option_chain), 0U);
  EXPECT_EQ(store.inserts_attempted(), 3U);
}

TEST(InMemoryDocumentStore, QuoteIdentityIsSymbolAndId) {
  optaro::in_memory_document_store store;
  stored_document quote;
  quote.kind = message_kind::option_quote;
  quote.product = "NIFTY";
  quote.symbol = "NIFTY25JAN21500CE";
  quote.id = "998";
  quote.json = "q1";
  EXPECT_EQ(store.insert(quote), insert_outcome::inserted);
  quote.symbol = "NIFTY25JAN21500PE";
  quote.json = "q2";
  EXPECT_EQ(store.insert(quote), insert_outcome::inserted);
  EXPECT_EQ(store.insert(quote), insert_outcome::duplicate);
  EXPECT_EQ(store.find(message_kind::option_quote, "NIFTY25JAN21500PE", "998"), "q2");
  EXPECT_EQ(store.find(message_kind::option_quote, "NIFTY", "998"), std::nullopt);
  quote.symbol = "";
  EXPECT_THROW((void)store.insert(quote), std::invalid_argument);
}

TEST(InMemoryDocumentStore, ChainIdentityIsTheIdAlone) {
  optaro::in_memory_document_store store;
  stored_document chain;
  chain.kind = message_kind::option_chain;
  chain.product = "NIFTY";
  chain.id = "NIFTY-20250130-000123";
  chain.json = "c1";
  EXPECT_EQ(store.insert(chain), insert_outcome::inserted);
  chain.product = "BANKNIFTY";
  EXPECT_EQ(store.insert(chain), insert_outcome::duplicate);
  EXPECT_EQ(store.find(message_kind::option_chain, "ignored", "NIFTY-20250130-000123"), "c1");
  // Kinds are separate collections.
  EXPECT_EQ(store.insert(tick("NIFTY", "NIFTY-20250130-000123", 0, "t")), insert_outcome::inserted);
}

TEST(InMemoryDocumentStore, LatestHasTheGreatestTimestampTiesToTheLaterInsert) {
  optaro::in_memory_document_store store;
  EXPECT_EQ(store.latest(message_kind::underlying, "NIFTY"), std::nullopt);
  ASSERT_EQ(store.insert(tick("NIFTY", "1", 20, "t20")), insert_outcome::inserted);
  ASSERT_EQ(store.insert(tick("NIFTY", "2", 10, "t10")), insert_outcome::inserted);  // late arrival
  ASSERT_EQ(store.insert(tick("BANKNIFTY", "3", 99, "b99")), insert_outcome::inserted);
  EXPECT_EQ(store.latest(message_kind::underlying, "NIFTY"), "t20");
  ASSERT_EQ(store.insert(tick("NIFTY", "4", 20, "t20-later")), insert_outcome::inserted);
  EXPECT_EQ(store.latest(message_kind::underlying, "NIFTY"), "t20-later");
  EXPECT_EQ(store.latest(message_kind::underlying, "BANKNIFTY"), "b99");
  EXPECT_EQ(store.latest(message_kind::option_chain, "NIFTY"), std::nullopt);
}

TEST(InMemoryDocumentStore, UnavailableThrowsRetryableAndReportsUnhealthy) {
  optaro::in_memory_document_store store;
  EXPECT_TRUE(store.health().ok);
  store.set_available(false);
  EXPECT_FALSE(store.health().ok);
  EXPECT_THROW((void)store.insert(tick("NIFTY", "1", 0, "x")), optaro::retryable_error);
  EXPECT_EQ(store.size(message_kind::underlying), 0U);
  store.set_available(true);
  EXPECT_EQ(store.insert(tick("NIFTY", "1", 0, "x")), insert_outcome::inserted);
  EXPECT_EQ(store.inserts_attempted(), 2U);
  EXPECT_THROW((void)store.insert(tick("NIFTY", "", 0, "x")), std::invalid_argument);
}

TEST(InMemoryDocumentStore, RacingInsertsOfTheSameIdentitiesInsertEachOnce) {
  constexpr std::size_t threads_count = 8, ids = 500;
  optaro::in_memory_document_store store;
  std::atomic<std::size_t> inserted{0}, duplicates{0};
  std::latch start{threads_count};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < threads_count; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      for (std::size_t i = 0; i < ids; ++i) {
        const std::string id = std::to_string(i);
        if (store.insert(tick("NIFTY", id, static_cast<optaro::timestamp_ns>(i), id)) == insert_outcome::inserted) {
          ++inserted;
        } else {
          ++duplicates;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(inserted.load(), ids);
  EXPECT_EQ(duplicates.load(), ids * (threads_count - 1));
  EXPECT_EQ(store.size(message_kind::underlying), ids);
  EXPECT_EQ(store.inserts_attempted(), ids * threads_count);
  EXPECT_EQ(store.latest(message_kind::underlying, "NIFTY"), std::to_string(ids - 1));
}

// ---- document store: retention ---------------------------------------------------------------------

optaro::in_memory_document_store bounded_store(std::size_t n) {
  return optaro::in_memory_document_store{optaro::in_memory_document_store::options{n}};
}

TEST(InMemoryDocumentStoreRetention, UnboundedByDefault) {
  optaro::in_memory_document_store store;
  EXPECT_EQ(store.max_documents_per_kind(), 0U);
  for (std::size_t i = 0; i < 2000; ++i) {
    ASSERT_EQ(store.insert(tick("NIFTY", numbered("", i), static_cast<optaro::timestamp_ns>(i), "x")),
              insert_outcome::inserted);
  }
  EXPECT_EQ(store.size(message_kind::underlying), 2000U);
  EXPECT_EQ(store.inserted(message_kind::underlying), 2000U);
  EXPECT_EQ(store.evicted(message_kind::underlying), 0U);
  EXPECT_EQ(store.find(message_kind::underlying, "NIFTY", "0"), "x");
}

TEST(InMemoryDocumentStoreRetention, KeepsTheNewestNOfEachKindAndForgetsTheOldestEverywhere) {
  auto store = bounded_store(3);
  for (std::size_t i = 1; i <= 5; ++i) {
    const std::string id = numbered("", i);
    ASSERT_EQ(store.insert(tick("NIFTY", id, static_cast<optaro::timestamp_ns>(i), numbered("t", i))),
              insert_outcome::inserted);
  }
  // Another kind is bounded on its own: a chain does not evict a tick.
  stored_document chain;
  chain.kind = message_kind::option_chain;
  chain.product = "NIFTY";
  chain.id = "c1";
  chain.json = "c1";
  ASSERT_EQ(store.insert(chain), insert_outcome::inserted);

  EXPECT_EQ(store.size(message_kind::underlying), 3U);
  EXPECT_EQ(store.inserted(message_kind::underlying), 5U);
  EXPECT_EQ(store.evicted(message_kind::underlying), 2U);
  EXPECT_EQ(store.size(message_kind::option_chain), 1U);
  EXPECT_EQ(store.evicted(message_kind::option_chain), 0U);
  EXPECT_EQ(store.documents(message_kind::underlying), (std::vector<std::string>{"t3", "t4", "t5"}));
  EXPECT_EQ(store.find(message_kind::underlying, "NIFTY", "1"), std::nullopt);
  EXPECT_EQ(store.find(message_kind::underlying, "NIFTY", "2"), std::nullopt);
  EXPECT_EQ(store.find(message_kind::underlying, "NIFTY", "3"), "t3");
  EXPECT_EQ(store.find(message_kind::underlying, "NIFTY", "5"), "t5");
  EXPECT_EQ(store.find(message_kind::option_chain, "", "c1"), "c1");
  EXPECT_EQ(store.latest(message_kind::underlying, "NIFTY"), "t5");
  EXPECT_EQ(store.inserts_attempted(), 6U);
}

TEST(InMemoryDocumentStoreRetention, ADuplicateOfAHeldIdentityIsStillADuplicate) {
  auto store = bounded_store(2);
  ASSERT_EQ(store.insert(tick("NIFTY", "1", 1, "t1")), insert_outcome::inserted);
  ASSERT_EQ(store.insert(tick("NIFTY", "2", 2, "t2")), insert_outcome::inserted);
  EXPECT_EQ(store.insert(tick("NIFTY", "2", 2, "t2-again")), insert_outcome::duplicate);
  EXPECT_EQ(store.insert(tick("NIFTY", "1", 1, "t1-again")), insert_outcome::duplicate);
  // A duplicate stores nothing, so it evicts nothing.
  EXPECT_EQ(store.documents(message_kind::underlying), (std::vector<std::string>{"t1", "t2"}));
  EXPECT_EQ(store.evicted(message_kind::underlying), 0U);
}

TEST(InMemoryDocumentStoreRetention, AnEvictedIdentityIsForgottenAndStoredAgainAsNew) {
  // Documented: beyond the window the store no longer deduplicates (a capped collection, a TTL index);
  // the idempotency store's processed_ttl is what keeps a redelivery from being processed twice.
  auto store = bounded_store(2);
  ASSERT_EQ(store.insert(tick("NIFTY", "1", 1, "t1")), insert_outcome::inserted);
  ASSERT_EQ(store.insert(tick("NIFTY", "2", 2, "t2")), insert_outcome::inserted);
  ASSERT_EQ(store.insert(tick("NIFTY", "3", 3, "t3")), insert_outcome::inserted);  // evicts 1
  ASSERT_EQ(store.find(message_kind::underlying, "NIFTY", "1"), std::nullopt);
  EXPECT_EQ(store.insert(tick("NIFTY", "1", 1, "t1-again")), insert_outcome::inserted);  // evicts 2
  EXPECT_EQ(store.find(message_kind::underlying, "NIFTY", "1"), "t1-again");
  EXPECT_EQ(store.find(message_kind::underlying, "NIFTY", "2"), std::nullopt);
  EXPECT_EQ(store.documents(message_kind::underlying), (std::vector<std::string>{"t3", "t1-again"}));
  EXPECT_EQ(store.inserted(message_kind::underlying), 4U);
  EXPECT_EQ(store.evicted(message_kind::underlying), 2U);
  // Latest is by timestamp among the documents held: t3, although t1-again came later.
  EXPECT_EQ(store.latest(message_kind::underlying, "NIFTY"), "t3");
}

TEST(InMemoryDocumentStoreRetention, LatestFallsBackToTheNewestDocumentHeldOrNone) {
  auto store = bounded_store(3);
  ASSERT_EQ(store.insert(tick("NIFTY", "1", 50, "n50")), insert_outcome::inserted);  // latest of NIFTY
  ASSERT_EQ(store.insert(tick("BANKNIFTY", "1", 5, "b5")), insert_outcome::inserted);
  ASSERT_EQ(store.insert(tick("NIFTY", "2", 10, "n10")), insert_outcome::inserted);  // late: older timestamp
  EXPECT_EQ(store.latest(message_kind::underlying, "NIFTY"), "n50");
  ASSERT_EQ(store.insert(tick("NIFTY", "3", 20, "n20")), insert_outcome::inserted);  // evicts n50
  EXPECT_EQ(store.latest(message_kind::underlying, "NIFTY"), "n20");
  ASSERT_EQ(store.insert(tick("NIFTY", "4", 20, "n20-later")), insert_outcome::inserted);  // evicts b5
  EXPECT_EQ(store.latest(message_kind::underlying, "NIFTY"), "n20-later");  // ties: the later insert
  EXPECT_EQ(store.latest(message_kind::underlying, "BANKNIFTY"), std::nullopt);  // its only one is gone
  EXPECT_EQ(store.find(message_kind::underlying, "BANKNIFTY", "1"), std::nullopt);
  ASSERT_EQ(store.insert(tick("NIFTY", "5", 1, "n1")), insert_outcome::inserted);  // evicts n10
  EXPECT_EQ(store.latest(message_kind::underlying, "NIFTY"), "n20-later");
  EXPECT_EQ(store.documents(message_kind::underlying), (std::vector<std::string>{"n20", "n20-later", "n1"}));
}

TEST(InMemoryDocumentStoreRetention, QuotesAreBoundedAndIdentifiedBySymbol) {
  auto store = bounded_store(1);
  stored_document quote;
  quote.kind = message_kind::option_quote;
  quote.product = "NIFTY";
  quote.id = "7";
  quote.symbol = "NIFTY25JAN21500CE";
  quote.json = "ce";
  ASSERT_EQ(store.insert(quote), insert_outcome::inserted);
  quote.symbol = "NIFTY25JAN21500PE";
  quote.json = "pe";
  ASSERT_EQ(store.insert(quote), insert_outcome::inserted);
  EXPECT_EQ(store.find(message_kind::option_quote, "NIFTY25JAN21500CE", "7"), std::nullopt);
  EXPECT_EQ(store.find(message_kind::option_quote, "NIFTY25JAN21500PE", "7"), "pe");
  EXPECT_EQ(store.latest(message_kind::option_quote, "NIFTY"), "pe");
  EXPECT_EQ(store.size(message_kind::option_quote), 1U);
}

TEST(InMemoryDocumentStoreRetention, ManyInsertsKeepExactlyTheNewestAndCountsAddUp) {
  constexpr std::size_t keep = 100, total = 10'000;
  auto store = bounded_store(keep);
  for (std::size_t i = 0; i < total; ++i) {
    const std::string product = i % 2 == 0 ? "NIFTY" : "BANKNIFTY";
    ASSERT_EQ(store.insert(tick(product, numbered("", i), static_cast<optaro::timestamp_ns>(i), numbered("t", i))),
              insert_outcome::inserted);
  }
  EXPECT_EQ(store.size(message_kind::underlying), keep);
  EXPECT_EQ(store.inserted(message_kind::underlying), total);
  EXPECT_EQ(store.evicted(message_kind::underlying), total - keep);
  const std::vector<std::string> held = store.documents(message_kind::underlying);
  ASSERT_EQ(held.size(), keep);
  EXPECT_EQ(held.front(), numbered("t", total - keep));
  EXPECT_EQ(held.back(), numbered("t", total - 1));
  for (std::size_t i = 0; i < total; ++i) {
    const std::string product = i % 2 == 0 ? "NIFTY" : "BANKNIFTY";
    EXPECT_EQ(store.find(message_kind::underlying, product, numbered("", i)).has_value(), i >= total - keep) << i;
  }
  EXPECT_EQ(store.latest(message_kind::underlying, "NIFTY"), numbered("t", total - 2));
  EXPECT_EQ(store.latest(message_kind::underlying, "BANKNIFTY"), numbered("t", total - 1));
}

TEST(InMemoryDocumentStoreRetention, RacingInsertsStayBoundedAndCountEachIdentityOnce) {
  constexpr std::size_t threads_count = 4, ids = 2000, keep = 64;
  auto store = bounded_store(keep);
  std::atomic<std::size_t> inserted{0};
  std::latch start{threads_count};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < threads_count; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      // Disjoint ids per thread: every insert is new, so the counts are exact.
      for (std::size_t i = 0; i < ids; ++i) {
        const std::string id = numbered(numbered("", t) + "-", i);
        if (store.insert(tick("NIFTY", id, static_cast<optaro::timestamp_ns>(i), id)) == insert_outcome::inserted) {
          ++inserted;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(inserted.load(), ids * threads_count);
  EXPECT_EQ(store.size(message_kind::underlying), keep);
  EXPECT_EQ(store.inserted(message_kind::underlying), ids * threads_count);
  EXPECT_EQ(store.evicted(message_kind::underlying), ids * threads_count - keep);
  EXPECT_TRUE(store.latest(message_kind::underlying, "NIFTY").has_value());
}

TEST(InMemoryPorts, PassStoreOptionsToTheStore) {
  optaro::manual_clock time;
  optaro::in_memory_ports memory{time, {}, optaro::in_memory_document_store::options{7}};
  EXPECT_EQ(memory.store.max_documents_per_kind(), 7U);
}

// ---- cache -----------------------------------------------------------------------------------------

class InMemoryCache : public ::testing::Test {
 protected:
  optaro::manual_clock time{optaro::manual_clock::time_point{std::chrono::sys_days{std::chrono::year{2025} / 1 / 15}}};
  optaro::in_memory_cache cache{time};
};

TEST_F(InMemoryCache, ValuesExpireAfterTheirTtl) {
  const std::vector<cache_write> writes{{"latest:underlying:NIFTY", "u", 300s}, {"ohlc:NIFTY:1m", "c", 60s}};
  cache.set(writes);
  EXPECT_EQ(cache.get("latest:underlying:NIFTY"), "u");
  EXPECT_EQ(cache.size(), 2U);
  EXPECT_EQ(cache.ttl("ohlc:NIFTY:1m"), std::chrono::nanoseconds{60s});

  time.advance(59s);
  EXPECT_EQ(cache.get("ohlc:NIFTY:1m"), "c");
  EXPECT_EQ(cache.ttl("ohlc:NIFTY:1m"), std::chrono::nanoseconds{1s});
  time.advance(1s);
  EXPECT_EQ(cache.get("ohlc:NIFTY:1m"), std::nullopt);
  EXPECT_EQ(cache.ttl("ohlc:NIFTY:1m"), std::nullopt);
  EXPECT_EQ(cache.size(), 1U);
  time.advance(240s);
  EXPECT_EQ(cache.get("latest:underlying:NIFTY"), std::nullopt);
  EXPECT_EQ(cache.size(), 0U);
  EXPECT_EQ(cache.get("never:set"), std::nullopt);
}

TEST_F(InMemoryCache, SetOverwritesAndRenewsTheTtl) {
  cache.set(std::vector<cache_write>{{"k", "old", 10s}});
  time.advance(8s);
  cache.set(std::vector<cache_write>{{"k", "new", 10s}});
  time.advance(8s);
  EXPECT_EQ(cache.get("k"), "new");
}

TEST_F(InMemoryCache, NonPositiveTtlIsRejectedBeforeAnyWrite) {
  const std::vector<cache_write> writes{{"good", "v", 10s}, {"bad", "v", 0s}};
  EXPECT_THROW(cache.set(writes), std::invalid_argument);
  EXPECT_EQ(cache.get("good"), std::nullopt);
  const std::vector<smile_point> points{{"100:C", 100, 0.2}};
  EXPECT_THROW(cache.replace_smile("s", "h", points, -1s), std::invalid_argument);
}

TEST_F(InMemoryCache, ReplaceSmileReplacesBothKeysWholly) {
  const std::vector<smile_point> first{{"21500:C", 21500, 0.14}, {"21400:P", 21400, 0.16}, {"21500:P", 21500, 0.15}};
  cache.replace_smile("iv_surface:NIFTY:2025-01-30", "iv_surface_iv:NIFTY:2025-01-30", first, 300s);
  const auto members = cache.sorted_set("iv_surface:NIFTY:2025-01-30");
  ASSERT_EQ(members.size(), 3U);
  EXPECT_EQ(members[0].member, "21400:P");
  EXPECT_EQ(members[1].member, "21500:C");  // equal scores: by member
  EXPECT_EQ(members[2].member, "21500:P");
  EXPECT_EQ(members[2].strike, 21500);
  EXPECT_EQ(cache.hash_value("iv_surface_iv:NIFTY:2025-01-30", "21400:P"), 0.16);

  const std::vector<smile_point> second{{"21600:C", 21600, 0.13}};
  time.advance(100s);
  cache.replace_smile("iv_surface:NIFTY:2025-01-30", "iv_surface_iv:NIFTY:2025-01-30", second, 300s);
  const auto replaced = cache.sorted_set("iv_surface:NIFTY:2025-01-30");
  ASSERT_EQ(replaced.size(), 1U);
  EXPECT_EQ(replaced[0].member, "21600:C");
  EXPECT_EQ(cache.hash_value("iv_surface_iv:NIFTY:2025-01-30", "21400:P"), std::nullopt);  // old member gone
  EXPECT_EQ(cache.hash_value("iv_surface_iv:NIFTY:2025-01-30", "21600:C"), 0.13);
  EXPECT_EQ(cache.ttl("iv_surface_iv:NIFTY:2025-01-30"), std::chrono::nanoseconds{300s});
  EXPECT_EQ(cache.get("iv_surface:NIFTY:2025-01-30"), std::nullopt);  // not a string

  time.advance(300s);
  EXPECT_TRUE(cache.sorted_set("iv_surface:NIFTY:2025-01-30").empty());
  EXPECT_EQ(cache.hash_value("iv_surface_iv:NIFTY:2025-01-30", "21600:C"), std::nullopt);

  cache.replace_smile("s", "h", first, 10s);
  cache.replace_smile("s", "h", {}, 10s);  // nothing to show: both keys go
  EXPECT_EQ(cache.ttl("s"), std::nullopt);
  EXPECT_EQ(cache.ttl("h"), std::nullopt);
}

TEST_F(InMemoryCache, UnavailableThrowsRetryable) {
  cache.set(std::vector<cache_write>{{"k", "v", 10s}});
  cache.set_available(false);
  EXPECT_FALSE(cache.health().ok);
  EXPECT_THROW((void)cache.get("k"), optaro::retryable_error);
  EXPECT_THROW(cache.set(std::vector<cache_write>{{"k", "w", 10s}}), optaro::retryable_error);
  const std::vector<smile_point> points{{"1:C", 1, 0.1}};
  EXPECT_THROW(cache.replace_smile("s", "h", points, 10s), optaro::retryable_error);
  cache.set_available(true);
  EXPECT_TRUE(cache.health().ok);
  EXPECT_EQ(cache.get("k"), "v");
}

TEST_F(InMemoryCache, ExpiredKeysArePurgedByLaterOperations) {
  for (std::size_t i = 0; i < 100; ++i) cache.set(std::vector<cache_write>{{numbered("old:", i), "v", 1s}});
  time.advance(2s);
  // Enough operations for the amortised sweep to run; only the live keys remain counted.
  for (std::size_t i = 0; i < 300; ++i) (void)cache.get("missing");
  cache.set(std::vector<cache_write>{{"new", "v", 10s}});
  EXPECT_EQ(cache.size(), 1U);
  EXPECT_EQ(cache.ttl("old:5"), std::nullopt);
}

TEST_F(InMemoryCache, ThreadsWritingDistinctKeysAllLand) {
  constexpr std::size_t threads_count = 8, per_thread = 500;
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < threads_count; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t i = 0; i < per_thread; ++i) {
        const std::string key = numbered(numbered("k", t) + ":", i);
        cache.set(std::vector<cache_write>{{key, key, 60s}});
        EXPECT_EQ(cache.get(key), key);
        const std::vector<smile_point> points{{"1:C", 1, static_cast<double>(i)}, {"2:C", 2, 0.2}};
        cache.replace_smile(numbered("set", t), numbered("hash", t), points, 60s);
        EXPECT_EQ(cache.sorted_set(numbered("set", t)).size(), 2U);  // never half a smile
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(cache.size(), threads_count * per_thread + 2 * threads_count);
  EXPECT_EQ(cache.hash_value("hash0", "1:C"), static_cast<double>(per_thread - 1));
}

// ---- dead-letter queue -----------------------------------------------------------------------------

optaro::dead_letter letter(std::size_t n) {
  optaro::dead_letter d;
  d.id = std::to_string(n);
  d.attempts = 1;
  d.payload = numbered("payload ", n);
  return d;
}

TEST(InMemoryDeadLetterQueue, ListsAndTakesOldestFirst) {
  optaro::in_memory_dead_letter_queue queue;
  for (std::size_t i = 0; i < 5; ++i) queue.push(letter(i));
  EXPECT_EQ(queue.size(), 5U);
  const auto middle = queue.list(1, 2);
  ASSERT_EQ(middle.size(), 2U);
  EXPECT_EQ(middle[0], letter(1));
  EXPECT_EQ(middle[1], letter(2));
  EXPECT_EQ(queue.list(4, 10).size(), 1U);
  EXPECT_TRUE(queue.list(5, 10).empty());
  EXPECT_EQ(queue.size(), 5U);

  const auto taken = queue.take(3);
  ASSERT_EQ(taken.size(), 3U);
  EXPECT_EQ(taken[0], letter(0));
  EXPECT_EQ(taken[2], letter(2));
  EXPECT_EQ(queue.size(), 2U);
  EXPECT_EQ(queue.take(10).size(), 2U);
  EXPECT_TRUE(queue.take(1).empty());
}

TEST(InMemoryDeadLetterQueue, ConcurrentPushesAndTakesLoseNothing) {
  optaro::in_memory_dead_letter_queue queue;
  constexpr std::size_t threads_count = 4, per_thread = 1000;
  std::atomic<std::size_t> taken{0};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < threads_count; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t i = 0; i < per_thread; ++i) {
        queue.push(letter(t * per_thread + i));
        if (i % 2 == 0) taken += queue.take(1).size();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(taken.load() + queue.size(), threads_count * per_thread);
}

}  // namespace

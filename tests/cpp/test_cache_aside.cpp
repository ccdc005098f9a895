// Cache-aside reads: hits, misses, and the single-flight guard that turns a stampede of concurrent
// misses on an expired hot key into one load.
#include <atomic>
#include <chrono>
#include <latch>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <optaro/cache_aside.hpp>
#include <optaro/clock.hpp>
#include <optaro/memory_ports.hpp>

namespace {

using namespace std::chrono_literals;

TEST(CacheAside, LoadsOnAMissCachesWithTheTtlAndHitsAfterwards) {
  optaro::manual_clock clock;
  optaro::in_memory_cache cache{clock};
  optaro::cache_aside reads{cache, 30s};
  int loads = 0;
  auto load = [&]() -> std::optional<std::string> {
    ++loads;
    return "chain-" + std::to_string(loads);
  };
  EXPECT_EQ(reads.get("latest:chain:NIFTY:2025-01-30", load), "chain-1");
  EXPECT_EQ(cache.ttl("latest:chain:NIFTY:2025-01-30"), std::chrono::nanoseconds{30s});
  EXPECT_EQ(reads.get("latest:chain:NIFTY:2025-01-30", load), "chain-1");
  EXPECT_EQ(loads, 1);
  clock.advance(30s);  // expired: loaded again
  EXPECT_EQ(reads.get("latest:chain:NIFTY:2025-01-30", load), "chain-2");
  EXPECT_EQ(reads.stats().hits, 1u);
  EXPECT_EQ(reads.stats().loads, 2u);
}

TEST(CacheAside, NothingFoundIsNotCached) {
  optaro::manual_clock clock;
  optaro::in_memory_cache cache{clock};
  optaro::cache_aside reads{cache, 30s};
  int loads = 0;
  auto none = [&]() -> std::optional<std::string> {
    ++loads;
    return std::nullopt;
  };
  EXPECT_EQ(reads.get("k", none), std::nullopt);
  EXPECT_EQ(reads.get("k", none), std::nullopt);
  EXPECT_EQ(loads, 2);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(CacheAside, ThirtyTwoReadersOfAnExpiredKeyQueryTheDatabaseOnce) {
  for (int round = 0; round < 20; ++round) {
    optaro::manual_clock clock;
    optaro::in_memory_cache cache{clock};
    optaro::cache_aside reads{cache, 30s};
    const optaro::cache_write stale{"hot", "old", 1s};
    cache.set({&stale, 1});
    clock.advance(2s);
    std::atomic<int> queries{0};
    std::latch start{32};
    std::vector<std::thread> readers;
    std::vector<std::optional<std::string>> seen(32);
    for (std::size_t i = 0; i < 32; ++i) {
      readers.emplace_back([&, i] {
        start.arrive_and_wait();
        seen[i] = reads.get("hot", [&]() -> std::optional<std::string> {
          queries.fetch_add(1);
          std::this_thread::sleep_for(20ms);  // a database round trip
          return "fresh";
        });
      });
    }
    for (std::thread& t : readers) t.join();
    EXPECT_EQ(queries.load(), 1) << "round " << round;
    for (const auto& v : seen) EXPECT_EQ(v, "fresh");
  }
}

TEST(CacheAside, WaitersShareTheLeadersException) {
  optaro::manual_clock clock;
  optaro::in_memory_cache cache{clock};
  optaro::cache_aside reads{cache, 30s};
  std::latch start{8};
  std::atomic<int> failures{0}, queries{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 8; ++i) {
    readers.emplace_back([&] {
      start.arrive_and_wait();
      try {
        (void)reads.get("k", [&]() -> std::optional<std::string> {
          queries.fetch_add(1);
          std::this_thread::sleep_for(20ms);
          throw optaro::retryable_error("database unavailable");
        });
      } catch (const optaro::retryable_error&) {
        failures.fetch_add(1);
      }
    });
  }
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(failures.load(), 8);
  // Every reader either queried or shared a query's failure (one flight, unless a reader came late,
  // after a failed flight had landed: a failure is not cached).
  EXPECT_GE(queries.load(), 1);
  EXPECT_EQ(static_cast<std::uint64_t>(queries.load()) + reads.stats().shared, 8u);
}

TEST(CacheAside, AFailingCacheFallsBackToTheDatabase) {
  optaro::manual_clock clock;
  optaro::in_memory_cache cache{clock};
  optaro::cache_aside reads{cache, 30s};
  cache.set_available(false);
  EXPECT_EQ(reads.get("k", [] { return std::optional<std::string>{"v"}; }), "v");
  EXPECT_GE(reads.stats().cache_errors, 2u);  // the read and the write
  EXPECT_THROW(optaro::cache_aside(cache, 0s), std::invalid_argument);
}

}  // namespace

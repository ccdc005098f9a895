// The idempotency store (src/idempotency.cpp): the claim / complete / release state machine, leases
// and TTLs on a manual clock, takeover of a lapsed lease, refusal of a wrong token, purging, and
// threads racing for the same keys (exactly one claims; every message is processed exactly once).
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <latch>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include <gtest/gtest.h>

#include <optaro/clock.hpp>
#include <optaro/idempotency.hpp>

namespace {

using namespace std::chrono_literals;
using optaro::claim_outcome;
using optaro::claim_token;
using optaro::in_memory_idempotency_store;
using optaro::manual_clock;

constexpr auto lease = 30s;
constexpr auto ttl = 3600s;  // MESSAGES.md: processed:* keys live an hour

// prefix + n, built by appending: GCC 12 warns falsely (-Wrestrict, its bug 105329) on
// `"literal" + std::to_string(n)`.
std::string numbered(std::string_view prefix, int n) {
  std::string text(prefix);
  text += std::to_string(n);
  return text;
}

const std::string key = "processed:option_chain:NIFTY:NIFTY-20250130-000123";

class IdempotencyStore : public ::testing::Test {
 protected:
  manual_clock time{manual_clock::time_point{std::chrono::sys_days{std::chrono::year{2025} / 1 / 15}}};
  in_memory_idempotency_store store{time, {.shards = 4, .token_seed = 12345}};
};

TEST_F(IdempotencyStore, ClaimThenCompleteMakesLaterClaimsDuplicates) {
  const auto first = store.claim(key, lease);
  ASSERT_EQ(first.outcome, claim_outcome::claimed);
  EXPECT_NE(first.token, claim_token{});
  EXPECT_FALSE(first.took_over_expired_lease);

  const auto while_processing = store.claim(key, lease);
  EXPECT_EQ(while_processing.outcome, claim_outcome::in_flight);
  EXPECT_EQ(while_processing.token, claim_token{});

  EXPECT_TRUE(store.complete(key, first.token, ttl));
  EXPECT_EQ(store.claim(key, lease).outcome, claim_outcome::already_done);
  // Completing twice is refused: the claim is over.
  EXPECT_FALSE(store.complete(key, first.token, ttl));
  EXPECT_FALSE(store.release(key, first.token));
  EXPECT_EQ(store.claim(key, lease).outcome, claim_outcome::already_done);
}

TEST_F(IdempotencyStore, ReleaseLetsTheNextAttemptClaimAtOnce) {
  const auto failed_attempt = store.claim(key, lease);
  ASSERT_EQ(failed_attempt.outcome, claim_outcome::claimed);
  EXPECT_TRUE(store.release(key, failed_attempt.token));

  const auto retry = store.claim(key, lease);
  ASSERT_EQ(retry.outcome, claim_outcome::claimed);
  EXPECT_FALSE(retry.took_over_expired_lease);
  EXPECT_NE(retry.token, failed_attempt.token);
  EXPECT_FALSE(store.complete(key, failed_attempt.token, ttl));  // the old token is dead
  EXPECT_TRUE(store.complete(key, retry.token, ttl));
}

TEST_F(IdempotencyStore, OnlyTheHoldersTokenCompletesOrReleases) {
  const auto holder = store.claim(key, lease);
  ASSERT_EQ(holder.outcome, claim_outcome::claimed);
  const claim_token forged{holder.token.value + 1};
  EXPECT_FALSE(store.complete(key, forged, ttl));
  EXPECT_FALSE(store.release(key, forged));
  EXPECT_FALSE(store.complete(key, claim_token{}, ttl));
  EXPECT_FALSE(store.release(key, claim_token{}));
  // Nothing changed: still in flight, and the holder can still complete.
  EXPECT_EQ(store.claim(key, lease).outcome, claim_outcome::in_flight);
  EXPECT_TRUE(store.complete(key, holder.token, ttl));
  // Unknown keys.
  EXPECT_FALSE(store.complete("processed:underlying:NIFTY:1", holder.token, ttl));
  EXPECT_FALSE(store.release("processed:underlying:NIFTY:1", holder.token));
}

TEST_F(IdempotencyStore, ALapsedLeaseIsTakenOverAndTheOldHolderLockedOut) {
  const auto crashed = store.claim(key, lease);
  ASSERT_EQ(crashed.outcome, claim_outcome::claimed);
  time.advance(lease - 1ns);
  EXPECT_EQ(store.claim(key, lease).outcome, claim_outcome::in_flight);
  time.advance(1ns);  // the lease ends at claimed_at + lease, exclusive

  const auto rescuer = store.claim(key, lease);
  ASSERT_EQ(rescuer.outcome, claim_outcome::claimed);
  EXPECT_TRUE(rescuer.took_over_expired_lease);
  EXPECT_NE(rescuer.token, crashed.token);

  // The stalled first worker wakes up: it may neither complete nor release the rescuer's claim.
  EXPECT_FALSE(store.complete(key, crashed.token, ttl));
  EXPECT_FALSE(store.release(key, crashed.token));
  EXPECT_TRUE(store.complete(key, rescuer.token, ttl));
  EXPECT_EQ(store.claim(key, lease).outcome, claim_outcome::already_done);
}

TEST_F(IdempotencyStore, CompletingAfterTheLeaseLapsedIsRefusedEvenWithoutATakeover) {
  // As with a Redis key whose PX expired: the claim is gone, so completion must not resurrect it.
  const auto slow = store.claim(key, lease);
  time.advance(lease);
  EXPECT_FALSE(store.complete(key, slow.token, ttl));
  EXPECT_FALSE(store.release(key, slow.token));
  EXPECT_EQ(store.claim(key, lease).outcome, claim_outcome::claimed);
}

TEST_F(IdempotencyStore, ACompletedKeyExpiresAfterItsTtl) {
  const auto holder = store.claim(key, lease);
  time.advance(10s);
  ASSERT_TRUE(store.complete(key, holder.token, ttl));
  time.advance(ttl - 1ns);
  EXPECT_EQ(store.claim(key, lease).outcome, claim_outcome::already_done);
  time.advance(1ns);
  const auto again = store.claim(key, lease);
  EXPECT_EQ(again.outcome, claim_outcome::claimed);
  EXPECT_FALSE(again.took_over_expired_lease);  // a finished key expired; nobody crashed
}

TEST_F(IdempotencyStore, ExpiredEntriesArePurged) {
  for (int i = 0; i < 100; ++i) {
    const std::string k = numbered("processed:underlying:NIFTY:", i);
    const auto c = store.claim(k, lease);
    if (i % 2 == 0) {
      ASSERT_TRUE(store.complete(k, c.token, 60s));
    }
  }
  EXPECT_EQ(store.size(), 100U);
  time.advance(lease);  // the 50 claims lapse; the 50 completions live on
  EXPECT_EQ(store.purge_expired(), 50U);
  EXPECT_EQ(store.size(), 50U);
  time.advance(60s);
  EXPECT_EQ(store.purge_expired(), 50U);
  EXPECT_EQ(store.size(), 0U);
}

TEST_F(IdempotencyStore, MemoryStaysBoundedWithoutExplicitPurges) {
  // A stream of distinct messages, one a millisecond, each kept done for one second: about 1000 live
  // keys at any time. The store's own sweeps must keep it near that, not at 100,000.
  std::size_t largest = 0;
  for (int i = 0; i < 100'000; ++i) {
    const std::string k = numbered("processed:underlying:NIFTY:", i);
    const auto c = store.claim(k, lease);
    ASSERT_EQ(c.outcome, claim_outcome::claimed);
    ASSERT_TRUE(store.complete(k, c.token, 1s));
    time.advance(1ms);
    if (i % 1000 == 0) largest = std::max(largest, store.size());
  }
  EXPECT_LE(largest, 2 * 1000U + 4 * 64U);
}

TEST_F(IdempotencyStore, SweepsAsItGoesWithoutDoublingBetweenSweeps) {
  // A steady load of 50,000 live keys (one message a microsecond, done for 50 ms): each operation
  // sweeps a few buckets of its shard, so the store stays within about 1.3 times the live keys, where a
  // full sweep once per as many operations as entries let it swing up to twice.
  constexpr int live = 50'000;
  std::size_t largest = 0, smallest = std::numeric_limits<std::size_t>::max();
  for (int i = 0; i < 5 * live; ++i) {
    const std::string k = numbered("processed:underlying:NIFTY:", i);
    const auto c = store.claim(k, lease);
    ASSERT_EQ(c.outcome, claim_outcome::claimed);
    ASSERT_TRUE(store.complete(k, c.token, std::chrono::microseconds{live}));
    time.advance(1us);
    if (i >= 2 * live && i % 1000 == 0) {
      const std::size_t held = store.size();
      largest = std::max(largest, held);
      smallest = std::min(smallest, held);
    }
  }
  EXPECT_GE(smallest, static_cast<std::size_t>(live));  // nothing live is ever dropped
  EXPECT_LE(largest, static_cast<std::size_t>(live) * 14 / 10);
  time.advance(std::chrono::microseconds{live});
  const std::size_t left = store.size();
  EXPECT_EQ(store.purge_expired(), left);  // what is left is expired
  EXPECT_EQ(store.size(), 0U);
}

TEST_F(IdempotencyStore, TokensAreDistinctAndNeverZero) {
  std::unordered_set<std::uint64_t> seen;
  for (int i = 0; i < 10'000; ++i) {
    const auto c = store.claim(numbered("k", i), lease);
    ASSERT_EQ(c.outcome, claim_outcome::claimed);
    EXPECT_NE(c.token.value, 0U);
    EXPECT_TRUE(seen.insert(c.token.value).second) << "token repeated at claim " << i;
  }
}

TEST_F(IdempotencyStore, HugeLeasesSaturateInsteadOfOverflowing) {
  const auto forever = store.claim(key, std::chrono::nanoseconds::max());
  ASSERT_EQ(forever.outcome, claim_outcome::claimed);
  time.advance(24h * 365 * 100);
  EXPECT_EQ(store.claim(key, lease).outcome, claim_outcome::in_flight);
  EXPECT_TRUE(store.complete(key, forever.token, std::chrono::nanoseconds::max()));
  EXPECT_EQ(store.claim(key, lease).outcome, claim_outcome::already_done);
}

TEST_F(IdempotencyStore, BadArgumentsAreRejectedWithTheirName) {
  auto expect_message = [](auto call, const char* fragment) {
    try {
      call();
      ADD_FAILURE() << "no exception; expected one mentioning " << fragment;
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos) << error.what();
    }
  };
  expect_message([&] { (void)store.claim("", lease); }, "key");
  expect_message([&] { (void)store.claim(key, 0s); }, "lease");
  expect_message([&] { (void)store.claim(key, -1s); }, "lease");
  const auto c = store.claim(key, lease);
  expect_message([&] { (void)store.complete(key, c.token, 0s); }, "ttl");
  expect_message([&] { (void)store.complete("", c.token, ttl); }, "key");
  expect_message([&] { (void)store.release("", c.token); }, "key");
  expect_message([&] { in_memory_idempotency_store bad{time, {.shards = 0}}; }, "shards");
  expect_message([] { (void)optaro::idempotency_key("", "NIFTY", "1"); }, "kind");
  expect_message([] { (void)optaro::idempotency_key("underlying", "", "1"); }, "product");
  expect_message([] { (void)optaro::idempotency_key("underlying", "NIFTY", ""); }, "id");
  expect_message([&] { time.advance(-1ns); }, "step");
}

TEST(IdempotencyKey, FollowsMessagesMd) {
  EXPECT_EQ(optaro::idempotency_key("option_chain", "NIFTY", "NIFTY-20250130-000123"),
            "processed:option_chain:NIFTY:NIFTY-20250130-000123");
  EXPECT_EQ(to_string(claim_outcome::claimed), "claimed");
  EXPECT_EQ(to_string(claim_outcome::already_done), "already_done");
  EXPECT_EQ(to_string(claim_outcome::in_flight), "in_flight");
}

TEST(SystemClock, ReadsTheWallClock) {
  const optaro::system_clock wall;
  const auto before = std::chrono::system_clock::now();
  const auto now = wall.now();
  EXPECT_GE(now, std::chrono::time_point_cast<std::chrono::nanoseconds>(before));
  // A store on the real clock works too.
  in_memory_idempotency_store store{wall};
  EXPECT_EQ(store.claim(key, lease).outcome, claim_outcome::claimed);
}

// ---- concurrency ------------------------------------------------------------------------------------

// `threads` threads released together claim the same key, `rounds` times (a fresh key each round).
void exactly_one_claims(int threads, int rounds) {
  manual_clock time;
  in_memory_idempotency_store store{time};
  for (int round = 0; round < rounds; ++round) {
    const std::string k = numbered("processed:underlying:NIFTY:", round);
    std::atomic<int> claimed{0};
    std::atomic<int> in_flight{0};
    std::latch start{threads};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        start.arrive_and_wait();
        const auto c = store.claim(k, lease);
        if (c.outcome == claim_outcome::claimed) ++claimed;
        if (c.outcome == claim_outcome::in_flight) ++in_flight;
      });
    }
    for (auto& w : workers) w.join();
    ASSERT_EQ(claimed.load(), 1) << "round " << round;
    ASSERT_EQ(in_flight.load(), threads - 1) << "round " << round;
  }
}

TEST(IdempotencyStoreConcurrency, TwoThreadsRacingForOneKeyExactlyOneClaims) { exactly_one_claims(2, 300); }

TEST(IdempotencyStoreConcurrency, EightThreadsRacingForOneKeyExactlyOneClaims) { exactly_one_claims(8, 150); }

TEST(IdempotencyStoreConcurrency, ManyKeysEachProcessedExactlyOnceDespiteFailures) {
  // Eight workers all see every message (at-least-once delivery, in different orders). A worker
  // processes a message only when it claims it; the first attempt at every fifth message fails and
  // releases its claim, so another attempt must pick it up. In the end every message has been
  // processed exactly once.
  constexpr int threads = 8;
  constexpr int messages = 2000;
  manual_clock time;
  in_memory_idempotency_store store{time};
  std::vector<std::string> keys;
  for (int i = 0; i < messages; ++i) keys.push_back(optaro::idempotency_key("underlying", "NIFTY", std::to_string(i)));
  std::vector<std::atomic<int>> processed(messages);
  std::vector<std::atomic<int>> failed_attempts(messages);

  std::latch start{threads};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      start.arrive_and_wait();
      bool all_done = false;
      while (!all_done) {
        all_done = true;
        for (int n = 0; n < messages; ++n) {
          const int i = (n * 7 + t * 251) % messages;  // each worker walks the keys in its own order
          const auto i_index = static_cast<std::size_t>(i);
          const auto c = store.claim(keys[i_index], lease);
          if (c.outcome == claim_outcome::already_done) continue;
          all_done = false;
          if (c.outcome != claim_outcome::claimed) continue;
          if (i % 5 == 0 && failed_attempts[i_index].fetch_add(1) == 0) {
            EXPECT_TRUE(store.release(keys[i_index], c.token));
            continue;
          }
          ++processed[i_index];
          EXPECT_TRUE(store.complete(keys[i_index], c.token, ttl));
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  for (std::size_t i = 0; i < processed.size(); ++i) {
    ASSERT_EQ(processed[i].load(), 1) << "message " << i;
  }
  EXPECT_EQ(store.size(), static_cast<std::size_t>(messages));
}

TEST(IdempotencyStoreConcurrency, ClockAdvancingWhileWorkersClaim) {
  // Leases lapse while workers hold them (another thread moves the clock on): completions may be
  // refused, but nothing races (the point of running this under ThreadSanitizer) or crashes.
  constexpr int threads = 4;
  constexpr int messages = 500;
  manual_clock time;
  in_memory_idempotency_store store{time, {.shards = 2}};
  std::atomic<bool> stop{false};
  std::thread ticker([&] {
    while (!stop.load()) time.advance(10s);
  });
  std::atomic<int> completions{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < messages; ++i) {
        const std::string k = numbered("processed:option_quote:NIFTY:", i);
        const auto c = store.claim(k, lease);
        if (c.outcome == claim_outcome::claimed && store.complete(k, c.token, ttl)) ++completions;
      }
    });
  }
  for (auto& w : workers) w.join();
  stop = true;
  ticker.join();
  EXPECT_GE(completions.load(), 1);
}

}  // namespace

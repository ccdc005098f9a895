// Integration tests of the Redis ports (include/optaro/redis/ports.hpp) against a real redis-server:
// pub/sub, the cache's TTLs and smiles, the idempotency store (across processes), the dead-letter
// queue, and recovery from a server restart. Streams: test_streams.cpp.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

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

// Receives until `want` deliveries arrived or `limit` passed.
std::vector<delivery> receive_all(message_source& source, std::size_t want, std::chrono::milliseconds limit = 5s) {
  std::vector<delivery> got;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
    source.receive(got, want - got.size(), 100ms);
  }
  return got;
}

// ---- pub/sub ---------------------------------------------------------------------------------------

TEST(RedisPorts, PubSubRoundTripKeepsKindChannelAndBytes) {
  OPTARO_REQUIRE_REDIS();
  const std::string prefix = unique_prefix();
  const inbound_names names = prefixed_names(prefix);
  connection_pool pool{server_options()};
  pubsub_source source{server_options(), names};
  pubsub_sink sink{pool};

  static constexpr char raw[] = "{\"a\":\"\xff\xfe\"}\0tail\r\n";
  const std::string binary{raw, sizeof raw - 1};  // the NUL inside included, the terminator not
  sink.publish(names.option_chain, binary);
  sink.publish(names.underlying, R"({"product":"NIFTY","tick_id":1})");
  sink.publish(names.option_quote, "quote");
  sink.publish(prefix + "market:other", "not ours");  // a channel not subscribed: never delivered

  const std::vector<delivery> got = receive_all(source, 3);
  ASSERT_EQ(got.size(), 3U);
  EXPECT_EQ(got[0].kind, message_kind::option_chain);
  EXPECT_EQ(got[0].channel, names.option_chain);
  EXPECT_EQ(got[0].payload, binary);
  EXPECT_EQ(got[0].receipt, "");
  EXPECT_EQ(got[1].kind, message_kind::underlying);
  EXPECT_EQ(got[1].channel, names.underlying);
  EXPECT_EQ(got[1].payload, R"({"product":"NIFTY","tick_id":1})");
  EXPECT_EQ(got[2].kind, message_kind::option_quote);
  EXPECT_EQ(got[2].payload, "quote");
  source.acknowledge(got[0]);  // nothing to do, and no error

  std::vector<delivery> more;
  EXPECT_EQ(source.receive(more, 10, 100ms), 0U);
  EXPECT_TRUE(source.health().ok);
  EXPECT_TRUE(sink.health().ok);
}

TEST(RedisPorts, PubSubReceiveTakesWhatIsBufferedUpToMax) {
  OPTARO_REQUIRE_REDIS();
  const inbound_names names = prefixed_names(unique_prefix());
  connection_pool pool{server_options()};
  pubsub_source source{server_options(), names};
  pubsub_sink sink{pool};
  for (int i = 0; i < 20; ++i) sink.publish(names.underlying, std::to_string(i));
  std::this_thread::sleep_for(100ms);  // all 20 on the subscriber's socket
  std::vector<delivery> got;
  EXPECT_EQ(source.receive(got, 8, 1s), 8U);
  EXPECT_EQ(source.receive(got, 100, 1s), 12U);
  ASSERT_EQ(got.size(), 20U);
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].payload, std::to_string(i));
}

TEST(RedisPorts, PubSubCloseWakesABlockedReceive) {
  OPTARO_REQUIRE_REDIS();
  pubsub_source source{server_options(), prefixed_names(unique_prefix())};
  std::size_t received = 99;
  const auto started = std::chrono::steady_clock::now();
  std::thread receiver{[&] {
    std::vector<delivery> out;
    received = source.receive(out, 10, 30s);
  }};
  std::this_thread::sleep_for(100ms);
  source.close();
  receiver.join();
  EXPECT_EQ(received, 0U);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  std::vector<delivery> out;
  EXPECT_EQ(source.receive(out, 10, 1s), 0U);
}

// ---- cache -----------------------------------------------------------------------------------------

TEST(RedisCache, SetWritesEveryValueWithItsTtlRoundedUp) {
  OPTARO_REQUIRE_REDIS();
  const std::string prefix = unique_prefix();
  connection_pool pool{server_options()};
  cache store{pool};
  const std::vector<cache_write> writes{
      {prefix + "latest:underlying:NIFTY", R"({"price":1})", 300s},
      {prefix + "ohlc:NIFTY:1m", std::string("\x00\xff", 2), std::chrono::nanoseconds{1'500'000'001}},
      {prefix + "tiny", "x", 1ns},
  };
  store.set(writes);
  EXPECT_EQ(store.get(writes[0].key), writes[0].value);
  EXPECT_EQ(store.get(writes[1].key), writes[1].value);
  EXPECT_EQ(store.get(prefix + "missing"), std::nullopt);

  const std::int64_t long_ttl = run(pool, {"PTTL", writes[0].key}).integer;
  EXPECT_GT(long_ttl, 299'000);
  EXPECT_LE(long_ttl, 300'000);
  const std::int64_t rounded = run(pool, {"PTTL", writes[1].key}).integer;  // 1500.000001 ms -> 1501
  EXPECT_GT(rounded, 1400);
  EXPECT_LE(rounded, 1501);
  EXPECT_TRUE(eventually([&] { return !store.get(prefix + "tiny").has_value(); }, 1s));  // 1 ns -> PX 1

  // A bad TTL anywhere: nothing is written.
  const std::vector<cache_write> bad{{prefix + "first", "v", 1s}, {prefix + "second", "v", 0ns}};
  EXPECT_THROW(store.set(bad), std::invalid_argument);
  EXPECT_EQ(store.get(prefix + "first"), std::nullopt);
  EXPECT_TRUE(store.health().ok);
}

TEST(RedisCache, ReplaceSmileWritesSetAndHashWithTtlAndDropsOldMembers) {
  OPTARO_REQUIRE_REDIS();
  const std::string prefix = unique_prefix();
  const std::string set_key = prefix + "iv_surface:NIFTY:2025-01-30";
  const std::string iv_key = prefix + "iv_surface_iv:NIFTY:2025-01-30";
  connection_pool pool{server_options()};
  cache store{pool};

  const std::vector<smile_point> first{
      {"21500:C", 21500, 0.1834}, {"21400:P", 21400, 0.1}, {"21450.5:C", 21450.5, 0.30000000000000004}};
  store.replace_smile(set_key, iv_key, first, 300s);
  const reply ranked = run(pool, {"ZRANGE", set_key, "0", "-1", "WITHSCORES"});
  ASSERT_EQ(ranked.elements.size(), 6U);
  EXPECT_EQ(ranked.elements[0].text, "21400:P");
  EXPECT_EQ(ranked.elements[1].text, "21400");
  EXPECT_EQ(ranked.elements[2].text, "21450.5:C");
  EXPECT_EQ(ranked.elements[3].text, "21450.5");
  EXPECT_EQ(ranked.elements[4].text, "21500:C");
  EXPECT_EQ(run(pool, {"HGET", iv_key, "21500:C"}).text, "0.1834");
  // Shortest round trip: the double comes back exactly.
  EXPECT_EQ(std::strtod(run(pool, {"HGET", iv_key, "21450.5:C"}).text.c_str(), nullptr), 0.30000000000000004);
  for (const std::string& key : {set_key, iv_key}) {
    const std::int64_t ttl = run(pool, {"PTTL", key}).integer;
    EXPECT_GT(ttl, 299'000) << key;
    EXPECT_LE(ttl, 300'000) << key;
  }
  EXPECT_EQ(store.get(set_key), std::nullopt);  // not a string: absent, as in memory

  const std::vector<smile_point> second{{"22000:C", 22000, 0.2}};
  store.replace_smile(set_key, iv_key, second, 10s);
  EXPECT_EQ(run(pool, {"ZCARD", set_key}).integer, 1);
  EXPECT_EQ(run(pool, {"HLEN", iv_key}).integer, 1);
  EXPECT_TRUE(run(pool, {"HGET", iv_key, "21500:C"}).is_nil());
  EXPECT_EQ(run(pool, {"HGET", iv_key, "22000:C"}).text, "0.2");
  EXPECT_LE(run(pool, {"PTTL", set_key}).integer, 10'000);

  store.replace_smile(set_key, iv_key, {}, 10s);  // no points: both keys gone
  EXPECT_EQ(run(pool, {"EXISTS", set_key, iv_key}).integer, 0);
  EXPECT_THROW(store.replace_smile(set_key, iv_key, second, 0s), std::invalid_argument);
}

// ---- idempotency -----------------------------------------------------------------------------------

TEST(RedisIdempotency, ClaimCompleteAndReleaseFollowTheContract) {
  OPTARO_REQUIRE_REDIS();
  const std::string key = unique_prefix() + "processed:underlying:NIFTY:1";
  connection_pool pool{server_options()};
  idempotency_store store{pool};

  const claim_result first = store.claim(key, 10s);
  ASSERT_EQ(first.outcome, claim_outcome::claimed);
  EXPECT_NE(first.token, claim_token{});
  EXPECT_FALSE(first.took_over_expired_lease);
  const claim_result second = store.claim(key, 10s);
  EXPECT_EQ(second.outcome, claim_outcome::in_flight);
  EXPECT_EQ(second.token, claim_token{});
  const std::string held = run(pool, {"GET", key}).text;
  EXPECT_EQ(held, "claimed:" + std::to_string(first.token.value));

  // The wrong token changes nothing.
  const claim_token wrong{first.token.value + 1};
  EXPECT_FALSE(store.complete(key, wrong, 1h));
  EXPECT_FALSE(store.release(key, wrong));
  EXPECT_FALSE(store.complete(key, claim_token{}, 1h));
  EXPECT_EQ(run(pool, {"GET", key}).text, held);

  EXPECT_TRUE(store.complete(key, first.token, 1h));
  EXPECT_EQ(run(pool, {"GET", key}).text, "done");
  const std::int64_t ttl = run(pool, {"PTTL", key}).integer;
  EXPECT_GT(ttl, 3'599'000);
  EXPECT_LE(ttl, 3'600'000);
  EXPECT_EQ(store.claim(key, 10s).outcome, claim_outcome::already_done);
  EXPECT_FALSE(store.complete(key, first.token, 1h));  // done already: no second completion
  EXPECT_FALSE(store.release(key, first.token));
  EXPECT_EQ(run(pool, {"GET", key}).text, "done");

  const std::string other = key + ":released";
  const claim_result a = store.claim(other, 10s);
  ASSERT_EQ(a.outcome, claim_outcome::claimed);
  EXPECT_TRUE(store.release(other, a.token));
  EXPECT_TRUE(run(pool, {"GET", other}).is_nil());
  const claim_result b = store.claim(other, 10s);
  EXPECT_EQ(b.outcome, claim_outcome::claimed);
  EXPECT_NE(b.token, a.token);
}

TEST(RedisIdempotency, ManyKeysAtOnceGiveWhatOneAtATimeWould) {
  OPTARO_REQUIRE_REDIS();
  const std::string prefix = unique_prefix() + "processed:underlying:NIFTY:";
  connection_pool pool{server_options()};
  idempotency_store store{pool};
  // 600 keys: more than one script call's 256, so the pieces and their order are exercised too.
  std::vector<std::string> names;
  for (int i = 0; i < 600; ++i) names.push_back(prefix + std::to_string(i));
  const claim_result held = store.claim(names[1], 10s);  // held by another worker
  const claim_result done = store.claim(names[2], 10s);
  ASSERT_TRUE(store.complete(names[2], done.token, 1h));  // done earlier
  const std::vector<std::string_view> keys(names.begin(), names.end());

  const std::vector<claim_result> claims = store.claim_many(keys, 10s);
  ASSERT_EQ(claims.size(), names.size());
  EXPECT_EQ(claims[1].outcome, claim_outcome::in_flight);
  EXPECT_EQ(claims[2].outcome, claim_outcome::already_done);
  std::set<std::uint64_t> tokens;
  for (std::size_t i = 0; i < claims.size(); ++i) {
    if (i == 1 || i == 2) continue;
    ASSERT_EQ(claims[i].outcome, claim_outcome::claimed) << i;
    tokens.insert(claims[i].token.value);
    EXPECT_EQ(run(pool, {"GET", names[i]}).text, "claimed:" + std::to_string(claims[i].token.value));
  }
  EXPECT_EQ(tokens.size(), names.size() - 2);  // every claim its own token

  std::vector<held_claim> completions;
  for (std::size_t i = 0; i < claims.size(); ++i) completions.push_back({names[i], claims[i].token});
  completions[3].token = claim_token{claims[3].token.value + 1};  // not the holder's
  const std::vector<bool> completed = store.complete_many(completions, 1h);
  ASSERT_EQ(completed.size(), names.size());
  EXPECT_FALSE(completed[1]);  // no token: nothing sent, nothing changed
  EXPECT_FALSE(completed[2]);
  EXPECT_FALSE(completed[3]);
  EXPECT_EQ(run(pool, {"GET", names[1]}).text, "claimed:" + std::to_string(held.token.value));
  EXPECT_EQ(run(pool, {"GET", names[3]}).text, "claimed:" + std::to_string(claims[3].token.value));
  for (std::size_t i = 4; i < names.size(); ++i) {
    EXPECT_TRUE(completed[i]) << i;
    EXPECT_EQ(run(pool, {"GET", names[i]}).text, "done");
  }
}

TEST(RedisIdempotency, ExpiredLeaseIsClaimableAgainAndTheOldTokenIsPowerless) {
  OPTARO_REQUIRE_REDIS();
  const std::string key = unique_prefix() + "processed:option_chain:NIFTY:c1";
  connection_pool pool{server_options()};
  idempotency_store store{pool};
  const claim_result first = store.claim(key, 100ms);
  ASSERT_EQ(first.outcome, claim_outcome::claimed);
  const std::int64_t lease = run(pool, {"PTTL", key}).integer;
  EXPECT_GT(lease, 0);
  EXPECT_LE(lease, 100);
  std::this_thread::sleep_for(250ms);
  const claim_result second = store.claim(key, 10s);
  ASSERT_EQ(second.outcome, claim_outcome::claimed);
  EXPECT_FALSE(second.took_over_expired_lease);  // Redis expired the key: indistinguishable from none
  EXPECT_FALSE(store.complete(key, first.token, 1h));
  EXPECT_FALSE(store.release(key, first.token));
  EXPECT_TRUE(store.complete(key, second.token, 1h));
}

TEST(RedisIdempotency, RejectsWhatTheInMemoryStoreRejects) {
  OPTARO_REQUIRE_REDIS();
  connection_pool pool{server_options()};
  idempotency_store store{pool};
  const std::string key = unique_prefix() + "k";
  EXPECT_THROW((void)store.claim("", 1s), std::invalid_argument);
  EXPECT_THROW((void)store.claim(key, 0s), std::invalid_argument);
  EXPECT_THROW((void)store.claim(key, -1s), std::invalid_argument);
  EXPECT_THROW((void)store.complete(key, claim_token{1}, 0s), std::invalid_argument);
  EXPECT_THROW((void)store.complete("", claim_token{1}, 1s), std::invalid_argument);
  EXPECT_THROW((void)store.release("", claim_token{1}), std::invalid_argument);
  EXPECT_EQ(run(pool, {"EXISTS", key}).integer, 0);
}

TEST(RedisIdempotency, ScriptsSurviveAFlushedScriptCache) {
  OPTARO_REQUIRE_REDIS();
  connection_pool pool{server_options()};
  idempotency_store store{pool};
  const std::string key = unique_prefix() + "k";
  const claim_result first = store.claim(key, 10s);  // loads the scripts
  ASSERT_EQ(first.outcome, claim_outcome::claimed);
  (void)run(pool, {"SCRIPT", "FLUSH"});  // as a restarted server would have: NOSCRIPT, then EVAL
  EXPECT_TRUE(store.complete(key, first.token, 1h));
  EXPECT_EQ(store.claim(key, 10s).outcome, claim_outcome::already_done);
}

TEST(RedisIdempotency, TwoProcessesRacingForTheSameKeysHaveOneWinnerEach) {
  OPTARO_REQUIRE_REDIS();
  constexpr int keys = 200;
  const std::string prefix = unique_prefix();
  std::array<int, 2> go{};
  ASSERT_EQ(::pipe(go.data()), 0);
  std::array<std::array<int, 2>, 2> results{};
  std::array<pid_t, 2> children{};
  for (std::size_t child = 0; child < 2; ++child) {
    ASSERT_EQ(::pipe(results[child].data()), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // The child: its own pool and store (its own tokens); one byte per key, '1' for a win.
      int status = 0;
      try {
        ::close(go[1]);
        connection_pool own{server_options()};
        idempotency_store store{own};
        (void)store.claim(prefix + "warm-up:" + std::to_string(child), 1s);  // connected and scripts loaded
        char start = 0;
        if (::read(go[0], &start, 1) != 1) ::_exit(3);
        std::string wins(keys, '0');
        for (int k = 0; k < keys; ++k) {
          const claim_result r = store.claim(prefix + "processed:underlying:P:" + std::to_string(k), 60s);
          if (r.outcome == claim_outcome::claimed) wins[static_cast<std::size_t>(k)] = '1';
        }
        if (::write(results[child][1], wins.data(), wins.size()) != static_cast<ssize_t>(wins.size())) status = 4;
      } catch (...) {
        status = 2;
      }
      ::_exit(status);
    }
    children[child] = pid;
    ::close(results[child][1]);
  }
  ::close(go[0]);
  const std::array<char, 2> start{'g', 'g'};
  ASSERT_EQ(::write(go[1], start.data(), start.size()), 2);  // both at once
  ::close(go[1]);

  std::array<std::string, 2> wins;
  for (std::size_t child = 0; child < 2; ++child) {
    std::array<char, keys> buffer{};
    std::size_t got = 0;
    while (got < buffer.size()) {
      const ssize_t n = ::read(results[child][0], buffer.data() + got, buffer.size() - got);
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    ::close(results[child][0]);
    wins[child].assign(buffer.data(), got);
    int status = -1;
    ASSERT_EQ(::waitpid(children[child], &status, 0), children[child]);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child " << child << " status " << status;
  }
  ASSERT_EQ(wins[0].size(), static_cast<std::size_t>(keys));
  ASSERT_EQ(wins[1].size(), static_cast<std::size_t>(keys));
  int first_child_wins = 0;
  for (std::size_t k = 0; k < static_cast<std::size_t>(keys); ++k) {
    EXPECT_NE(wins[0][k] == '1', wins[1][k] == '1') << "key " << k << ": exactly one winner";
    if (wins[0][k] == '1') ++first_child_wins;
  }
  // Each key is held by the winner's token, written once.
  connection_pool pool{server_options()};
  for (int k = 0; k < keys; ++k) {
    const std::string key = prefix + "processed:underlying:P:" + std::to_string(k);
    EXPECT_TRUE(run(pool, {"GET", key}).text.starts_with("claimed:")) << key;
  }
  RecordProperty("first_child_wins", first_child_wins);
}

// ---- dead letters ----------------------------------------------------------------------------------

dead_letter letter(int n, std::string payload) {
  dead_letter d;
  d.id = std::to_string(n);
  d.kind = message_kind::option_chain;
  d.channel = "market:option_chain";
  d.error = "calls[17].open_interest: negative (-5)";
  d.reason = dead_letter_reason::retries_exhausted;
  d.attempts = n;
  d.first_failed_at = 1'736'937'000'000'000'000 + n;
  d.failed_at = 1'736'937'000'500'000'000 + n;
  d.payload = std::move(payload);
  d.trace_id = "trace-" + std::to_string(n);
  return d;
}

TEST(RedisDeadLetters, ListedTakenOldestFirstAndBytesRoundTrip) {
  OPTARO_REQUIRE_REDIS();
  const std::string key = unique_prefix() + "dlq:enrichment";
  connection_pool pool{server_options()};
  dead_letter_queue queue{pool, key};
  const std::vector<dead_letter> letters{letter(1, R"({"chain_id":"a"})"), letter(2, std::string("\xff\xfe\x00x", 4)),
                                         letter(3, "not json at all")};
  for (const dead_letter& d : letters) queue.push(d);
  EXPECT_EQ(queue.size(), 3U);
  EXPECT_EQ(queue.list(0, 10), letters);
  EXPECT_EQ(queue.list(1, 1), std::vector<dead_letter>{letters[1]});
  EXPECT_TRUE(queue.list(3, 10).empty());
  EXPECT_TRUE(queue.list(0, 0).empty());
  EXPECT_EQ(queue.list(2, std::numeric_limits<std::size_t>::max()), std::vector<dead_letter>{letters[2]});

  const std::vector<dead_letter> taken = queue.take(2);
  ASSERT_EQ(taken.size(), 2U);
  EXPECT_EQ(taken[0], letters[0]);
  EXPECT_EQ(taken[1], letters[1]);  // invalid UTF-8, byte for byte
  EXPECT_EQ(queue.size(), 1U);
  EXPECT_EQ(queue.list(0, 10), std::vector<dead_letter>{letters[2]});
  EXPECT_TRUE(queue.take(0).empty());
  EXPECT_EQ(queue.take(100), std::vector<dead_letter>{letters[2]});
  EXPECT_EQ(queue.size(), 0U);
  EXPECT_TRUE(queue.take(5).empty());
  EXPECT_TRUE(queue.health().ok);
}

TEST(RedisDeadLetters, ARecordThatDoesNotDecodeIsNamedByListAndSetAsideByTake) {
  OPTARO_REQUIRE_REDIS();
  const std::string key = unique_prefix() + "dlq";
  connection_pool pool{server_options()};
  dead_letter_queue queue{pool, key};
  queue.push(letter(1, "a"));
  (void)run(pool, {"RPUSH", key, "{not a record"});
  queue.push(letter(3, "c"));
  try {
    (void)queue.list(0, 10);
    ADD_FAILURE() << "list() accepted a record that does not decode";
  } catch (const command_error& e) {
    EXPECT_NE(std::string(e.what()).find("record 1"), std::string::npos) << e.what();
  }
  EXPECT_EQ(queue.size(), 3U);  // list() changed nothing
  const std::vector<dead_letter> taken = queue.take(10);
  ASSERT_EQ(taken.size(), 2U);
  EXPECT_EQ(taken[0].payload, "a");
  EXPECT_EQ(taken[1].payload, "c");
  EXPECT_EQ(queue.size(), 0U);
  const reply aside = run(pool, {"LRANGE", key + ":undecodable", "0", "-1"});
  ASSERT_EQ(aside.elements.size(), 1U);
  EXPECT_EQ(aside.elements[0].text, "{not a record");
}

// ---- a server restart ------------------------------------------------------------------------------

TEST(RedisPorts, CacheAndPubSubCarryOnAfterTheServerRestarts) {
  OPTARO_REQUIRE_REDIS();
  const std::string prefix = unique_prefix();
  const inbound_names names = prefixed_names(prefix);
  connection_pool pool{server_options()};
  cache store{pool};
  pubsub_sink sink{pool};
  pubsub_source source{server_options(), names};
  const std::vector<cache_write> write{{prefix + "latest", "before", 60s}};
  store.set(write);
  sink.publish(names.underlying, "before");
  ASSERT_EQ(receive_all(source, 1).size(), 1U);

  control_server("stop");
  // During the outage: retryable failures, never anything else.
  EXPECT_THROW(store.set(write), retryable_error);
  std::vector<delivery> out;
  try {
    EXPECT_EQ(source.receive(out, 10, 100ms), 0U);
  } catch (const retryable_error&) {
  }
  EXPECT_FALSE(pool.health().ok);
  control_server("start");

  // The same objects work again (the server lost its data: no persistence).
  const std::vector<cache_write> after{{prefix + "latest", "after", 60s}};
  EXPECT_TRUE(eventually([&] {
    try {
      store.set(after);
      return true;
    } catch (const retryable_error&) {
      return false;
    }
  }));
  EXPECT_EQ(store.get(prefix + "latest"), "after");
  // Pub/sub is at most once: publish until the resubscribed source hears one.
  std::vector<delivery> heard;
  EXPECT_TRUE(eventually([&] {
    try {
      sink.publish(names.underlying, "after");
      source.receive(heard, 10, 50ms);
    } catch (const retryable_error&) {
    }
    return !heard.empty();
  }));
  ASSERT_FALSE(heard.empty());
  EXPECT_EQ(heard.front().payload, "after");
  EXPECT_TRUE(source.health().ok);
  EXPECT_TRUE(pool.health().ok);
}

}  // namespace
}  // namespace optaro::redis

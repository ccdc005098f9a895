// The Redis sinks, cache, idempotency store and dead-letter queue (include/optaro/redis/ports.hpp).
// The two sources live in src/redis/sources.cpp.
#include <optaro/redis/ports.hpp>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "ports_detail.hpp"

namespace optaro::redis {

namespace {

using std::chrono::nanoseconds;

// Shortest text that parses back to the same double (Redis parses scores and our readers parse the
// hash values with strtod): "21500", "0.1834", "inf", "nan".
std::string shortest(double value) {
  std::array<char, 32> buffer{};
  const auto [end, error] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  if (error != std::errc{}) throw std::logic_error("redis cache: cannot format a double");
  return {buffer.data(), end};
}

void require_positive_ttl(nanoseconds ttl, const char* function) {
  if (ttl.count() <= 0) {
    throw std::invalid_argument(std::string(function) + ": ttl must be > 0 (got " + std::to_string(ttl.count()) +
                                " ns)");
  }
}

}  // namespace

// ---- sinks -----------------------------------------------------------------------------------------

void pubsub_sink::publish(std::string_view channel, std::string_view payload) {
  auto c = pool_.acquire();
  c->command({"PUBLISH", channel, payload});
}

void pubsub_sink::publish_many(std::span<const outbound_message> messages) {
  std::vector<std::vector<std::string_view>> commands;
  commands.reserve(messages.size());
  for (const outbound_message& m : messages) commands.push_back({"PUBLISH", m.channel, m.payload});
  auto c = pool_.acquire();
  for (const reply& r : c->pipeline(commands)) detail::checked("redis pubsub_sink", r);
}

port_health pubsub_sink::health() const { return pool_.health(); }

void stream_sink::publish(std::string_view stream, std::string_view payload) {
  auto c = pool_.acquire();
  c->command({"XADD", stream, "MAXLEN", "~", max_length_, "*", "payload", payload});
}

void stream_sink::publish_many(std::span<const outbound_message> messages) {
  std::vector<std::vector<std::string_view>> commands;
  commands.reserve(messages.size());
  for (const outbound_message& m : messages) {
    commands.push_back({"XADD", m.channel, "MAXLEN", "~", max_length_, "*", "payload", m.payload});
  }
  auto c = pool_.acquire();
  for (const reply& r : c->pipeline(commands)) detail::checked("redis stream_sink", r);
}

port_health stream_sink::health() const { return pool_.health(); }

// ---- cache -----------------------------------------------------------------------------------------

void cache::set(std::span<const cache_write> writes) {
  // As in_memory_cache: all writes or none are attempted; a bad TTL is found before anything is sent.
  for (const cache_write& write : writes) require_positive_ttl(write.ttl, "redis cache::set");
  if (writes.empty()) return;
  std::vector<std::string> ttls;
  ttls.reserve(writes.size());
  std::vector<std::vector<std::string_view>> commands;
  commands.reserve(writes.size());
  for (const cache_write& write : writes) ttls.push_back(detail::milliseconds_text(write.ttl));
  for (std::size_t i = 0; i < writes.size(); ++i) {
    commands.push_back({"SET", writes[i].key, writes[i].value, "PX", ttls[i]});
  }
  auto c = pool_.acquire();
  const std::vector<reply> replies = c->pipeline(commands);
  for (const reply& r : replies) detail::checked("redis cache::set", r);
}

std::optional<std::string> cache::get(std::string_view key) {
  auto c = pool_.acquire();
  reply r = detail::call(*c, {"GET", key});
  // in_memory_cache's rule: a key that holds no string (a smile's sorted set) reads as absent.
  if (detail::has_error_code(r, "WRONGTYPE")) return std::nullopt;
  detail::checked("redis cache::get", r);
  if (r.is_nil()) return std::nullopt;
  return std::move(r.text);
}

void cache::replace_smile(std::string_view set_key, std::string_view iv_key, std::span<const smile_point> points,
                          nanoseconds ttl) {
  require_positive_ttl(ttl, "redis cache::replace_smile");
  // A NaN score would fail inside EXEC after the DELs had run (a queued command is checked only for
  // its arity), leaving readers an empty smile: refuse it before anything is sent.
  for (const smile_point& point : points) {
    if (std::isnan(point.strike)) {
      throw std::invalid_argument("redis cache::replace_smile: strike of " + point.member + " is NaN");
    }
  }
  std::vector<std::string> numbers;  // owns the text the commands point into; reserved: never moves
  numbers.reserve(2 * points.size() + 1);
  std::vector<std::string_view> zadd{"ZADD", set_key};
  std::vector<std::string_view> hset{"HSET", iv_key};
  // Highest strike first: a new sorted set starts as a listpack that Redis 7.0 searches from its head
  // for each insert, so descending scores put every insert at the head (measured on 7.0.15, 202
  // members: ZADD 235 -> 116 µs of server time).
  std::vector<const smile_point*> by_strike;
  by_strike.reserve(points.size());
  for (const smile_point& point : points) by_strike.push_back(&point);
  std::stable_sort(by_strike.begin(), by_strike.end(),
                   [](const smile_point* a, const smile_point* b) { return a->strike > b->strike; });
  for (const smile_point* point : by_strike) {
    zadd.emplace_back(numbers.emplace_back(shortest(point->strike)));
    zadd.emplace_back(point->member);
    hset.emplace_back(point->member);
    hset.emplace_back(numbers.emplace_back(shortest(point->iv)));
  }
  const std::string_view ms = numbers.emplace_back(detail::milliseconds_text(ttl));

  // MULTI/EXEC: no other client's command runs between the DELs and the writes, so a reader sees the
  // old smile or the new one. No points: both keys deleted (Redis keeps no empty set), as in memory.
  std::vector<std::vector<std::string_view>> commands{{"MULTI"}, {"DEL", set_key}, {"DEL", iv_key}};
  if (!points.empty()) {
    commands.push_back(std::move(zadd));
    commands.push_back(std::move(hset));
    commands.push_back({"PEXPIRE", set_key, ms});
    commands.push_back({"PEXPIRE", iv_key, ms});
  }
  commands.push_back({"EXEC"});
  auto c = pool_.acquire();
  const std::vector<reply> replies = c->pipeline(commands);
  if (replies.size() != commands.size()) throw command_error("redis cache::replace_smile: reply count mismatch");
  // A command refused while queueing makes EXEC fail with EXECABORT: report the refused one.
  for (std::size_t i = 0; i + 1 < replies.size(); ++i) detail::checked("redis cache::replace_smile", replies[i]);
  const reply& exec = detail::checked("redis cache::replace_smile: EXEC", replies.back());
  if (exec.is_nil()) throw retryable_error("redis cache::replace_smile: transaction aborted");
  for (const reply& r : exec.elements) detail::checked("redis cache::replace_smile", r);
}

port_health cache::health() const { return pool_.health(); }

// ---- idempotency store -----------------------------------------------------------------------------

namespace {

// Each script takes many keys at once (one call per batch instead of one per message: a script call
// costs the server more than the few commands it runs): KEYS are claim keys, ARGV[i] belongs to
// KEYS[i] ("claimed:<token>"), and the last ARGV, where there is one, is a time in ms. Each returns one
// integer per key. The keys of a call must be on one server (no Redis Cluster).

// 1 claimed (for the lease), 2 already done, 0 held by a live claim.
constexpr std::string_view claim_script = R"lua(
local ms = ARGV[#KEYS + 1]
local out = {}
for i, key in ipairs(KEYS) do
  local v = redis.call('GET', key)
  if not v then
    redis.call('SET', key, ARGV[i], 'PX', ms)
    out[i] = 1
  elseif v == 'done' then
    out[i] = 2
  else
    out[i] = 0
  end
end
return out
)lua";

// 1 completed (done for the ttl), 0 not the holder's claim.
constexpr std::string_view complete_script = R"lua(
local ms = ARGV[#KEYS + 1]
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i] then
    redis.call('SET', key, 'done', 'PX', ms)
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
)lua";

// 1 released, 0 not the holder's claim.
constexpr std::string_view release_script = R"lua(
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i] then
    redis.call('DEL', key)
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
)lua";

// Keys per script call: a script blocks the server while it runs, so a huge batch is cut in pieces
// (pipelined: still one round trip).
constexpr std::size_t keys_per_call = 256;

std::string claim_value(claim_token token) { return "claimed:" + std::to_string(token.value); }

void require_key(std::string_view key, const char* function) {
  if (key.empty()) throw std::invalid_argument(std::string("redis idempotency_store::") + function + ": key is empty");
}

void require_positive(nanoseconds span, const char* function, const char* name) {
  if (span.count() <= 0) {
    throw std::invalid_argument(std::string("redis idempotency_store::") + function + ": " + name +
                                " must be > 0 (got " + std::to_string(span.count()) + " ns)");
  }
}

}  // namespace

// Scripts run with EVALSHA, the SHA1 learned from SCRIPT LOAD on first use; a NOSCRIPT reply (a
// restarted or flushed server, a failover to a replica that never saw the script) falls back to EVAL,
// which also puts the script back into the server's cache. Always EVAL would be simpler but sends the
// script's text with every claim, on the engine's hot path (three scripts, one per message).
struct idempotency_store::impl {
  struct script {
    std::string_view text;
    std::string sha;  // empty until loaded; guarded by impl::mutex
  };

  connection_pool& pool;
  std::mutex mutex;  // the token generator and the SHA1s
  std::mt19937_64 generator;
  std::uint64_t seed = 0;
  bool seed_given = false;
  pid_t seeded_in = 0;
  std::array<script, 3> scripts{script{claim_script, {}}, script{complete_script, {}}, script{release_script, {}}};

  impl(connection_pool& p, std::uint64_t token_seed) : pool(p), seed(token_seed), seed_given(token_seed != 0) {
    reseed();
  }

  // A generator copied into a forked child would hand out its parent's tokens: tokens must differ
  // between processes, so a store used across fork() reseeds itself in the child (unless the seed was
  // fixed by the caller, who then asked for reproducible tokens).
  void reseed() {
    seeded_in = ::getpid();
    std::uint64_t s = seed;
    if (!seed_given) {
      std::random_device device;
      s = (std::uint64_t{device()} << 32) ^ std::uint64_t{device()} ^
          (static_cast<std::uint64_t>(seeded_in) << 16) ^
          static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    }
    std::seed_seq sequence{s, s >> 32};
    generator.seed(sequence);
  }

  claim_token new_token() {
    const std::scoped_lock lock{mutex};
    if (!seed_given && ::getpid() != seeded_in) reseed();
    std::uint64_t value = 0;
    while (value == 0) value = generator();
    return claim_token{value};
  }

  // Runs scripts[which] on keys[i] with values[i] (and `time_ms` last, when not empty), in pieces of
  // keys_per_call pipelined: one round trip. Returns the script's integer for each key. A piece answered
  // NOSCRIPT did not run: it is sent again with EVAL, which also reloads the script.
  std::vector<std::int64_t> run(std::size_t which, std::span<const std::string_view> keys,
                                std::span<const std::string> values, std::string_view time_ms) {
    script& s = scripts.at(which);
    auto c = pool.acquire();
    std::string sha;
    {
      const std::scoped_lock lock{mutex};
      sha = s.sha;
    }
    if (sha.empty()) {
      const reply loaded = detail::call(*c, {"SCRIPT", "LOAD", s.text});
      detail::checked("redis idempotency_store: SCRIPT LOAD", loaded);
      sha = loaded.text;
      const std::scoped_lock lock{mutex};
      s.sha = sha;
    }
    std::vector<std::string> counts;
    for (std::size_t from = 0; from < keys.size(); from += keys_per_call) {
      counts.push_back(std::to_string(std::min(keys_per_call, keys.size() - from)));
    }
    const auto commands_for = [&](std::string_view verb, std::string_view body, std::span<const std::size_t> pieces) {
      std::vector<std::vector<std::string_view>> commands;
      for (const std::size_t piece : pieces) {
        const std::size_t from = piece * keys_per_call;
        const std::size_t to = std::min(keys.size(), from + keys_per_call);
        std::vector<std::string_view> args{verb, body, counts[piece]};
        args.insert(args.end(), keys.begin() + static_cast<std::ptrdiff_t>(from), keys.begin() + static_cast<std::ptrdiff_t>(to));
        args.insert(args.end(), values.begin() + static_cast<std::ptrdiff_t>(from), values.begin() + static_cast<std::ptrdiff_t>(to));
        if (!time_ms.empty()) args.push_back(time_ms);
        commands.push_back(std::move(args));
      }
      return commands;
    };
    std::vector<std::size_t> pieces(counts.size());
    for (std::size_t i = 0; i < pieces.size(); ++i) pieces[i] = i;
    std::vector<reply> replies = c->pipeline(commands_for("EVALSHA", sha, pieces));
    std::vector<std::size_t> unloaded;
    for (std::size_t i = 0; i < replies.size(); ++i) {
      if (detail::has_error_code(replies[i], "NOSCRIPT")) unloaded.push_back(i);
    }
    if (!unloaded.empty()) {
      std::vector<reply> again = c->pipeline(commands_for("EVAL", s.text, unloaded));
      for (std::size_t j = 0; j < unloaded.size(); ++j) replies[unloaded[j]] = std::move(again[j]);
    }
    std::vector<std::int64_t> results;
    results.reserve(keys.size());
    for (std::size_t piece = 0; piece < replies.size(); ++piece) {
      const reply& r = replies[piece];
      detail::checked("redis idempotency_store", r);
      const std::size_t expected = std::min(keys_per_call, keys.size() - piece * keys_per_call);
      if (r.kind != reply::type::array || r.elements.size() != expected) {
        throw command_error("redis idempotency_store: the script returned no array of " + std::to_string(expected));
      }
      for (const reply& e : r.elements) {
        if (e.kind != reply::type::integer) throw command_error("redis idempotency_store: the script returned no integer");
        results.push_back(e.integer);
      }
    }
    return results;
  }
};

idempotency_store::idempotency_store(connection_pool& pool, std::uint64_t token_seed)
    : impl_(std::make_unique<impl>(pool, token_seed)) {}

idempotency_store::~idempotency_store() = default;

namespace {

claim_result claim_from_script(std::int64_t result, claim_token token) {
  switch (result) {
    case 1: return claim_result{claim_outcome::claimed, token, false};
    case 2: return claim_result{claim_outcome::already_done, {}, false};
    default: return claim_result{claim_outcome::in_flight, {}, false};
  }
}

}  // namespace

claim_result idempotency_store::claim(std::string_view key, nanoseconds lease) {
  return claim_many(std::span{&key, 1}, lease).front();
}

std::vector<claim_result> idempotency_store::claim_many(std::span<const std::string_view> keys, nanoseconds lease) {
  for (const std::string_view key : keys) require_key(key, "claim");
  require_positive(lease, "claim", "lease");
  if (keys.empty()) return {};
  const std::string ms = detail::milliseconds_text(lease);
  std::vector<claim_token> tokens;
  std::vector<std::string> values;
  tokens.reserve(keys.size());
  values.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    tokens.push_back(impl_->new_token());
    values.push_back(claim_value(tokens.back()));
  }
  const std::vector<std::int64_t> results = impl_->run(0, keys, values, ms);
  std::vector<claim_result> claims;
  claims.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) claims.push_back(claim_from_script(results[i], tokens[i]));
  return claims;
}

bool idempotency_store::complete(std::string_view key, claim_token token, nanoseconds ttl) {
  const held_claim claim{key, token};
  return complete_many(std::span{&claim, 1}, ttl).front();
}

std::vector<bool> idempotency_store::complete_many(std::span<const held_claim> claims, nanoseconds ttl) {
  for (const held_claim& claim : claims) require_key(claim.key, "complete");
  require_positive(ttl, "complete", "ttl");
  const std::string ms = detail::milliseconds_text(ttl);
  std::vector<bool> completed(claims.size(), false);
  std::vector<std::size_t> held;  // zero is "no claim": it holds nothing, and is not sent
  std::vector<std::string_view> keys;
  std::vector<std::string> values;
  for (std::size_t i = 0; i < claims.size(); ++i) {
    if (claims[i].token == claim_token{}) continue;
    held.push_back(i);
    keys.push_back(claims[i].key);
    values.push_back(claim_value(claims[i].token));
  }
  if (held.empty()) return completed;
  const std::vector<std::int64_t> results = impl_->run(1, keys, values, ms);
  for (std::size_t j = 0; j < held.size(); ++j) completed[held[j]] = results[j] == 1;
  return completed;
}

bool idempotency_store::release(std::string_view key, claim_token token) {
  require_key(key, "release");
  if (token == claim_token{}) return false;
  const std::string value = claim_value(token);
  return impl_->run(2, std::span{&key, 1}, std::span{&value, 1}, {}).front() == 1;
}

// ---- dead-letter queue -----------------------------------------------------------------------------

namespace {

// LRANGE/LPOP take signed 64-bit indexes and counts.
constexpr std::size_t max_index = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());

}  // namespace

void dead_letter_queue::push(const dead_letter& letter) {
  const std::string record = encode_dead_letter(letter);
  auto c = pool_.acquire();
  c->command({"RPUSH", key_, record});
}

// A record that does not decode (written by something else, or by a newer version) makes list() throw
// command_error naming the key, the index and the field: list() changes nothing, so the operator can
// look at the record, and skipping it would hide it from the one tool meant to show it.
std::vector<dead_letter> dead_letter_queue::list(std::size_t offset, std::size_t count) const {
  if (count == 0 || offset > max_index) return {};
  const std::size_t last = count - 1 > max_index - offset ? max_index : offset + count - 1;
  const std::string start = std::to_string(offset);
  const std::string stop = std::to_string(last);
  reply r;
  {
    auto c = pool_.acquire();
    r = c->command({"LRANGE", key_, start, stop});
  }
  std::vector<dead_letter> letters;
  letters.reserve(r.elements.size());
  for (std::size_t i = 0; i < r.elements.size(); ++i) {
    auto decoded = decode_dead_letter(r.elements[i].text);
    if (!decoded) {
      throw command_error("redis dead_letter_queue " + key_ + ": record " + std::to_string(offset + i) + ": " +
                          decoded.error.message());
    }
    letters.push_back(std::move(*decoded.value));
  }
  return letters;
}

std::size_t dead_letter_queue::size() const {
  auto c = pool_.acquire();
  const reply r = c->command({"LLEN", key_});
  return r.integer > 0 ? static_cast<std::size_t>(r.integer) : 0;
}

// LPOP with a count (Redis >= 6.2) removes the oldest records in one atomic step, so two replaying
// processes never take the same record. A record that does not decode cannot be replayed but must not
// be lost either, nor block the replay of those behind it: it is moved, as it is, to the list
// "<key>:undecodable" and the others are returned.
std::vector<dead_letter> dead_letter_queue::take(std::size_t count) {
  if (count == 0) return {};
  const std::string n = std::to_string(std::min(count, max_index));
  auto c = pool_.acquire();
  const reply r = c->command({"LPOP", key_, n});
  std::vector<dead_letter> letters;
  letters.reserve(r.elements.size());
  std::vector<std::string_view> undecodable{"RPUSH"};
  const std::string side_key = key_ + ":undecodable";
  undecodable.emplace_back(side_key);
  for (const reply& record : r.elements) {
    auto decoded = decode_dead_letter(record.text);
    if (decoded) {
      letters.push_back(std::move(*decoded.value));
    } else {
      undecodable.emplace_back(record.text);
    }
  }
  if (undecodable.size() > 2) c->command(undecodable);
  return letters;
}

port_health dead_letter_queue::health() const { return pool_.health(); }

}  // namespace optaro::redis

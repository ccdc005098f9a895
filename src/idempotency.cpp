// The in-memory idempotency store (include/optaro/idempotency.hpp).
#include <algorithm>
#include <functional>
#include <limits>
#include <mutex>
#include <random>
#include <stdexcept>
#include <unordered_map>

#include <optaro/idempotency.hpp>

namespace optaro {

namespace {

using std::chrono::nanoseconds;
using time_point = clock::time_point;

// Lookups by string_view without building a std::string (C++20 heterogeneous lookup).
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const noexcept { return std::hash<std::string_view>{}(text); }
};

enum class entry_state : std::uint8_t { in_flight, done };

struct entry {
  entry_state state = entry_state::in_flight;
  claim_token token{};
  time_point expires_at{};  // end of the lease (in flight) or of the ttl (done)
};

bool is_live(const entry& e, time_point now) { return now < e.expires_at; }

// now + span, saturating: a lease of nanoseconds::max() means "until the end of time", not overflow.
time_point later_by(time_point now, nanoseconds span) {
  const auto room = time_point::max() - now;
  return span >= room ? time_point::max() : now + span;
}

std::size_t checked_shard_count(std::size_t shards) {
  if (shards == 0) throw std::invalid_argument("in_memory_idempotency_store: shards must be >= 1");
  return shards;
}

void require_key(std::string_view key, const char* function) {
  if (key.empty()) throw std::invalid_argument(std::string(function) + ": key is empty");
}

void require_positive(nanoseconds span, const char* function, const char* name) {
  if (span.count() <= 0) {
    throw std::invalid_argument(std::string(function) + ": " + name + " must be > 0 (got " +
                                std::to_string(span.count()) + " ns)");
  }
}

}  // namespace

// NOLINTNEXTLINE(cert-msc32-c,cert-msc51-cpp): the token generator is seeded by the store's constructor.
struct in_memory_idempotency_store::shard {
  std::mutex mutex;
  std::unordered_map<std::string, entry, string_hash, std::equal_to<>> entries;
  std::mt19937_64 token_generator;  // reseeded by the store's constructor, one stream per shard
  std::size_t sweep_cursor = 0;  // the next bucket sweep_step examines

  claim_token new_token() {
    std::uint64_t value = 0;
    while (value == 0) value = token_generator();
    return claim_token{value};
  }

  std::size_t sweep(time_point now) {
    return std::erase_if(entries, [now](const auto& key_and_entry) { return !is_live(key_and_entry.second, now); });
  }

  // Every operation examines the next few buckets of the shard and drops their expired entries: a pass
  // over the whole shard every bucket_count / buckets_per_operation operations. With the map's load
  // factor at most 1 (at most about 2 buckets per entry after a rehash) and two operations per message
  // (claim, complete), an expired key stays at most about a third of the TTL of the keys around it, so
  // a shard under a steady load holds at most about 1.3 times its live keys, and no operation pays for
  // a pass over the shard. (The full sweep it replaces, once per as many operations as entries, let a
  // shard reach twice its live keys, and at a million keys held the workers for most of a second.)
  void sweep_step(time_point now) {
    constexpr std::size_t buckets_per_operation = 4;
    for (std::size_t i = 0; i < buckets_per_operation && !entries.empty(); ++i) {
      if (sweep_cursor >= entries.bucket_count()) sweep_cursor = 0;
      for (auto it = entries.begin(sweep_cursor); it != entries.end(sweep_cursor);) {
        if (is_live(it->second, now)) {
          ++it;
          continue;
        }
        entries.erase(entries.find(it->first));  // erase never rehashes: the bucket stays where it is
        it = entries.begin(sweep_cursor);        // a bucket holds about one entry: start it again
      }
      ++sweep_cursor;
    }
  }
};

std::string_view to_string(claim_outcome outcome) noexcept {
  switch (outcome) {
    case claim_outcome::claimed: return "claimed";
    case claim_outcome::already_done: return "already_done";
    case claim_outcome::in_flight: return "in_flight";
  }
  return "unknown";
}

std::vector<claim_result> idempotency_store::claim_many(std::span<const std::string_view> keys,
                                                        std::chrono::nanoseconds lease) {
  std::vector<claim_result> results;
  results.reserve(keys.size());
  for (const std::string_view key : keys) results.push_back(claim(key, lease));
  return results;
}

std::vector<bool> idempotency_store::complete_many(std::span<const held_claim> claims, std::chrono::nanoseconds ttl) {
  std::vector<bool> results;
  results.reserve(claims.size());
  for (const held_claim& c : claims) results.push_back(complete(c.key, c.token, ttl));
  return results;
}

std::string idempotency_key(std::string_view kind, std::string_view product, std::string_view id) {
  if (kind.empty()) throw std::invalid_argument("idempotency_key: kind is empty");
  if (product.empty()) throw std::invalid_argument("idempotency_key: product is empty");
  if (id.empty()) throw std::invalid_argument("idempotency_key: id is empty");
  constexpr std::string_view prefix = "processed:";
  std::string key;
  key.reserve(prefix.size() + kind.size() + 1 + product.size() + 1 + id.size());
  key.append(prefix).append(kind).append(":").append(product).append(":").append(id);
  return key;
}

in_memory_idempotency_store::in_memory_idempotency_store(const clock& time)
    : in_memory_idempotency_store(time, options{}) {}

in_memory_idempotency_store::in_memory_idempotency_store(const clock& time, options settings)
    : clock_{time}, shards_(checked_shard_count(settings.shards)) {
  const std::uint64_t seed =
      settings.token_seed != 0 ? settings.token_seed
                               : (std::uint64_t{std::random_device{}()} << 32) ^ std::uint64_t{std::random_device{}()};
  // Distinct streams per shard, so that two shards never hand out the same token sequence.
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    std::seed_seq streams{seed, seed >> 32, std::uint64_t{i}};
    shards_[i].token_generator.seed(streams);
  }
}

in_memory_idempotency_store::~in_memory_idempotency_store() = default;

in_memory_idempotency_store::shard& in_memory_idempotency_store::shard_for(std::string_view key) const {
  return shards_[string_hash{}(key) % shards_.size()];
}

claim_result in_memory_idempotency_store::claim(std::string_view key, nanoseconds lease) {
  require_key(key, "claim");
  require_positive(lease, "claim", "lease");
  shard& s = shard_for(key);
  const std::scoped_lock lock{s.mutex};
  const time_point now = clock_.now();

  auto found = s.entries.find(key);
  if (found != s.entries.end() && is_live(found->second, now)) {
    return claim_result{
        found->second.state == entry_state::done ? claim_outcome::already_done : claim_outcome::in_flight,
        claim_token{}, false};
  }
  // Absent, or expired: a lapsed lease is taken over (its holder crashed or stalled); a lapsed
  // completion is forgotten, as a Redis key with a TTL would be.
  const bool took_over = found != s.entries.end() && found->second.state == entry_state::in_flight;
  const entry claimed{entry_state::in_flight, s.new_token(), later_by(now, lease)};
  if (found != s.entries.end()) {
    found->second = claimed;
  } else {
    s.entries.emplace(std::string(key), claimed);
  }
  // After the lookup, so that a sweep cannot hide the lapsed lease this claim took over.
  s.sweep_step(now);
  return claim_result{claim_outcome::claimed, claimed.token, took_over};
}

bool in_memory_idempotency_store::complete(std::string_view key, claim_token token, nanoseconds ttl) {
  require_key(key, "complete");
  require_positive(ttl, "complete", "ttl");
  shard& s = shard_for(key);
  const std::scoped_lock lock{s.mutex};
  const time_point now = clock_.now();
  s.sweep_step(now);

  auto found = s.entries.find(key);
  if (found == s.entries.end()) return false;
  entry& e = found->second;
  if (e.state != entry_state::in_flight || e.token != token || token == claim_token{} || !is_live(e, now)) {
    return false;
  }
  e.state = entry_state::done;
  e.expires_at = later_by(now, ttl);
  return true;
}

bool in_memory_idempotency_store::release(std::string_view key, claim_token token) {
  require_key(key, "release");
  shard& s = shard_for(key);
  const std::scoped_lock lock{s.mutex};
  const time_point now = clock_.now();
  s.sweep_step(now);

  auto found = s.entries.find(key);
  if (found == s.entries.end()) return false;
  const entry& e = found->second;
  if (e.state != entry_state::in_flight || e.token != token || token == claim_token{} || !is_live(e, now)) {
    return false;
  }
  s.entries.erase(found);
  return true;
}

std::size_t in_memory_idempotency_store::purge_expired() {
  std::size_t purged = 0;
  for (shard& s : shards_) {
    const std::scoped_lock lock{s.mutex};
    purged += s.sweep(clock_.now());
  }
  return purged;
}

std::size_t in_memory_idempotency_store::size() const {
  std::size_t held = 0;
  for (shard& s : shards_) {
    const std::scoped_lock lock{s.mutex};
    held += s.entries.size();
  }
  return held;
}

}  // namespace optaro

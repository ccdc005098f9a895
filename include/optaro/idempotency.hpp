#pragma once
// The IdempotencyStore port (ARCHITECTURE.md) and its in-memory implementation.
//
// The original design checked a key (EXISTS), processed, then marked it (SETEX): two workers could
// both see "not processed" and both process. Here the check and the mark are one atomic claim. A
// claim holds a lease; a worker that crashes after claiming simply lets it expire and another worker
// takes the message over, so a crash never loses a message. Only the holder of a claim (its token)
// can complete or release it, so a worker whose lease lapsed cannot overwrite the new holder.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <optaro/clock.hpp>

namespace optaro {

/// Proof of holding a claim: random and never zero (zero means "no claim").
struct claim_token {
  std::uint64_t value = 0;
  friend bool operator==(claim_token, claim_token) = default;
};

enum class claim_outcome : std::uint8_t {
  claimed,       ///< this caller holds the key now and must complete or release it
  already_done,  ///< completed earlier and not yet expired: skip the message (a duplicate)
  in_flight,     ///< another holder's lease is live: do not process now (retry later)
};

[[nodiscard]] std::string_view to_string(claim_outcome outcome) noexcept;

struct claim_result {
  claim_outcome outcome = claim_outcome::in_flight;
  claim_token token{};                   ///< set when outcome is claimed, zero otherwise
  bool took_over_expired_lease = false;  ///< claimed from a holder whose lease lapsed (crash or stall)
};

/// A key and the token of its claim.
struct held_claim {
  std::string_view key;
  claim_token token;
};

/// The port. Implementations are safe to use from many threads (and, for shared stores such as
/// Redis, from many processes). Keys are the MESSAGES.md `processed:{kind}:{p}:{id}` strings.
/// A claim is live while now < claimed_at + lease; a completed key while now < completed_at + ttl.
/// Every implementation follows the same contract, so that one set of tests can check them all:
/// complete and release succeed only for the current, live holder and otherwise change nothing.
class idempotency_store {
 public:
  idempotency_store() = default;
  idempotency_store(const idempotency_store&) = delete;
  idempotency_store& operator=(const idempotency_store&) = delete;
  idempotency_store(idempotency_store&&) = delete;
  idempotency_store& operator=(idempotency_store&&) = delete;
  virtual ~idempotency_store() = default;

  /// Atomically: claims `key` for `lease` unless it is done or held by a live lease.
  /// std::invalid_argument for an empty key or a lease <= 0.
  [[nodiscard]] virtual claim_result claim(std::string_view key, std::chrono::nanoseconds lease) = 0;

  /// Marks a claimed key done for `ttl`. False (and no change) when `token` is not the live holder's:
  /// the lease lapsed and another worker may have taken over. std::invalid_argument for ttl <= 0.
  [[nodiscard]] virtual bool complete(std::string_view key, claim_token token, std::chrono::nanoseconds ttl) = 0;

  /// Gives a claim back after a failed attempt, so that a retry can claim it at once. False (and no
  /// change) when `token` is not the live holder's.
  virtual bool release(std::string_view key, claim_token token) = 0;

  /// claim() of many keys, results in key order (one round trip where the store allows; each claim is
  /// still atomic on its own). By default one by one. On a failure, claims made before it stay held
  /// until their lease runs out.
  [[nodiscard]] virtual std::vector<claim_result> claim_many(std::span<const std::string_view> keys,
                                                             std::chrono::nanoseconds lease);
  /// complete() of many claims, results in order; by default one by one.
  [[nodiscard]] virtual std::vector<bool> complete_many(std::span<const held_claim> claims, std::chrono::nanoseconds ttl);
};

/// The MESSAGES.md key `processed:{kind}:{product}:{id}`. std::invalid_argument for an empty part.
[[nodiscard]] std::string idempotency_key(std::string_view kind, std::string_view product, std::string_view id);

/// In-process idempotency store: a hash map split into shards, each behind its own mutex, so that
/// workers claiming different keys rarely wait for each other. Leases and TTLs are read from the
/// injected clock. Expired entries are purged by the operations themselves: each operation examines
/// the next few buckets of its shard (O(1), no pauses), so a shard is swept once every few operations
/// per bucket and, under a steady load, holds at most about 1.3 times its live keys. A store that
/// receives no more operations keeps its expired entries until purge_expired().
class in_memory_idempotency_store final : public idempotency_store {
 public:
  struct options {
    std::size_t shards = 16;  ///< >= 1; more shards, less contention between threads
    /// Seed of the token generators; 0 draws one from std::random_device. Tests fix it.
    std::uint64_t token_seed = 0;
  };

  /// `time` must outlive the store.
  explicit in_memory_idempotency_store(const clock& time);
  in_memory_idempotency_store(const clock& time, options settings);
  in_memory_idempotency_store(const in_memory_idempotency_store&) = delete;
  in_memory_idempotency_store& operator=(const in_memory_idempotency_store&) = delete;
  in_memory_idempotency_store(in_memory_idempotency_store&&) = delete;
  in_memory_idempotency_store& operator=(in_memory_idempotency_store&&) = delete;
  ~in_memory_idempotency_store() override;

  [[nodiscard]] claim_result claim(std::string_view key, std::chrono::nanoseconds lease) override;
  [[nodiscard]] bool complete(std::string_view key, claim_token token, std::chrono::nanoseconds ttl) override;
  bool release(std::string_view key, claim_token token) override;

  /// Drops every expired entry now; returns how many.
  std::size_t purge_expired();
  /// Entries held, live or expired but not yet purged (for tests and a memory gauge).
  [[nodiscard]] std::size_t size() const;

 private:
  struct shard;
  [[nodiscard]] shard& shard_for(std::string_view key) const;

  const clock& clock_;
  // Sized once by the constructor and never resized: a shard holds a mutex and cannot move.
  // Mutable because size() must lock a shard's mutex too.
  mutable std::vector<shard> shards_;
};

}  // namespace optaro

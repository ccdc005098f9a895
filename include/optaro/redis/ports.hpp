#pragma once
// The engine's ports over Redis (names and formats: MESSAGES.md). Each is thread-safe: commands go
// through a connection_pool (one connection per concurrent thread); a subscriber or consumer holds
// a connection of its own.
//
// Delivery: pub/sub is at most once (a message published while no subscriber is connected, or while
// one reconnects, is gone). Streams with a consumer group are at least once: an entry is acknowledged
// (XACK) only when the engine acknowledges it, after the store write; entries a crashed consumer left
// pending are claimed by another after `claim_idle` (XAUTOCLAIM), and an entry delivered more than
// `max_deliveries` times is dead-lettered and acknowledged.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <optaro/idempotency.hpp>
#include <optaro/ports.hpp>
#include <optaro/redis/connection.hpp>

namespace optaro::redis {

/// Where each inbound kind arrives: a pub/sub channel or a stream key (default: the same names).
struct inbound_names {
  std::string underlying = "market:underlying";
  std::string option_quote = "market:option_quote";
  std::string option_chain = "market:option_chain";
};

/// SUBSCRIBE to the three inbound channels; reconnects and resubscribes after an error.
class pubsub_source final : public message_source {
 public:
  explicit pubsub_source(connection_options options, inbound_names names = {});
  ~pubsub_source() override;
  std::size_t receive(std::vector<delivery>& out, std::size_t max, std::chrono::milliseconds timeout) override;
  void acknowledge(const delivery& handled) override;  ///< nothing to do: pub/sub has no acknowledgement
  void close() override;
  [[nodiscard]] port_health health() const override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// PUBLISH channel payload.
class pubsub_sink final : public message_sink {
 public:
  explicit pubsub_sink(connection_pool& pool) : pool_(pool) {}
  void publish(std::string_view channel, std::string_view payload) override;
  /// PUBLISHes pipelined: one round trip.
  void publish_many(std::span<const outbound_message> messages) override;
  [[nodiscard]] bool publishes_batches() const noexcept override { return true; }
  [[nodiscard]] port_health health() const override;

 private:
  connection_pool& pool_;
};

struct stream_options {
  inbound_names streams;               ///< stream keys
  std::string group = "enrichers";     ///< created with MKSTREAM when missing
  std::string consumer;                ///< this consumer's name; empty: "<hostname>-<pid>-<random>"
  std::chrono::milliseconds claim_idle{30'000};  ///< pending longer than this: taken over
  int max_deliveries = 5;              ///< delivered more often than this: dead-lettered
  std::size_t claim_batch = 100;       ///< XAUTOCLAIM COUNT
};

/// XREADGROUP from the three streams (field "payload" of each entry); XACK on acknowledge; XAUTOCLAIM of
/// abandoned entries; entries past max_deliveries go to `dead_letters` (reason retries_exhausted).
class stream_source final : public message_source {
 public:
  stream_source(connection_options options, stream_options settings, dead_letter_queue& dead_letters);
  ~stream_source() override;
  std::size_t receive(std::vector<delivery>& out, std::size_t max, std::chrono::milliseconds timeout) override;
  void acknowledge(const delivery& handled) override;
  /// One XACK per stream with every id of the batch: one round trip.
  void acknowledge_many(std::span<const delivery* const> handled) override;
  void close() override;
  [[nodiscard]] port_health health() const override;
  [[nodiscard]] const std::string& consumer() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// XADD key MAXLEN ~ n * payload <payload>: a producer's side of stream_source (the feed generator's).
class stream_sink final : public message_sink {
 public:
  explicit stream_sink(connection_pool& pool, std::size_t max_length = 1'000'000)
      : pool_(pool), max_length_(std::to_string(max_length)) {}
  void publish(std::string_view stream, std::string_view payload) override;
  /// XADDs pipelined: one round trip.
  void publish_many(std::span<const outbound_message> messages) override;
  [[nodiscard]] bool publishes_batches() const noexcept override { return true; }
  [[nodiscard]] port_health health() const override;

 private:
  connection_pool& pool_;
  std::string max_length_;
};

/// SET key value PX ttl, pipelined; the smile as ZADD + HSET + PEXPIRE in MULTI/EXEC.
class cache final : public optaro::cache {
 public:
  explicit cache(connection_pool& pool) : pool_(pool) {}
  void set(std::span<const cache_write> writes) override;
  [[nodiscard]] std::optional<std::string> get(std::string_view key) override;
  void replace_smile(std::string_view set_key, std::string_view iv_key, std::span<const smile_point> points,
                     std::chrono::nanoseconds ttl) override;
  [[nodiscard]] port_health health() const override;

 private:
  connection_pool& pool_;
};

/// Claims as keys holding "claimed:<token>" (PX lease) or "done" (PX ttl), changed by Lua scripts that
/// check the token, so that a worker whose lease lapsed cannot complete or release another's claim.
/// took_over_expired_lease is always false: Redis expires the key, so a lapsed claim looks like none.
class idempotency_store final : public optaro::idempotency_store {
 public:
  explicit idempotency_store(connection_pool& pool, std::uint64_t token_seed = 0);
  ~idempotency_store() override;
  [[nodiscard]] claim_result claim(std::string_view key, std::chrono::nanoseconds lease) override;
  [[nodiscard]] bool complete(std::string_view key, claim_token token, std::chrono::nanoseconds ttl) override;
  bool release(std::string_view key, claim_token token) override;
  /// The claim script for every key, pipelined: one round trip.
  [[nodiscard]] std::vector<claim_result> claim_many(std::span<const std::string_view> keys,
                                                     std::chrono::nanoseconds lease) override;
  /// The completion script for every claim, pipelined: one round trip.
  [[nodiscard]] std::vector<bool> complete_many(std::span<const held_claim> claims,
                                                std::chrono::nanoseconds ttl) override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// RPUSH of encode_dead_letter records to a list (default dlq:enrichment); take() pops the oldest.
class dead_letter_queue final : public optaro::dead_letter_queue {
 public:
  explicit dead_letter_queue(connection_pool& pool, std::string key = "dlq:enrichment")
      : pool_(pool), key_(std::move(key)) {}
  void push(const dead_letter& letter) override;
  [[nodiscard]] std::vector<dead_letter> list(std::size_t offset, std::size_t count) const override;
  [[nodiscard]] std::size_t size() const override;
  [[nodiscard]] std::vector<dead_letter> take(std::size_t count) override;
  [[nodiscard]] port_health health() const override;

 private:
  connection_pool& pool_;
  std::string key_;
};

}  // namespace optaro::redis

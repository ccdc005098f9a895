#pragma once
// The enrichment engine's ports (ARCHITECTURE.md): every external system the engine talks to sits
// behind one of these interfaces, so that the engine runs embedded on the in-memory implementations
// (<optaro/memory_ports.hpp>) and the Redis and MongoDB adapters implement nothing but ports.
//
// Failures. A port reports a failure that may succeed later (a server unavailable, a timeout) by
// throwing optaro::retryable_error; the engine then retries with its retry_policy. Any other exception
// from a port is permanent for that message: it is dead-lettered at once. Ports are used from several
// worker threads at a time and must be thread-safe.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <optaro/codec.hpp>
#include <optaro/market.hpp>

namespace optaro {

/// The three inbound messages (MESSAGES.md).
enum class message_kind : std::uint8_t { underlying, option_quote, option_chain };

/// "underlying", "option_quote", "option_chain": the suffix of the market:* and enriched:* channels.
[[nodiscard]] std::string_view to_string(message_kind kind) noexcept;
/// The inverse of to_string; nullopt for any other text.
[[nodiscard]] std::optional<message_kind> parse_message_kind(std::string_view name) noexcept;

/// A failure that may go away: the engine retries the message with its policy's backoff.
class retryable_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What a port says about itself for the engine's health summary.
struct port_health {
  bool ok = true;
  std::string detail;  ///< why not ok (never a password); may say something when ok, too
};

// ---- bus -------------------------------------------------------------------------------------------

/// One inbound message as a source delivered it.
struct delivery {
  message_kind kind = message_kind::underlying;
  std::string channel;  ///< where it came from, e.g. "market:option_chain"
  std::string payload;  ///< the message, byte for byte as received
  /// The source's handle for acknowledge (a stream entry id, a sequence number); empty when the
  /// source does not need acknowledgements (pub/sub).
  std::string receipt;
};

/// Where inbound messages come from (a bus subscription, a stream consumer group, a replay).
class message_source {
 public:
  message_source() = default;
  message_source(const message_source&) = delete;
  message_source& operator=(const message_source&) = delete;
  message_source(message_source&&) = delete;
  message_source& operator=(message_source&&) = delete;
  virtual ~message_source() = default;

  /// Appends up to `max` deliveries to `out`, waiting at most `timeout` (real time) for the first;
  /// returns how many were appended. Returns 0 at once after close().
  virtual std::size_t receive(std::vector<delivery>& out, std::size_t max, std::chrono::milliseconds timeout) = 0;
  /// Called once a delivery is fully handled: written to the store (or found to be a duplicate, or
  /// dead-lettered). A source with at-least-once delivery redelivers what is never acknowledged.
  virtual void acknowledge(const delivery& handled) = 0;
  /// acknowledge() of many deliveries (one round trip where the source allows); by default one by one.
  virtual void acknowledge_many(std::span<const delivery* const> handled);
  /// Wakes a blocked receive and makes every later receive return 0 (the engine's shutdown).
  virtual void close() = 0;
  [[nodiscard]] virtual port_health health() const { return {}; }
};

/// One message for a sink.
struct outbound_message {
  std::string_view channel;
  std::string_view payload;
};

/// Where enriched messages go (the enriched:* channels).
class message_sink {
 public:
  message_sink() = default;
  message_sink(const message_sink&) = delete;
  message_sink& operator=(const message_sink&) = delete;
  message_sink(message_sink&&) = delete;
  message_sink& operator=(message_sink&&) = delete;
  virtual ~message_sink() = default;

  virtual void publish(std::string_view channel, std::string_view payload) = 0;
  /// publish() of many messages, in order (one round trip where the sink allows); by default one by one.
  /// A failure may come after some were published: a retry publishes those again (at least once).
  virtual void publish_many(std::span<const outbound_message> messages);
  /// True when publish_many sends a batch as one (a pipeline), so that it fails as a whole, for the
  /// transport. The engine then hands such a sink whole batches; any other sink gets its messages one
  /// by one, so that a failure belongs to its message alone (a callback that raises for one message
  /// must not make the others of its batch publish twice).
  [[nodiscard]] virtual bool publishes_batches() const noexcept { return false; }
  [[nodiscard]] virtual port_health health() const { return {}; }
};

// ---- durable store ---------------------------------------------------------------------------------

/// One enriched message to be stored durably. Its identity (MESSAGES.md unique indexes) is
/// (product, id) for underlying ticks, (symbol, id) for option quotes and id for option chains.
struct stored_document {
  message_kind kind = message_kind::underlying;
  std::string_view product;
  std::string_view symbol;  ///< option quotes only; empty otherwise
  std::string_view id;      ///< tick_id, quote_id (decimal text) or chain_id
  timestamp_ns timestamp = 0;
  std::string_view json;  ///< the enriched message as published (a JSON object)
};

enum class insert_outcome : std::uint8_t {
  inserted,
  duplicate,  ///< a document with the same identity exists: already applied, not an error
};

/// Durable storage of enriched messages (MongoDB collections underlying_ticks, option_quotes,
/// option_chains). Inserting is idempotent by identity: a second insert reports duplicate.
class document_store {
 public:
  document_store() = default;
  document_store(const document_store&) = delete;
  document_store& operator=(const document_store&) = delete;
  document_store(document_store&&) = delete;
  document_store& operator=(document_store&&) = delete;
  virtual ~document_store() = default;

  [[nodiscard]] virtual insert_outcome insert(const stored_document& document) = 0;
  /// insert() of many documents, outcomes in order (one round trip where the store allows); by default
  /// one by one. A failure may come after some were inserted: a retry finds those as duplicates.
  [[nodiscard]] virtual std::vector<insert_outcome> insert_many(std::span<const stored_document> documents);
  [[nodiscard]] virtual port_health health() const { return {}; }
};

// ---- cache -----------------------------------------------------------------------------------------

struct cache_write {
  std::string key;
  std::string value;
  std::chrono::nanoseconds ttl{0};  ///< > 0
};

/// One point of a smile: member "{strike}:{C|P}" scored by strike, with its implied vol.
struct smile_point {
  std::string member;
  double strike = 0;
  double iv = 0;
};

/// Key-value cache with expiry (the Redis keys of MESSAGES.md).
class cache {
 public:
  cache() = default;
  cache(const cache&) = delete;
  cache& operator=(const cache&) = delete;
  cache(cache&&) = delete;
  cache& operator=(cache&&) = delete;
  virtual ~cache() = default;

  /// Sets every key to its value with its TTL (one round trip where the cache allows).
  virtual void set(std::span<const cache_write> writes) = 0;
  /// The value of a live key.
  [[nodiscard]] virtual std::optional<std::string> get(std::string_view key) = 0;
  /// Replaces, atomically, the smile of one expiry: the sorted set `set_key` (member -> strike) and the
  /// hash `iv_key` (member -> iv), both expiring after `ttl`. Readers see the old smile or the new one.
  virtual void replace_smile(std::string_view set_key, std::string_view iv_key, std::span<const smile_point> points,
                             std::chrono::nanoseconds ttl) = 0;
  [[nodiscard]] virtual port_health health() const { return {}; }
};

// ---- dead letters ----------------------------------------------------------------------------------

/// Why a message was dead-lettered (the record's "reason").
enum class dead_letter_reason : std::uint8_t {
  invalid_message,    ///< rejected by the decoder: can never succeed, never retried
  retries_exhausted,  ///< a retryable failure outlasted the retry policy
  processing_failed,  ///< a permanent failure other than an invalid message (e.g. a port rejected it)
  shutdown,           ///< waiting for a retry when the engine stopped: kept here, to be replayed
};
[[nodiscard]] std::string_view to_string(dead_letter_reason reason) noexcept;
[[nodiscard]] std::optional<dead_letter_reason> parse_dead_letter_reason(std::string_view name) noexcept;

/// The dead-letter record of MESSAGES.md.
struct dead_letter {
  std::string id;  ///< the message's id (tick_id, quote_id, chain_id as text); empty if undecodable
  message_kind kind = message_kind::underlying;
  std::string channel;
  std::string error;  ///< the last error, e.g. "calls[17].open_interest: negative (-5)"
  dead_letter_reason reason = dead_letter_reason::invalid_message;
  int attempts = 0;  ///< attempts made, >= 1
  timestamp_ns first_failed_at = 0, failed_at = 0;
  std::string payload;   ///< the original message, byte for byte
  std::string trace_id;  ///< the trace id of the message's log events

  friend bool operator==(const dead_letter&, const dead_letter&) = default;
};

/// The MESSAGES.md JSON record: {"id", "kind", "channel", "error", "reason", "attempts",
/// "first_failed_at", "failed_at", "payload", "trace_id"}; times as ISO-8601 UTC; id null when empty.
/// A payload that is not valid UTF-8 (a JSON string cannot carry it losslessly) is stored instead as
/// "payload_base64" (standard alphabet, padded), so that every byte string round-trips exactly. Bytes
/// that are not UTF-8 in the other text fields are replaced by U+FFFD.
[[nodiscard]] std::string encode_dead_letter(const dead_letter& letter);
/// The inverse of encode_dead_letter (for replays from a store that keeps the JSON); strict, with
/// errors that name the field. decode_dead_letter(encode_dead_letter(d)) == d. Every field is required
/// except trace_id (MESSAGES.md's record has none); exactly one of payload and payload_base64.
[[nodiscard]] decode_result<dead_letter> decode_dead_letter(std::string_view json);

/// A dead-letter list, with replay: the engine re-submits what take() returns.
class dead_letter_queue {
 public:
  dead_letter_queue() = default;
  dead_letter_queue(const dead_letter_queue&) = delete;
  dead_letter_queue& operator=(const dead_letter_queue&) = delete;
  dead_letter_queue(dead_letter_queue&&) = delete;
  dead_letter_queue& operator=(dead_letter_queue&&) = delete;
  virtual ~dead_letter_queue() = default;

  /// Appends a record (the newest is last).
  virtual void push(const dead_letter& letter) = 0;
  /// Up to `count` records from position `offset`, oldest first; the queue is unchanged.
  [[nodiscard]] virtual std::vector<dead_letter> list(std::size_t offset, std::size_t count) const = 0;
  [[nodiscard]] virtual std::size_t size() const = 0;
  /// Removes and returns up to `count` of the oldest records (for replay).
  [[nodiscard]] virtual std::vector<dead_letter> take(std::size_t count) = 0;
  [[nodiscard]] virtual port_health health() const { return {}; }
};

}  // namespace optaro

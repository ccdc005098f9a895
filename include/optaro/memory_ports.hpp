#pragma once
// In-memory implementations of every port of <optaro/ports.hpp>: the engine runs embedded on them
// (tests, demos, a single process that needs no Redis or MongoDB), and they define the behaviour the
// Redis and MongoDB adapters are tested against. All are thread-safe: one mutex each, and condition
// variables where a caller waits (the source).
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <optaro/clock.hpp>
#include <optaro/engine.hpp>
#include <optaro/market.hpp>
#include <optaro/ports.hpp>

namespace optaro {

/// A FIFO queue of inbound messages with at-least-once delivery, like a stream consumer group:
/// receive() hands a delivery out and keeps it as unacknowledged until acknowledge(); a crashed or
/// stalled consumer's deliveries come back with redeliver_unacknowledged(). A receipt is the delivery's
/// sequence number as decimal text, assigned when it is pushed and kept across redeliveries (as a
/// stream entry id is). With a capacity, push() blocks while that many deliveries wait to be received:
/// backpressure for a producer faster than the engine.
class in_memory_source final : public message_source {
 public:
  struct options {
    std::size_t capacity = 0;  ///< deliveries waiting to be received; 0 = unbounded
    std::string underlying_channel = "market:underlying";
    std::string option_quote_channel = "market:option_quote";
    std::string option_chain_channel = "market:option_chain";
  };

  in_memory_source();
  explicit in_memory_source(options settings);
  in_memory_source(const in_memory_source&) = delete;
  in_memory_source& operator=(const in_memory_source&) = delete;
  in_memory_source(in_memory_source&&) = delete;
  in_memory_source& operator=(in_memory_source&&) = delete;
  ~in_memory_source() override;

  /// Queues a message on its kind's channel, waiting while the queue is full. False after close().
  bool push(message_kind kind, std::string payload);
  /// The same without waiting: false when full or closed.
  [[nodiscard]] bool try_push(message_kind kind, std::string payload);
  /// Queues a delivery as it is (a replay), with a new receipt; an empty channel becomes the kind's.
  /// Waits while full; false after close().
  bool push(delivery replayed);

  std::size_t receive(std::vector<delivery>& out, std::size_t max, std::chrono::milliseconds timeout) override;
  /// Forgets an unacknowledged delivery. An unknown receipt (never handed out, acknowledged twice, or
  /// put back by redeliver_unacknowledged) changes nothing and is counted.
  void acknowledge(const delivery& handled) override;
  void close() override;
  [[nodiscard]] port_health health() const override;

  /// Puts every received but unacknowledged delivery back at the front of the queue, oldest first,
  /// as a consumer group reclaims a dead consumer's entries; ignores the capacity. Returns the count.
  std::size_t redeliver_unacknowledged();

  [[nodiscard]] std::size_t pending() const;         ///< queued, not yet received
  [[nodiscard]] std::size_t unacknowledged() const;  ///< received, not yet acknowledged
  [[nodiscard]] std::uint64_t unknown_acknowledgements() const;
  [[nodiscard]] bool closed() const;
  /// The channel a kind's messages are delivered on (options).
  [[nodiscard]] const std::string& channel(message_kind kind) const noexcept;

 private:
  bool push_locked(std::unique_lock<std::mutex>& lock, delivery item, bool wait);

  options settings_;
  mutable std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<delivery> queue_;
  std::map<std::uint64_t, delivery> unacknowledged_;  // by sequence number: redelivery keeps the order
  std::uint64_t next_sequence_ = 1;
  std::uint64_t unknown_acknowledgements_ = 0;
  bool closed_ = false;
};

/// Records what the engine publishes, per channel, and passes it on to subscribers.
class in_memory_sink final : public message_sink {
 public:
  struct options {
    bool retain = true;  ///< keep every message; false keeps only the counts (long runs)
  };
  using subscriber = std::function<void(std::string_view channel, std::string_view payload)>;

  in_memory_sink();
  explicit in_memory_sink(options settings);
  in_memory_sink(const in_memory_sink&) = delete;
  in_memory_sink& operator=(const in_memory_sink&) = delete;
  in_memory_sink(in_memory_sink&&) = delete;
  in_memory_sink& operator=(in_memory_sink&&) = delete;
  ~in_memory_sink() override;

  /// Records the message, then calls the subscribers on the publishing thread, outside the sink's
  /// lock (a subscriber may publish or read the sink). A subscriber's exception propagates to the
  /// publisher, after the message is recorded and without calling the later subscribers.
  void publish(std::string_view channel, std::string_view payload) override;

  /// Adds a subscriber for every later publish (all channels). Subscribers are called concurrently
  /// when several threads publish.
  void subscribe(subscriber callback);
  /// The messages published on a channel, oldest first (empty when not retaining).
  [[nodiscard]] std::vector<std::string> messages(std::string_view channel) const;
  /// How many messages were published on a channel (counted whether or not retained).
  [[nodiscard]] std::size_t count(std::string_view channel) const;
  /// How many messages were published on all channels.
  [[nodiscard]] std::size_t total() const;

 private:
  struct channel_log {
    std::size_t published = 0;
    std::vector<std::string> messages;
  };

  options settings_;
  mutable std::mutex mutex_;
  std::map<std::string, channel_log, std::less<>> channels_;
  std::size_t total_ = 0;
  // Replaced, never modified, so that publish can call a snapshot without holding the lock.
  std::shared_ptr<const std::vector<subscriber>> subscribers_;
};

/// A sink that hands every message to a function (a socket gateway, a test's assertions). The
/// function is called from the publishing worker threads, concurrently: it must be thread-safe.
/// Its exceptions propagate to the engine, which classifies them (retryable_error or permanent).
class callback_sink final : public message_sink {
 public:
  using callback = std::function<void(std::string_view channel, std::string_view payload)>;
  /// std::invalid_argument for an empty function.
  explicit callback_sink(callback on_publish);
  void publish(std::string_view channel, std::string_view payload) override;

 private:
  callback on_publish_;
};

/// The three collections, in memory, with the identities of ports.hpp: (product, id) for underlying
/// ticks, (symbol, id) for option quotes, id for option chains. For tests and demos,
/// set_available(false) makes insert fail with retryable_error, as a server that went away does.
///
/// Retention: by default (max_documents_per_kind = 0) the store keeps every document for its lifetime,
/// so its memory grows with every insert. With max_documents_per_kind = N it keeps the newest N
/// documents of each kind, by insertion order: the insert that would hold N + 1 evicts the oldest
/// document of that kind, and with it every trace of it (find, latest, documents, size; latest then
/// answers with the product's newest remaining document, or nullopt when none remains). As with a
/// capped collection or a TTL index, the store forgets an evicted identity: inserting it again stores
/// it again (insert_outcome::inserted), so deduplication beyond the window is the idempotency store's
/// job (enricher_config::processed_ttl), and N should cover more than the time in which a message can
/// be delivered again. inserted() counts every document ever inserted, evicted() those evicted.
class in_memory_document_store final : public document_store {
 public:
  struct options {
    std::size_t max_documents_per_kind = 0;  ///< newest documents kept per kind; 0 = all (unbounded)
  };

  in_memory_document_store();
  explicit in_memory_document_store(options settings);
  in_memory_document_store(const in_memory_document_store&) = delete;
  in_memory_document_store& operator=(const in_memory_document_store&) = delete;
  in_memory_document_store(in_memory_document_store&&) = delete;
  in_memory_document_store& operator=(in_memory_document_store&&) = delete;
  ~in_memory_document_store() override;

  /// std::invalid_argument when the identity has an empty part (no unique index would accept it);
  /// retryable_error("document store unavailable") while unavailable.
  [[nodiscard]] insert_outcome insert(const stored_document& document) override;
  [[nodiscard]] port_health health() const override;

  void set_available(bool available);
  /// Every call of insert, including those that failed or found a duplicate.
  [[nodiscard]] std::uint64_t inserts_attempted() const;
  /// Documents stored of one kind (held now: at most max_documents_per_kind when bounded).
  [[nodiscard]] std::size_t size(message_kind kind) const;
  /// Documents of one kind ever inserted (size + evicted).
  [[nodiscard]] std::uint64_t inserted(message_kind kind) const;
  /// Documents of one kind evicted by the retention bound.
  [[nodiscard]] std::uint64_t evicted(message_kind kind) const;
  /// The retention bound (options).
  [[nodiscard]] std::size_t max_documents_per_kind() const noexcept { return settings_.max_documents_per_kind; }
  /// The JSON of the document with this identity; `product_or_symbol` is the product for underlying
  /// ticks, the symbol for option quotes, and ignored for option chains.
  [[nodiscard]] std::optional<std::string> find(message_kind kind, std::string_view product_or_symbol,
                                                std::string_view id) const;
  /// The JSON of every document of one kind, in insertion order.
  [[nodiscard]] std::vector<std::string> documents(message_kind kind) const;
  /// The JSON of a product's document with the greatest timestamp (ties: the later insert), as the
  /// (product 1, timestamp -1) index would find it.
  [[nodiscard]] std::optional<std::string> latest(message_kind kind, std::string_view product) const;

 private:
  struct record {
    std::string product;
    timestamp_ns timestamp = 0;
    std::string json;
    std::string identity;  // bounded stores only: the index entry to drop on eviction
  };
  // A deque and an index in shards: a store of millions of documents grows without the pauses (tens of
  // milliseconds, every writer waiting) of relocating one vector or rehashing one table. Records are
  // numbered by insertion (a sequence number per kind); records.front() is number `evicted`.
  static constexpr std::size_t index_shards = 64;
  struct collection {
    std::deque<record> records;  // insertion order
    std::uint64_t evicted = 0;   // records dropped from the front
    std::array<std::unordered_map<std::string, std::uint64_t>, index_shards> by_identity;  // -> sequence
    // Unbounded: the sequence of each product's latest document.
    std::unordered_map<std::string, std::uint64_t> latest_by_product;
    // Bounded: each product's (timestamp, sequence) of the documents held, so that evicting the latest
    // finds the next one in O(log n).
    std::unordered_map<std::string, std::set<std::pair<timestamp_ns, std::uint64_t>>> held_by_product;
    [[nodiscard]] std::unordered_map<std::string, std::uint64_t>& index_for(std::string_view identity);
    [[nodiscard]] const std::unordered_map<std::string, std::uint64_t>& index_for(std::string_view identity) const;
    [[nodiscard]] const record& at(std::uint64_t sequence) const { return records[sequence - evicted]; }
    void evict_oldest();
  };

  [[nodiscard]] const collection& collection_of(message_kind kind) const;
  [[nodiscard]] collection& collection_of(message_kind kind);
  [[nodiscard]] bool bounded() const noexcept { return settings_.max_documents_per_kind > 0; }

  options settings_;
  mutable std::mutex mutex_;
  std::vector<collection> collections_;  // one per message_kind
  bool available_ = true;
  std::uint64_t inserts_attempted_ = 0;
};

/// The Redis keys in memory: strings, sorted sets and hashes, each with a TTL read from the injected
/// clock. An expired key is invisible at once and its memory freed by a later operation (a sweep after
/// as many operations as keys held: amortised O(1); the cache holds a few keys per product). As in Redis,
/// writing a key replaces whatever type it held; get() of a key that is not a string is nullopt.
class in_memory_cache final : public cache {
 public:
  /// `time` must outlive the cache.
  explicit in_memory_cache(const clock& time);
  in_memory_cache(const in_memory_cache&) = delete;
  in_memory_cache& operator=(const in_memory_cache&) = delete;
  in_memory_cache(in_memory_cache&&) = delete;
  in_memory_cache& operator=(in_memory_cache&&) = delete;
  ~in_memory_cache() override;

  /// All writes or none: std::invalid_argument for a ttl <= 0 before anything is written.
  void set(std::span<const cache_write> writes) override;
  [[nodiscard]] std::optional<std::string> get(std::string_view key) override;
  /// std::invalid_argument for ttl <= 0. No points deletes both keys (Redis keeps no empty set).
  void replace_smile(std::string_view set_key, std::string_view iv_key, std::span<const smile_point> points,
                     std::chrono::nanoseconds ttl) override;
  [[nodiscard]] port_health health() const override;

  /// While unavailable, set, get and replace_smile throw retryable_error("cache unavailable").
  void set_available(bool available);
  /// The remaining time to live of a live key.
  [[nodiscard]] std::optional<std::chrono::nanoseconds> ttl(std::string_view key) const;
  /// A live sorted set's members ordered by score, then member; iv is 0 (it lives in the hash).
  [[nodiscard]] std::vector<smile_point> sorted_set(std::string_view key) const;
  /// A field of a live hash.
  [[nodiscard]] std::optional<double> hash_value(std::string_view hash_key, std::string_view member) const;
  /// Live keys.
  [[nodiscard]] std::size_t size() const;

 private:
  enum class value_type : std::uint8_t { string, sorted_set, hash };
  struct entry {
    value_type type = value_type::string;
    std::string text;                                 // a string
    std::map<std::string, double, std::less<>> fields;  // a sorted set's scores or a hash's values
    clock::time_point expires_at{};
  };

  void require_available() const;
  void sweep_if_due(clock::time_point now);
  [[nodiscard]] const entry* live(std::string_view key, value_type type, clock::time_point now) const;

  const clock& clock_;
  mutable std::mutex mutex_;
  std::map<std::string, entry, std::less<>> entries_;
  std::size_t operations_since_sweep_ = 0;
  bool available_ = true;
};

/// Dead letters in a deque, oldest first.
class in_memory_dead_letter_queue final : public dead_letter_queue {
 public:
  in_memory_dead_letter_queue();
  in_memory_dead_letter_queue(const in_memory_dead_letter_queue&) = delete;
  in_memory_dead_letter_queue& operator=(const in_memory_dead_letter_queue&) = delete;
  in_memory_dead_letter_queue(in_memory_dead_letter_queue&&) = delete;
  in_memory_dead_letter_queue& operator=(in_memory_dead_letter_queue&&) = delete;
  ~in_memory_dead_letter_queue() override;

  void push(const dead_letter& letter) override;
  [[nodiscard]] std::vector<dead_letter> list(std::size_t offset, std::size_t count) const override;
  [[nodiscard]] std::size_t size() const override;
  [[nodiscard]] std::vector<dead_letter> take(std::size_t count) override;

 private:
  mutable std::mutex mutex_;
  std::deque<dead_letter> letters_;
};

/// Every port in memory, for an engine that runs embedded (tests, examples, a service of its own):
///   optaro::in_memory_ports memory{clock};
///   optaro::enricher engine{memory.ports(), config};
struct in_memory_ports {
  explicit in_memory_ports(const clock& time_source, in_memory_sink::options sink_options = {},
                           in_memory_document_store::options store_options = {})
      : time(time_source), sink(sink_options), store(store_options), cache(time_source), claims(time_source) {}

  /// These ports for an enricher; with_source: it also reads `source` (else only submit()).
  [[nodiscard]] enricher_ports ports(bool with_source = false) {
    enricher_ports p;
    p.source = with_source ? &source : nullptr;
    p.sink = &sink;
    p.store = &store;
    p.cache = &cache;
    p.idempotency = &claims;
    p.dead_letters = &dead_letters;
    p.time = &time;
    return p;
  }

  const clock& time;
  in_memory_source source;
  in_memory_sink sink;
  in_memory_document_store store;
  in_memory_cache cache;
  in_memory_idempotency_store claims;
  in_memory_dead_letter_queue dead_letters;
};

}  // namespace optaro

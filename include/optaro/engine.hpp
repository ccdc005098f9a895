#pragma once
// The enrichment engine (ARCHITECTURE.md "engine"): consumes underlying ticks, option quotes and option
// chains from a message_source (or submit()), enriches them, and writes the results to the ports of
// <optaro/ports.hpp>, with idempotency, retry with backoff and a dead-letter queue.
//
// What happens to one message, in order:
//   1. decode; an invalid message is dead-lettered at once (reason invalid_message), never retried;
//   2. claim its idempotency key (processed:{kind}:{product}:{id}): a message already done is a
//      duplicate, acknowledged without being processed again; one held by another live claim is
//      deferred: not acknowledged, so that an at-least-once source delivers it again later (the holder
//      may have died before its store write; its lease runs out);
//   3. analytics: OHLC candles for ticks, enrich_chain and a smile fit for chains; quotes as they are;
//   4. writes: store insert (a duplicate identity means "already applied"), cache, publish on the sink,
//      complete the claim, then acknowledge the source (late acknowledgement).
// A retryable_error in steps 2 or 4 schedules the remaining writes again after the retry policy's delay,
// on a timer: a worker never sleeps. When the policy is exhausted the message is dead-lettered (reason
// retries_exhausted) and its claim released, so that a replay can process it. Any other exception is
// permanent (reason processing_failed). Nothing a message contains can stop a worker.
//
// Ordering: messages are routed to workers by product (ticks), product and expiry (chains) or symbol
// (quotes), so that one product's ticks are windowed in arrival order by one thread and a chain's
// previous snapshot is at hand without locks. A retried message's writes may land after newer messages
// of its product: it is still stored and published, but it does not overwrite newer latest:* or ohlc:*
// cache values.
//
// Threads: `workers` worker threads, each with a bounded queue, and one dispatcher thread that reads
// the source (blocking while the target queue is full: backpressure reaches the source) and moves due
// retries back to their workers. stop() drains: it stops reading, finishes everything queued and in
// flight, and dead-letters (reason shutdown) the messages still waiting for a retry, so that nothing
// is lost and a replay completes them.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <optaro/chain.hpp>
#include <optaro/clock.hpp>
#include <optaro/codec.hpp>
#include <optaro/event_log.hpp>
#include <optaro/idempotency.hpp>
#include <optaro/metrics.hpp>
#include <optaro/ohlc.hpp>
#include <optaro/ports.hpp>
#include <optaro/retry.hpp>

namespace optaro {

/// Channel and key names (MESSAGES.md defaults).
struct enricher_names {
  std::string enriched_underlying = "enriched:underlying";
  std::string enriched_option_chain = "enriched:option_chain";
  std::string enriched_option_quote;  ///< empty: quotes are stored and cached, not published
  /// Prepended to every cache and idempotency key, e.g. "optaro:" to share a Redis with others.
  std::string key_prefix;
};

struct enricher_config {
  std::size_t workers = 2;           ///< >= 1
  std::size_t queue_capacity = 1024;  ///< per worker, >= 1; the dispatcher waits while a queue is full
  std::size_t receive_batch = 64;    ///< deliveries asked of the source at a time, >= 1
  /// Messages a worker takes from its queue at a time, >= 1: it runs each stage for all of them before
  /// the next, so that a port's batch operation (a Redis pipeline, an insert_many) serves them with
  /// one round trip. It never waits to fill a batch: under a light load a batch is one message. A chain
  /// counts as 16 messages (at most 4 chains a batch at the default): a batch publishes once all its
  /// messages are analysed, and a chain's analysis is ~0.3 ms.
  std::size_t worker_batch = 64;
  retry_policy retry{};
  std::uint64_t random_seed = 0;  ///< for jitter and trace ids; 0 draws one from std::random_device
  /// How long a claim protects a message being processed: longer than the whole retry schedule (35 s
  /// with the default policy), so that a message waiting for a retry is not taken over, and short
  /// enough that a message whose worker died is taken over soon (a redelivery meanwhile is deferred).
  std::chrono::nanoseconds claim_lease = std::chrono::seconds{60};
  std::chrono::nanoseconds processed_ttl = std::chrono::hours{1};  ///< how long a done key is remembered
  std::chrono::nanoseconds latest_ttl = std::chrono::seconds{300};  ///< latest:*, iv_surface:*, surfaces
  chain_config chains{};                                           ///< every product's, unless overridden
  std::map<std::string, chain_config, std::less<>> product_chains;  ///< per product
  candle_aggregator::config candles{};
  /// Fit an SVI smile to every chain (iv_surface:* keys are written regardless) and cache the product's
  /// volatility_surface:{p} document at most once per surface_interval of the clock.
  bool fit_surfaces = true;
  std::chrono::nanoseconds surface_interval = std::chrono::seconds{1};
  codec_limits limits{};
  enricher_names names{};
  /// How long the dispatcher waits for the source or a retry before it looks at the clock again.
  std::chrono::milliseconds idle_wait{5};

  /// std::invalid_argument naming the first field out of range.
  void validate() const;
};

/// The ports an enricher uses; each must outlive it. source may be null (messages come only from
/// submit()); events may be null (no log); metrics may be null (the enricher keeps its own registry).
struct enricher_ports {
  message_source* source = nullptr;
  message_sink* sink = nullptr;
  document_store* store = nullptr;
  optaro::cache* cache = nullptr;  // qualified: the member's name is the type's
  idempotency_store* idempotency = nullptr;
  dead_letter_queue* dead_letters = nullptr;
  const clock* time = nullptr;
  event_sink* events = nullptr;
  metrics_registry* metrics = nullptr;
  log_level log_minimum = log_level::info;
};

/// Counts since start (the metrics, read back).
struct enricher_stats {
  std::uint64_t received = 0;       ///< messages taken from the source or submitted
  std::uint64_t enriched = 0;       ///< fully written and acknowledged
  std::uint64_t duplicates = 0;     ///< skipped: already done
  std::uint64_t deferred = 0;       ///< left unacknowledged: another holder's claim was live
  std::uint64_t retries = 0;        ///< retries scheduled
  std::uint64_t dead_lettered = 0;  ///< all reasons
  std::uint64_t late_ticks = 0;     ///< ticks after their windows closed (stored, folded into no candle)
  std::uint64_t queued = 0;         ///< waiting in worker queues now
  std::uint64_t in_flight = 0;      ///< being processed now
  std::uint64_t retries_pending = 0;  ///< waiting for their retry time now
};

/// The health summary: every port's own report, and overall ok when all are.
struct health_report {
  bool ok = true;
  std::vector<std::pair<std::string, port_health>> ports;  ///< "source", "sink", "store", ...
  /// {"ok": true, "ports": {"store": {"ok": true, "detail": ""}, ...}}
  [[nodiscard]] std::string to_json() const;
};

class enricher {
 public:
  /// Throws std::invalid_argument for a missing port or an invalid configuration.
  explicit enricher(enricher_ports ports, enricher_config config = {});
  enricher(const enricher&) = delete;
  enricher& operator=(const enricher&) = delete;
  enricher(enricher&&) = delete;
  enricher& operator=(enricher&&) = delete;
  /// stop().
  ~enricher();

  /// Starts the workers and the dispatcher. Once only.
  void start();
  /// Hands one message to the engine (embedded use, tests, replays), as the source would. Blocks while
  /// its worker's queue is full. False once stop() has begun. Needs start() to be processed.
  bool submit(delivery message);
  /// Takes up to `max` dead letters from the queue and submits them again (attempts start afresh);
  /// idempotency makes this safe for messages that were in fact completed. Returns how many.
  std::size_t replay_dead_letters(std::size_t max = std::numeric_limits<std::size_t>::max());
  /// Waits (real time) until nothing is queued or in flight and no retry is due by the clock; true if
  /// that happened within `timeout`. Retries due later do not count: advance a manual clock past them.
  bool wait_quiescent(std::chrono::milliseconds timeout);
  /// Graceful shutdown (see the file comment); idempotent.
  void stop();

  [[nodiscard]] enricher_stats stats() const;
  [[nodiscard]] health_report health() const;
  [[nodiscard]] metrics_registry& metrics() noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace optaro

// The enrichment engine: see include/optaro/engine.hpp for what happens to a message and why.
#include <optaro/engine.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

#include <optaro/surface.hpp>

namespace optaro {
namespace {

using steady = std::chrono::steady_clock;
constexpr timestamp_ns never = std::numeric_limits<timestamp_ns>::min();

/// Where a message is in its processing; a retry resumes at the stage that failed.
enum class stage : std::uint8_t { decode, claim, analyse, store, cache, publish, complete, acknowledge, done };

enum class outcome : std::uint8_t { enriched, duplicate, deferred, dead_lettered };

constexpr std::size_t kind_count = 3;
constexpr std::size_t reason_count = 4;
constexpr std::array<message_kind, kind_count> all_kinds{message_kind::underlying, message_kind::option_quote,
                                                         message_kind::option_chain};
constexpr std::array<dead_letter_reason, reason_count> all_reasons{
    dead_letter_reason::invalid_message, dead_letter_reason::retries_exhausted, dead_letter_reason::processing_failed,
    dead_letter_reason::shutdown};

std::size_t index_of(message_kind kind) noexcept { return static_cast<std::size_t>(kind); }
std::size_t index_of(dead_letter_reason reason) noexcept { return static_cast<std::size_t>(reason); }

/// One message on its way through the engine. Moved between threads as a unique_ptr, never shared.
struct task {
  delivery message;
  bool from_source = false;
  std::string trace_id;
  steady::time_point received_at{};
  stage next = stage::decode;
  outcome result = outcome::enriched;
  int failures = 0;
  timestamp_ns first_failed_at = 0;
  std::chrono::nanoseconds previous_delay{0};
  std::string last_error;
  std::size_t worker = 0;  ///< the worker that owns the message's product state

  // Known after decoding.
  std::variant<std::monostate, underlying_tick, option_quote, option_chain> decoded;
  std::string product, symbol, id;  ///< identity (ports.hpp stored_document)
  std::string state_key;            ///< the key of the worker state this message reads and updates
  timestamp_ns timestamp = 0;
  std::string idempotency_key;
  claim_token token{};

  // Results of the analysis, written by the later stages.
  std::string enriched;
  std::string publish_channel;
  std::vector<cache_write> cache_writes;
  std::string smile_set_key, smile_iv_key;
  std::vector<smile_point> smile;
};
using task_ptr = std::unique_ptr<task>;

/// The byte range of a top-level string value `"name": "..."` in raw JSON, found by a scan, without
/// parsing. Only a routing hint: the worker checks the decoded value and forwards a misrouted message.
std::string_view string_field_hint(std::string_view json, std::string_view quoted_name) noexcept {
  const std::size_t at = json.find(quoted_name);
  if (at == std::string_view::npos) return {};
  std::size_t i = at + quoted_name.size();
  auto skip_space = [&] {
    while (i < json.size() && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r')) ++i;
  };
  skip_space();
  if (i >= json.size() || json[i] != ':') return {};
  ++i;
  skip_space();
  if (i >= json.size() || json[i] != '"') return {};
  const std::size_t begin = ++i;
  const std::size_t end = json.find('"', begin);
  return end == std::string_view::npos ? std::string_view{} : json.substr(begin, end - begin);
}

std::size_t route_hash(message_kind kind, std::string_view first, std::string_view second) noexcept {
  const std::size_t h = std::hash<std::string_view>{}(first);
  if (kind != message_kind::option_chain) return h;
  return h ^ (std::hash<std::string_view>{}(second) * 0x9e3779b97f4a7c15ULL);
}

std::size_t route_hint(const delivery& d) noexcept {
  switch (d.kind) {
    case message_kind::underlying: return route_hash(d.kind, string_field_hint(d.payload, "\"product\""), {});
    case message_kind::option_quote: return route_hash(d.kind, string_field_hint(d.payload, "\"symbol\""), {});
    case message_kind::option_chain:
      return route_hash(d.kind, string_field_hint(d.payload, "\"product\""),
                        string_field_hint(d.payload, "\"expiry\""));
  }
  return 0;
}

std::string trace_id(std::mt19937_64& random) {
  static constexpr std::string_view hex = "0123456789abcdef";
  std::string id(32, '0');
  for (std::size_t half = 0; half < 2; ++half) {
    std::uint64_t bits = random();
    for (std::size_t i = 0; i < 16; ++i, bits >>= 4) id[half * 16 + i] = hex[bits & 0xf];
  }
  return id;
}

/// A chain's share of a worker batch (a tick's is 1): its analysis costs ~50x a tick's, and its write
/// commands carry ~100x the bytes, so batching more than a few buys no round trips worth their latency.
constexpr std::size_t chain_cost = 16;

/// A bounded queue of one worker. Forwarded messages and retries may exceed the bound: they are
/// already inside the engine, and making a worker wait for another worker's queue could deadlock.
class work_queue {
 public:
  explicit work_queue(std::size_t capacity) : capacity_(capacity) {}

  void push_waiting(task_ptr t) {
    std::unique_lock lock{mutex_};
    not_full_.wait(lock, [&] { return items_.size() < capacity_; });
    items_.push_back(std::move(t));
    not_empty_.notify_one();
  }
  void push_now(task_ptr t) {
    const std::lock_guard lock{mutex_};
    items_.push_back(std::move(t));
    not_empty_.notify_one();
  }
  /// Waits for a task, then moves it and more that are queued into `out` while their cost stays within
  /// `budget` (a tick or a quote costs 1, a chain chain_cost: a batch's messages publish only once all
  /// of them are analysed, so a batch of chains would hold the first one back by the others' ~0.3 ms
  /// each); false once closed and empty.
  bool pop_batch(std::vector<task_ptr>& out, std::size_t budget) {
    std::unique_lock lock{mutex_};
    not_empty_.wait(lock, [&] { return !items_.empty() || closed_; });
    if (items_.empty()) return false;
    const std::size_t before = items_.size();
    std::size_t spent = 0;
    while (!items_.empty()) {
      const std::size_t cost = items_.front()->message.kind == message_kind::option_chain ? chain_cost : 1;
      if (!out.empty() && spent + cost > budget) break;
      spent += cost;
      out.push_back(std::move(items_.front()));
      items_.pop_front();
    }
    // A producer waiting for room is woken once the queue has half drained, not at every pop: waking
    // it per message costs more than the message when the worker is the bottleneck.
    if (before > capacity_ / 2 && items_.size() <= capacity_ / 2) not_full_.notify_all();
    return true;
  }
  void close() {
    const std::lock_guard lock{mutex_};
    closed_ = true;
    not_empty_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable not_empty_, not_full_;
  std::deque<task_ptr> items_;
  std::size_t capacity_;
  bool closed_ = false;
};

/// Retries waiting for their time, earliest first.
class retry_timer {
 public:
  void schedule(clock::time_point due, task_ptr t) {
    const std::lock_guard lock{mutex_};
    waiting_.push_back({due, sequence_++, std::move(t)});
    std::push_heap(waiting_.begin(), waiting_.end(), later);
  }
  /// Removes and returns the retries due at `now`, in due order, adding their number to `queued`
  /// before they leave the timer, so that a waiter never sees them in neither place.
  std::vector<task_ptr> take_due(clock::time_point now, std::atomic<std::uint64_t>& queued) {
    std::vector<task_ptr> due;
    const std::lock_guard lock{mutex_};
    while (!waiting_.empty() && waiting_.front().due <= now) {
      std::pop_heap(waiting_.begin(), waiting_.end(), later);
      due.push_back(std::move(waiting_.back().work));
      waiting_.pop_back();
    }
    queued.fetch_add(due.size());
    return due;
  }
  std::vector<task_ptr> take_all() {
    const std::lock_guard lock{mutex_};
    std::sort(waiting_.begin(), waiting_.end(), [](const entry& a, const entry& b) { return later(b, a); });
    std::vector<task_ptr> all;
    for (entry& e : waiting_) all.push_back(std::move(e.work));
    waiting_.clear();
    return all;
  }
  bool any_due(clock::time_point now) const {
    const std::lock_guard lock{mutex_};
    return !waiting_.empty() && waiting_.front().due <= now;
  }

 private:
  struct entry {
    clock::time_point due;
    std::uint64_t sequence = 0;  // equal due times keep their scheduling order
    task_ptr work;
  };
  static bool later(const entry& a, const entry& b) {
    return a.due != b.due ? a.due > b.due : a.sequence > b.sequence;
  }
  mutable std::mutex mutex_;
  std::vector<entry> waiting_;
  std::uint64_t sequence_ = 0;
};

/// The metrics the engine updates (names in the Prometheus style, one registry per engine or shared).
struct engine_metrics {
  explicit engine_metrics(metrics_registry& r) {
    for (const message_kind kind : all_kinds) {
      const metric_labels labels{{"kind", std::string{to_string(kind)}}};
      const std::size_t k = index_of(kind);
      received[k] = &r.add_counter("optaro_messages_received_total", "Messages taken in", labels);
      enriched[k] = &r.add_counter("optaro_messages_enriched_total", "Messages enriched, written and acknowledged",
                                   labels);
      duplicates[k] = &r.add_counter("optaro_messages_duplicate_total",
                                     "Messages skipped as already done or in flight elsewhere", labels);
      retried[k] = &r.add_counter("optaro_messages_retried_total", "Retries scheduled", labels);
      deferred[k] = &r.add_counter("optaro_messages_deferred_total",
                                   "Messages left unacknowledged because another holder's claim was live", labels);
      for (const dead_letter_reason reason : all_reasons) {
        dead_lettered[k][index_of(reason)] = &r.add_counter(
            "optaro_messages_dead_lettered_total", "Messages sent to the dead-letter queue",
            {{"kind", std::string{to_string(kind)}}, {"reason", std::string{to_string(reason)}}});
      }
      processing[k] = &r.add_histogram("optaro_processing_seconds",
                                       "Time from taking a message in to its acknowledgement",
                                       exponential_buckets(1e-6, 2, 24), labels);
    }
    late_ticks = &r.add_counter("optaro_ticks_late_total", "Ticks after their OHLC windows closed");
    store_duplicates = &r.add_counter("optaro_store_duplicates_total",
                                      "Store inserts that found the document already there");
    claims_lost = &r.add_counter("optaro_claims_lost_total",
                                 "Completions refused because the claim's lease had lapsed");
    port_failures = &r.add_counter("optaro_port_failures_total", "Failures reported by ports (any kind)");
    queue_depth = &r.add_gauge("optaro_queue_depth", "Messages waiting in worker queues");
    in_flight = &r.add_gauge("optaro_in_flight", "Messages being processed");
    retries_pending = &r.add_gauge("optaro_retries_pending", "Messages waiting for their retry time");
  }
  std::array<counter*, kind_count> received{}, enriched{}, duplicates{}, retried{}, deferred{};
  std::array<std::array<counter*, reason_count>, kind_count> dead_lettered{};
  std::array<histogram*, kind_count> processing{};
  counter* late_ticks = nullptr;
  counter* store_duplicates = nullptr;
  counter* claims_lost = nullptr;
  counter* port_failures = nullptr;
  gauge* queue_depth = nullptr;
  gauge* in_flight = nullptr;
  gauge* retries_pending = nullptr;
};

}  // namespace

// ---- configuration ---------------------------------------------------------------------------------

void enricher_config::validate() const {
  auto fail = [](std::string_view field, std::string_view why) {
    throw std::invalid_argument("enricher_config." + std::string{field} + ": " + std::string{why});
  };
  if (workers < 1) fail("workers", "must be >= 1");
  if (queue_capacity < 1) fail("queue_capacity", "must be >= 1");
  if (receive_batch < 1) fail("receive_batch", "must be >= 1");
  if (worker_batch < 1) fail("worker_batch", "must be >= 1");
  try {
    retry.validate();
  } catch (const std::invalid_argument& e) {
    fail("retry", e.what());
  }
  if (claim_lease.count() <= 0) fail("claim_lease", "must be > 0");
  if (processed_ttl.count() <= 0) fail("processed_ttl", "must be > 0");
  if (latest_ttl.count() <= 0) fail("latest_ttl", "must be > 0");
  if (surface_interval.count() < 0) fail("surface_interval", "must be >= 0");
  if (idle_wait.count() <= 0) fail("idle_wait", "must be > 0");
  if (names.enriched_underlying.empty()) fail("names.enriched_underlying", "empty");
  if (names.enriched_option_chain.empty()) fail("names.enriched_option_chain", "empty");
  try {
    const candle_aggregator check{candles};
  } catch (const std::invalid_argument& e) {
    fail("candles", e.what());
  }
}

std::string health_report::to_json() const {
  nlohmann::ordered_json doc;
  doc["ok"] = ok;
  doc["ports"] = nlohmann::ordered_json::object();
  for (const auto& [name, h] : ports) doc["ports"][name] = {{"ok", h.ok}, {"detail", h.detail}};
  return doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// ---- the engine ------------------------------------------------------------------------------------

struct enricher::impl {
  impl(enricher_ports p, enricher_config c);

  // A worker's own state: only its thread touches it.
  struct tick_state {
    explicit tick_state(const candle_aggregator::config& c) : candles(c), newest_start(c.windows.size(), never) {}
    candle_aggregator candles;
    std::vector<timestamp_ns> newest_start;  ///< per window: the newest candle written to ohlc:*
    timestamp_ns newest_written = never;
  };
  struct chain_state {
    std::optional<option_chain> previous;
    std::optional<svi_params> smile;
    timestamp_ns newest_written = never;
  };
  struct worker {
    worker(impl& engine, std::size_t position, std::uint64_t seed)
        : decoder(engine.config.limits), random(seed), queue(engine.config.queue_capacity), index(position) {}
    message_decoder decoder;
    std::mt19937_64 random;
    work_queue queue;
    std::size_t index;
    std::unordered_map<std::string, tick_state> ticks;
    std::unordered_map<std::string, chain_state> chains;
    std::unordered_map<std::string, timestamp_ns> quotes_newest;
    std::vector<candle_event> events;
    std::thread thread;
  };
  // Smiles of every expiry of a product, shared by the workers that own its expiries.
  struct product_surface {
    std::map<std::chrono::sys_days, smile_slice> slices;
    clock::time_point last_written{};
    bool written = false;
  };

  void run_worker(worker& w);
  void run_dispatcher();
  void process(worker& w, std::vector<task_ptr>& batch);
  void run_one(worker& w, task_ptr& t);
  template <class Batched>
  void run_batched(worker& w, std::vector<task_ptr>& batch, const std::vector<std::size_t>& at, stage s,
                   Batched&& batched);
  void claim_batch(std::vector<task_ptr>& batch, const std::vector<std::size_t>& at);
  void store_batch(std::vector<task_ptr>& batch, const std::vector<std::size_t>& at);
  void cache_batch(worker& w, std::vector<task_ptr>& batch, const std::vector<std::size_t>& at);
  void publish_batch(std::vector<task_ptr>& batch, const std::vector<std::size_t>& at);
  void complete_batch(std::vector<task_ptr>& batch, const std::vector<std::size_t>& at);
  void acknowledge_batch(std::vector<task_ptr>& batch, const std::vector<std::size_t>& at);
  void step(worker& w, task& t);
  void after_claim(task& t, const claim_result& claim);
  void after_store(task& t, insert_outcome outcome);
  void after_complete(task& t, bool completed);
  [[nodiscard]] timestamp_ns* newest_written(worker& w, const task& t);
  void decode(worker& w, task& t);
  void analyse(worker& w, task& t);
  void analyse_tick(worker& w, task& t, const underlying_tick& tick);
  void analyse_chain(worker& w, task& t, option_chain& chain);
  void write_cache(worker& w, task& t);
  void maybe_surface(task& t, const option_chain& chain, const smile_slice& slice);
  void retry_later(worker& w, task_ptr t, std::string error);
  void send_to_dead_letters(task& t, dead_letter_reason reason, std::string error);
  void acknowledge(task& t);
  void finish(task& t);
  /// Puts a task on its worker's queue. `counted`: already included in `queued` (a source's batch is
  /// counted as soon as it is received, so that wait_quiescent never misses a message in hand).
  void enqueue(task_ptr t, bool may_wait, bool counted = false);
  void launch();
  [[nodiscard]] const chain_config& chain_config_for(std::string_view product) const;
  [[nodiscard]] std::string key(std::string_view name) const { return config.names.key_prefix + std::string{name}; }
  void update_gauges() {
    metrics->queue_depth->set(static_cast<double>(queued.load(std::memory_order_relaxed)));
    metrics->in_flight->set(static_cast<double>(in_flight.load(std::memory_order_relaxed)));
    metrics->retries_pending->set(static_cast<double>(retries_pending.load(std::memory_order_relaxed)));
  }

  enricher_ports ports;
  enricher_config config;
  std::unique_ptr<metrics_registry> own_registry;
  metrics_registry* registry;
  std::optional<engine_metrics> metrics;
  event_logger log;
  std::vector<std::string> window_labels;
  std::vector<std::unique_ptr<worker>> workers;
  retry_timer retries;
  std::thread dispatcher;
  std::mutex surfaces_mutex;
  std::unordered_map<std::string, product_surface> surfaces;

  // queued and in_flight use sequentially consistent updates: wait_quiescent reads them in turn and
  // must never see a message in neither (a pop adds to in_flight before it takes from queued).
  std::atomic<std::uint64_t> queued{0}, in_flight{0}, retries_pending{0};
  std::atomic<bool> accepting{true};
  std::atomic<bool> dispatching{true};
  std::atomic<bool> started{false};
  std::atomic<bool> stopped{false};
  std::mutex lifecycle_mutex;
  std::mutex dispatcher_mutex;  // the dispatcher's idle wait without a source
  std::condition_variable dispatcher_wake;
};

const enricher_ports& checked(const enricher_ports& ports) {
  auto require = [](const void* port, std::string_view name) {
    if (port == nullptr) throw std::invalid_argument("enricher_ports." + std::string{name} + ": missing");
  };
  require(ports.sink, "sink");
  require(ports.store, "store");
  require(ports.cache, "cache");
  require(ports.idempotency, "idempotency");
  require(ports.dead_letters, "dead_letters");
  require(ports.time, "time");
  return ports;
}

enricher::impl::impl(enricher_ports p, enricher_config c)
    : ports(checked(p)), config(std::move(c)), log(ports.events, *ports.time, ports.log_minimum) {
  config.validate();
  if (ports.metrics == nullptr) own_registry = std::make_unique<metrics_registry>();
  registry = ports.metrics != nullptr ? ports.metrics : own_registry.get();
  metrics.emplace(*registry);
  for (const std::chrono::seconds window : config.candles.windows) window_labels.push_back(window_label(window));
  std::uint64_t seed = config.random_seed;
  if (seed == 0) seed = (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  std::vector<std::uint64_t> seeds(config.workers);
  std::mt19937_64 seeder{seed};
  for (std::uint64_t& s : seeds) s = seeder();
  for (std::size_t i = 0; i < config.workers; ++i) workers.push_back(std::make_unique<worker>(*this, i, seeds[i]));
}

const chain_config& enricher::impl::chain_config_for(std::string_view product) const {
  const auto it = config.product_chains.find(product);
  return it != config.product_chains.end() ? it->second : config.chains;
}

void enricher::impl::enqueue(task_ptr t, bool may_wait, bool counted) {
  if (!counted) queued.fetch_add(1);
  work_queue& q = workers[t->worker]->queue;
  if (may_wait) {
    q.push_waiting(std::move(t));
  } else {
    q.push_now(std::move(t));
  }
}

void enricher::impl::run_dispatcher() {
  std::vector<delivery> batch;
  while (dispatching.load(std::memory_order_acquire)) {
    for (task_ptr& due : retries.take_due(ports.time->now(), queued)) {
      retries_pending.fetch_sub(1, std::memory_order_relaxed);
      enqueue(std::move(due), false, true);
    }
    if (ports.source == nullptr) {
      std::unique_lock lock{dispatcher_mutex};
      dispatcher_wake.wait_for(lock, config.idle_wait, [&] { return !dispatching.load(std::memory_order_acquire); });
      continue;
    }
    batch.clear();
    try {
      ports.source->receive(batch, config.receive_batch, config.idle_wait);
    } catch (const std::exception& e) {
      // A source that is down (a broken connection) must not end the engine: wait and ask again.
      metrics->port_failures->increment();
      log.log(log_level::warning, "source_failed", {{"error", std::string_view{e.what()}}});
      std::this_thread::sleep_for(config.idle_wait);
      continue;
    }
    queued.fetch_add(batch.size());
    for (delivery& d : batch) {
      auto t = std::make_unique<task>();
      t->from_source = true;
      t->message = std::move(d);
      t->received_at = steady::now();
      t->worker = route_hint(t->message) % workers.size();
      metrics->received[index_of(t->message.kind)]->increment();
      enqueue(std::move(t), true, true);
    }
  }
}

void enricher::impl::run_worker(worker& w) {
  std::vector<task_ptr> batch;
  while (true) {
    batch.clear();
    if (!w.queue.pop_batch(batch, config.worker_batch)) return;
    in_flight.fetch_add(batch.size());
    queued.fetch_sub(batch.size());
    process(w, batch);
    in_flight.fetch_sub(batch.size());
    update_gauges();
  }
}

// Each stage runs for every message of the batch that is at it, in the batch's order, before the next
// stage. A message's stages only move forward, so one pass over the stages takes every message as far
// as it goes. A message leaves the batch (its pointer moved out) when it goes to another worker or waits
// for a retry; the rest are finished at the end.
void enricher::impl::process(worker& w, std::vector<task_ptr>& batch) {
  std::vector<std::size_t> at;
  std::vector<task_ptr> repeats;  // a message whose key an earlier one of the batch holds
  for (const stage s : {stage::decode, stage::claim, stage::analyse, stage::store, stage::cache, stage::publish,
                        stage::complete, stage::acknowledge}) {
    at.clear();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (batch[i] && batch[i]->next == s) at.push_back(i);
    }
    if (s == stage::claim) {
      // The same message twice in one batch (a producer's retry): the second must see the first done,
      // as it would one batch later, not its claim in flight. It runs once this batch has finished.
      // Sorted views of the keys find them without a hash set's allocation per message.
      std::vector<std::pair<std::string_view, std::size_t>> keys;
      keys.reserve(at.size());
      for (const std::size_t i : at) keys.emplace_back(batch[i]->idempotency_key, i);
      std::sort(keys.begin(), keys.end());
      for (std::size_t k = 1; k < keys.size(); ++k) {
        if (keys[k].first == keys[k - 1].first) repeats.push_back(std::move(batch[keys[k].second]));
      }
      if (!repeats.empty()) std::erase_if(at, [&](std::size_t i) { return !batch[i]; });
    }
    if (at.empty()) continue;
    switch (s) {
      case stage::claim: run_batched(w, batch, at, s, [&] { claim_batch(batch, at); }); break;
      case stage::store: run_batched(w, batch, at, s, [&] { store_batch(batch, at); }); break;
      case stage::cache: run_batched(w, batch, at, s, [&] { cache_batch(w, batch, at); }); break;
      case stage::publish:
        if (ports.sink->publishes_batches()) {
          run_batched(w, batch, at, s, [&] { publish_batch(batch, at); });
        } else {
          for (const std::size_t i : at) run_one(w, batch[i]);
        }
        break;
      case stage::complete: run_batched(w, batch, at, s, [&] { complete_batch(batch, at); }); break;
      case stage::acknowledge: run_batched(w, batch, at, s, [&] { acknowledge_batch(batch, at); }); break;
      default:
        for (const std::size_t i : at) run_one(w, batch[i]);
        break;
    }
    if (s == stage::decode) {
      for (const std::size_t i : at) {  // decoded as another worker's product: hand it over
        if (batch[i] && batch[i]->worker != w.index) enqueue(std::move(batch[i]), false);
      }
    }
  }
  for (const task_ptr& t : batch) {
    if (t) finish(*t);
  }
  if (!repeats.empty()) process(w, repeats);
}

// One stage of one message, with the engine's failure rules: a retryable failure schedules a retry
// (the message leaves the batch), any other failure dead-letters it.
void enricher::impl::run_one(worker& w, task_ptr& t) {
  try {
    step(w, *t);
  } catch (const retryable_error& e) {
    metrics->port_failures->increment();
    retry_later(w, std::move(t), e.what());
  } catch (const std::exception& e) {
    metrics->port_failures->increment();
    send_to_dead_letters(*t, dead_letter_reason::processing_failed, e.what());
  } catch (...) {
    send_to_dead_letters(*t, dead_letter_reason::processing_failed, "unknown exception");
  }
}

// One stage of several messages through a port's batch operation, which moves each message on only
// after the port call succeeded. A retryable failure retries each message still at the stage; any other
// failure may belong to one message, so each gets its own attempt and its own outcome.
template <class Batched>
void enricher::impl::run_batched(worker& w, std::vector<task_ptr>& batch, const std::vector<std::size_t>& at, stage s,
                                 Batched&& batched) {
  if (at.size() == 1) {
    run_one(w, batch[at.front()]);
    return;
  }
  try {
    batched();
  } catch (const retryable_error& e) {
    metrics->port_failures->increment();
    for (const std::size_t i : at) {
      if (batch[i] && batch[i]->next == s) retry_later(w, std::move(batch[i]), e.what());
    }
  } catch (const std::exception&) {
    metrics->port_failures->increment();
    for (const std::size_t i : at) {
      if (batch[i] && batch[i]->next == s) run_one(w, batch[i]);
    }
  }
}

void enricher::impl::claim_batch(std::vector<task_ptr>& batch, const std::vector<std::size_t>& at) {
  std::vector<std::string_view> keys;
  keys.reserve(at.size());
  for (const std::size_t i : at) keys.push_back(batch[i]->idempotency_key);
  const std::vector<claim_result> claims = ports.idempotency->claim_many(keys, config.claim_lease);
  if (claims.size() != at.size()) throw std::logic_error("idempotency_store::claim_many: wrong number of results");
  for (std::size_t j = 0; j < at.size(); ++j) after_claim(*batch[at[j]], claims[j]);
}

void enricher::impl::store_batch(std::vector<task_ptr>& batch, const std::vector<std::size_t>& at) {
  std::vector<stored_document> documents;
  documents.reserve(at.size());
  for (const std::size_t i : at) {
    const task& t = *batch[i];
    documents.push_back({t.message.kind, t.product, t.symbol, t.id, t.timestamp, t.enriched});
  }
  const std::vector<insert_outcome> outcomes = ports.store->insert_many(documents);
  if (outcomes.size() != at.size()) throw std::logic_error("document_store::insert_many: wrong number of outcomes");
  for (std::size_t j = 0; j < at.size(); ++j) after_store(*batch[at[j]], outcomes[j]);
}

// The cache writes of every message newer than what was written for its state, in the batch's order,
// as one set() of each key's last value (the same end state as writing them all), then the smiles.
void enricher::impl::cache_batch(worker& w, std::vector<task_ptr>& batch, const std::vector<std::size_t>& at) {
  std::unordered_map<timestamp_ns*, timestamp_ns> newest;         // this batch's view of newest_written
  std::vector<cache_write*> writes;
  std::vector<std::size_t> writers;
  for (const std::size_t i : at) {
    task& t = *batch[i];
    timestamp_ns* slot = newest_written(w, t);
    const auto [it, fresh] = newest.try_emplace(slot, *slot);
    if (t.timestamp < it->second) continue;
    it->second = t.timestamp;
    writers.push_back(i);
    for (cache_write& c : t.cache_writes) writes.push_back(&c);
  }
  // The last write of each key, moved out of its message for the call and back after it (a retry of
  // the stage needs them): no value is copied.
  // A batch writes few distinct keys (a product's latest and candle keys, again and again): a linear
  // search of those found is cheaper than a hash set's allocation per write.
  std::vector<cache_write*> last;
  for (auto it = writes.rbegin(); it != writes.rend(); ++it) {
    const std::string& key = (*it)->key;
    if (std::none_of(last.begin(), last.end(), [&](const cache_write* c) { return c->key == key; })) last.push_back(*it);
  }
  std::reverse(last.begin(), last.end());
  if (!last.empty()) {
    std::vector<cache_write> values;
    values.reserve(last.size());
    for (cache_write* c : last) values.push_back(std::move(*c));
    const auto restore = [&] {
      for (std::size_t k = 0; k < last.size(); ++k) *last[k] = std::move(values[k]);
    };
    try {
      ports.cache->set(values);
    } catch (...) {
      restore();
      throw;
    }
    restore();
  }
  for (const std::size_t i : writers) {
    task& t = *batch[i];
    if (!t.smile_set_key.empty()) ports.cache->replace_smile(t.smile_set_key, t.smile_iv_key, t.smile, config.latest_ttl);
    timestamp_ns* slot = newest_written(w, t);
    *slot = std::max(*slot, t.timestamp);
    t.next = stage::publish;
  }
  for (const std::size_t i : at) {
    if (batch[i]->next == stage::cache) batch[i]->next = stage::publish;  // older than what is cached
  }
}

void enricher::impl::publish_batch(std::vector<task_ptr>& batch, const std::vector<std::size_t>& at) {
  std::vector<outbound_message> messages;
  messages.reserve(at.size());
  for (const std::size_t i : at) {
    const task& t = *batch[i];
    if (!t.publish_channel.empty()) messages.push_back({t.publish_channel, t.enriched});
  }
  if (!messages.empty()) ports.sink->publish_many(messages);
  for (const std::size_t i : at) batch[i]->next = stage::complete;
}

void enricher::impl::complete_batch(std::vector<task_ptr>& batch, const std::vector<std::size_t>& at) {
  std::vector<held_claim> claims;
  claims.reserve(at.size());
  for (const std::size_t i : at) claims.push_back({batch[i]->idempotency_key, batch[i]->token});
  const std::vector<bool> completed = ports.idempotency->complete_many(claims, config.processed_ttl);
  if (completed.size() != at.size()) throw std::logic_error("idempotency_store::complete_many: wrong number of results");
  for (std::size_t j = 0; j < at.size(); ++j) after_complete(*batch[at[j]], completed[j]);
}

void enricher::impl::acknowledge_batch(std::vector<task_ptr>& batch, const std::vector<std::size_t>& at) {
  std::vector<const delivery*> handled;
  for (const std::size_t i : at) {
    if (batch[i]->from_source) handled.push_back(&batch[i]->message);
  }
  if (!handled.empty() && ports.source != nullptr) ports.source->acknowledge_many(handled);
  for (const std::size_t i : at) batch[i]->next = stage::done;
}

void enricher::impl::step(worker& w, task& t) {
  switch (t.next) {
    case stage::decode: decode(w, t); return;
    case stage::claim: after_claim(t, ports.idempotency->claim(t.idempotency_key, config.claim_lease)); return;
    case stage::analyse: analyse(w, t); return;
    case stage::store:
      after_store(t, ports.store->insert({t.message.kind, t.product, t.symbol, t.id, t.timestamp, t.enriched}));
      return;
    case stage::cache: write_cache(w, t); return;
    case stage::publish:
      if (!t.publish_channel.empty()) ports.sink->publish(t.publish_channel, t.enriched);
      t.next = stage::complete;
      return;
    case stage::complete: after_complete(t, ports.idempotency->complete(t.idempotency_key, t.token, config.processed_ttl)); return;
    case stage::acknowledge:
      acknowledge(t);
      t.next = stage::done;
      return;
    case stage::done: return;
  }
}

void enricher::impl::after_claim(task& t, const claim_result& claim) {
  if (claim.outcome == claim_outcome::already_done) {
    t.result = outcome::duplicate;
    log.log(log_level::info, "duplicate",
            {{"trace_id", std::string_view{t.trace_id}}, {"key", std::string_view{t.idempotency_key}}});
    t.next = stage::acknowledge;
    return;
  }
  if (claim.outcome == claim_outcome::in_flight) {
    // Another holder's lease is live: it may finish, or it may have died before its store write.
    // Not acknowledged, so an at-least-once source delivers the message again later (a Streams
    // consumer group after claim_idle), when the holder has completed it or its lease has run out.
    t.result = outcome::deferred;
    log.log(log_level::info, "deferred",
            {{"trace_id", std::string_view{t.trace_id}}, {"key", std::string_view{t.idempotency_key}}});
    t.next = stage::done;
    return;
  }
  t.token = claim.token;
  t.next = stage::analyse;
}

void enricher::impl::after_store(task& t, insert_outcome outcome) {
  // Already there: an earlier attempt wrote it and failed later; the later stages still run.
  if (outcome == insert_outcome::duplicate) metrics->store_duplicates->increment();
  t.next = stage::cache;
}

void enricher::impl::after_complete(task& t, bool completed) {
  if (!completed) {
    metrics->claims_lost->increment();
    log.log(log_level::warning, "claim_lost",
            {{"trace_id", std::string_view{t.trace_id}}, {"key", std::string_view{t.idempotency_key}}});
  }
  t.token = {};
  t.next = stage::acknowledge;
}

void enricher::impl::acknowledge(task& t) {
  if (t.from_source && ports.source != nullptr) ports.source->acknowledge(t.message);
}

void enricher::impl::decode(worker& w, task& t) {
  if (t.trace_id.empty()) t.trace_id = trace_id(w.random);
  const std::string_view payload = t.message.payload;
  std::string error;
  std::size_t route = 0;
  switch (t.message.kind) {
    case message_kind::underlying: {
      auto r = w.decoder.decode_underlying(payload);
      if (!r) {
        error = r.error.message();
        break;
      }
      underlying_tick& tick = *r.value;
      t.product = tick.product;
      t.id = std::to_string(tick.tick_id);
      t.state_key = tick.product;
      t.timestamp = tick.timestamp;
      route = route_hash(t.message.kind, tick.product, {});
      t.decoded = std::move(tick);
      break;
    }
    case message_kind::option_quote: {
      auto r = w.decoder.decode_quote(payload);
      if (!r) {
        error = r.error.message();
        break;
      }
      option_quote& quote = *r.value;
      t.product = quote.product;
      t.symbol = quote.symbol;
      t.id = std::to_string(quote.quote_id);
      t.state_key = quote.symbol;
      t.timestamp = quote.timestamp;
      route = route_hash(t.message.kind, quote.symbol, {});
      t.decoded = std::move(quote);
      break;
    }
    case message_kind::option_chain: {
      auto r = w.decoder.decode_chain(payload);
      if (!r) {
        error = r.error.message();
        break;
      }
      option_chain& chain = *r.value;
      const std::string expiry = format_date(chain.expiry);
      t.product = chain.product;
      t.id = chain.chain_id;
      t.state_key = chain.product + ':' + expiry;
      t.timestamp = chain.timestamp;
      route = route_hash(t.message.kind, chain.product, expiry);
      t.decoded = std::move(chain);
      break;
    }
  }
  if (!error.empty()) {
    send_to_dead_letters(t, dead_letter_reason::invalid_message, std::move(error));
    return;
  }
  // Quotes are unique per symbol (MESSAGES.md), so their key names the symbol where others name the product.
  t.idempotency_key = key(idempotency_key(to_string(t.message.kind),
                                          t.message.kind == message_kind::option_quote ? t.symbol : t.product, t.id));
  t.worker = route % workers.size();
  t.next = stage::claim;
  log.log(log_level::debug, "received",
          {{"trace_id", std::string_view{t.trace_id}}, {"kind", to_string(t.message.kind)},
           {"product", std::string_view{t.product}}, {"id", std::string_view{t.id}}});
}

void enricher::impl::analyse(worker& w, task& t) {
  if (auto* tick = std::get_if<underlying_tick>(&t.decoded)) {
    analyse_tick(w, t, *tick);
  } else if (auto* chain = std::get_if<option_chain>(&t.decoded)) {
    analyse_chain(w, t, *chain);
  } else if (auto* quote = std::get_if<option_quote>(&t.decoded)) {
    encode(t.enriched, *quote);
    t.cache_writes.push_back({key("latest:option:" + quote->symbol), t.enriched, config.latest_ttl});
    t.publish_channel = config.names.enriched_option_quote;
  }
  t.decoded = std::monostate{};  // the results are all the later stages need
  t.next = stage::store;
}

void enricher::impl::analyse_tick(worker& w, task& t, const underlying_tick& tick) {
  auto [it, inserted] = w.ticks.try_emplace(tick.product, config.candles);
  tick_state& state = it->second;
  w.events.clear();
  const tick_disposition disposition =
      state.candles.push(tick.timestamp, tick.price, static_cast<double>(tick.volume), w.events);
  std::vector<labelled_candle> updated;
  for (const candle_event& e : w.events) {
    if (e.kind != candle_event_kind::updated) continue;
    updated.push_back({window_labels[e.window_index], e.bar});
    // A tick within the lateness updates an older candle: ohlc:* keeps the newest one.
    if (e.bar.start_ns >= state.newest_start[e.window_index]) {
      state.newest_start[e.window_index] = e.bar.start_ns;
      std::string value;
      encode_candle(value, tick.product, updated.back());
      t.cache_writes.push_back({key("ohlc:" + tick.product + ':' + std::string{window_labels[e.window_index]}),
                                std::move(value), e.window});
    }
  }
  const bool late = disposition != tick_disposition::accepted;
  if (late) {
    metrics->late_ticks->increment();
    log.log(log_level::info, "tick_late",
            {{"trace_id", std::string_view{t.trace_id}}, {"product", std::string_view{tick.product}},
             {"tick_id", tick.tick_id}});
  }
  const double us = std::chrono::duration<double, std::micro>(steady::now() - t.received_at).count();
  encode_enriched_underlying(t.enriched, tick, updated, late, ports.time->now().time_since_epoch().count(), us);
  t.cache_writes.push_back({key("latest:underlying:" + tick.product), t.enriched, config.latest_ttl});
  t.publish_channel = config.names.enriched_underlying;
}

void enricher::impl::analyse_chain(worker& w, task& t, option_chain& chain) {
  chain_state& state = w.chains[t.state_key];
  const chain_analytics analytics =
      enrich_chain(chain, chain_config_for(chain.product), state.previous ? &*state.previous : nullptr);
  const double us = std::chrono::duration<double, std::micro>(steady::now() - t.received_at).count();
  encode_enriched_chain(t.enriched, chain, analytics, ports.time->now().time_since_epoch().count(), us);
  t.publish_channel = config.names.enriched_option_chain;

  const std::string suffix = chain.product + ':' + format_date(chain.expiry);
  t.cache_writes.push_back({key("latest:chain:" + suffix), t.enriched, config.latest_ttl});
  std::string pcr;
  encode_latest_pcr(pcr, chain, analytics);
  t.cache_writes.push_back({key("latest:pcr:" + suffix), std::move(pcr), config.latest_ttl});
  t.smile_set_key = key("iv_surface:" + suffix);
  t.smile_iv_key = key("iv_surface_iv:" + suffix);
  for (iv_surface_member& m : iv_surface_members(chain, analytics)) {
    if (m.iv) t.smile.push_back({std::move(m.member), m.score, *m.iv});
  }
  if (config.fit_surfaces) {
    if (const std::optional<smile_slice> slice = fit_smile(chain, analytics, state.smile ? &*state.smile : nullptr)) {
      state.smile = slice->params;
      maybe_surface(t, chain, *slice);
    }
  }
  state.previous = std::move(chain);
}

void enricher::impl::maybe_surface(task& t, const option_chain& chain, const smile_slice& slice) {
  const clock::time_point now = ports.time->now();
  std::vector<smile_slice> slices;
  {
    const std::lock_guard lock{surfaces_mutex};
    product_surface& surface = surfaces[chain.product];
    surface.slices[std::chrono::sys_days{chain.expiry}] = slice;
    // Expiries before the chain's day are over: their smiles leave the surface.
    const auto today = std::chrono::floor<std::chrono::days>(
        std::chrono::sys_time<std::chrono::nanoseconds>{std::chrono::nanoseconds{chain.timestamp}});
    std::erase_if(surface.slices, [&](const auto& entry) { return entry.first < today; });
    if (surface.written && now - surface.last_written < config.surface_interval) return;
    surface.written = true;
    surface.last_written = now;
    for (const auto& [expiry, s] : surface.slices) slices.push_back(s);
  }
  try {
    const vol_surface surface{std::move(slices), chain.underlying_price};
    t.cache_writes.push_back(
        {key("volatility_surface:" + chain.product), encode_surface(surface, chain.product, chain.timestamp),
         config.latest_ttl});
  } catch (const std::invalid_argument& e) {
    // Two expiries fitted at the same time to expiry cannot form a surface; the next chain tries again.
    log.log(log_level::warning, "surface_skipped",
            {{"trace_id", std::string_view{t.trace_id}}, {"error", std::string_view{e.what()}}});
  }
}

// A retried message older than what was written since keeps its hands off the latest values.
timestamp_ns* enricher::impl::newest_written(worker& w, const task& t) {
  switch (t.message.kind) {
    case message_kind::underlying: return &w.ticks.at(t.state_key).newest_written;
    case message_kind::option_chain: return &w.chains[t.state_key].newest_written;
    case message_kind::option_quote: return &w.quotes_newest.try_emplace(t.state_key, never).first->second;
  }
  throw std::logic_error("enricher: unknown message kind");
}

void enricher::impl::write_cache(worker& w, task& t) {
  timestamp_ns* newest = newest_written(w, t);
  if (t.timestamp >= *newest) {
    if (!t.cache_writes.empty()) ports.cache->set(t.cache_writes);
    if (!t.smile_set_key.empty()) ports.cache->replace_smile(t.smile_set_key, t.smile_iv_key, t.smile, config.latest_ttl);
    *newest = t.timestamp;
  }
  t.next = stage::publish;
}

void enricher::impl::retry_later(worker& w, task_ptr t, std::string error) {
  ++t->failures;
  const clock::time_point now = ports.time->now();
  if (t->first_failed_at == 0) t->first_failed_at = now.time_since_epoch().count();
  if (t->failures > config.retry.max_retries) {
    send_to_dead_letters(*t, dead_letter_reason::retries_exhausted, std::move(error));
    finish(*t);
    return;
  }
  const std::chrono::nanoseconds delay = config.retry.delay(t->failures, w.random, t->previous_delay);
  t->previous_delay = delay;
  metrics->retried[index_of(t->message.kind)]->increment();
  log.log(log_level::warning, "retry_scheduled",
          {{"trace_id", std::string_view{t->trace_id}}, {"kind", to_string(t->message.kind)},
           {"id", std::string_view{t->id}}, {"retry", std::int64_t{t->failures}},
           {"delay_ms", std::chrono::duration<double, std::milli>(delay).count()},
           {"error", std::string_view{error}}});
  t->last_error = std::move(error);
  retries_pending.fetch_add(1, std::memory_order_relaxed);
  retries.schedule(now + delay, std::move(t));
}

void enricher::impl::send_to_dead_letters(task& t, dead_letter_reason reason, std::string error) {
  const timestamp_ns now = ports.time->now().time_since_epoch().count();
  dead_letter letter;
  letter.id = t.id;
  letter.kind = t.message.kind;
  letter.channel = t.message.channel;
  letter.error = std::move(error);
  letter.reason = reason;
  letter.attempts = std::max(1, t.failures);
  letter.first_failed_at = t.first_failed_at != 0 ? t.first_failed_at : now;
  letter.failed_at = now;
  letter.payload = t.message.payload;
  letter.trace_id = t.trace_id;
  t.result = outcome::dead_lettered;
  t.next = stage::done;
  try {
    ports.dead_letters->push(letter);
  } catch (const std::exception& e) {
    // Not acknowledged: a source that redelivers brings the message back; say so loudly.
    metrics->port_failures->increment();
    log.log(log_level::error, "dead_letter_failed",
            {{"trace_id", std::string_view{t.trace_id}}, {"error", std::string_view{e.what()}}});
    return;
  }
  metrics->dead_lettered[index_of(t.message.kind)][index_of(reason)]->increment();
  log.log(log_level::error, "dead_lettered",
          {{"trace_id", std::string_view{t.trace_id}}, {"kind", to_string(t.message.kind)},
           {"id", std::string_view{t.id}}, {"reason", to_string(reason)},
           {"attempts", std::int64_t{letter.attempts}}, {"error", std::string_view{letter.error}}});
  try {
    // Give the claim back, so that a replay can process the message at once.
    if (t.token.value != 0) ports.idempotency->release(t.idempotency_key, t.token);
    t.token = {};
    acknowledge(t);
  } catch (const std::exception& e) {
    metrics->port_failures->increment();
    log.log(log_level::warning, "release_or_acknowledge_failed",
            {{"trace_id", std::string_view{t.trace_id}}, {"error", std::string_view{e.what()}}});
  }
}

void enricher::impl::finish(task& t) {
  const std::size_t k = index_of(t.message.kind);
  switch (t.result) {
    case outcome::enriched:
      metrics->enriched[k]->increment();
      metrics->processing[k]->observe(std::chrono::duration<double>(steady::now() - t.received_at).count());
      break;
    case outcome::duplicate: metrics->duplicates[k]->increment(); break;
    case outcome::deferred: metrics->deferred[k]->increment(); break;
    case outcome::dead_lettered: break;  // counted by send_to_dead_letters()
  }
}

// ---- the public face -------------------------------------------------------------------------------

enricher::enricher(enricher_ports ports, enricher_config config)
    : impl_(std::make_unique<impl>(ports, std::move(config))) {}

enricher::~enricher() { stop(); }

void enricher::impl::launch() {
  started.store(true);
  for (auto& w : workers) w->thread = std::thread([this, &w] { run_worker(*w); });
  dispatcher = std::thread([this] { run_dispatcher(); });
}

void enricher::start() {
  const std::lock_guard lock{impl_->lifecycle_mutex};
  if (impl_->started.load() || impl_->stopped.load()) throw std::logic_error("enricher::start: already started");
  impl_->launch();
}

bool enricher::submit(delivery message) {
  if (!impl_->accepting.load(std::memory_order_acquire)) return false;
  auto t = std::make_unique<task>();
  t->message = std::move(message);
  t->received_at = steady::now();
  t->worker = route_hint(t->message) % impl_->workers.size();
  impl_->metrics->received[index_of(t->message.kind)]->increment();
  impl_->enqueue(std::move(t), true);
  return true;
}

std::size_t enricher::replay_dead_letters(std::size_t max) {
  std::size_t replayed = 0;
  while (replayed < max) {
    const std::size_t batch = std::min<std::size_t>(max - replayed, 256);
    std::vector<dead_letter> letters = impl_->ports.dead_letters->take(batch);
    for (dead_letter& letter : letters) {
      delivery d;
      d.kind = letter.kind;
      d.channel = std::move(letter.channel);
      d.payload = std::move(letter.payload);
      impl_->log.log(log_level::info, "replayed",
                     {{"trace_id", std::string_view{letter.trace_id}}, {"id", std::string_view{letter.id}}});
      if (!submit(std::move(d))) return replayed;
      ++replayed;
    }
    if (letters.size() < batch) break;
  }
  return replayed;
}

bool enricher::wait_quiescent(std::chrono::milliseconds timeout) {
  const auto deadline = steady::now() + timeout;
  for (;;) {
    // In this order: a due retry leaves the timer only after it is counted in queued (under the timer's
    // lock), and a worker counts a message in in_flight before it takes it from queued, so a message is
    // always seen in one of the three places.
    if (!impl_->retries.any_due(impl_->ports.time->now()) && impl_->queued.load() == 0 && impl_->in_flight.load() == 0)
      return true;
    if (steady::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds{200});
  }
}

void enricher::stop() {
  const std::lock_guard lock{impl_->lifecycle_mutex};
  if (impl_->stopped.exchange(true)) return;
  impl_->accepting.store(false, std::memory_order_release);
  // Messages submitted to an engine that never started are processed now rather than lost.
  if (!impl_->started.load() && impl_->queued.load() != 0) impl_->launch();
  if (impl_->started.load()) {
    impl_->dispatching.store(false, std::memory_order_release);
    if (impl_->ports.source != nullptr) impl_->ports.source->close();
    {
      const std::lock_guard wake{impl_->dispatcher_mutex};
      impl_->dispatcher_wake.notify_all();
    }
    impl_->dispatcher.join();
    // Drain: what is queued or in flight finishes (a worker may still hand a message to another).
    while (impl_->queued.load() != 0 || impl_->in_flight.load() != 0) std::this_thread::sleep_for(std::chrono::microseconds{200});
    for (auto& w : impl_->workers) w->queue.close();
    for (auto& w : impl_->workers) w->thread.join();
  }
  // Messages waiting for a retry are kept as dead letters, to be replayed.
  for (task_ptr& t : impl_->retries.take_all()) {
    impl_->retries_pending.fetch_sub(1, std::memory_order_relaxed);
    impl_->send_to_dead_letters(*t, dead_letter_reason::shutdown, t->last_error);
  }
  impl_->update_gauges();
}

enricher_stats enricher::stats() const {
  const engine_metrics& m = *impl_->metrics;
  enricher_stats s;
  for (std::size_t k = 0; k < kind_count; ++k) {
    s.received += m.received[k]->value();
    s.enriched += m.enriched[k]->value();
    s.duplicates += m.duplicates[k]->value();
    s.deferred += m.deferred[k]->value();
    s.retries += m.retried[k]->value();
    for (const counter* c : m.dead_lettered[k]) s.dead_lettered += c->value();
  }
  s.late_ticks = m.late_ticks->value();
  s.queued = impl_->queued.load();
  s.in_flight = impl_->in_flight.load();
  s.retries_pending = impl_->retries_pending.load();
  return s;
}

health_report enricher::health() const {
  health_report report;
  auto ask = [&](std::string name, auto* port) {
    if (port == nullptr) return;
    port_health h;
    try {
      h = port->health();
    } catch (const std::exception& e) {
      h = {false, e.what()};
    }
    report.ok = report.ok && h.ok;
    report.ports.emplace_back(std::move(name), std::move(h));
  };
  ask("source", impl_->ports.source);
  ask("sink", impl_->ports.sink);
  ask("store", impl_->ports.store);
  ask("cache", impl_->ports.cache);
  ask("dead_letters", impl_->ports.dead_letters);
  return report;
}

metrics_registry& enricher::metrics() noexcept {
  impl_->update_gauges();
  return *impl_->registry;
}

}  // namespace optaro

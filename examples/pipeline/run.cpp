// `optaro-pipeline run`: the feed generator, the enricher workers and the sinks in one process.
//
// Threads: a producer paces the feed by the wall clock and hands each message to the bus (an
// in-memory queue, or Redis pub/sub or streams); the engine's dispatcher and workers consume it; the
// engine's sink is a callback that passes enriched messages on (to Redis when there is one) and
// measures them; the main thread draws the progress once a second from counters and a few cache
// reads, then drains the engine and checks the books: every produced message stored once and
// published once.
#include "run.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <optaro/optaro.hpp>

#include "common.hpp"
#include "feed.hpp"
#include "http_server.hpp"
#include "instruments.hpp"

#ifdef OPTARO_PIPELINE_WITH_REDIS
#include <optaro/redis/ports.hpp>
#endif
#ifdef OPTARO_PIPELINE_WITH_MONGO
#include <optaro/mongo/store.hpp>
#endif

namespace optaro::pipeline {
namespace {

using namespace std::chrono_literals;

// Ctrl-C (or SIGTERM): the first stops the feed and drains the engine; a second stops waiting for the drain.
[[nodiscard]] bool interrupted() noexcept { return stop_requests() > 0; }

feed_config make_feed_config(const run_options& o) { return pipeline::make_feed_config(o.products, o.seed, o.shape); }

using pipeline::fixed;  // next to the overload below, not hidden by it
std::string fixed(std::optional<double> v, int decimals) { return v ? fixed(*v, decimals) : "-"; }

// ---- what the display shows of a product -----------------------------------------------------------

struct product_view {
  std::optional<double> price;
  std::string expiry;  ///< the nearest expiry with an enriched chain; empty before the first
  std::optional<double> pcr_oi, max_pain, atm_iv;
};

std::optional<double> number_field(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::optional<nlohmann::json> cached_json(optaro::cache& cache, const std::string& key) {
  std::optional<std::string> text;
  try {
    text = cache.get(key);
  } catch (const std::exception&) {
    return std::nullopt;  // a cache that is down shows as "-"; the engine reports it
  }
  if (!text) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

product_view read_product(optaro::cache& cache, const std::string& prefix, const std::string& product,
                          const enriched_meter& meter) {
  product_view view;
  std::string today;
  if (const auto tick = cached_json(cache, prefix + "latest:underlying:" + product)) {
    view.price = number_field(*tick, "price");
    if (const auto ts = tick->find("timestamp"); ts != tick->end() && ts->is_string()) {
      today = ts->get<std::string>().substr(0, 10);
    }
  }
  const std::vector<std::string> expiries = meter.expiries(product);
  if (expiries.empty()) return view;
  // The nearest expiry not yet past (ISO dates compare as text).
  const auto nearest = std::find_if(expiries.begin(), expiries.end(), [&](const std::string& e) { return e >= today; });
  view.expiry = nearest != expiries.end() ? *nearest : expiries.back();
  const std::string suffix = product + ":" + view.expiry;
  if (const auto pcr = cached_json(cache, prefix + "latest:pcr:" + suffix)) view.pcr_oi = number_field(*pcr, "pcr_oi");
  if (const auto chain = cached_json(cache, prefix + "latest:chain:" + suffix)) {
    view.max_pain = number_field(*chain, "max_pain");
    view.atm_iv = number_field(*chain, "atm_iv");
  }
  return view;
}

// ---- the live display --------------------------------------------------------------------------------

struct progress_inputs {
  double elapsed_s = 0, duration_s = 0;
  std::array<std::uint64_t, kind_count> produced{}, enriched{};
  double produced_rate = 0, enriched_rate = 0;
  double p50 = 0, p99 = 0;
  enricher_stats stats;
  std::vector<std::pair<std::string, product_view>> products;
  std::string phase;  ///< "" while the feed runs, else "draining"
};

std::uint64_t sum(const std::array<std::uint64_t, kind_count>& counts) {
  std::uint64_t total = 0;
  for (const std::uint64_t c : counts) total += c;
  return total;
}

std::vector<std::string> frame_lines(const progress_inputs& in, const std::string& mode) {
  std::vector<std::string> lines;
  lines.push_back("optaro-pipeline run (" + mode + ")  " + fixed(in.elapsed_s, 1) + " s of " + fixed(in.duration_s, 0) +
                  " s" + (in.phase.empty() ? "" : "  [" + in.phase + "]"));
  lines.push_back("  produced  " + grouped(sum(in.produced)) + "  (" + kinds_text(in.produced) + ")  " +
                  fixed(in.produced_rate, 0) + " msg/s");
  lines.push_back("  enriched  " + grouped(sum(in.enriched)) + "  (" + kinds_text(in.enriched) + ")  " +
                  fixed(in.enriched_rate, 0) + " msg/s");
  lines.push_back("  latency   p50 " + fixed(in.p50, 3) + " ms   p99 " + fixed(in.p99, 3) + " ms   (feed to enriched)");
  lines.push_back("  retries " + grouped(in.stats.retries) + "   dead letters " + grouped(in.stats.dead_lettered) +
                  "   duplicates " + grouped(in.stats.duplicates) + "   queued " + grouped(in.stats.queued) +
                  "   in flight " + grouped(in.stats.in_flight));
  for (const auto& [name, v] : in.products) {
    std::array<char, 200> line{};
    std::snprintf(line.data(), line.size(), "  %-10s %10s   PCR(OI) %6s   max pain %8s   ATM IV %6s%%   %s",
                  name.c_str(), fixed(v.price, 2).c_str(), fixed(v.pcr_oi, 3).c_str(), fixed(v.max_pain, 0).c_str(),
                  fixed(v.atm_iv ? std::optional<double>{*v.atm_iv * 100} : std::nullopt, 2).c_str(),
                  v.expiry.empty() ? "(no chain yet)" : v.expiry.c_str());
    lines.emplace_back(line.data());
  }
  return lines;
}

std::string plain_line(const progress_inputs& in) {
  std::string line = "[" + fixed(in.elapsed_s, 0) + "s" + (in.phase.empty() ? "" : " " + in.phase) + "] produced " +
                     grouped(sum(in.produced)) + " enriched " + grouped(sum(in.enriched)) + " (" +
                     fixed(in.enriched_rate, 0) + "/s) p50 " + fixed(in.p50, 3) + "ms p99 " + fixed(in.p99, 3) +
                     "ms retries " + grouped(in.stats.retries) + " dlq " + grouped(in.stats.dead_lettered);
  for (const auto& [name, v] : in.products) {
    line += " | " + name + " " + fixed(v.price, 2) + " pcr " + fixed(v.pcr_oi, 3) + " maxpain " +
            fixed(v.max_pain, 0) + " iv " + fixed(v.atm_iv ? std::optional<double>{*v.atm_iv * 100} : std::nullopt, 2) +
            "%";
  }
  return line;
}

class display {
 public:
  display(bool quiet, bool redraw) : quiet_(quiet), redraw_(redraw) {}

  void show(const progress_inputs& in, const std::string& mode) {
    if (quiet_) return;
    if (!redraw_) {
      std::printf("%s\n", plain_line(in).c_str());
      std::fflush(stdout);
      return;
    }
    // ANSI: back up over the previous frame, then rewrite it line by line, clearing each.
    std::string out;
    if (drawn_ > 0) out += "\x1b[" + std::to_string(drawn_) + "A";
    const std::vector<std::string> lines = frame_lines(in, mode);
    for (const std::string& l : lines) out += "\x1b[2K" + l + "\n";
    for (std::size_t i = lines.size(); i < drawn_; ++i) out += "\x1b[2K\n";  // a frame that shrank
    drawn_ = std::max(drawn_, lines.size());
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
  }

 private:
  bool quiet_, redraw_;
  std::size_t drawn_ = 0;
};

}  // namespace

int run_pipeline(const run_options& o) {
  feed_config feed_settings;
  try {
    feed_settings = make_feed_config(o);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "optaro-pipeline run: invalid feed configuration: %s\n", e.what());
    return 2;
  }
#ifndef OPTARO_PIPELINE_WITH_REDIS
  if (!o.redis_url.empty()) {
    std::fprintf(stderr, "optaro-pipeline run: --redis: this build has no Redis support (optaro::redis was not "
                         "built; install libhiredis-dev and configure with -DOPTARO_WITH_REDIS=ON)\n");
    return 2;
  }
#endif
#ifndef OPTARO_PIPELINE_WITH_MONGO
  if (!o.mongo_uri.empty()) {
    std::fprintf(stderr, "optaro-pipeline run: --mongo: this build has no MongoDB support (optaro::mongo was not "
                         "built; install libmongoc-dev and configure with -DOPTARO_WITH_MONGO=ON)\n");
    return 2;
  }
#endif

  // ---- ports: in memory, unless a server was named ----
  system_clock clock;
  // Bounded, so that a long run does not keep every document (the embedded store is only counted).
  in_memory_document_store::options store_options;
  store_options.max_documents_per_kind = o.store_retention;
  in_memory_ports memory{clock, in_memory_sink::options{false}, store_options};
  // The embedded bus: bounded, so that an unpaced feed waits for the engine instead of filling memory.
  in_memory_source::options bus_options;
  bus_options.capacity = 8192;
  in_memory_source bus{bus_options};

  enricher_config config;
  config.workers = o.workers;
  config.random_seed = o.seed;
  // The embedded claims hold about rate x processed_ttl keys in this process: a minute by default
  // (the in-memory bus never delivers a message twice); with Redis they live there, for the engine's hour.
  const double processed_ttl_s = o.processed_ttl_seconds > 0 ? o.processed_ttl_seconds
                                 : o.redis_url.empty()       ? 60.0
                                                             : 3600.0;
  config.processed_ttl =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>{processed_ttl_s});

  enricher_ports ports = memory.ports(false);
  ports.source = &bus;
  message_sink* enriched_forward = nullptr;
  std::string mode = "embedded";
  // The feed hands the bus what is due in batches (one round trip each through Redis); a batch that
  // fails is sent again whole, so it must not be consumed by a failed attempt.
  feed_pump::publisher publish_feed = [&bus](std::span<feed_message> batch) {
    for (feed_message& m : batch) {
      if (!bus.push(m.kind, std::move(m.payload))) throw std::runtime_error("the in-memory bus is closed");
    }
  };

#ifdef OPTARO_PIPELINE_WITH_REDIS
  std::unique_ptr<redis::connection_pool> pool;
  std::unique_ptr<message_sink> feed_sink, redis_enriched;
  std::unique_ptr<message_source> redis_source;
  std::unique_ptr<redis::cache> redis_cache;
  std::unique_ptr<redis::idempotency_store> redis_claims;
  std::unique_ptr<prefixed_claims> run_claims;
  std::unique_ptr<redis::dead_letter_queue> redis_dead_letters;
  if (!o.redis_url.empty()) {
    redis::connection_options redis_options;
    try {
      redis_options.address = redis::url::parse(o.redis_url);
    } catch (const std::invalid_argument& e) {
      std::fprintf(stderr, "optaro-pipeline run: --redis: %s\n", e.what());
      return 2;
    }
    pool = std::make_unique<redis::connection_pool>(redis_options, 4 + 2 * o.workers);
    if (const port_health h = pool->health(); !h.ok) {
      std::fprintf(stderr, "optaro-pipeline run: cannot reach Redis at %s: %s\n",
                   redis_options.address.redacted().c_str(), h.detail.c_str());
      return 1;
    }
    redis_dead_letters = std::make_unique<redis::dead_letter_queue>(*pool);
    if (o.streams) {
      feed_sink = std::make_unique<redis::stream_sink>(*pool);
      redis_source = std::make_unique<redis::stream_source>(redis_options, redis::stream_options{}, *redis_dead_letters);
    } else {
      feed_sink = std::make_unique<redis::pubsub_sink>(*pool);
      // Subscribed when constructed: what the feed publishes from now on is received.
      auto subscriber = std::make_unique<redis::pubsub_source>(redis_options);
      if (const port_health h = subscriber->health(); !h.ok) {
        std::fprintf(stderr, "optaro-pipeline run: Redis subscription failed: %s\n", h.detail.c_str());
        return 1;
      }
      redis_source = std::move(subscriber);
    }
    redis_enriched = std::make_unique<redis::pubsub_sink>(*pool);
    redis_cache = std::make_unique<redis::cache>(*pool);
    redis_claims = std::make_unique<redis::idempotency_store>(*pool, o.seed);
    const auto wall = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    run_claims = std::make_unique<prefixed_claims>(
        *redis_claims, "pipeline:" + std::to_string(wall.count()) + "-" + std::to_string(::getpid()) + ":");

    ports.source = redis_source.get();
    ports.cache = redis_cache.get();
    ports.idempotency = run_claims.get();
    ports.dead_letters = redis_dead_letters.get();
    enriched_forward = redis_enriched.get();
    publish_feed = publish_to(*feed_sink);
    mode = std::string{"redis "} + (o.streams ? "streams " : "pubsub ") + redis_options.address.redacted();
  }
#endif

  document_store* store = &memory.store;
  [[maybe_unused]] std::array<std::int64_t, kind_count> stored_before{};  // with MongoDB only
  bool store_had_documents = false;
#ifdef OPTARO_PIPELINE_WITH_MONGO
  std::unique_ptr<mongo::document_store> mongo_store;
  if (!o.mongo_uri.empty()) {
    mongo::store_options mongo_options;
    mongo_options.uri = o.mongo_uri;
    mongo_options.database = o.mongo_database;
    try {
      mongo_store = std::make_unique<mongo::document_store>(mongo_options);
      for (const message_kind k : all_kinds) {
        stored_before[index_of(k)] = mongo_store->count(k);
        store_had_documents = store_had_documents || stored_before[index_of(k)] > 0;
      }
    } catch (const std::invalid_argument& e) {
      std::fprintf(stderr, "optaro-pipeline run: --mongo: %s\n", e.what());
      return 2;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "optaro-pipeline run: cannot use MongoDB at %s: %s\n",
                   mongo::redact_uri(o.mongo_uri).c_str(), e.what());
      return 1;
    }
    store = mongo_store.get();
    mode = (mode == "embedded" ? std::string{"in-memory bus"} : mode) + ", mongo " + mongo::redact_uri(o.mongo_uri) +
           " db " + o.mongo_database;
  }
#endif
  counting_store counted{*store, store_had_documents};
  ports.store = &counted;

  std::unique_ptr<stream_event_sink> json_log;
  event_logger run_log;  // the run's own events, next to the engine's; discards without --json-logs
  if (o.json_logs) {
    json_log = std::make_unique<stream_event_sink>(std::cerr);
    ports.events = json_log.get();
    ports.log_minimum = o.log_level == "debug"     ? log_level::debug
                        : o.log_level == "warning" ? log_level::warning
                        : o.log_level == "error"   ? log_level::error
                                                   : log_level::info;
    run_log = event_logger{json_log.get(), clock, ports.log_minimum};
  }

  // ---- the run ----
  feed_generator generator{feed_settings};
  const bool paced = o.shape.rate > 0;
  // A moment's lead, so that the engine is running when the first message is due.
  const steady::time_point t0 = steady::now() + 200ms;
  schedule times{t0, feed_settings.start, o.speed, paced};
  enriched_meter meter{config.names, times, enriched_forward};
  ports.sink = &meter;

  enricher engine{ports, config};
  // The run's own gauges next to the engine's (on /metrics), set once a second by the main loop: what
  // could grow with a long run in this process. Only the ports that live here.
  metrics_registry& registry = engine.metrics();
  const bool embedded_bus = ports.source == &bus;
  const bool embedded_claims = ports.idempotency == &memory.claims;
  const bool embedded_store = store == &memory.store;
  gauge* bus_pending = embedded_bus ? &registry.add_gauge("optaro_pipeline_bus_pending",
                                                          "Messages on the in-memory bus not yet received")
                                    : nullptr;
  gauge* bus_unacknowledged = embedded_bus ? &registry.add_gauge("optaro_pipeline_bus_unacknowledged",
                                                                 "In-memory bus deliveries received, not acknowledged")
                                           : nullptr;
  gauge* claims_held = embedded_claims ? &registry.add_gauge("optaro_pipeline_claims_held",
                                                             "In-memory idempotency entries held (live or expired)")
                                       : nullptr;
  std::array<gauge*, kind_count> store_held{};
  if (embedded_store) {
    for (const message_kind k : all_kinds) {
      store_held[index_of(k)] = &registry.add_gauge("optaro_pipeline_store_documents",
                                                    "Documents held by the in-memory store",
                                                    {{"kind", std::string{to_string(k)}}});
    }
  }
  gauge* cache_keys = ports.cache == &memory.cache
                          ? &registry.add_gauge("optaro_pipeline_cache_keys", "Live keys of the in-memory cache")
                          : nullptr;
  const auto update_run_gauges = [&] {
    if (bus_pending != nullptr) bus_pending->set(static_cast<double>(bus.pending()));
    if (bus_unacknowledged != nullptr) bus_unacknowledged->set(static_cast<double>(bus.unacknowledged()));
    if (claims_held != nullptr) claims_held->set(static_cast<double>(memory.claims.size()));
    for (const message_kind k : all_kinds) {
      if (store_held[index_of(k)] != nullptr) store_held[index_of(k)]->set(static_cast<double>(memory.store.size(k)));
    }
    if (cache_keys != nullptr) cache_keys->set(static_cast<double>(memory.cache.size()));
  };
  update_run_gauges();
  engine.start();
  std::unique_ptr<http_server> http;  // destroyed before the engine
  if (o.http_port >= 0) {
    try {
      http = std::make_unique<http_server>(o.http_host, static_cast<std::uint16_t>(o.http_port), engine_endpoints(engine));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "optaro-pipeline run: --http-port: %s\n", e.what());
      return 1;
    }
    std::fprintf(stderr, "optaro-pipeline run: metrics and health on http://%s:%u/metrics, /health\n",
                 o.http_host.c_str(), static_cast<unsigned>(http->port()));
  }
  poisoner poison{o.poison_every};
  run_log.info("pipeline_started", {{"mode", mode},
                                    {"workers", o.workers},
                                    {"seed", o.seed},
                                    {"ticks_per_second", feed_settings.ticks_per_second},
                                    {"chains_per_second", feed_settings.chains_per_second},
                                    {"paced", paced},
                                    {"duration_s", o.duration_seconds}});
  install_stop_signals();

  const bool redraw = ::isatty(STDOUT_FILENO) == 1 && !(o.json_logs && ::isatty(STDERR_FILENO) == 1);
  display screen{o.quiet, redraw};
  if (!o.quiet) {
    std::string names;
    for (const product_spec& p : feed_settings.products) names += (names.empty() ? "" : ",") + p.name;
    std::printf("optaro-pipeline run: %s; %zu workers; %s; %s ticks/s + %s chains/s (event time)%s for %s s; "
                "Ctrl-C stops\n",
                mode.c_str(), o.workers, names.c_str(), fixed(feed_settings.ticks_per_second, 0).c_str(),
                fixed(feed_settings.chains_per_second, 1).c_str(), paced ? "" : ", unpaced",
                fixed(o.duration_seconds, 1).c_str());
    std::fflush(stdout);
  }

  std::atomic<bool> feed_done{false};
  std::string feed_error;  // written by the producer before feed_done
  const auto run_length = std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>{o.duration_seconds});
  const steady::time_point feed_end = t0 + run_length;
  steady::time_point feed_stopped_at = feed_end;

  feed_pump pump{generator, poison, times, publish_feed};
  std::thread producer{[&] {
    try {
      pump.run([&] { return interrupted() || steady::now() >= feed_end; },
               [] { return stop_requests() > 1; }, o.message_limit);
    } catch (const std::exception& e) {
      feed_error = e.what();
    }
    feed_done.store(true, std::memory_order_release);
  }};

  // ---- progress, once a second ----
  std::array<std::uint64_t, kind_count> last_produced{}, last_enriched{};
  steady::time_point last_frame = t0;
  std::pair<double, double> last_rates{0, 0};
  const std::string key_prefix = config.names.key_prefix;
  const auto take_frame = [&](const std::string& phase) {
    progress_inputs in;
    const steady::time_point now = steady::now();
    in.elapsed_s = std::chrono::duration<double>(now - t0).count();
    in.duration_s = o.duration_seconds;
    in.phase = phase;
    for (const message_kind k : all_kinds) {
      in.produced[index_of(k)] = pump.sent(k);
      in.enriched[index_of(k)] = meter.published(k);
    }
    if (!meter.publishes(message_kind::option_quote)) in.enriched[index_of(message_kind::option_quote)] = 0;
    const double dt = std::chrono::duration<double>(now - last_frame).count();
    if (phase == "done") {  // the last frame shows the totals with the rates of the last second
      in.produced_rate = last_rates.first;
      in.enriched_rate = last_rates.second;
    } else if (dt > 0) {
      in.produced_rate = static_cast<double>(sum(in.produced) - sum(last_produced)) / dt;
      in.enriched_rate = static_cast<double>(sum(in.enriched) - sum(last_enriched)) / dt;
    }
    last_rates = {in.produced_rate, in.enriched_rate};
    last_produced = in.produced;
    last_enriched = in.enriched;
    last_frame = now;
    in.p50 = std::min(meter.latency_ms().quantile(0.5), meter.max_latency_ms());
    in.p99 = std::min(meter.latency_ms().quantile(0.99), meter.max_latency_ms());
    in.stats = engine.stats();
    // The cache is read only here, once a second: the hot path never parses what it publishes.
    if (!o.quiet) {
      for (const product_spec& p : feed_settings.products) {
        in.products.emplace_back(p.name, read_product(*ports.cache, key_prefix, p.name, meter));
      }
    }
    screen.show(in, mode);
  };
  const auto wait_a_little = [] { std::this_thread::sleep_for(20ms); };

  steady::time_point next_frame = t0 + 1s;
  while (!feed_done.load(std::memory_order_acquire)) {
    wait_a_little();
    if (steady::now() >= next_frame) {
      take_frame("");
      update_run_gauges();
      next_frame += 1s;
    }
  }
  producer.join();
  feed_stopped_at = std::min(steady::now(), std::max(feed_end, t0));

  // ---- drain: everything sent must reach the engine (or be given up on), then finish it ----
  std::uint64_t total_sent = 0;
  for (const message_kind k : all_kinds) total_sent += pump.sent(k);
  total_sent += poison.injected();
  std::uint64_t last_received = 0;
  steady::time_point last_progress = steady::now();
  std::string drain_note;
  while (stop_requests() < 2) {
    const enricher_stats s = engine.stats();
    if (s.received >= total_sent) break;
    const steady::time_point now = steady::now();
    if (s.received != last_received) {
      last_received = s.received;
      last_progress = now;
    } else if (now - last_progress > 5s) {
      drain_note = grouped(total_sent - s.received) + " sent messages never reached the engine";
      break;
    }
    wait_a_little();
    if (now >= next_frame) {
      take_frame("draining");
      next_frame += 1s;
    }
  }
  // Retries not yet due keep messages in the engine too: wait for them within the same 30 s, or stop()
  // turns them into shutdown dead letters (kept, replayable, but not enriched by this run).
  const steady::time_point drain_deadline = steady::now() + 30s;
  while (stop_requests() < 2) {
    if (engine.wait_quiescent(std::chrono::milliseconds{100}) && engine.stats().retries_pending == 0) break;
    if (steady::now() >= drain_deadline) {
      drain_note += (drain_note.empty() ? "" : "; ") + std::string{"the engine did not become idle within 30 s"};
      break;
    }
    if (steady::now() >= next_frame) {
      take_frame("draining");
      next_frame += 1s;
    }
  }
  engine.stop();
  const steady::time_point drained_at = steady::now();
  if (!o.quiet && redraw) take_frame("done");

  // ---- the books ----
  const enricher_stats stats = engine.stats();
  std::array<std::uint64_t, kind_count> produced{}, stored{}, published{};
  std::string store_note;
  for (const message_kind k : all_kinds) {
    const std::size_t i = index_of(k);
    produced[i] = generator.produced(k) - poison.replaced(k);  // poison is an expected dead letter
    published[i] = meter.published(k);
    // Every document inserted, including those the retention bound evicted since.
    std::uint64_t in_store = memory.store.inserted(k);
#ifdef OPTARO_PIPELINE_WITH_MONGO
    if (mongo_store) {
      try {
        const std::int64_t after = mongo_store->count(k);
        in_store = after > stored_before[i] ? static_cast<std::uint64_t>(after - stored_before[i]) : 0;
      } catch (const std::exception& e) {
        store_note = std::string{"counting the MongoDB documents failed ("} + e.what() + "); counted the inserts";
        in_store = counted.inserted(k);
      }
    }
#endif
    stored[i] = in_store + counted.preexisting(k);
  }

  // Duplicated: stored or published more than once. A message the bus delivered again and the engine
  // recognised as done (stats.duplicates) was not processed twice: it is shown as redelivered.
  std::uint64_t lost = 0, duplicated = 0;
  for (const message_kind k : all_kinds) {
    const std::size_t i = index_of(k);
    std::uint64_t lost_k = produced[i] > stored[i] ? produced[i] - stored[i] : 0;
    std::uint64_t dup_k = stored[i] > produced[i] ? stored[i] - produced[i] : 0;
    if (meter.publishes(k)) {
      lost_k = std::max(lost_k, produced[i] > published[i] ? produced[i] - published[i] : 0);
      dup_k = std::max(dup_k, published[i] > produced[i] ? published[i] - produced[i] : 0);
    }
    lost += lost_k;
    duplicated += dup_k;
  }

  const double feed_s = std::max(1e-9, std::chrono::duration<double>(feed_stopped_at - t0).count());
  const double total_s = std::max(1e-9, std::chrono::duration<double>(drained_at - t0).count());
  const auto rate = [](std::uint64_t n, double s) { return fixed(static_cast<double>(n) / s, 1); };
  const histogram& latency = meter.latency_ms();
  // The quantiles interpolate within buckets 25% wide: never show one above the largest latency seen.
  const double max_ms = meter.max_latency_ms();
  std::array<std::uint64_t, kind_count> sent_counts{};
  for (const message_kind k : all_kinds) sent_counts[index_of(k)] = pump.sent(k);
  std::uint64_t preexisting = 0, repeated = 0;
  for (const message_kind k : all_kinds) {
    preexisting += counted.preexisting(k);
    repeated += counted.repeated(k);
  }

  const bool poison_ok = stats.dead_lettered == poison.injected();
  const bool ok = lost == 0 && duplicated == 0 && poison_ok;
  run_log.log(ok ? log_level::info : log_level::error, "pipeline_summary",
              {{"produced", sum(produced)},
               {"enriched", stats.enriched},
               {"stored", sum(stored)},
               {"published", sum(published)},
               {"latency_p50_ms", std::min(latency.quantile(0.5), max_ms)},
               {"latency_p99_ms", std::min(latency.quantile(0.99), max_ms)},
               {"latency_max_ms", max_ms},
               {"retries", stats.retries},
               {"dead_lettered", stats.dead_lettered},
               {"lost", lost},
               {"duplicated", duplicated},
               {"poison_injected", poison.injected()},
               {"interrupted", interrupted()}});
  std::printf("\nsummary (%s)%s\n", mode.c_str(), interrupted() ? " -- interrupted" : "");
  std::printf("  time        feed %s s, drained after %s s; %zu workers; seed %llu; %s\n", fixed(feed_s, 2).c_str(),
              fixed(total_s, 2).c_str(), o.workers, static_cast<unsigned long long>(o.seed),
              paced ? ("rate x" + fixed(o.shape.rate, 3) + ", speed x" + fixed(o.speed, 3)).c_str() : "unpaced (--rate 0)");
  std::printf("  produced    %s  (%s)  %s msg/s\n", grouped(sum(produced)).c_str(), kinds_text(produced).c_str(),
              rate(sum(produced), feed_s).c_str());
  std::printf("  enriched    %s  (engine)  %s msg/s\n", grouped(stats.enriched).c_str(), rate(stats.enriched, total_s).c_str());
  std::printf("  published   %s\n", kinds_text(published).c_str());
  std::printf("  stored      %s%s\n", kinds_text(stored).c_str(),
              preexisting > 0 ? ("  (" + grouped(preexisting) + " already there from an earlier run with the same ids)").c_str()
                              : "");
  std::printf("  latency     feed to enriched: p50 %s ms, p99 %s ms, max %s ms  (%s messages)\n",
              fixed(std::min(latency.quantile(0.5), max_ms), 3).c_str(), fixed(std::min(latency.quantile(0.99), max_ms), 3).c_str(),
              fixed(meter.max_latency_ms(), 3).c_str(), grouped(latency.read().count).c_str());
  std::printf("  engine      received %s, retries %s, dead letters %s, redelivered %s (skipped as done), "
              "deferred %s, late ticks %s\n",
              grouped(stats.received).c_str(), grouped(stats.retries).c_str(), grouped(stats.dead_lettered).c_str(),
              grouped(stats.duplicates).c_str(), grouped(stats.deferred).c_str(), grouped(stats.late_ticks).c_str());
  if (sent_counts != produced) {
    std::printf("  note        the feed generated %s but sent %s\n", grouped(sum(produced)).c_str(),
                grouped(sum(sent_counts)).c_str());
  }
  if (pump.publish_retries() > 0) std::printf("  note        %s feed publishes retried\n", grouped(pump.publish_retries()).c_str());
  if (repeated > 0) std::printf("  note        %s store inserts found their own earlier insert\n", grouped(repeated).c_str());
  if (embedded_store && o.store_retention > 0) {
    std::uint64_t evicted = 0;
    for (const message_kind k : all_kinds) evicted += memory.store.evicted(k);
    if (evicted > 0) {
      std::printf("  note        the in-memory store holds the newest %s documents of each kind (--store-retention); "
                  "%s older ones were evicted after being stored\n",
                  grouped(o.store_retention).c_str(), grouped(evicted).c_str());
    }
  }
  if (!drain_note.empty()) std::printf("  note        %s\n", drain_note.c_str());
  if (!store_note.empty()) std::printf("  note        %s\n", store_note.c_str());
  if (!feed_error.empty()) std::printf("  error       the feed stopped: %s\n", feed_error.c_str());
  if (poison.enabled() || !poison_ok) {
    std::printf("  poison: %s injected, %s dead-lettered\n", grouped(poison.injected()).c_str(),
                grouped(stats.dead_lettered).c_str());
  }
  std::printf("  lost: %s, duplicated: %s\n", grouped(lost).c_str(), grouped(duplicated).c_str());
  std::fflush(stdout);
  if (!o.report_file.empty()) {
    nlohmann::json report;
    report["mode"] = mode;
    report["workers"] = o.workers;
    report["paced"] = paced;
    report["ticks_per_second"] = feed_settings.ticks_per_second;
    report["chains_per_second"] = feed_settings.chains_per_second;
    report["quotes_per_chain"] = 2 * (2 * o.shape.strikes_each_side + 1);
    report["feed_seconds"] = feed_s;
    report["drained_seconds"] = total_s;
    for (const message_kind k : all_kinds) {
      const std::string name{to_string(k)};
      report["produced"][name] = produced[index_of(k)];
      report["stored"][name] = stored[index_of(k)];
      report["published"][name] = published[index_of(k)];
    }
    if (embedded_store) {
      report["store_retention"] = o.store_retention;
      for (const message_kind k : all_kinds) {
        report["store_held"][std::string{to_string(k)}] = memory.store.size(k);
        report["store_evicted"][std::string{to_string(k)}] = memory.store.evicted(k);
      }
    }
    report["processed_ttl_seconds"] = processed_ttl_s;
    report["enriched"] = stats.enriched;
    report["enriched_per_second"] = static_cast<double>(stats.enriched) / total_s;
    report["latency_ms"] = {{"p50", std::min(latency.quantile(0.5), max_ms)},
                            {"p99", std::min(latency.quantile(0.99), max_ms)},
                            {"max", max_ms},
                            {"count", latency.read().count}};
    report["retries"] = stats.retries;
    report["dead_lettered"] = stats.dead_lettered;
    report["lost"] = lost;
    report["duplicated"] = duplicated;
    report["ok"] = ok && feed_error.empty();
    std::ofstream file{o.report_file, std::ios::trunc};
    file << report.dump(2) << '\n';
    if (!file) std::fprintf(stderr, "optaro-pipeline run: cannot write %s\n", o.report_file.c_str());
  }
  return ok && feed_error.empty() ? 0 : 1;
}

}  // namespace optaro::pipeline

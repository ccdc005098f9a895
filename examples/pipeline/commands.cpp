// optaro-pipeline feed | enrich | replay-dlq | tail: the pipeline's parts as separate processes
// around Redis (and MongoDB), so that several enrich processes can share one consumer group.
#include "commands.hpp"

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
#include <iostream>
#include <memory>
#include <optional>
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

#ifndef OPTARO_PIPELINE_WITH_REDIS
int no_redis(const char* command) {
  std::fprintf(stderr, "optaro-pipeline %s: this build has no Redis support (optaro::redis was not built; install "
                       "libhiredis-dev and configure with -DOPTARO_WITH_REDIS=ON)\n", command);
  return 2;
}
#else

// A number field of a cached JSON value, for tail's lines; "-" when absent.
using pipeline::fixed;  // next to the overload below, not hidden by it
std::string fixed(const nlohmann::json& j, const char* key, int decimals, double scale = 1) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return "-";
  return fixed(it->get<double>() * scale, decimals);
}

std::optional<redis::connection_options> redis_options(const char* command, const std::string& url) {
  redis::connection_options options;
  try {
    options.address = redis::url::parse(url);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "optaro-pipeline %s: --redis: %s\n", command, e.what());
    return std::nullopt;
  }
  return options;
}

bool reachable(const char* command, redis::connection_pool& pool) {
  if (const port_health h = pool.health(); !h.ok) {
    std::fprintf(stderr, "optaro-pipeline %s: cannot reach Redis at %s: %s\n", command,
                 pool.options().address.redacted().c_str(), h.detail.c_str());
    return false;
  }
  return true;
}

log_level level_of(const std::string& name) {
  return name == "debug" ? log_level::debug : name == "warning" ? log_level::warning
                                          : name == "error"     ? log_level::error
                                                                : log_level::info;
}

// The store: MongoDB when a URI is given, else the in-memory one. Returns 0, or the exit code.
struct store_choice {
  document_store* store = nullptr;
  std::string description = "in-memory store";
#ifdef OPTARO_PIPELINE_WITH_MONGO
  std::unique_ptr<mongo::document_store> mongo;
#endif
};

int choose_store(const char* command, const std::string& uri, const std::string& database, document_store& memory,
                 store_choice& out) {
  out.store = &memory;
  if (uri.empty()) return 0;
#ifdef OPTARO_PIPELINE_WITH_MONGO
  mongo::store_options options;
  options.uri = uri;
  options.database = database;
  try {
    out.mongo = std::make_unique<mongo::document_store>(options);
    if (const port_health h = out.mongo->health(); !h.ok) throw std::runtime_error(h.detail);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "optaro-pipeline %s: --mongo: %s\n", command, e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "optaro-pipeline %s: cannot use MongoDB at %s: %s\n", command, mongo::redact_uri(uri).c_str(),
                 e.what());
    return 1;
  }
  out.store = out.mongo.get();
  out.description = "mongo " + mongo::redact_uri(uri) + " db " + database;
  return 0;
#else
  (void)database;
  std::fprintf(stderr, "optaro-pipeline %s: --mongo: this build has no MongoDB support (optaro::mongo was not built; "
                       "install libmongoc-dev and configure with -DOPTARO_WITH_MONGO=ON)\n", command);
  return 2;
#endif
}

// The Redis side of an engine's ports, the same for enrich and replay-dlq: enriched messages published
// on the enriched:* channels, the Redis cache, claims (under a prefix when one is given: the feed
// restarts its ids at every run) and the dead-letter list.
struct redis_engine_ports {
  redis_engine_ports(redis::connection_pool& pool, const std::string& claims_prefix)
      : sink{pool}, cache{pool}, claims{pool}, prefixed{claims, claims_prefix}, dead_letters{pool},
        use_prefix{!claims_prefix.empty()} {}

  /// Every port: these, the store chosen, the source (null for replays) and the rest from `memory`.
  enricher_ports over(in_memory_ports& memory, document_store* store, message_source* source) {
    enricher_ports ports = memory.ports(false);
    ports.source = source;
    ports.sink = &sink;
    ports.store = store;
    ports.cache = &cache;
    ports.idempotency = use_prefix ? static_cast<idempotency_store*>(&prefixed) : &claims;
    ports.dead_letters = &dead_letters;
    return ports;
  }

  redis::pubsub_sink sink;
  redis::cache cache;
  redis::idempotency_store claims;
  prefixed_claims prefixed;
  redis::dead_letter_queue dead_letters;
  bool use_prefix;
};

#endif

}  // namespace

// ---- feed ----------------------------------------------------------------------------------------------

int run_feed(const feed_options& o) {
#ifndef OPTARO_PIPELINE_WITH_REDIS
  (void)o;
  return no_redis("feed");
#else
  feed_config settings;
  try {
    settings = make_feed_config(o.products, o.seed, o.shape);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "optaro-pipeline feed: invalid feed configuration: %s\n", e.what());
    return 2;
  }
  const auto options = redis_options("feed", o.redis_url);
  if (!options) return 2;
  redis::connection_pool pool{*options, 4};
  if (!reachable("feed", pool)) return 1;
  std::unique_ptr<message_sink> sink;
  if (o.streams) {
    sink = std::make_unique<redis::stream_sink>(pool);
  } else {
    sink = std::make_unique<redis::pubsub_sink>(pool);
  }
  install_stop_signals();

  feed_generator generator{settings};
  poisoner poison{o.poison_every};
  const bool paced = o.shape.rate > 0;
  const steady::time_point t0 = steady::now();
  schedule times{t0, settings.start, 1.0, paced};
  const bool bounded = o.duration_seconds > 0;
  const steady::time_point end =
      bounded ? t0 + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>{o.duration_seconds})
              : steady::time_point::max();
  std::string error;
  const std::string mode = std::string{o.streams ? "streams " : "pubsub "} + options->address.redacted();
  if (!o.quiet) {
    std::printf("optaro-pipeline feed: %s; %s ticks/s + %s chains/s%s; %s; Ctrl-C stops\n", mode.c_str(),
                fixed(settings.ticks_per_second, 0).c_str(), fixed(settings.chains_per_second, 1).c_str(),
                paced ? "" : ", unpaced", bounded ? ("for " + fixed(o.duration_seconds, 1) + " s").c_str() : "until stopped");
    std::fflush(stdout);
  }
  feed_pump pump{generator, poison, times, publish_to(*sink)};
  steady::time_point next_print = t0 + 1s;
  std::array<std::uint64_t, kind_count> last{};
  const auto progress = [&](bool final) {
    const steady::time_point now = steady::now();
    if (!final && now < next_print) return;
    const std::array<std::uint64_t, kind_count> sent = pump.sent();
    std::uint64_t total = 0, before = 0;
    for (std::size_t i = 0; i < kind_count; ++i) total += sent[i], before += last[i];
    last = sent;
    if (!o.quiet || final) {
      const double elapsed = std::chrono::duration<double>(now - t0).count();
      std::printf("[%ss%s] produced %s (%s) %s msg/s, poison %s\n", fixed(elapsed, 0).c_str(), final ? " done" : "",
                  grouped(total).c_str(), kinds_text(sent).c_str(),
                  final ? fixed(elapsed > 0 ? static_cast<double>(total) / elapsed : 0.0, 0).c_str()
                        : grouped(total - before).c_str(),
                  grouped(poison.injected()).c_str());
      std::fflush(stdout);
    }
    next_print += 1s;
    while (next_print <= now) next_print += 1s;
  };

  try {
    pump.run([&] { return stop_requests() > 0 || steady::now() >= end; }, [] { return stop_requests() > 1; }, 0,
             [&] { progress(false); });
  } catch (const std::exception& e) {
    error = e.what();
  }
  progress(true);
  if (pump.publish_retries() > 0) std::printf("  note: %s publishes retried\n", grouped(pump.publish_retries()).c_str());
  if (!error.empty()) std::fprintf(stderr, "optaro-pipeline feed: the feed stopped: %s\n", error.c_str());

  if (!o.report_file.empty()) {
    nlohmann::json report;
    report["produced"] = nlohmann::json::object();
    for (const message_kind k : all_kinds) report["produced"][std::string{to_string(k)}] = pump.sent(k);
    report["poison"] = poison.injected();
    report["seed"] = o.seed;
    report["mode"] = o.streams ? "streams" : "pubsub";
    std::ofstream file{o.report_file, std::ios::trunc};
    file << report.dump() << '\n';
    if (!file) {
      std::fprintf(stderr, "optaro-pipeline feed: cannot write %s\n", o.report_file.c_str());
      return 1;
    }
  }
  return error.empty() ? 0 : 1;
#endif
}

// ---- enrich --------------------------------------------------------------------------------------------

int run_enrich(const enrich_options& o) {
#ifndef OPTARO_PIPELINE_WITH_REDIS
  (void)o;
  return no_redis("enrich");
#else
  const auto options = redis_options("enrich", o.redis_url);
  if (!options) return 2;
  redis::connection_pool pool{*options, 4 + 2 * o.workers};
  if (!reachable("enrich", pool)) return 1;

  system_clock clock;
  // Without --mongo the documents stay in this process: the newest of each kind, so that a long-running
  // worker does not grow with every message.
  in_memory_ports memory{clock, {}, in_memory_document_store::options{o.store_retention}};
  store_choice store;
  if (const int rc = choose_store("enrich", o.mongo_uri, o.mongo_database, memory.store, store); rc != 0) return rc;

  redis_engine_ports redis_side{pool, o.claims_prefix};
  std::unique_ptr<message_source> source;
  std::string mode;
  try {
    if (o.streams) {
      redis::stream_options settings;
      settings.group = o.group;
      settings.consumer = o.consumer;
      settings.claim_idle = o.claim_idle;
      auto s = std::make_unique<redis::stream_source>(*options, settings, redis_side.dead_letters);
      mode = "streams group " + o.group + " consumer " + s->consumer();
      source = std::move(s);
    } else {
      auto s = std::make_unique<redis::pubsub_source>(*options);
      if (const port_health h = s->health(); !h.ok) throw std::runtime_error("subscription failed: " + h.detail);
      mode = "pubsub";
      source = std::move(s);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "optaro-pipeline enrich: %s\n", e.what());
    return 1;
  }
  enricher_ports ports = redis_side.over(memory, store.store, source.get());
  std::unique_ptr<stream_event_sink> json_log;
  if (o.json_logs) {
    json_log = std::make_unique<stream_event_sink>(std::cerr);
    ports.events = json_log.get();
    ports.log_minimum = level_of(o.log_level);
  }
  enricher_config config;
  config.workers = o.workers;
  config.claim_lease = o.claim_lease;

  enricher engine{ports, config};
  install_stop_signals();
  engine.start();
  std::unique_ptr<http_server> http;
  if (o.http_port >= 0) {
    try {
      http = std::make_unique<http_server>(o.http_host, static_cast<std::uint16_t>(o.http_port), engine_endpoints(engine));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "optaro-pipeline enrich: --http-port: %s\n", e.what());
      engine.stop();
      return 1;
    }
  }
  const steady::time_point t0 = steady::now();
  if (!o.quiet) {
    std::printf("optaro-pipeline enrich: redis %s %s; %s; %zu workers; %s%s\n", mode.c_str(),
                options->address.redacted().c_str(), store.description.c_str(), o.workers,
                o.duration_seconds > 0 ? ("for " + fixed(o.duration_seconds, 1) + " s").c_str() : "until SIGTERM/SIGINT",
                http ? ("; http://" + o.http_host + ":" + std::to_string(http->port()) + "/metrics").c_str() : "");
    std::fflush(stdout);
  }
  const auto line = [&](const char* phase, std::uint64_t last_enriched, double dt) {
    const enricher_stats s = engine.stats();
    std::printf("[%ss%s] enriched %s (%s/s) received %s dlq %s duplicates %s retries %s queued %s\n",
                fixed(std::chrono::duration<double>(steady::now() - t0).count(), 0).c_str(), phase,
                grouped(s.enriched).c_str(),
                fixed(dt > 0 ? static_cast<double>(s.enriched - last_enriched) / dt : 0.0, 0).c_str(),
                grouped(s.received).c_str(), grouped(s.dead_lettered).c_str(), grouped(s.duplicates).c_str(),
                grouped(s.retries).c_str(), grouped(s.queued + s.in_flight).c_str());
    std::fflush(stdout);
    return s.enriched;
  };
  const steady::time_point end =
      o.duration_seconds > 0
          ? t0 + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>{o.duration_seconds})
          : steady::time_point::max();
  steady::time_point next = t0 + 1s, last_at = t0;
  std::uint64_t last_enriched = 0;
  while (stop_requests() == 0 && steady::now() < end) {
    std::this_thread::sleep_for(20ms);
    const steady::time_point now = steady::now();
    if (now >= next) {
      if (!o.quiet) last_enriched = line("", last_enriched, std::chrono::duration<double>(now - last_at).count());
      last_at = now;
      next += 1s;
    }
  }
  // Graceful: stop reading, finish what is queued and in flight (a second signal cannot cut this short:
  // stop() is the drain), then report.
  http.reset();
  engine.stop();
  line(" stopped", last_enriched, 0);
  return 0;
#endif
}

// ---- replay-dlq ----------------------------------------------------------------------------------------

int run_replay(const replay_options& o) {
#ifndef OPTARO_PIPELINE_WITH_REDIS
  (void)o;
  return no_redis("replay-dlq");
#else
  const auto options = redis_options("replay-dlq", o.redis_url);
  if (!options) return 2;
  redis::connection_pool pool{*options, 4 + 2 * o.workers};
  if (!reachable("replay-dlq", pool)) return 1;
  system_clock clock;
  in_memory_ports memory{clock};
  store_choice store;
  if (const int rc = choose_store("replay-dlq", o.mongo_uri, o.mongo_database, memory.store, store); rc != 0) return rc;
  redis_engine_ports redis_side{pool, o.claims_prefix};
  enricher_ports ports = redis_side.over(memory, store.store, nullptr);
  std::unique_ptr<stream_event_sink> json_log;
  if (o.json_logs) {
    json_log = std::make_unique<stream_event_sink>(std::cerr);
    ports.events = json_log.get();
  }
  enricher_config config;
  config.workers = o.workers;
  enricher engine{ports, config};
  engine.start();
  std::size_t waiting = 0;
  try {
    waiting = redis_side.dead_letters.size();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "optaro-pipeline replay-dlq: reading dlq:enrichment failed: %s\n", e.what());
    return 1;
  }
  // Take what is there now: letters that fail again are pushed back to the end, and are not taken
  // again by this run.
  const std::size_t replayed = engine.replay_dead_letters(waiting);
  const bool quiet = engine.wait_quiescent(std::chrono::milliseconds{120'000});
  engine.stop();
  const enricher_stats s = engine.stats();
  std::size_t left = 0;
  try {
    left = redis_side.dead_letters.size();
  } catch (const std::exception&) {
  }
  std::printf("replay-dlq (%s, %s): %s in dlq:enrichment, replayed %s: enriched %s, duplicates %s, dead-lettered "
              "again %s; dlq:enrichment now holds %s%s\n",
              options->address.redacted().c_str(), store.description.c_str(), grouped(waiting).c_str(),
              grouped(replayed).c_str(), grouped(s.enriched).c_str(), grouped(s.duplicates).c_str(),
              grouped(s.dead_lettered).c_str(), grouped(left).c_str(),
              quiet ? "" : " (the engine did not become idle within 120 s)");
  return quiet ? 0 : 1;
#endif
}

// ---- tail ----------------------------------------------------------------------------------------------

int run_tail(const tail_options& o) {
#ifndef OPTARO_PIPELINE_WITH_REDIS
  (void)o;
  return no_redis("tail");
#else
  const auto options = redis_options("tail", o.redis_url);
  if (!options) return 2;
  redis::connection_pool pool{*options, 2};
  if (!reachable("tail", pool)) return 1;
  install_stop_signals();
  // Subscribe first, so that nothing published after the snapshot is missed.
  redis::inbound_names channels;
  channels.underlying = "enriched:underlying";
  channels.option_quote = "enriched:option_quote";
  channels.option_chain = "enriched:option_chain";
  redis::pubsub_source subscriber{*options, channels};

  redis::cache cache{pool};
  const auto parsed = [](const std::optional<std::string>& text) {
    return text ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json{};
  };
  try {
    const nlohmann::json tick = parsed(cache.get("latest:underlying:" + o.product));
    if (tick.is_object()) {
      std::printf("%s latest  price %s  at %s\n", o.product.c_str(), fixed(tick, "price", 2).c_str(),
                  tick.value("timestamp", std::string{"-"}).c_str());
    } else {
      std::printf("%s latest  (no latest:underlying:%s)\n", o.product.c_str(), o.product.c_str());
    }
    std::vector<std::string> keys;
    {
      auto c = pool.acquire();
      std::string cursor = "0";
      const std::string pattern = "latest:chain:" + o.product + ":*";
      do {
        const redis::reply r = c->command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
        if (r.kind != redis::reply::type::array || r.elements.size() != 2) break;
        cursor = r.elements[0].text;
        for (const redis::reply& k : r.elements[1].elements) keys.push_back(k.text);
      } while (cursor != "0");
    }
    std::sort(keys.begin(), keys.end());
    for (const std::string& key : keys) {
      const nlohmann::json chain = parsed(cache.get(key));
      if (!chain.is_object()) continue;
      std::printf("%s %s  spot %s  pcr(oi) %s  max pain %s  atm iv %s%%  chain %s\n", o.product.c_str(),
                  chain.value("expiry", std::string{"?"}).c_str(), fixed(chain, "underlying_price", 2).c_str(),
                  fixed(chain, "pcr_oi", 3).c_str(), fixed(chain, "max_pain", 0).c_str(),
                  fixed(chain, "atm_iv", 2, 100).c_str(), chain.value("chain_id", std::string{"-"}).c_str());
    }
    if (keys.empty()) std::printf("%s  (no latest:chain:%s:* yet)\n", o.product.c_str(), o.product.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "optaro-pipeline tail: reading the cache failed: %s\n", e.what());
  }
  std::printf("following enriched:underlying and enriched:option_chain for %s%s\n", o.product.c_str(),
              o.count > 0 ? (" (" + std::to_string(o.count) + " messages)").c_str() : "; Ctrl-C stops");
  std::fflush(stdout);

  std::uint64_t shown = 0;
  std::vector<delivery> batch;
  while (stop_requests() == 0 && (o.count == 0 || shown < o.count)) {
    batch.clear();
    try {
      subscriber.receive(batch, 64, 200ms);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "optaro-pipeline tail: %s\n", e.what());
      std::this_thread::sleep_for(200ms);
      continue;
    }
    for (const delivery& d : batch) {
      if (first_string_field(d.payload, "product") != o.product) continue;
      const nlohmann::json j = nlohmann::json::parse(d.payload, nullptr, false);
      if (!j.is_object()) continue;
      if (d.kind == message_kind::underlying) {
        std::printf("tick  %s %s  price %s  id %s\n", j.value("timestamp", std::string{"-"}).c_str(), o.product.c_str(),
                    fixed(j, "price", 2).c_str(), j.contains("tick_id") ? j["tick_id"].dump().c_str() : "-");
      } else if (d.kind == message_kind::option_chain) {
        std::printf("chain %s %s %s  pcr(oi) %s  max pain %s  atm iv %s%%\n", j.value("timestamp", std::string{"-"}).c_str(),
                    o.product.c_str(), j.value("expiry", std::string{"?"}).c_str(), fixed(j, "pcr_oi", 3).c_str(),
                    fixed(j, "max_pain", 0).c_str(), fixed(j, "atm_iv", 2, 100).c_str());
      } else {
        continue;
      }
      std::fflush(stdout);
      if (o.count > 0 && ++shown >= o.count) break;
    }
  }
  subscriber.close();
  return 0;
#endif
}

}  // namespace optaro::pipeline

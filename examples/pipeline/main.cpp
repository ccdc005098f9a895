// optaro-pipeline: the reference pipeline of ARCHITECTURE.md ("Data flow of the reference pipeline")
// as one program: a deterministic market feed, the enrichment engine's workers, a cache and a store,
// embedded in memory or over Redis and MongoDB.
//
//   optaro-pipeline run [--duration 15] [--rate 1] [--redis redis://127.0.0.1:6379] [--mongo mongodb://...]
//   optaro-pipeline feed|enrich|replay-dlq|tail --redis URL ...  (see --help)
//
// `run` exits 0 only when every produced message was stored and published exactly once, so that the
// program doubles as an end-to-end smoke test. Usage errors exit 2.
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cmath>
#include <cstdio>
#include <exception>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "commands.hpp"
#include "run.hpp"

namespace {

constexpr const char* usage_text = R"(usage: optaro-pipeline <command> [options]
       optaro-pipeline --help

The reference pipeline: feed generator -> market:* -> enricher workers -> enriched:*, cache, store.

commands:
  run         the feed generator, the enricher workers and the sinks in one process
  feed        only the feed generator, publishing to Redis
  enrich      only enricher workers, consuming from Redis (several processes can share a group)
  replay-dlq  submit the dead letters of dlq:enrichment again
  tail        print a product's latest:* values in Redis, then follow enriched:*

run options:
  --duration SECONDS  how long the feed runs (default 15)
  --count N           stop the feed after N messages (or at the end of --duration, if sooner)
  --rate R            multiply the feed's rates (default 1); 0 = as fast as possible, keeping the
                      rates' ratio (latency then includes queueing)
  --ticks-per-second T  underlying ticks per second of event time, all products (default 1000)
  --chains-per-second C option chains per second of event time, all products (default 10)
  --strikes-each-side N a chain lists 2N+1 strikes, a call and a put each (default 20: 82 quotes)
  --speed S           event time per wall-clock time when paced (default 1)
  --seed N            the feed's random seed (default 1)
  --workers N         enricher worker threads (default 2)
  --products A,B,...  products by name (default NIFTY,BANKNIFTY); an unknown name gets
                      spot 10000 and strike step 50
  --quiet             print the summary only
  --json-logs         the engine's events (and the run's start and summary) as JSON lines on stderr
  --log-level LEVEL   with --json-logs: debug (a line per message), info (default), warning, error
  --redis URL         the feed publishes to Redis and the engine consumes from it, with the
                      Redis cache, idempotency claims and dead-letter queue (redis://host:port/db)
  --mode pubsub|streams  with --redis: pub/sub channels (at most once, default) or streams with a
                      consumer group (at least once)
  --mongo URI         the engine stores into MongoDB (mongodb://host:port/)
  --mongo-db NAME     with --mongo: the database (default optaro)
  --poison-every N    replace every Nth message the feed emits by an invalid one (rotating: not JSON,
                      a chain with a negative open interest, a tick without its price); each must be
                      dead-lettered: the exit code requires dead letters == poison injected
  --http-port PORT    serve GET /metrics (Prometheus text) and /health (JSON; 200 ok, else 503);
                      0 = any free port (printed on stderr)
  --http-host HOST    the address it listens on (default 127.0.0.1)
  --report FILE       at the end, write the summary as JSON (counts, rates, latency quantiles)
  --store-retention N the in-memory store keeps the newest N documents of each kind (default 500;
                      0 = every document, memory grows with the run); the summary still counts
                      every document stored. Not with --mongo
  --processed-ttl S   seconds a completed message's idempotency key is remembered (default 60 with
                      the in-memory claims, which hold about rate x S keys; 3600 with --redis)

feed options (--redis is required):
  --redis URL, --mode pubsub|streams, --duration S (default: until SIGTERM/SIGINT), --rate R,
  --ticks-per-second T, --chains-per-second C, --strikes-each-side N, --seed N, --products A,B,...,
  --poison-every N, --quiet
  --report FILE       at the end, write {"produced": {"underlying": n, ...}, "poison": k} (produced
                      counts exclude the poison messages)

enrich options (--redis is required):
  --redis URL, --mode pubsub|streams, --mongo URI, --mongo-db NAME, --workers N, --json-logs,
  --log-level LEVEL, --http-port PORT, --http-host HOST, --quiet
  --duration S        stop after S seconds (default: until SIGTERM/SIGINT; both drain, then exit 0)
  --group G           streams: the consumer group (default enrichers)
  --consumer NAME     streams: this consumer's name (default <hostname>-<pid>-<random>)
  --claim-idle MS     streams: take over entries pending longer than this (default 30000)
  --claim-lease MS    how long an idempotency claim protects a message in work (default 60000); a
                      message whose claim another worker holds is left pending until it completes or
                      its lease runs out
  --claims-prefix P   prepend P to the idempotency keys (the feed restarts its ids at every run)
  --store-retention N without --mongo: the in-memory store keeps the newest N documents of each
                      kind (default 500; 0 = every document, memory grows with every message)

replay-dlq options (--redis is required):
  --redis URL, --mongo URI, --mongo-db NAME, --workers N, --claims-prefix P, --json-logs

tail options (--redis and --product are required):
  --redis URL, --product P, --count N (stop after N messages; default: until Ctrl-C)

Without --redis and --mongo everything runs in memory. The summary checks that every produced message
was stored and published exactly once: exit code 0 when nothing was lost or duplicated, 1 otherwise,
2 for a usage error.
)";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "optaro-pipeline: %s\n\n%s", message.c_str(), usage_text);
  return 2;
}

template <class T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

std::vector<std::string> split_products(std::string_view text) {
  std::vector<std::string> names;
  while (true) {
    const std::size_t comma = text.find(',');
    names.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return names;
}

// The flags that shape the feed (run and feed): nullopt when `flag` is not one of them, else an error
// message, empty on success.
std::optional<std::string> parse_shape_flag(std::string_view flag, std::string_view v, optaro::pipeline::feed_shape& shape) {
  const auto bad = [&](std::string_view why) {
    return std::string{flag} + ": " + std::string{why} + " (got '" + std::string{v} + "')";
  };
  if (flag == "--rate" || flag == "--ticks-per-second" || flag == "--chains-per-second") {
    const auto r = parse_number<double>(v);
    if (!r || !std::isfinite(*r) || *r < 0) return bad("a number >= 0");
    (flag == "--rate" ? shape.rate : flag == "--ticks-per-second" ? shape.ticks_per_second : shape.chains_per_second) = *r;
    return std::string{};
  }
  if (flag == "--strikes-each-side") {
    const auto n = parse_number<int>(v);
    if (!n || *n < 0 || *n > 2499) return bad("an integer from 0 to 2499");
    shape.strikes_each_side = *n;
    return std::string{};
  }
  return std::nullopt;
}

bool is_shape_flag(std::string_view flag) {
  return flag == "--rate" || flag == "--ticks-per-second" || flag == "--chains-per-second" ||
         flag == "--strikes-each-side";
}

// Parses `run`'s flags into options; an error message, or empty on success.
std::string parse_run(std::vector<std::string_view> args, optaro::pipeline::run_options& o) {
  bool mode_given = false, mongo_db_given = false, level_given = false, retention_given = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view flag = args[i];
    const auto value = [&]() -> std::optional<std::string_view> {
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    const auto bad = [&](std::string_view v, std::string_view why) {
      return std::string{flag} + ": " + std::string{why} + " (got '" + std::string{v} + "')";
    };
    if (flag == "--quiet") {
      o.quiet = true;
      continue;
    }
    if (flag == "--json-logs") {
      o.json_logs = true;
      continue;
    }
    const bool known = flag == "--duration" || is_shape_flag(flag) || flag == "--speed" || flag == "--seed" ||
                       flag == "--workers" || flag == "--products" || flag == "--redis" || flag == "--mode" ||
                       flag == "--mongo" || flag == "--mongo-db" || flag == "--log-level" ||
                       flag == "--poison-every" || flag == "--http-port" || flag == "--http-host" ||
                       flag == "--report" || flag == "--count" || flag == "--store-retention" ||
                       flag == "--processed-ttl";
    if (!known) return "unknown option '" + std::string{flag} + "'";
    const std::optional<std::string_view> v = value();
    if (!v) return std::string{flag} + ": a value is required";
    if (const std::optional<std::string> error = parse_shape_flag(flag, *v, o.shape)) {
      if (!error->empty()) return *error;
    } else if (flag == "--duration") {
      const auto d = parse_number<double>(*v);
      if (!d || !std::isfinite(*d) || *d <= 0) return bad(*v, "a number of seconds > 0");
      o.duration_seconds = *d;
    } else if (flag == "--count") {
      const auto n = parse_number<std::uint64_t>(*v);
      if (!n || *n < 1) return bad(*v, "an integer >= 1");
      o.message_limit = *n;
    } else if (flag == "--report") {
      if (v->empty()) return bad(*v, "a file name");
      o.report_file = std::string{*v};
    } else if (flag == "--speed") {
      const auto s = parse_number<double>(*v);
      if (!s || !std::isfinite(*s) || *s <= 0) return bad(*v, "a number > 0");
      o.speed = *s;
    } else if (flag == "--seed") {
      const auto s = parse_number<std::uint64_t>(*v);
      if (!s) return bad(*v, "a non-negative integer");
      o.seed = *s;
    } else if (flag == "--workers") {
      const auto w = parse_number<std::size_t>(*v);
      if (!w || *w < 1 || *w > 256) return bad(*v, "an integer from 1 to 256");
      o.workers = *w;
    } else if (flag == "--products") {
      o.products = split_products(*v);
      std::set<std::string_view> seen;
      for (const std::string& p : o.products) {
        if (p.empty()) return bad(*v, "comma-separated names, none empty");
        if (!seen.insert(p).second) return bad(*v, "a product is named twice");
      }
    } else if (flag == "--redis") {
      o.redis_url = std::string{*v};
    } else if (flag == "--mode") {
      if (*v != "pubsub" && *v != "streams") return bad(*v, "pubsub or streams");
      o.streams = *v == "streams";
      mode_given = true;
    } else if (flag == "--mongo") {
      o.mongo_uri = std::string{*v};
    } else if (flag == "--log-level") {
      if (*v != "debug" && *v != "info" && *v != "warning" && *v != "error") return bad(*v, "debug, info, warning or error");
      o.log_level = std::string{*v};
      level_given = true;
    } else if (flag == "--mongo-db") {
      if (v->empty()) return bad(*v, "a database name");
      o.mongo_database = std::string{*v};
      mongo_db_given = true;
    } else if (flag == "--poison-every") {
      const auto n = parse_number<std::uint64_t>(*v);
      if (!n || *n < 1) return bad(*v, "an integer >= 1");
      o.poison_every = *n;
    } else if (flag == "--http-port") {
      const auto n = parse_number<int>(*v);
      if (!n || *n < 0 || *n > 65535) return bad(*v, "a port from 0 to 65535");
      o.http_port = *n;
    } else if (flag == "--http-host") {
      if (v->empty()) return bad(*v, "a host name or address");
      o.http_host = std::string{*v};
    } else if (flag == "--store-retention") {
      const auto n = parse_number<std::size_t>(*v);
      if (!n) return bad(*v, "a number of documents >= 0 (0: unbounded)");
      o.store_retention = *n;
      retention_given = true;
    } else if (flag == "--processed-ttl") {
      const auto s = parse_number<double>(*v);
      if (!s || !std::isfinite(*s) || *s <= 0 || *s > 1e9) return bad(*v, "a number of seconds > 0");
      o.processed_ttl_seconds = *s;
    }
  }
  if (retention_given && !o.mongo_uri.empty()) return "--store-retention is for the in-memory store, not --mongo";
  if (mode_given && o.redis_url.empty()) return "--mode needs --redis";
  if (mongo_db_given && o.mongo_uri.empty()) return "--mongo-db needs --mongo";
  if (level_given && !o.json_logs) return "--log-level needs --json-logs";
  return {};
}

// The flags of feed, enrich, replay-dlq and tail: each command accepts the flags in `allowed`.
struct any_options {
  std::string redis, mode, mongo, mongo_db, group, consumer, claims_prefix, report, product, http_host, log_level;
  std::optional<double> duration;
  optaro::pipeline::feed_shape shape;
  std::optional<std::uint64_t> seed, poison_every, count;
  std::optional<std::size_t> workers;
  std::optional<int> http_port;
  std::optional<long> claim_idle, claim_lease;
  std::optional<std::size_t> store_retention;
  std::vector<std::string> products;
  bool json_logs = false, quiet = false;
};

std::string parse_any(const std::vector<std::string_view>& args, const std::set<std::string_view>& allowed,
                      any_options& o) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view flag = args[i];
    if (!allowed.contains(flag)) return "unknown option '" + std::string{flag} + "'";
    if (flag == "--json-logs") {
      o.json_logs = true;
      continue;
    }
    if (flag == "--quiet") {
      o.quiet = true;
      continue;
    }
    if (i + 1 >= args.size()) return std::string{flag} + ": a value is required";
    const std::string_view v = args[++i];
    const auto bad = [&](std::string_view why) {
      return std::string{flag} + ": " + std::string{why} + " (got '" + std::string{v} + "')";
    };
    const auto text = [&](std::string& out) -> std::string {
      if (v.empty()) return bad("a non-empty value");
      out = std::string{v};
      return {};
    };
    std::string error;
    if (const std::optional<std::string> shape_error = parse_shape_flag(flag, v, o.shape)) {
      error = *shape_error;
    } else if (flag == "--redis") error = text(o.redis);
    else if (flag == "--mongo") error = text(o.mongo);
    else if (flag == "--mongo-db") error = text(o.mongo_db);
    else if (flag == "--group") error = text(o.group);
    else if (flag == "--consumer") error = text(o.consumer);
    else if (flag == "--claims-prefix") error = text(o.claims_prefix);
    else if (flag == "--report") error = text(o.report);
    else if (flag == "--product") error = text(o.product);
    else if (flag == "--http-host") error = text(o.http_host);
    else if (flag == "--mode") {
      if (v != "pubsub" && v != "streams") return bad("pubsub or streams");
      o.mode = std::string{v};
    } else if (flag == "--log-level") {
      if (v != "debug" && v != "info" && v != "warning" && v != "error") return bad("debug, info, warning or error");
      o.log_level = std::string{v};
    } else if (flag == "--duration") {
      const auto d = parse_number<double>(v);
      if (!d || !std::isfinite(*d) || *d <= 0) return bad("a number of seconds > 0");
      o.duration = d;
    } else if (flag == "--seed") {
      o.seed = parse_number<std::uint64_t>(v);
      if (!o.seed) return bad("a non-negative integer");
    } else if (flag == "--poison-every" || flag == "--count") {
      const auto n = parse_number<std::uint64_t>(v);
      if (!n || *n < 1) return bad("an integer >= 1");
      (flag == "--count" ? o.count : o.poison_every) = n;
    } else if (flag == "--workers") {
      const auto w = parse_number<std::size_t>(v);
      if (!w || *w < 1 || *w > 256) return bad("an integer from 1 to 256");
      o.workers = w;
    } else if (flag == "--http-port") {
      const auto n = parse_number<int>(v);
      if (!n || *n < 0 || *n > 65535) return bad("a port from 0 to 65535");
      o.http_port = n;
    } else if (flag == "--claim-idle") {
      const auto n = parse_number<long>(v);
      if (!n || *n < 1) return bad("milliseconds >= 1");
      o.claim_idle = n;
    } else if (flag == "--store-retention") {
      const auto n = parse_number<std::size_t>(v);
      if (!n) return bad("a number of documents >= 0 (0: unbounded)");
      o.store_retention = n;
    } else if (flag == "--claim-lease") {
      const auto n = parse_number<long>(v);
      if (!n || *n < 1) return bad("milliseconds >= 1");
      o.claim_lease = n;
    } else if (flag == "--products") {
      o.products = split_products(v);
      std::set<std::string_view> seen;
      for (const std::string& p : o.products) {
        if (p.empty()) return bad("comma-separated names, none empty");
        if (!seen.insert(p).second) return bad("a product is named twice");
      }
    }
    if (!error.empty()) return error;
  }
  if (allowed.contains("--redis") && o.redis.empty()) return "--redis is required";
  if (!o.mongo_db.empty() && o.mongo.empty()) return "--mongo-db needs --mongo";
  if (!o.log_level.empty() && !o.json_logs) return "--log-level needs --json-logs";
  if (!o.http_host.empty() && !o.http_port) return "--http-host needs --http-port";
  return {};
}

int run_command(std::string_view command, const std::vector<std::string_view>& rest) {
  using namespace optaro::pipeline;
  any_options a;
  if (command == "feed") {
    const std::string error =
        parse_any(rest, {"--redis", "--mode", "--duration", "--rate", "--ticks-per-second", "--chains-per-second",
                         "--strikes-each-side", "--seed", "--products", "--poison-every", "--report", "--quiet"}, a);
    if (!error.empty()) return usage_error(error);
    feed_options o;
    o.redis_url = a.redis;
    o.streams = a.mode == "streams";
    o.duration_seconds = a.duration.value_or(0);
    o.shape = a.shape;
    o.seed = a.seed.value_or(o.seed);
    if (!a.products.empty()) o.products = a.products;
    o.poison_every = a.poison_every.value_or(0);
    o.report_file = a.report;
    o.quiet = a.quiet;
    return run_feed(o);
  }
  if (command == "enrich") {
    const std::string error =
        parse_any(rest, {"--redis", "--mode", "--mongo", "--mongo-db", "--workers", "--consumer", "--group",
                         "--duration", "--http-port", "--http-host", "--json-logs", "--log-level", "--claim-idle",
                         "--claim-lease", "--claims-prefix", "--store-retention", "--quiet"}, a);
    if (!error.empty()) return usage_error(error);
    if (a.mode != "streams" && (!a.group.empty() || !a.consumer.empty() || a.claim_idle)) {
      return usage_error("--group, --consumer and --claim-idle need --mode streams");
    }
    enrich_options o;
    o.redis_url = a.redis;
    o.streams = a.mode == "streams";
    o.mongo_uri = a.mongo;
    if (!a.mongo_db.empty()) o.mongo_database = a.mongo_db;
    o.workers = a.workers.value_or(o.workers);
    o.consumer = a.consumer;
    if (!a.group.empty()) o.group = a.group;
    if (a.claim_idle) o.claim_idle = std::chrono::milliseconds{*a.claim_idle};
    if (a.claim_lease) o.claim_lease = std::chrono::milliseconds{*a.claim_lease};
    o.claims_prefix = a.claims_prefix;
    if (a.store_retention) {
      if (!a.mongo.empty()) return usage_error("--store-retention is for the in-memory store, not --mongo");
      o.store_retention = *a.store_retention;
    }
    o.duration_seconds = a.duration.value_or(0);
    o.http_port = a.http_port.value_or(-1);
    if (!a.http_host.empty()) o.http_host = a.http_host;
    o.json_logs = a.json_logs;
    if (!a.log_level.empty()) o.log_level = a.log_level;
    o.quiet = a.quiet;
    return run_enrich(o);
  }
  if (command == "replay-dlq") {
    const std::string error =
        parse_any(rest, {"--redis", "--mongo", "--mongo-db", "--workers", "--claims-prefix", "--json-logs"}, a);
    if (!error.empty()) return usage_error(error);
    replay_options o;
    o.redis_url = a.redis;
    o.mongo_uri = a.mongo;
    if (!a.mongo_db.empty()) o.mongo_database = a.mongo_db;
    o.workers = a.workers.value_or(o.workers);
    o.claims_prefix = a.claims_prefix;
    o.json_logs = a.json_logs;
    return run_replay(o);
  }
  // tail
  const std::string error = parse_any(rest, {"--redis", "--product", "--count"}, a);
  if (!error.empty()) return usage_error(error);
  if (a.product.empty()) return usage_error("--product is required");
  tail_options o;
  o.redis_url = a.redis;
  o.product = a.product;
  o.count = a.count.value_or(0);
  return run_tail(o);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) return usage_error("a command is required");
  const std::string_view command = args.front();
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(usage_text, stdout);
    return 0;
  }
  const bool other = command == "feed" || command == "enrich" || command == "replay-dlq" || command == "tail";
  if (command != "run" && !other) return usage_error("unknown command '" + std::string{command} + "'");

  const std::vector<std::string_view> rest(args.begin() + 1, args.end());
  for (const std::string_view a : rest) {
    if (a == "--help" || a == "-h") {
      std::fputs(usage_text, stdout);
      return 0;
    }
  }
  if (other) {
    try {
      return run_command(command, rest);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "optaro-pipeline %s: %s\n", std::string{command}.c_str(), e.what());
      return 1;
    }
  }
  optaro::pipeline::run_options options;
  if (const std::string error = parse_run(rest, options); !error.empty()) return usage_error(error);
  try {
    return optaro::pipeline::run_pipeline(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "optaro-pipeline run: %s\n", e.what());
    return 1;
  }
}

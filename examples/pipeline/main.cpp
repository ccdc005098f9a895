// optaro-pipeline: the reference pipeline of ARCHITECTURE.md ("Data flow of the reference pipeline")
// as one program: a deterministic market feed, the enrichment engine's workers, a cache and a store,
// embedded in memory or over Redis and MongoDB.
//
//   optaro-pipeline run [--duration 15] [--rate 1] [--redis redis://127.0.0.1:6379] [--mongo mongodb://...]
//
// `run` exits 0 only when every produced message was stored and published exactly once, so that the
// program doubles as an end-to-end smoke test. Usage errors exit 2.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "run.hpp"

namespace {

constexpr const char* usage_text = R"(usage: optaro-pipeline <command> [options]
       optaro-pipeline --help

The reference pipeline: feed generator -> market:* -> enricher workers -> enriched:*, cache, store.

commands:
  run         the feed generator, the enricher workers and the sinks in one process
  feed        only the feed generator, publishing to Redis       (not implemented yet in this build)
  enrich      only enricher workers, consuming from Redis         (not implemented yet in this build)
  replay-dlq  submit the dead letters of dlq:enrichment again     (not implemented yet in this build)
  tail        follow enriched:* and the latest:* values in Redis  (not implemented yet in this build)

run options:
  --duration SECONDS  how long the feed runs (default 15)
  --rate R            multiply the feed's rates: 1000*R ticks/s and 10*R chains/s (default 1);
                      0 = as fast as possible (latency then includes queueing)
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

// Parses `run`'s flags into options; an error message, or empty on success.
std::string parse_run(std::vector<std::string_view> args, optaro::pipeline::run_options& o) {
  bool mode_given = false, mongo_db_given = false, level_given = false;
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
    const bool known = flag == "--duration" || flag == "--rate" || flag == "--speed" || flag == "--seed" ||
                       flag == "--workers" || flag == "--products" || flag == "--redis" || flag == "--mode" ||
                       flag == "--mongo" || flag == "--mongo-db" || flag == "--log-level";
    if (!known) return "unknown option '" + std::string{flag} + "'";
    const std::optional<std::string_view> v = value();
    if (!v) return std::string{flag} + ": a value is required";
    if (flag == "--duration") {
      const auto d = parse_number<double>(*v);
      if (!d || !std::isfinite(*d) || *d <= 0) return bad(*v, "a number of seconds > 0");
      o.duration_seconds = *d;
    } else if (flag == "--rate") {
      const auto r = parse_number<double>(*v);
      if (!r || !std::isfinite(*r) || *r < 0) return bad(*v, "a number >= 0");
      o.rate = *r;
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
    }
  }
  if (mode_given && o.redis_url.empty()) return "--mode needs --redis";
  if (mongo_db_given && o.mongo_uri.empty()) return "--mongo-db needs --mongo";
  if (level_given && !o.json_logs) return "--log-level needs --json-logs";
  return {};
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
  if (command == "feed" || command == "enrich" || command == "replay-dlq" || command == "tail") {
    std::fprintf(stderr, "optaro-pipeline %s: not implemented yet in this build (see --help)\n",
                 std::string{command}.c_str());
    return 2;
  }
  if (command != "run") return usage_error("unknown command '" + std::string{command} + "'");

  const std::vector<std::string_view> rest(args.begin() + 1, args.end());
  for (const std::string_view a : rest) {
    if (a == "--help" || a == "-h") {
      std::fputs(usage_text, stdout);
      return 0;
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

#pragma once
// `optaro-pipeline run`: the feed generator, the enricher workers and the sinks in one process.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common.hpp"

namespace optaro::pipeline {

struct run_options {
  double duration_seconds = 15;
  std::uint64_t message_limit = 0;  ///< > 0: the feed also stops after this many messages (--count)
  feed_shape shape;  ///< the feed's rates (rate 0: unpaced, as fast as possible) and chain size
  double speed = 1;  ///< event time per wall-clock time when paced
  std::uint64_t seed = 1;
  std::size_t workers = 2;
  std::vector<std::string> products{"NIFTY", "BANKNIFTY"};
  bool quiet = false;
  bool json_logs = false;
  /// With json_logs: "debug" (every message received), "info" (default), "warning" or "error".
  std::string log_level = "info";
  std::string redis_url;  ///< empty: embedded bus, cache, claims and dead letters
  bool streams = false;   ///< --mode streams (else pubsub)
  std::string mongo_uri;  ///< empty: embedded store
  std::string mongo_database = "optaro";
  /// Every Nth message the feed emits is replaced by an invalid one (0: none); each must be dead-lettered.
  std::uint64_t poison_every = 0;
  int http_port = -1;  ///< >= 0: serve /metrics and /health on it (0: any free port)
  std::string http_host = "127.0.0.1";
  std::string report_file;  ///< non-empty: the summary as JSON into this file
  /// The embedded document store keeps the newest N documents of each kind (0: all, unbounded). Not
  /// with --mongo. The run's books count every insert, evicted or not.
  std::size_t store_retention = 500;
  /// How long a completed message's idempotency key is remembered (enricher_config::processed_ttl), in
  /// seconds; 0: the default, 60 s with the embedded claims (their memory is this process's: about
  /// rate x TTL keys) and 3600 s (the engine's default) with --redis, where the keys live in Redis.
  double processed_ttl_seconds = 0;
};

/// Runs the pipeline and prints its summary; the process's exit code: 0 when nothing was lost or
/// duplicated (and, with poison, every poison message was dead-lettered), 1 otherwise or on a failure (a server that cannot be reached).
[[nodiscard]] int run_pipeline(const run_options& options);

}  // namespace optaro::pipeline

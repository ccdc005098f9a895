#pragma once
// optaro-pipeline's Redis subcommands: feed, enrich, replay-dlq and tail (run is in run.hpp).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common.hpp"

namespace optaro::pipeline {

struct feed_options {
  std::string redis_url;
  bool streams = false;
  double duration_seconds = 0;  ///< 0: until SIGTERM/SIGINT
  feed_shape shape;  ///< rate 0: as fast as possible
  std::uint64_t seed = 1;
  std::vector<std::string> products{"NIFTY", "BANKNIFTY"};
  std::uint64_t poison_every = 0;
  std::string report_file;  ///< JSON {"produced": {kind: n}, "poison": k} at the end
  bool quiet = false;
};
/// 0 when everything generated was published; 1 on a failure; 2 for a usage error.
[[nodiscard]] int run_feed(const feed_options& options);

struct enrich_options {
  std::string redis_url;
  bool streams = false;
  std::string mongo_uri;
  std::string mongo_database = "optaro";
  std::size_t workers = 2;
  std::string consumer;  ///< streams: empty = "<hostname>-<pid>-<random>"
  std::string group = "enrichers";
  std::chrono::milliseconds claim_idle{30'000};
  std::chrono::milliseconds claim_lease{60'000};  ///< the engine's claim_lease
  std::string claims_prefix;    ///< prepended to the idempotency keys
  /// Without --mongo: the in-memory store keeps the newest N documents of each kind (0: all).
  std::size_t store_retention = 500;
  double duration_seconds = 0;  ///< 0: until SIGTERM/SIGINT
  int http_port = -1;
  std::string http_host = "127.0.0.1";
  bool json_logs = false;
  std::string log_level = "info";
  bool quiet = false;
};
[[nodiscard]] int run_enrich(const enrich_options& options);

struct replay_options {
  std::string redis_url;
  std::string mongo_uri;
  std::string mongo_database = "optaro";
  std::string claims_prefix;
  std::size_t workers = 2;
  bool json_logs = false;
};
[[nodiscard]] int run_replay(const replay_options& options);

struct tail_options {
  std::string redis_url;
  std::string product;
  std::uint64_t count = 0;  ///< 0: until SIGINT/SIGTERM
};
[[nodiscard]] int run_tail(const tail_options& options);

}  // namespace optaro::pipeline

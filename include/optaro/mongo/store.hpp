#pragma once
// optaro::mongo: the engine's document_store over MongoDB, with MongoDB's C driver (libmongoc 1.23,
// error API v2). No libmongoc or libbson type appears in this header.
//
// Collections and indexes are those of MESSAGES.md (names configurable):
//   underlying_ticks  (product 1, timestamp -1); unique (product 1, tick_id 1)
//   option_quotes     (product 1, timestamp -1); (symbol 1, timestamp -1); unique (symbol 1, quote_id 1)
//   option_chains     (product 1, expiry 1, timestamp -1); unique (chain_id 1)
// created at start-up with the createIndexes command. The unique indexes make writes idempotent: a
// duplicate-key error (code 11000) means "already applied" (insert_outcome::duplicate), never a retry
// and never a dead letter. Writes are plain inserts, unordered when in bulk.
//
// Documents are the enriched messages, with "timestamp" and "enriched_at" stored as BSON dates
// (millisecond precision, as BSON dates are) and non-finite numbers as null. Reads return JSON in the
// messages' own format (timestamps as ISO-8601 UTC strings), without MongoDB's "_id".
//
// Failures: network errors, timeouts and server selection failures throw optaro::retryable_error; any
// other error is permanent (optaro::mongo::store_error). A password in the URI never appears in an
// error, a log line or health().
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <optaro/market.hpp>
#include <optaro/ports.hpp>

namespace optaro::mongo {

/// A permanent failure (a rejected document, an authorisation error, a bad index definition, ...).
class store_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct collection_names {
  std::string underlying_ticks = "underlying_ticks";
  std::string option_quotes = "option_quotes";
  std::string option_chains = "option_chains";
};

struct store_options {
  std::string uri = "mongodb://127.0.0.1:27017/";  ///< a MongoDB connection string
  std::string database = "optaro";
  collection_names collections{};
  std::chrono::milliseconds timeout{5000};  ///< server selection, connect and socket timeouts
  std::size_t max_clients = 16;             ///< clients in the pool (one per concurrent thread)
};

/// The URI with its password replaced by "***".
[[nodiscard]] std::string redact_uri(std::string_view uri);

/// Drops `options.database` (tests, benchmarks, tools; not part of the store port), through a client of
/// its own. retryable_error when the server cannot be reached, store_error otherwise; the URI's
/// password never appears in either.
void drop_database(const store_options& options);

/// One index as listIndexes reports it.
struct index_info {
  std::string name;
  std::vector<std::pair<std::string, int>> keys;  ///< field, 1 or -1, in order
  bool unique = false;
  friend bool operator==(const index_info&, const index_info&) = default;
};

class document_store final : public optaro::document_store {
 public:
  /// Connects lazily, but creates the indexes now: std::invalid_argument for a bad URI (without its
  /// password), retryable_error when the server cannot be reached, store_error otherwise.
  explicit document_store(store_options options);
  ~document_store() override;
  document_store(const document_store&) = delete;
  document_store& operator=(const document_store&) = delete;

  [[nodiscard]] insert_outcome insert(const stored_document& document) override;
  /// Unordered bulk insert, grouped by collection; outcomes in the order of `documents`. A retryable
  /// failure throws and the whole batch must be retried (duplicates then report as such).
  [[nodiscard]] std::vector<insert_outcome> insert_many(std::span<const stored_document> documents) override;
  /// ping.
  [[nodiscard]] port_health health() const override;

  // ---- reads (the enriched JSON, as stored) ----
  /// The underlying tick of `product` with the latest timestamp.
  [[nodiscard]] std::optional<std::string> latest_underlying(std::string_view product) const;
  /// The chain of `product` and `expiry` ("YYYY-MM-DD") with the latest timestamp.
  [[nodiscard]] std::optional<std::string> latest_chain(std::string_view product, std::string_view expiry) const;
  /// The underlying ticks of `product` with from <= timestamp < to, oldest first (the compound index).
  [[nodiscard]] std::vector<std::string> ticks(std::string_view product, timestamp_ns from, timestamp_ns to) const;
  /// Documents in a collection (for tests and tools).
  [[nodiscard]] std::int64_t count(message_kind kind) const;
  [[nodiscard]] std::vector<index_info> indexes(message_kind kind) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace optaro::mongo

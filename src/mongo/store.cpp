// optaro::mongo::document_store over libmongoc 1.23 (include/optaro/mongo/store.hpp).
//
// One mongoc_client_pool_t per store; every call pops a client and pushes it back (RAII), so that
// calls from several worker threads never share a client (a mongoc_client_t is not thread-safe).
// Error API version 2: server errors come in the domain MONGOC_ERROR_SERVER with the server's code,
// which is what the classification below reads.
#include <optaro/mongo/store.hpp>

#include <mongoc/mongoc.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "document.hpp"
#include "owned_bson.hpp"

namespace optaro::mongo {
namespace {

constexpr std::int64_t ns_per_ms = 1'000'000;

// mongoc_init() once per process, at the first store. mongoc_cleanup() is deliberately never called:
// it must run after every client, pool and cursor of the process is gone, and a static destructor
// cannot promise that (a store held in a static, like the benchmark's, may be destroyed after it, and
// another library in the process may use libmongoc too). What it would free (OpenSSL's and the SASL
// library's global state) the operating system reclaims at exit.
void ensure_mongoc_initialised() {
  static const bool initialised = [] {
    mongoc_init();
    return true;
  }();
  static_cast<void>(initialised);
}

// ---- RAII around libmongoc handles ------------------------------------------------------------------

using detail::owned_bson;

struct collection_deleter {
  void operator()(mongoc_collection_t* c) const noexcept { mongoc_collection_destroy(c); }
};
struct cursor_deleter {
  void operator()(mongoc_cursor_t* c) const noexcept { mongoc_cursor_destroy(c); }
};
using collection_ptr = std::unique_ptr<mongoc_collection_t, collection_deleter>;
using cursor_ptr = std::unique_ptr<mongoc_cursor_t, cursor_deleter>;

/// A client popped from the pool for one call. Pop waits while max_clients are out.
class client_lease {
 public:
  explicit client_lease(mongoc_client_pool_t* pool) : pool_{pool}, client_{mongoc_client_pool_pop(pool)} {
    if (client_ == nullptr) throw store_error("mongo: could not take a client from the pool");
  }
  ~client_lease() { mongoc_client_pool_push(pool_, client_); }
  client_lease(const client_lease&) = delete;
  client_lease& operator=(const client_lease&) = delete;
  [[nodiscard]] mongoc_client_t* get() const noexcept { return client_; }

 private:
  mongoc_client_pool_t* pool_;
  mongoc_client_t* client_;
};

// ---- small BSON builders (functions rather than BCON macros, which trip -Wold-style-cast) -----------

int key_length(std::string_view key) { return static_cast<int>(key.size()); }

void append(bson_t* b, std::string_view key, std::string_view value) {
  bson_append_utf8(b, key.data(), key_length(key), value.data(), static_cast<int>(value.size()));
}
void append(bson_t* b, std::string_view key, std::int32_t value) {
  bson_append_int32(b, key.data(), key_length(key), value);
}
void append(bson_t* b, std::string_view key, bool value) { bson_append_bool(b, key.data(), key_length(key), value); }

/// The first whole millisecond at or after ns.
std::int64_t ceil_ms(std::int64_t ns) noexcept {
  std::int64_t ms = ns / ns_per_ms;
  if (ns % ns_per_ms > 0) ++ms;
  return ms;
}

// ---- errors -------------------------------------------------------------------------------------------

std::int64_t int_field(const bson_t* doc, const char* key, std::int64_t fallback) {
  bson_iter_t it;
  if (doc == nullptr || !bson_iter_init_find(&it, doc, key)) return fallback;
  switch (bson_iter_type(&it)) {
    case BSON_TYPE_INT32: return bson_iter_int32(&it);
    case BSON_TYPE_INT64: return bson_iter_int64(&it);
    case BSON_TYPE_DOUBLE: return static_cast<std::int64_t>(bson_iter_double(&it));
    default: return fallback;
  }
}

std::string string_field(const bson_t* doc, const char* key) {
  bson_iter_t it;
  if (!bson_iter_init_find(&it, doc, key) || bson_iter_type(&it) != BSON_TYPE_UTF8) return {};
  std::uint32_t n = 0;
  const char* text = bson_iter_utf8(&it, &n);
  return {text, n};
}

/// Whether a driver error means "the server was not there": the network, a timeout, no server to select.
bool is_unreachable(const bson_error_t& error) noexcept {
  return error.domain == MONGOC_ERROR_STREAM || error.domain == MONGOC_ERROR_SERVER_SELECTION;
}

bool is_retryable(const bson_error_t& error, const bson_t* reply) noexcept {
  if (is_unreachable(error)) return true;
  if (reply != nullptr && (mongoc_error_has_label(reply, "RetryableWriteError") ||
                           mongoc_error_has_label(reply, "TransientTransactionError")))
    return true;
  if (error.domain == MONGOC_ERROR_SERVER || error.domain == MONGOC_ERROR_WRITE_CONCERN)
    return detail::is_retryable_server_code(error.code);
  return false;
}

}  // namespace

// ---- impl ---------------------------------------------------------------------------------------------

struct document_store::impl {
  store_options options;
  std::string where;     ///< the redacted URI: the prefix of every message
  std::string password;  ///< scrubbed from every driver message (the driver should never quote it)
  mongoc_uri_t* uri = nullptr;
  mongoc_client_pool_t* pool = nullptr;

  impl() = default;
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  ~impl() {
    if (pool != nullptr) mongoc_client_pool_destroy(pool);
    if (uri != nullptr) mongoc_uri_destroy(uri);
  }

  [[nodiscard]] const std::string& collection_name(message_kind kind) const {
    switch (kind) {
      case message_kind::underlying: return options.collections.underlying_ticks;
      case message_kind::option_quote: return options.collections.option_quotes;
      case message_kind::option_chain: return options.collections.option_chains;
    }
    throw std::invalid_argument("mongo: unknown message kind");
  }

  [[nodiscard]] collection_ptr collection(const client_lease& client, message_kind kind) const {
    collection_ptr c{
        mongoc_client_get_collection(client.get(), options.database.c_str(), collection_name(kind).c_str())};
    if (!c) throw store_error("mongo " + where + ": could not open collection " + collection_name(kind));
    return c;
  }

  [[nodiscard]] std::string describe(std::string_view context, const bson_error_t& error) const {
    std::string message = "mongo " + where + " " + std::string{context} + ": ";
    message += detail::scrub(error.message, password);
    message += " (domain " + std::to_string(error.domain) + ", code " + std::to_string(error.code) + ")";
    return message;
  }

  /// Throws the classified failure of a driver call.
  [[noreturn]] void fail(std::string_view context, const bson_error_t& error, const bson_t* reply = nullptr) const {
    if (is_retryable(error, reply)) throw retryable_error(describe(context, error));
    throw store_error(describe(context, error));
  }

  void create_indexes(const client_lease& client, message_kind kind) const;
  std::vector<std::string> find(message_kind kind, const bson_t* filter, const bson_t* opts,
                                std::string_view context) const;
};

namespace {

struct index_spec {
  std::vector<std::pair<std::string_view, std::int32_t>> keys;
  bool unique = false;
};

std::vector<index_spec> specs_of(message_kind kind) {
  switch (kind) {
    case message_kind::underlying:
      return {{{{"product", 1}, {"timestamp", -1}}, false}, {{{"product", 1}, {"tick_id", 1}}, true}};
    case message_kind::option_quote:
      return {{{{"product", 1}, {"timestamp", -1}}, false},
              {{{"symbol", 1}, {"timestamp", -1}}, false},
              {{{"symbol", 1}, {"quote_id", 1}}, true}};
    case message_kind::option_chain:
      return {{{{"product", 1}, {"expiry", 1}, {"timestamp", -1}}, false}, {{{"chain_id", 1}}, true}};
  }
  return {};
}

/// MongoDB's default index name: "product_1_timestamp_-1".
std::string index_name(const index_spec& spec) {
  std::string name;
  for (const auto& [field, direction] : spec.keys) {
    if (!name.empty()) name += '_';
    name.append(field).append("_").append(std::to_string(direction));
  }
  return name;
}

constexpr std::array<message_kind, 3> all_kinds = {message_kind::underlying, message_kind::option_quote,
                                                   message_kind::option_chain};

}  // namespace

void document_store::impl::create_indexes(const client_lease& client, message_kind kind) const {
  // One createIndexes command per index: FerretDB 1.24 panics (and drops the connection) on a command
  // listing several indexes that all exist already, which is what every start after the first sends.
  // Start-up only, so the few extra round trips do not matter.
  for (const index_spec& spec : specs_of(kind)) {
    owned_bson command;
    append(command.get(), "createIndexes", std::string_view{collection_name(kind)});
    bson_t indexes;
    bson_append_array_begin(command.get(), "indexes", -1, &indexes);
    bson_t index;
    bson_append_document_begin(&indexes, "0", 1, &index);
    bson_t keys;
    bson_append_document_begin(&index, "key", -1, &keys);
    for (const auto& [field, direction] : spec.keys) append(&keys, field, direction);
    bson_append_document_end(&index, &keys);
    const std::string name = index_name(spec);
    append(&index, "name", std::string_view{name});
    if (spec.unique) append(&index, "unique", true);
    bson_append_document_end(&indexes, &index);
    bson_append_array_end(command.get(), &indexes);

    owned_bson reply;
    bson_error_t error;
    if (!mongoc_client_write_command_with_opts(client.get(), options.database.c_str(), command.get(), nullptr,
                                               reply.get(), &error)) {
      fail("createIndexes " + name + " on " + options.database + "." + collection_name(kind), error, reply.get());
    }
  }
}

std::vector<std::string> document_store::impl::find(message_kind kind, const bson_t* filter, const bson_t* opts,
                                                    std::string_view context) const {
  const client_lease client{pool};
  const collection_ptr target = collection(client, kind);
  const cursor_ptr cursor{mongoc_collection_find_with_opts(target.get(), filter, opts, nullptr)};
  std::vector<std::string> out;
  const bson_t* doc = nullptr;
  while (mongoc_cursor_next(cursor.get(), &doc)) out.push_back(detail::bson_to_json({bson_get_data(doc), doc->len}));
  bson_error_t error;
  const bson_t* reply = nullptr;
  if (mongoc_cursor_error_document(cursor.get(), &error, &reply))
    fail(std::string{context} + " on " + options.database + "." + collection_name(kind), error, reply);
  return out;
}

// ---- document_store -----------------------------------------------------------------------------------

document_store::document_store(store_options options) : impl_{std::make_unique<impl>()} {
  ensure_mongoc_initialised();
  impl& s = *impl_;
  s.options = std::move(options);
  const store_options& o = s.options;
  s.where = redact_uri(o.uri);
  s.password = std::string{detail::uri_password(o.uri)};
  if (o.database.empty()) throw std::invalid_argument("mongo: database is empty");
  if (o.collections.underlying_ticks.empty() || o.collections.option_quotes.empty() ||
      o.collections.option_chains.empty())
    throw std::invalid_argument("mongo: a collection name is empty");
  if (o.timeout.count() <= 0) throw std::invalid_argument("mongo: timeout must be > 0");
  if (o.max_clients < 1) throw std::invalid_argument("mongo: max_clients must be >= 1");

  bson_error_t error;
  s.uri = mongoc_uri_new_with_error(o.uri.c_str(), &error);
  if (s.uri == nullptr)
    throw std::invalid_argument("mongo: invalid URI " + s.where + ": " + detail::scrub(error.message, s.password));
  const auto timeout_ms = static_cast<std::int32_t>(std::min<std::int64_t>(o.timeout.count(), INT32_MAX));
  for (const char* option : {MONGOC_URI_SERVERSELECTIONTIMEOUTMS, MONGOC_URI_CONNECTTIMEOUTMS,
                             MONGOC_URI_SOCKETTIMEOUTMS}) {
    if (!mongoc_uri_has_option(s.uri, option)) mongoc_uri_set_option_as_int32(s.uri, option, timeout_ms);
  }
  s.pool = mongoc_client_pool_new_with_error(s.uri, &error);
  if (s.pool == nullptr)
    throw std::invalid_argument("mongo: cannot use URI " + s.where + ": " + detail::scrub(error.message, s.password));
  mongoc_client_pool_set_error_api(s.pool, MONGOC_ERROR_API_VERSION_2);
  const std::size_t max_clients = std::min<std::size_t>(o.max_clients, INT32_MAX);
  mongoc_client_pool_max_size(s.pool, static_cast<std::uint32_t>(max_clients));
  mongoc_client_pool_set_appname(s.pool, "optaro");

  const client_lease client{s.pool};
  for (const message_kind kind : all_kinds) s.create_indexes(client, kind);
}

document_store::~document_store() = default;

insert_outcome document_store::insert(const stored_document& document) {
  return insert_many(std::span{&document, 1}).front();
}

std::vector<insert_outcome> document_store::insert_many(std::span<const stored_document> documents) {
  const impl& s = *impl_;
  std::vector<insert_outcome> outcomes(documents.size(), insert_outcome::inserted);
  if (documents.empty()) return outcomes;

  // Everything is checked and converted before anything is written: a bad document fails the batch
  // with nothing stored.
  std::array<std::vector<std::size_t>, all_kinds.size()> positions;  // by kind: indexes into documents
  std::vector<std::vector<std::uint8_t>> bson(documents.size());
  for (std::size_t i = 0; i < documents.size(); ++i) {
    const stored_document& d = documents[i];
    if (d.id.empty()) throw std::invalid_argument("document store: id is empty");
    if (d.product.empty()) throw std::invalid_argument("document store: product is empty");
    if (d.kind == message_kind::option_quote && d.symbol.empty())
      throw std::invalid_argument("document store: symbol is empty");
    const auto kind = static_cast<std::size_t>(d.kind);
    if (kind >= positions.size()) throw std::invalid_argument("document store: unknown message kind");
    try {
      bson[i] = detail::json_to_bson(d.json, &d);
    } catch (const store_error& e) {
      throw store_error("mongo " + s.where + " insert into " + s.options.database + "." + s.collection_name(d.kind) +
                        ": document " + std::to_string(i) + " rejected: " + e.what());
    }
    positions[kind].push_back(i);
  }

  const client_lease client{s.pool};
  owned_bson opts;
  append(opts.get(), "ordered", false);
  std::optional<std::string> retryable, permanent;  // the first failure of each class, over all collections
  for (const message_kind kind : all_kinds) {
    const std::vector<std::size_t>& group = positions[static_cast<std::size_t>(kind)];
    if (group.empty()) continue;
    const std::string where = s.options.database + "." + s.collection_name(kind);
    struct slot {  // bson_t's alignment attribute would be dropped as a template argument
      bson_t value;
    };
    std::vector<slot> docs(group.size());
    // A vector of pointers: that bson_t is over-aligned says nothing about the pointers' alignment.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
    std::vector<const bson_t*> pointers(group.size());
#pragma GCC diagnostic pop
    for (std::size_t j = 0; j < group.size(); ++j) {
      const std::vector<std::uint8_t>& bytes = bson[group[j]];
      if (!bson_init_static(&docs[j].value, bytes.data(), bytes.size())) throw store_error("mongo: corrupt BSON");
      pointers[j] = &docs[j].value;
    }
    const collection_ptr target = s.collection(client, kind);
    owned_bson reply;
    bson_error_t error;
    const bool ok = mongoc_collection_insert_many(target.get(), pointers.data(), pointers.size(), opts.get(),
                                                  reply.get(), &error);
    if (!ok && is_unreachable(error)) {
      // Some documents may be in: the batch is retried whole, and those then report as duplicates.
      if (!retryable) retryable = s.describe("insert into " + where, error);
      continue;
    }

    bool explained = false;  // whether the reply's write errors account for the failure
    bson_iter_t it;
    bson_iter_t errors;
    if (bson_iter_init_find(&it, reply.get(), "writeErrors") && bson_iter_recurse(&it, &errors)) {
      while (bson_iter_next(&errors)) {
        if (bson_iter_type(&errors) != BSON_TYPE_DOCUMENT) continue;
        std::uint32_t length = 0;
        const std::uint8_t* data = nullptr;
        bson_iter_document(&errors, &length, &data);
        bson_t entry;
        if (!bson_init_static(&entry, data, length)) continue;
        explained = true;
        const std::int64_t index = int_field(&entry, "index", -1);
        const std::int64_t code = int_field(&entry, "code", -1);
        const bool known = index >= 0 && static_cast<std::uint64_t>(index) < group.size();
        if (code == detail::duplicate_key_code && known) {
          outcomes[group[static_cast<std::size_t>(index)]] = insert_outcome::duplicate;
          continue;
        }
        std::string message = "mongo " + s.where + " insert into " + where + ": document " +
                              (known ? std::to_string(group[static_cast<std::size_t>(index)]) : std::string{"?"}) +
                              " rejected: code " + std::to_string(code) + ": " +
                              detail::scrub(string_field(&entry, "errmsg"), s.password);
        if (detail::is_retryable_server_code(code)) {
          if (!retryable) retryable = std::move(message);
        } else if (!permanent) {
          permanent = std::move(message);
        }
      }
    }
    if (bson_iter_init_find(&it, reply.get(), "writeConcernError") && bson_iter_type(&it) == BSON_TYPE_DOCUMENT) {
      explained = true;
      std::uint32_t length = 0;
      const std::uint8_t* data = nullptr;
      bson_iter_document(&it, &length, &data);
      bson_t entry;
      const std::int64_t code = bson_init_static(&entry, data, length) ? int_field(&entry, "code", -1) : -1;
      std::string message = "mongo " + s.where + " insert into " + where + ": write concern error, code " +
                            std::to_string(code);
      if (detail::is_retryable_server_code(code)) {
        if (!retryable) retryable = std::move(message);
      } else if (!permanent) {
        permanent = std::move(message);
      }
    }
    if (!ok && !explained) {
      std::string message = s.describe("insert into " + where, error);
      if (is_retryable(error, reply.get())) {
        if (!retryable) retryable = std::move(message);
      } else if (!permanent) {
        permanent = std::move(message);
      }
    }
  }
  if (retryable) throw retryable_error(*retryable);
  if (permanent) throw store_error(*permanent);
  return outcomes;
}

port_health document_store::health() const {
  const impl& s = *impl_;
  try {
    const client_lease client{s.pool};
    owned_bson command;
    append(command.get(), "ping", std::int32_t{1});
    owned_bson reply;
    bson_error_t error;
    if (!mongoc_client_command_simple(client.get(), "admin", command.get(), nullptr, reply.get(), &error))
      return {false, s.describe("ping", error)};
    return {true, s.where};
  } catch (const std::exception& e) {
    return {false, e.what()};
  }
}

namespace {

// The newest document (by "timestamp") of a kind matching `filter`, as JSON.
std::optional<std::string> newest(const auto& store_impl, message_kind kind, const bson_t* filter, const char* what) {
  owned_bson opts;
  bson_t sort;
  bson_append_document_begin(opts.get(), "sort", -1, &sort);
  append(&sort, "timestamp", std::int32_t{-1});
  bson_append_document_end(opts.get(), &sort);
  bson_append_int64(opts.get(), "limit", -1, 1);
  std::vector<std::string> found = store_impl.find(kind, filter, opts.get(), what);
  if (found.empty()) return std::nullopt;
  return std::move(found.front());
}

}  // namespace

std::optional<std::string> document_store::latest_underlying(std::string_view product) const {
  owned_bson filter;
  append(filter.get(), "product", product);
  return newest(*impl_, message_kind::underlying, filter.get(), "latest_underlying");
}

std::optional<std::string> document_store::latest_chain(std::string_view product, std::string_view expiry) const {
  owned_bson filter;
  append(filter.get(), "product", product);
  append(filter.get(), "expiry", expiry);
  return newest(*impl_, message_kind::option_chain, filter.get(), "latest_chain");
}

std::vector<std::string> document_store::ticks(std::string_view product, timestamp_ns from, timestamp_ns to) const {
  // Stored timestamps are whole milliseconds: from <= t < to over them is ceil(from) <= ms < ceil(to).
  const std::int64_t from_ms = ceil_ms(from);
  const std::int64_t to_ms = ceil_ms(to);
  if (from_ms >= to_ms) return {};
  owned_bson filter;
  append(filter.get(), "product", product);
  bson_t range;
  bson_append_document_begin(filter.get(), "timestamp", -1, &range);
  bson_append_date_time(&range, "$gte", -1, from_ms);
  bson_append_date_time(&range, "$lt", -1, to_ms);
  bson_append_document_end(filter.get(), &range);
  owned_bson opts;
  bson_t sort;
  bson_append_document_begin(opts.get(), "sort", -1, &sort);
  append(&sort, "timestamp", std::int32_t{1});
  bson_append_document_end(opts.get(), &sort);
  return impl_->find(message_kind::underlying, filter.get(), opts.get(), "ticks");
}

std::int64_t document_store::count(message_kind kind) const {
  const impl& s = *impl_;
  const client_lease client{s.pool};
  const collection_ptr target = s.collection(client, kind);
  owned_bson filter;
  owned_bson reply;
  bson_error_t error;
  const std::int64_t n =
      mongoc_collection_count_documents(target.get(), filter.get(), nullptr, nullptr, reply.get(), &error);
  if (n < 0) s.fail("count on " + s.options.database + "." + s.collection_name(kind), error, reply.get());
  return n;
}

std::vector<index_info> document_store::indexes(message_kind kind) const {
  const impl& s = *impl_;
  const client_lease client{s.pool};
  const collection_ptr target = s.collection(client, kind);
  const cursor_ptr cursor{mongoc_collection_find_indexes_with_opts(target.get(), nullptr)};
  std::vector<index_info> out;
  const bson_t* doc = nullptr;
  while (mongoc_cursor_next(cursor.get(), &doc)) {
    index_info info;
    bson_iter_t it;
    if (!bson_iter_init(&it, doc)) continue;
    while (bson_iter_next(&it)) {
      const std::string_view key = bson_iter_key(&it);
      if (key == "name" && bson_iter_type(&it) == BSON_TYPE_UTF8) {
        std::uint32_t n = 0;
        const char* text = bson_iter_utf8(&it, &n);
        info.name.assign(text, n);
      } else if (key == "unique") {
        info.unique = bson_iter_as_bool(&it);
      } else if (key == "key" && bson_iter_type(&it) == BSON_TYPE_DOCUMENT) {
        bson_iter_t keys;
        if (!bson_iter_recurse(&it, &keys)) continue;
        while (bson_iter_next(&keys)) {
          const auto direction = static_cast<int>(bson_iter_as_int64(&keys));
          info.keys.emplace_back(bson_iter_key(&keys), direction);
        }
      }
    }
    out.push_back(std::move(info));
  }
  bson_error_t error;
  const bson_t* reply = nullptr;
  if (mongoc_cursor_error_document(cursor.get(), &error, &reply))
    s.fail("listIndexes on " + s.options.database + "." + s.collection_name(kind), error, reply);
  return out;
}

void drop_database(const store_options& options) {
  using detail::scrub;
  using detail::uri_password;
  const std::string& uri = options.uri;
  const std::string& database = options.database;
  const std::chrono::milliseconds timeout = options.timeout;
  ensure_mongoc_initialised();
  const std::string where = redact_uri(uri);
  const std::string password{uri_password(uri)};
  bson_error_t error;
  mongoc_uri_t* parsed = mongoc_uri_new_with_error(uri.c_str(), &error);
  if (parsed == nullptr) throw std::invalid_argument("mongo: invalid URI " + where + ": " + scrub(error.message, password));
  const auto timeout_ms = static_cast<std::int32_t>(std::min<std::int64_t>(timeout.count(), INT32_MAX));
  mongoc_uri_set_option_as_int32(parsed, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, timeout_ms);
  mongoc_uri_set_option_as_int32(parsed, MONGOC_URI_SOCKETTIMEOUTMS, timeout_ms);
  mongoc_client_t* client = mongoc_client_new_from_uri_with_error(parsed, &error);
  mongoc_uri_destroy(parsed);
  if (client == nullptr) throw std::invalid_argument("mongo: cannot use URI " + where + ": " + scrub(error.message, password));
  mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
  mongoc_database_t* db = mongoc_client_get_database(client, database.c_str());
  const bool ok = mongoc_database_drop_with_opts(db, nullptr, &error);
  mongoc_database_destroy(db);
  mongoc_client_destroy(client);
  if (!ok) {
    std::string message = "mongo " + where + " dropDatabase " + database + ": " + scrub(error.message, password);
    if (is_retryable(error, nullptr)) throw retryable_error(message);
    throw store_error(message);
  }
}

}  // namespace optaro::mongo

// Enriched JSON <-> BSON for the MongoDB store (document.hpp). JSON is read with nlohmann/json's SAX
// parser straight into libbson's builder (no JSON DOM in between: a 68 KB chain is one pass), and BSON
// is written back as JSON by walking it with bson_iter_t.
#include "document.hpp"
#include "owned_bson.hpp"

#include <bson/bson.h>

#include <array>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include <optaro/codec.hpp>
#include <optaro/event_log.hpp>  // append_json_string
#include <optaro/mongo/store.hpp>

namespace optaro::mongo::detail {
namespace {

constexpr std::int64_t ns_per_ms = 1'000'000;

/// Epoch ns to epoch ms, towards the past (so that 1969's instants truncate the same way as 2025's).
[[nodiscard]] std::int64_t floor_ms(std::int64_t ns) noexcept {
  std::int64_t ms = ns / ns_per_ms;
  if (ns % ns_per_ms < 0) --ms;
  return ms;
}

[[nodiscard]] std::string_view id_field(message_kind kind) noexcept {
  switch (kind) {
    case message_kind::underlying: return "tick_id";
    case message_kind::option_quote: return "quote_id";
    case message_kind::option_chain: return "chain_id";
  }
  return "id";
}

/// What the document itself says about one identity field.
struct seen_field {
  bool present = false;
  std::optional<std::string> text;  ///< a string's value or an integer's decimal text; empty for other types
  bool integer = false;             ///< whether text is an integer's
};

/// nlohmann/json SAX events -> libbson appends. Every callback returns false to stop the parse on the
/// first problem, with the reason in error().
class bson_builder {
 public:
  bson_builder(bson_t* root, const stored_document* identity) : root_{root}, identity_{identity} {}

  [[nodiscard]] const std::string& error() const noexcept { return error_; }
  [[nodiscard]] bool complete() const noexcept { return finished_; }
  [[nodiscard]] const seen_field& product() const noexcept { return product_; }
  [[nodiscard]] const seen_field& symbol() const noexcept { return symbol_; }
  [[nodiscard]] const seen_field& id() const noexcept { return id_; }
  [[nodiscard]] bool has_timestamp() const noexcept { return timestamp_; }

  bool null() {
    const auto k = next_key();
    return k && check(bson_append_null(top(), k->data(), length(*k)));
  }
  bool boolean(bool value) {
    const auto k = next_key();
    return k && check(bson_append_bool(top(), k->data(), length(*k), value));
  }
  bool number_integer(std::int64_t value) {
    const auto k = next_key();
    if (!k) return false;
    if (at_top_level() && is_time_key()) {
      timestamp_ = timestamp_ || key_ == "timestamp";
      return check(bson_append_date_time(top(), k->data(), length(*k), floor_ms(value)));
    }
    note_identity(std::to_string(value), true);
    return check(bson_append_int64(top(), k->data(), length(*k), value));
  }
  bool number_unsigned(std::uint64_t value) {
    if (value <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return number_integer(static_cast<std::int64_t>(value));
    // BSON has no unsigned 64-bit integer: the nearest double is the best it can keep.
    const auto k = next_key();
    if (!k) return false;
    note_identity(std::nullopt);
    return check(bson_append_double(top(), k->data(), length(*k), static_cast<double>(value)));
  }
  bool number_float(double value, const std::string& /*text*/) {
    const auto k = next_key();
    if (!k) return false;
    note_identity(std::nullopt);
    // FerretDB closes the connection on NaN and rejects infinities: neither is ever sent.
    if (!std::isfinite(value)) return check(bson_append_null(top(), k->data(), length(*k)));
    return check(bson_append_double(top(), k->data(), length(*k), value));
  }
  bool string(std::string& value) {
    const auto k = next_key();
    if (!k) return false;
    if (at_top_level() && is_time_key()) {
      if (const auto t = parse_timestamp(value)) {
        timestamp_ = timestamp_ || key_ == "timestamp";
        return check(bson_append_date_time(top(), k->data(), length(*k), floor_ms(*t)));
      }
    }
    note_identity(value);
    if (value.size() > static_cast<std::size_t>(INT_MAX)) return fail("a string is too long for BSON");
    return check(bson_append_utf8(top(), k->data(), length(*k), value.data(), static_cast<int>(value.size())));
  }
  bool binary(nlohmann::json::binary_t& /*value*/) { return fail("binary values are not JSON"); }

  bool start_object(std::size_t /*elements*/) {
    if (stack_.empty()) {
      if (finished_) return fail("text after the document");
      stack_.push_back({root_, false, 0});
      return true;
    }
    const auto k = next_key();
    if (!k) return false;
    note_identity(std::nullopt);
    bson_t* child = &children_.emplace_back().value;
    if (!check(bson_append_document_begin(top(), k->data(), length(*k), child))) return false;
    stack_.push_back({child, false, 0});
    return true;
  }
  bool end_object() { return end(false); }
  bool start_array(std::size_t /*elements*/) {
    if (stack_.empty()) return fail("the document is not a JSON object");
    const auto k = next_key();
    if (!k) return false;
    note_identity(std::nullopt);
    bson_t* child = &children_.emplace_back().value;
    if (!check(bson_append_array_begin(top(), k->data(), length(*k), child))) return false;
    stack_.push_back({child, true, 0});
    return true;
  }
  bool end_array() { return end(true); }
  bool key(std::string& name) {
    if (name.find('\0') != std::string::npos) return fail("a key contains a NUL character");
    if (name.size() > static_cast<std::size_t>(INT_MAX)) return fail("a key is too long");
    key_ = name;
    return true;
  }
  bool parse_error(std::size_t position, const std::string& /*token*/, const nlohmann::detail::exception& e) {
    return fail("not valid JSON at byte " + std::to_string(position) + " (" + e.what() + ")");
  }

 private:
  struct frame {
    bson_t* doc;
    bool array;
    std::uint32_t next_index;
  };

  [[nodiscard]] static int length(std::string_view key) noexcept { return static_cast<int>(key.size()); }
  [[nodiscard]] bson_t* top() const noexcept { return stack_.back().doc; }
  [[nodiscard]] bool at_top_level() const noexcept { return stack_.size() == 1; }
  [[nodiscard]] bool is_time_key() const noexcept { return key_ == "timestamp" || key_ == "enriched_at"; }

  bool fail(std::string reason) {
    if (error_.empty()) error_ = std::move(reason);
    return false;
  }
  bool check(bool appended) { return appended || fail("the document is larger than BSON allows (16 MiB)"); }

  /// The key of the value that comes next: the object's pending key, or the array's next index.
  std::optional<std::string_view> next_key() {
    if (stack_.empty()) {
      fail(finished_ ? "text after the document" : "the document is not a JSON object");
      return std::nullopt;
    }
    frame& f = stack_.back();
    if (!f.array) return std::string_view{key_};
    const char* text = nullptr;
    const std::size_t n = bson_uint32_to_string(f.next_index++, &text, index_buffer_.data(), index_buffer_.size());
    return std::string_view{text, n};
  }

  bool end(bool array) {
    if (stack_.empty() || stack_.back().array != array) return fail("unbalanced JSON");
    const frame done = stack_.back();
    stack_.pop_back();
    if (stack_.empty()) {
      finished_ = true;
      return true;
    }
    const bool ok = array ? bson_append_array_end(top(), done.doc) : bson_append_document_end(top(), done.doc);
    children_.pop_back();
    return check(ok);
  }

  /// Records a top-level identity field's value (nullopt: a type that cannot be an identity).
  void note_identity(std::optional<std::string> text, bool integer = false) {
    if (!at_top_level() || identity_ == nullptr) return;
    seen_field* field = nullptr;
    if (key_ == "product") {
      field = &product_;
    } else if (key_ == "symbol" && identity_->kind == message_kind::option_quote) {
      field = &symbol_;
    } else if (key_ == id_field(identity_->kind)) {
      field = &id_;
    }
    if (field == nullptr) return;
    field->present = true;
    field->text = std::move(text);
    field->integer = integer;
  }

  bson_t* root_;
  const stored_document* identity_;
  std::vector<frame> stack_;
  // A deque: a child being built must not move (libbson points into it). bson_t wrapped in a struct,
  // because its alignment attribute would be dropped as a template argument.
  struct child_slot {
    bson_t value;
  };
  std::deque<child_slot> children_;
  std::string key_;
  std::array<char, 16> index_buffer_{};
  std::string error_;
  bool finished_ = false;
  seen_field product_, symbol_, id_;
  bool timestamp_ = false;
};

/// Makes the document carry its identity: adds what is missing, rejects what disagrees.
void complete_identity(bson_t* doc, const bson_builder& built, const stored_document& identity) {
  const auto require = [&](const seen_field& seen, std::string_view name, std::string_view expected, bool integer) {
    if (seen.present) {
      // The type matters too: the unique index tells 7 and "7" apart.
      if (!seen.text || *seen.text != expected || seen.integer != integer) {
        const std::string found = !seen.text ? std::string{"neither a string nor an integer"}
                                  : seen.integer ? *seen.text
                                                 : "\"" + *seen.text + "\"";
        throw store_error("document: \"" + std::string{name} + "\" is " + found + ", but the document's identity says " +
                          (integer ? std::string{expected} : "\"" + std::string{expected} + "\""));
      }
      return;
    }
    bool ok = false;
    std::int64_t number = 0;
    const char* const last = expected.data() + expected.size();
    const auto parsed = std::from_chars(expected.data(), last, number);
    if (integer && parsed.ec == std::errc{} && parsed.ptr == last) {
      ok = bson_append_int64(doc, name.data(), static_cast<int>(name.size()), number);
    } else {
      ok = bson_append_utf8(doc, name.data(), static_cast<int>(name.size()), expected.data(),
                            static_cast<int>(expected.size()));
    }
    if (!ok) throw store_error("document: the document is larger than BSON allows (16 MiB)");
  };
  require(built.product(), "product", identity.product, false);
  if (identity.kind == message_kind::option_quote) require(built.symbol(), "symbol", identity.symbol, false);
  require(built.id(), id_field(identity.kind), identity.id, identity.kind != message_kind::option_chain);
  if (!built.has_timestamp() && !bson_append_date_time(doc, "timestamp", 9, floor_ms(identity.timestamp)))
    throw store_error("document: the document is larger than BSON allows (16 MiB)");
}

void append_integer(std::string& out, std::int64_t value) {
  std::array<char, 24> buffer{};
  const auto r = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  out.append(buffer.data(), r.ptr);
}

void append_double(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  std::array<char, 32> buffer{};
  const auto r = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  out.append(buffer.data(), r.ptr);
}

void write_value(std::string& out, const bson_iter_t& it);

void write_container(std::string& out, bson_iter_t& it, bool array, bool skip_id) {
  out += array ? '[' : '{';
  bool first = true;
  while (bson_iter_next(&it)) {
    const std::string_view key{bson_iter_key(&it), bson_iter_key_len(&it)};
    if (skip_id && key == "_id") continue;
    if (!first) out += ',';
    first = false;
    if (!array) {
      append_json_string(out, key);
      out += ':';
    }
    write_value(out, it);
  }
  out += array ? ']' : '}';
}

void write_value(std::string& out, const bson_iter_t& it) {
  switch (bson_iter_type(&it)) {
    case BSON_TYPE_DOUBLE: append_double(out, bson_iter_double(&it)); return;
    case BSON_TYPE_UTF8: {
      std::uint32_t n = 0;
      const char* text = bson_iter_utf8(&it, &n);
      append_json_string(out, std::string_view{text, n});
      return;
    }
    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY: {
      bson_iter_t child;
      if (!bson_iter_recurse(&it, &child)) throw store_error("document: corrupt BSON");
      write_container(out, child, bson_iter_type(&it) == BSON_TYPE_ARRAY, false);
      return;
    }
    case BSON_TYPE_BOOL: out += bson_iter_bool(&it) ? "true" : "false"; return;
    case BSON_TYPE_INT32: append_integer(out, bson_iter_int32(&it)); return;
    case BSON_TYPE_INT64: append_integer(out, bson_iter_int64(&it)); return;
    case BSON_TYPE_DATE_TIME: {
      const std::int64_t ms = bson_iter_date_time(&it);
      constexpr std::int64_t limit = std::numeric_limits<std::int64_t>::max() / ns_per_ms;
      if (ms > limit || ms < -limit) {
        append_integer(out, ms);  // beyond what timestamp_ns holds (years 1677..2262): epoch ms
      } else {
        append_json_string(out, format_timestamp(ms * ns_per_ms));
      }
      return;
    }
    case BSON_TYPE_OID: {
      std::array<char, 25> text{};
      bson_oid_to_string(bson_iter_oid(&it), text.data());
      append_json_string(out, std::string_view{text.data(), 24});
      return;
    }
    case BSON_TYPE_DECIMAL128: {
      bson_decimal128_t value;
      std::array<char, BSON_DECIMAL128_STRING> text{};
      if (bson_iter_decimal128(&it, &value)) {
        bson_decimal128_to_string(&value, text.data());
        append_json_string(out, text.data());
        return;
      }
      out += "null";
      return;
    }
    default: out += "null"; return;  // binary, regex, timestamps, ...: never written by this store
  }
}

// Server codes after which the same request may well succeed (the MongoDB drivers' retryable
// errors, plus the network and time-limit codes the issue lists):
//   6 HostUnreachable, 7 HostNotFound, 89 NetworkTimeout, 91 ShutdownInProgress,
//   189 PrimarySteppedDown, 262 ExceededTimeLimit, 9001 SocketException, 10107 NotWritablePrimary,
//   11600 InterruptedAtShutdown, 11602 InterruptedDueToReplStateChange, 13435 NotPrimaryNoSecondaryOk,
//   13436 NotPrimaryOrSecondary, 10058 LegacyNotPrimary, 134 ReadConcernMajorityNotAvailableYet.
constexpr std::array<std::int64_t, 14> retryable_codes = {6,    7,    89,    91,    134,   189,   262,
                                                          9001, 10058, 10107, 11600, 11602, 13435, 13436};

}  // namespace

std::vector<std::uint8_t> json_to_bson(std::string_view json, const stored_document* identity) {
  owned_bson doc;
  bson_builder builder{doc.get(), identity};
  const bool parsed = nlohmann::json::sax_parse(json.begin(), json.end(), &builder);
  if (!parsed || !builder.complete()) {
    throw store_error("document: " + (builder.error().empty() ? std::string{"not a JSON object"} : builder.error()));
  }
  if (identity != nullptr) complete_identity(doc.get(), builder, *identity);
  const std::uint8_t* data = bson_get_data(doc.get());
  return {data, data + doc.get()->len};
}

std::string bson_to_json(std::span<const std::uint8_t> bson) {
  bson_t doc;
  if (!bson_init_static(&doc, bson.data(), bson.size())) throw store_error("document: not a BSON document");
  bson_iter_t it;
  if (!bson_iter_init(&it, &doc)) throw store_error("document: not a BSON document");
  std::string out;
  out.reserve(bson.size() + bson.size() / 4);
  write_container(out, it, false, true);
  return out;
}

std::string_view uri_password(std::string_view uri) noexcept {
  std::size_t begin = uri.find("://");
  begin = begin == std::string_view::npos ? 0 : begin + 3;
  // The authority ends at the path or the options; credentials may not hold a raw '/', '?' or '#'.
  std::size_t end = uri.find_first_of("/?#", begin);
  if (end == std::string_view::npos) end = uri.size();
  const std::string_view authority = uri.substr(begin, end - begin);
  const std::size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return {};
  const std::string_view user_info = authority.substr(0, at);
  const std::size_t colon = user_info.find(':');
  if (colon == std::string_view::npos) return {};
  return user_info.substr(colon + 1);
}

std::string scrub(std::string_view text, std::string_view secret) {
  std::string out{text};
  if (secret.empty()) return out;
  for (std::size_t at = out.find(secret); at != std::string::npos; at = out.find(secret, at + 3))
    out.replace(at, secret.size(), "***");
  return out;
}

bool is_retryable_server_code(std::int64_t code) noexcept {
  for (const std::int64_t c : retryable_codes)
    if (c == code) return true;
  return false;
}

}  // namespace optaro::mongo::detail

namespace optaro::mongo {

std::string redact_uri(std::string_view uri) {
  std::string out{uri};
  const std::string_view password = detail::uri_password(uri);
  if (!password.empty()) {
    const auto at = static_cast<std::size_t>(password.data() - uri.data());
    out.replace(at, password.size(), "***");
  }
  // The one URI option that is a secret: the password of a TLS client key file.
  constexpr std::string_view option = "tlscertificatekeyfilepassword=";
  std::string lower = out;
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  const std::size_t query = lower.find('?');
  for (std::size_t at = query == std::string::npos ? std::string::npos : lower.find(option, query);
       at != std::string::npos; at = lower.find(option, at + 1)) {
    if (lower[at - 1] != '?' && lower[at - 1] != '&') continue;
    const std::size_t value = at + option.size();
    std::size_t value_end = lower.find_first_of("&#", value);
    if (value_end == std::string::npos) value_end = lower.size();
    out.replace(value, value_end - value, "***");
    lower.replace(value, value_end - value, "***");
  }
  return out;
}

}  // namespace optaro::mongo

// Strict decoding of the inbound messages (MESSAGES.md) straight into the value types.
//
// simdjson's DOM parser first validates the whole document and lays it out on a tape, with the best
// kernel for the CPU it runs on (libsimdjson dispatches at run time: AVX-512, AVX2, SSE4.2 or
// scalar), so that JSON validity never depends on how far the rules below got. The rules are then
// checked on the tape, which is cheap to walk.
//
// Which error a message gets when it breaks several rules is fixed, so that any two decoders agree
// (tests/cpp/reference_decoder.hpp is an independent one):
//   1. "message: <n> bytes exceed the limit of <m>"   (before parsing)
//   2. "message: not valid JSON"                      (anywhere in the document, unknown fields too:
//      syntax, invalid UTF-8, trailing content, numbers beyond the range of a double, more than 512 nested containers)
//   3. "<path>: duplicate field"                      (the first repeated key, in document order, at any depth)
//   4. every other rule, the first violation in document order; a missing required field is reported
//      when its object ends (in the order the fields are listed in MESSAGES.md).
// Unknown fields are ignored (but must be valid JSON without duplicate keys).
#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>

#include <simdjson.h>

#include <optaro/codec.hpp>

#include "codec_detail.hpp"

namespace optaro {
namespace {

namespace dom = simdjson::dom;
using element_type = dom::element_type;

/// Containers nested deeper than this are "not valid JSON" (the document itself is the first).
constexpr std::size_t max_nesting = 512;

// ---- numbers beyond 64-bit integers -------------------------------------------------------------

/// Whether the digits of an integer (no sign, no leading zero) exceed the largest magnitude of its
/// 64-bit type: 2^64 - 1 for a non-negative integer, 2^63 for a negative one.
bool beyond_64_bits(std::string_view digits, bool negative) {
  const std::string_view limit = negative ? "9223372036854775808" : "18446744073709551615";
  return digits.size() > limit.size() || (digits.size() == limit.size() && digits > limit);
}

/// simdjson rejects integers beyond 64 bits, which JSON allows: they read as doubles here, as with
/// strtod and the reference decoder. Returns the text with ".0" appended to each such integer outside
/// strings (the same value, now a decimal simdjson reads correctly), or nullopt when there is none,
/// in which case the text's parse error stands.
std::optional<std::string> widen_big_integers(std::string_view text) {
  std::string out;
  std::size_t copied = 0;  // text[0, copied) is in out
  auto number_char = [](char c) {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
  };
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '"') {  // skip the string, escapes included
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;
      }
      ++i;
      continue;
    }
    if (!number_char(c)) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < text.size() && number_char(text[end])) ++end;
    const std::string_view run = text.substr(i, end - i);
    const bool negative = run.front() == '-';
    const std::string_view digits = run.substr(negative ? 1 : 0);
    const bool integer = !digits.empty() && digits.front() >= '1' && digits.front() <= '9' &&
                         std::all_of(digits.begin(), digits.end(), [](char d) { return d >= '0' && d <= '9'; });
    if (integer && beyond_64_bits(digits, negative)) {
      out.append(text.substr(copied, end - copied));
      out += ".0";
      copied = end;
    }
    i = end;
  }
  if (copied == 0) return std::nullopt;
  out.append(text.substr(copied));
  return out;
}

// ---- rule 3: duplicate keys ---------------------------------------------------------------------

/// Finds the first key repeated within its object, in document order at any depth (a pre-order walk),
/// and names it by its path: calls[3].bid, x.y[2].z. Valid messages never need it: the field reader
/// below checks the objects it reads itself, and hands over the rest (unknown fields) and the naming
/// of a duplicate to this.
class duplicate_finder {
 public:
  std::optional<std::string> find(dom::element root) {
    path_.clear();
    if (visit(root)) return path_;
    return std::nullopt;
  }

 private:
  /// Objects up to this size compare each key with the earlier ones; larger ones use a hash set, so
  /// that a hostile object of 100,000 keys costs linear time.
  static constexpr std::size_t pairwise_limit = 16;
  std::string path_;

  static bool container(dom::element e) noexcept {
    return e.type() == element_type::OBJECT || e.type() == element_type::ARRAY;
  }

  bool visit(dom::element e) {  // NOLINT(misc-no-recursion): depth <= max_nesting, enforced by the parser
    if (e.type() == element_type::ARRAY) {
      const dom::array items = e.get_array().value_unsafe();
      std::size_t i = 0;
      for (const dom::element item : items) {
        if (container(item)) {
          const std::size_t mark = path_.size();
          path_ += '[';
          path_ += std::to_string(i);
          path_ += ']';
          if (visit(item)) return true;
          path_.resize(mark);
        }
        ++i;
      }
      return false;
    }
    if (e.type() != element_type::OBJECT) return false;
    const dom::object obj = e.get_object().value_unsafe();
    const bool pairwise = obj.size() <= pairwise_limit;
    std::array<std::string_view, pairwise_limit> keys{};
    std::unordered_set<std::string_view> seen;
    std::size_t n = 0;
    for (const dom::key_value_pair field : obj) {
      bool repeated = false;
      if (pairwise) {
        repeated = std::find(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(n), field.key) !=
                   keys.begin() + static_cast<std::ptrdiff_t>(n);
        keys[n++] = field.key;
      } else {
        repeated = !seen.insert(field.key).second;
      }
      if (repeated || container(field.value)) {
        const std::size_t mark = path_.size();
        if (!path_.empty()) path_ += '.';
        path_.append(field.key);
        if (repeated || visit(field.value)) return true;
        path_.resize(mark);
      }
    }
    return false;
  }
};

// ---- rule 4: the fields ---------------------------------------------------------------------------

/// Names a field without building the string unless an error needs it: parent[index].key, where
/// parent is a path ("" for the document), index is optional and key may be empty.
struct field_ref {
  static constexpr std::size_t no_index = static_cast<std::size_t>(-1);
  std::string_view parent;
  std::size_t index = no_index;
  std::string_view key;

  [[nodiscard]] std::string str() const {
    std::string s{parent};
    if (index != no_index) {
      s += '[';
      s += std::to_string(index);
      s += ']';
    }
    if (!key.empty()) {
      if (!s.empty()) s += '.';
      s.append(key);
    }
    return s;
  }
};

/// Reads typed fields and keeps the first violation. Each reader returns false once a violation is
/// recorded, which ends the decoding: the first one in document order is the message's error unless
/// the document has a duplicate key anywhere (rule 3), which the caller then looks for. A message
/// read to its end has no duplicate key: fields() checks every object it reads.
class field_reader {
 public:
  explicit field_reader(duplicate_finder& duplicates) : duplicates_(duplicates) {}

  std::optional<decode_error> error;

  bool fail(const field_ref& field, std::string reason) {
    error = decode_error{field.str(), std::move(reason)};
    return false;
  }

  // `out` is set only when the value is acceptable; a null where allowed leaves it as it is.

  bool number(dom::element v, const field_ref& field, std::optional<double>& out, bool allow_null = false) {
    switch (v.type()) {
      case element_type::DOUBLE: out = v.get_double().value_unsafe(); return true;
      case element_type::INT64: out = static_cast<double>(v.get_int64().value_unsafe()); return true;
      case element_type::UINT64: out = static_cast<double>(v.get_uint64().value_unsafe()); return true;
      case element_type::NULL_VALUE:
        if (allow_null) return true;
        break;
      default: break;
    }
    return fail(field, "expected a number");
  }

  bool price(dom::element v, const field_ref& field, double& out, bool allow_null = false) {
    std::optional<double> d;
    if (!number(v, field, d, allow_null)) return false;
    if (d) {
      if (!(*d >= 0)) return fail(field, "negative (" + detail::number_text(*d) + ")");
      out = *d;
    }
    return true;
  }

  /// A JSON number that must be an int64: "out of range" beyond it, not_integer for a fraction or
  /// another type.
  template <class Out>
  bool signed_integer(dom::element v, const field_ref& field, Out& out, std::string_view not_integer,
                      bool allow_null = false) {
    switch (v.type()) {
      case element_type::INT64: out = v.get_int64().value_unsafe(); return true;
      case element_type::UINT64: return fail(field, "out of range");
      case element_type::NULL_VALUE:
        if (allow_null) return true;
        break;
      default: break;
    }
    return fail(field, std::string(not_integer));
  }

  bool count(dom::element v, const field_ref& field, std::int64_t& out, bool allow_null = false) {
    std::optional<std::int64_t> i;
    if (!signed_integer(v, field, i, "expected an integer", allow_null)) return false;
    if (i) {
      if (*i < 0) return fail(field, "negative (" + detail::number_text(*i) + ")");
      if (*i > detail::max_count) return fail(field, "above 10^14 (" + detail::number_text(*i) + ")");
      out = *i;
    }
    return true;
  }

  bool string(dom::element v, const field_ref& field, std::string_view& out) {
    if (v.type() != element_type::STRING) return fail(field, "expected a string");
    out = v.get_string().value_unsafe();
    return true;
  }

  bool name(dom::element v, const field_ref& field, std::size_t max, std::string& out) {
    std::string_view s;
    if (!string(v, field, s)) return false;
    if (!detail::valid_name(s, max)) {
      return fail(field, "does not match [A-Za-z0-9_.-]{1," + std::to_string(max) + "} " + detail::quoted(s));
    }
    out.assign(s);
    return true;
  }

  bool date(dom::element v, const field_ref& field, std::chrono::year_month_day& out) {
    std::string_view s;
    if (!string(v, field, s)) return false;
    const auto d = detail::parse_date(s);
    if (!d) return fail(field, "not a valid date YYYY-MM-DD " + detail::quoted(s));
    out = *d;
    return true;
  }

  bool timestamp(dom::element v, const field_ref& field, timestamp_ns& out) {
    if (v.type() != element_type::STRING) return signed_integer(v, field, out, "expected a string or an integer");
    const std::string_view s = v.get_string().value_unsafe();
    const auto t = parse_timestamp(s);
    if (!t) return fail(field, "not an ISO-8601 UTC timestamp " + detail::quoted(s));
    out = *t;
    return true;
  }

  /// Reads the fields of an object: handler(index of the key in names, value, path) -> bool for the
  /// known ones, then reports the first missing required field (required: a bitmask over names).
  /// Unknown fields are skipped once their keys and values are checked for duplicate keys.
  template <std::size_t N, class Handler>
  bool fields(dom::element object, const field_ref& object_path, const std::array<std::string_view, N>& names,
              std::uint32_t required, Handler&& handler) {
    constexpr std::size_t few_unknown = 16;  // beyond, the finder searches the whole object once
    std::size_t unknown_count = 0, position = 0;
    std::uint32_t seen = 0;
    std::size_t next = 0;  // messages usually list the fields in the order of names: try that one first
    const dom::object obj = object.get_object().value_unsafe();
    for (const dom::key_value_pair field : obj) {
      ++position;
      std::size_t index = next < N && names[next] == field.key ? next : N;
      if (index == N) index = static_cast<std::size_t>(std::find(names.begin(), names.end(), field.key) - names.begin());
      if (index == N) {
        ++unknown_count;
        if (unknown_count == few_unknown && duplicates_.find(object)) return fail(object_path, "duplicate field");
        if (unknown_count >= few_unknown) continue;
        if (duplicates_.find(field.value) || (unknown_count > 1 && key_before(obj, position - 1, field.key))) {
          return fail(object_path, "duplicate field");
        }
        continue;
      }
      if ((seen >> index & 1U) != 0) return fail(object_path, "duplicate field");
      next = index + 1;
      seen |= 1U << index;
      if (!handler(static_cast<int>(index), field.value, field_ref{object_path.parent, object_path.index, field.key})) {
        return false;
      }
    }
    for (std::size_t i = 0; i < N; ++i) {
      if ((required >> i & 1U) != 0 && (seen >> i & 1U) == 0) {
        return fail(field_ref{object_path.parent, object_path.index, names[i]}, "missing");
      }
    }
    return true;
  }

  /// Whether key is among the first `count` keys of obj.
  static bool key_before(dom::object obj, std::size_t count, std::string_view key) {
    for (const dom::key_value_pair field : obj) {
      if (count-- == 0) return false;
      if (field.key == key) return true;
    }
    return false;
  }

  /// A strike: a number > 0.
  bool strike(dom::element v, const field_ref& field, double& out) {
    std::optional<double> k;
    if (!number(v, field, k)) return false;
    if (!(*k > 0)) return fail(field, "must be > 0 (" + detail::number_text(*k) + ")");
    out = *k;
    return true;
  }

 private:
  duplicate_finder& duplicates_;
};

constexpr std::uint32_t all(std::size_t n) { return (std::uint32_t{1} << n) - 1; }

/// One side of a chain (calls or puts): an array of quote objects with distinct strikes.
bool read_side(field_reader& r, dom::element v, const field_ref& path, std::size_t max_quotes, chain_side& side) {
  if (v.type() != element_type::ARRAY) return r.fail(path, "expected an array");
  const dom::array quotes = v.get_array().value_unsafe();
  const std::size_t n = quotes.size();
  if (n > max_quotes) {
    return r.fail(path, std::to_string(n) + " quotes exceed the limit of " + std::to_string(max_quotes));
  }
  side.reserve(n);
  // Strikes seen so far, for the duplicate check; filled only once the strikes stop rising, so that
  // sorted chains (the usual case) never pay for it.
  std::unordered_set<double> strikes_seen;
  double max_strike = -std::numeric_limits<double>::infinity();
  const std::string side_name = path.str();
  std::size_t i = 0;
  for (const dom::element item : quotes) {
    const field_ref prefix{side_name, i++, {}};
    if (item.type() != element_type::OBJECT) return r.fail(prefix, "expected an object");
    static constexpr std::array<std::string_view, 6> names = {"strike", "bid",    "ask",
                                                              "last",   "volume", "open_interest"};
    double strike = 0, bid = 0, ask = 0, last = 0;
    std::int64_t volume = 0, oi = 0;
    const bool good = r.fields(item, prefix, names, 1U, [&](int index, dom::element fv, const field_ref& fp) {
      switch (index) {
        case 0: {
          if (!r.strike(fv, fp, strike)) return false;
          if (strike <= max_strike) {
            if (strikes_seen.empty()) strikes_seen.insert(side.strike.begin(), side.strike.end());
            if (strikes_seen.contains(strike)) {
              return r.fail(fp, "duplicate strike (" + detail::number_text(strike) + ")");
            }
          }
          return true;
        }
        case 1: return r.price(fv, fp, bid, true);
        case 2: return r.price(fv, fp, ask, true);
        case 3: return r.price(fv, fp, last, true);
        case 4: return r.count(fv, fp, volume, true);
        default: return r.count(fv, fp, oi, true);
      }
    });
    if (!good) return false;
    max_strike = std::max(max_strike, strike);
    if (!strikes_seen.empty()) strikes_seen.insert(strike);
    side.push_back(strike, bid, ask, last, volume, oi);
  }
  return true;
}

const field_ref document{};

}  // namespace

struct message_decoder::impl {
  codec_limits limits;
  dom::parser parser;
  duplicate_finder duplicates;
  std::unique_ptr<char[]> buffer;  // the message, padded as simdjson reads past its end
  std::size_t capacity = 0;

  /// The document's root, or nullopt if the text is not valid JSON (rule 2).
  std::optional<dom::element> parse(std::string_view json) {
    const std::size_t needed = json.size() + simdjson::SIMDJSON_PADDING;
    if (needed > capacity) {
      buffer = std::make_unique<char[]>(needed);
      capacity = needed;
      if (parser.allocate(json.size(), max_nesting) != simdjson::SUCCESS) return std::nullopt;
    }
    std::memcpy(buffer.get(), json.data(), json.size());
    std::memset(buffer.get() + json.size(), 0, simdjson::SIMDJSON_PADDING);
    dom::element root;
    const auto error = parser.parse(buffer.get(), json.size(), false).get(root);
    if (error == simdjson::SUCCESS) return root;
    if (error != simdjson::NUMBER_ERROR) return std::nullopt;
    const auto widened = widen_big_integers(json);
    if (!widened) return std::nullopt;
    return parse(*widened);
  }

  /// Runs read(field_reader&, dom::element of the object, T&) -> bool on the message; the error precedence of the file
  /// comment.
  template <class T, class Read>
  decode_result<T> run(std::string_view json, Read&& read) {
    decode_result<T> result;
    if (json.size() > limits.max_message_bytes) {
      result.error = {"message", std::to_string(json.size()) + " bytes exceed the limit of " +
                                     std::to_string(limits.max_message_bytes)};
      return result;
    }
    const auto root = parse(json);
    if (!root) {
      result.error = {"message", "not valid JSON"};
      return result;
    }
    field_reader r(duplicates);
    T value{};
    if (root->type() != element_type::OBJECT) {
      r.fail(field_ref{"message", field_ref::no_index, {}}, "expected an object");
    } else if (read(r, *root, value)) {
      result.value = std::move(value);
      return result;
    }
    // Rule 3 before rule 4: the first duplicate key anywhere, else the violation.
    if (auto duplicate = duplicates.find(*root)) {
      result.error = {std::move(*duplicate), "duplicate field"};
    } else {
      result.error = std::move(*r.error);
    }
    return result;
  }
};

message_decoder::message_decoder(codec_limits limits) : impl_(std::make_unique<impl>()) { impl_->limits = limits; }
message_decoder::~message_decoder() = default;
message_decoder::message_decoder(message_decoder&&) noexcept = default;
message_decoder& message_decoder::operator=(message_decoder&&) noexcept = default;

decode_result<underlying_tick> message_decoder::decode_underlying(std::string_view json) {
  return impl_->run<underlying_tick>(json, [](field_reader& r, dom::element obj, underlying_tick& tick) {
    static constexpr std::array<std::string_view, 5> names = {"product", "tick_id", "price", "volume", "timestamp"};
    return r.fields(obj, document, names, all(5), [&](int index, dom::element v, const field_ref& path) {
      switch (index) {
        case 0: return r.name(v, path, detail::max_product_chars, tick.product);
        case 1: return r.signed_integer(v, path, tick.tick_id, "expected an integer");
        case 2: return r.price(v, path, tick.price);
        case 3: return r.count(v, path, tick.volume);
        default: return r.timestamp(v, path, tick.timestamp);
      }
    });
  });
}

decode_result<option_quote> message_decoder::decode_quote(std::string_view json) {
  return impl_->run<option_quote>(json, [](field_reader& r, dom::element obj, option_quote& q) {
    static constexpr std::array<std::string_view, 13> names = {
        "product", "symbol", "expiry",        "strike",           "option_type", "bid",      "ask",
        "last",    "volume", "open_interest", "underlying_price", "quote_id",    "timestamp"};
    return r.fields(obj, document, names, all(13), [&](int index, dom::element v, const field_ref& path) {
      switch (index) {
        case 0: return r.name(v, path, detail::max_product_chars, q.product);
        case 1: return r.name(v, path, detail::max_symbol_chars, q.symbol);
        case 2: return r.date(v, path, q.expiry);
        case 3: return r.strike(v, path, q.strike);
        case 4: {
          std::string_view s;
          if (!r.string(v, path, s)) return false;
          const auto call = detail::parse_option_type(s);
          if (!call) return r.fail(path, "expected CE, PE, call or put " + detail::quoted(s));
          q.is_call = *call;
          return true;
        }
        case 5: return r.price(v, path, q.bid);
        case 6: return r.price(v, path, q.ask);
        case 7: return r.price(v, path, q.last);
        case 8: return r.count(v, path, q.volume);
        case 9: return r.count(v, path, q.open_interest);
        case 10: return r.price(v, path, q.underlying_price);
        case 11: return r.signed_integer(v, path, q.quote_id, "expected an integer");
        default: return r.timestamp(v, path, q.timestamp);
      }
    });
  });
}

decode_result<option_chain> message_decoder::decode_chain(std::string_view json) {
  const std::size_t max_quotes = impl_->limits.max_quotes_per_side;
  return impl_->run<option_chain>(json, [max_quotes](field_reader& r, dom::element obj, option_chain& c) {
    static constexpr std::array<std::string_view, 9> names = {
        "product", "expiry", "chain_id", "timestamp", "underlying_price", "calls", "puts", "rate", "dividend_yield"};
    return r.fields(obj, document, names, all(7), [&](int index, dom::element v, const field_ref& path) {
      switch (index) {
        case 0: return r.name(v, path, detail::max_product_chars, c.product);
        case 1: return r.date(v, path, c.expiry);
        case 2: {
          std::string_view s;
          if (!r.string(v, path, s)) return false;
          if (s.empty()) return r.fail(path, "empty");
          // It becomes part of an idempotency key: bounded like the names, any characters (binary-safe).
          if (s.size() > detail::max_chain_id_bytes) {
            return r.fail(path, "longer than " + std::to_string(detail::max_chain_id_bytes) + " bytes");
          }
          c.chain_id.assign(s);
          return true;
        }
        case 3: return r.timestamp(v, path, c.timestamp);
        case 4: return r.price(v, path, c.underlying_price);
        case 5: return read_side(r, v, path, max_quotes, c.calls);
        case 6: return read_side(r, v, path, max_quotes, c.puts);
        default: {
          std::optional<double> value;
          if (!r.number(v, path, value, true)) return false;
          (index == 7 ? c.rate : c.dividend_yield) = value;
          return true;
        }
      }
    });
  });
}

}  // namespace optaro

// Strict decoding of the inbound messages (MESSAGES.md) with simdjson's On-Demand API, straight into
// the value types.
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
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <simdjson.h>

#include <optaro/codec.hpp>

#include "codec_detail.hpp"

namespace optaro {
namespace {

namespace od = simdjson::ondemand;
using simdjson::SUCCESS;

/// Containers nested deeper than this are "not valid JSON" (simdjson's own limit, 1024, is never reached:
/// its debug builds assert on it rather than fail).
constexpr std::size_t max_nesting = 512;

/// Raised (as a flag, no exception) by any simdjson error: the message is not valid JSON.
struct json_failure {};

/// A JSON number, read from its text: simdjson 3.0.1's number parsing is not used, because it rejects
/// integers beyond 64 bits and loses digits of long decimal mantissas. The classification is JSON's
/// usual one: an integer (no fraction, no exponent) that fits int64 or uint64, else a double.
struct json_number {
  enum class kind : std::uint8_t { signed_integer, unsigned_integer, floating } type = kind::floating;
  std::int64_t i = 0;
  double d = 0;
};

/// nullopt if token (trailing whitespace allowed) is not a JSON number or is beyond a double's range.
std::optional<json_number> read_number(std::string_view token) {
  while (!token.empty() &&
         (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' || token.back() == '\r')) {
    token.remove_suffix(1);
  }
  std::size_t p = 0;
  const std::size_t n = token.size();
  auto digit = [&](std::size_t at) { return at < n && token[at] >= '0' && token[at] <= '9'; };
  const bool negative = p < n && token[p] == '-';
  if (negative) ++p;
  if (!digit(p)) return std::nullopt;
  if (token[p] == '0') {
    ++p;
  } else {
    while (digit(p)) ++p;
  }
  bool integral = true;
  if (p < n && token[p] == '.') {
    ++p;
    if (!digit(p)) return std::nullopt;
    while (digit(p)) ++p;
    integral = false;
  }
  if (p < n && (token[p] == 'e' || token[p] == 'E')) {
    ++p;
    if (p < n && (token[p] == '+' || token[p] == '-')) ++p;
    if (!digit(p)) return std::nullopt;
    while (digit(p)) ++p;
    integral = false;
  }
  if (p != n) return std::nullopt;
  json_number out;
  if (integral) {
    if (negative) {
      std::int64_t v = 0;
      const auto r = std::from_chars(token.data(), token.data() + n, v);
      if (r.ec == std::errc{}) {
        out.type = json_number::kind::signed_integer;
        out.i = v;
        out.d = static_cast<double>(v);
        return out;
      }
    } else {
      std::uint64_t v = 0;
      const auto r = std::from_chars(token.data(), token.data() + n, v);
      if (r.ec == std::errc{}) {
        out.type = v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                       ? json_number::kind::unsigned_integer
                       : json_number::kind::signed_integer;
        out.i = out.type == json_number::kind::signed_integer ? static_cast<std::int64_t>(v) : 0;
        out.d = static_cast<double>(v);
        return out;
      }
    }
  }
  const auto r = std::from_chars(token.data(), token.data() + n, out.d);
  if (r.ec == std::errc::result_out_of_range) {
    // Overflow is rejected; underflow reads as the nearest double (0 or a subnormal), as strtod does.
    const std::string copy{token};
    out.d = std::strtod(copy.c_str(), nullptr);
    if (!std::isfinite(out.d)) return std::nullopt;
  } else if (r.ec != std::errc{} || r.ptr != token.data() + n || !std::isfinite(out.d)) {
    return std::nullopt;
  }
  return out;
}

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

class walker {
 public:
  bool json_error = false;
  std::size_t level = 1;                  ///< nesting level of the object whose fields are being read (the document: 1)
  std::optional<decode_error> duplicate;  ///< the first duplicate key
  std::optional<decode_error> first;      ///< the first other violation

  void fail(std::string field, std::string reason) {
    if (!first) first = decode_error{std::move(field), std::move(reason)};
  }
  void fail(const field_ref& field, std::string reason) {
    if (!first) first = decode_error{field.str(), std::move(reason)};
  }
  void fail_duplicate(std::string field) {
    if (!duplicate) duplicate = decode_error{std::move(field), "duplicate field"};
  }
  /// Returns false (and flags the message) if e is an error.
  bool ok(simdjson::error_code e) noexcept {
    if (e != SUCCESS) json_error = true;
    return e == SUCCESS;
  }

  /// Validates a value that is not decoded (an unknown field, or one of the wrong type), with the
  /// same duplicate-key rule as everywhere else. path names the value, for duplicate keys; parent is
  /// the nesting level of the container holding it.
  bool skip(od::value v, std::string& path, std::size_t parent) {  // NOLINT(misc-no-recursion): depth <= max_nesting
    od::json_type t{};
    if (!ok(v.type().get(t))) return false;
    const std::size_t depth = parent + 1;
    if ((t == od::json_type::object || t == od::json_type::array) && depth > max_nesting) {
      return ok(simdjson::DEPTH_ERROR);
    }
    switch (t) {
      case od::json_type::object: {
        od::object obj;
        if (!ok(v.get_object().get(obj))) return false;
        std::vector<std::string_view> keys;
        for (auto field_result : obj) {
          od::field field;
          if (!ok(std::move(field_result).get(field))) return false;
          std::string_view key;
          if (!ok(field.unescaped_key().get(key))) return false;
          const std::size_t mark = path.size();
          if (!path.empty()) path += '.';
          path.append(key);
          if (std::find(keys.begin(), keys.end(), key) != keys.end()) fail_duplicate(path);
          keys.push_back(key);
          const bool good = skip(field.value(), path, depth);
          path.resize(mark);
          if (!good) return false;
        }
        return true;
      }
      case od::json_type::array: {
        od::array arr;
        if (!ok(v.get_array().get(arr))) return false;
        std::size_t i = 0;
        for (auto element : arr) {
          od::value ev;
          if (!ok(element.get(ev))) return false;
          const std::size_t mark = path.size();
          path += '[';
          path += std::to_string(i++);
          path += ']';
          const bool good = skip(ev, path, depth);
          path.resize(mark);
          if (!good) return false;
        }
        return true;
      }
      case od::json_type::string: {
        std::string_view s;
        return ok(v.get_string().get(s));
      }
      case od::json_type::number: return number_of(v).has_value();
      case od::json_type::boolean: {
        bool b = false;
        return ok(v.get_bool().get(b));
      }
      case od::json_type::null: {
        bool n = false;
        if (!ok(v.is_null().get(n))) return false;
        return n || ok(simdjson::N_ATOM_ERROR);
      }
    }
    return ok(simdjson::TAPE_ERROR);
  }
  bool skip(od::value v, std::string_view path, std::size_t depth) {
    std::string p{path};
    return skip(v, p, depth);
  }

  /// The number v holds, or nullopt (flagged) if its text is not a valid JSON number.
  std::optional<json_number> number_of(od::value& v) {
    auto n = read_number(v.raw_json_token());
    if (!n) json_error = true;
    return n;
  }

  /// The JSON type of v, or nullopt (flagged) on an error.
  std::optional<od::json_type> type_of(od::value& v) {
    od::json_type t{};
    if (!ok(v.type().get(t))) return std::nullopt;
    return t;
  }

  // ---- typed fields: false when the message cannot go on (a JSON error) -------------------------
  // `out` is set only when the value is acceptable; otherwise the violation is recorded.

  bool number(od::value v, const field_ref& field, std::optional<double>& out, bool allow_null = false) {
    const auto t = type_of(v);
    if (!t) return false;
    if (*t == od::json_type::null && allow_null) return skip(v, field.str(), level);
    if (*t != od::json_type::number) {
      fail(field, "expected a number");
      return skip(v, field.str(), level);
    }
    const auto n = number_of(v);
    if (!n) return false;
    out = n->d;
    return true;
  }

  bool price(od::value v, const field_ref& field, double& out, bool allow_null = false) {
    std::optional<double> d;
    if (!number(v, field, d, allow_null)) return false;
    if (d) {
      if (!(*d >= 0)) {
        fail(field, "negative (" + detail::number_text(*d) + ")");
      } else {
        out = *d;
      }
    }
    return true;
  }

  bool integer(od::value v, const field_ref& field, std::optional<std::int64_t>& out, bool allow_null = false) {
    const auto t = type_of(v);
    if (!t) return false;
    if (*t == od::json_type::null && allow_null) return skip(v, field.str(), level);
    if (*t != od::json_type::number) {
      fail(field, "expected an integer");
      return skip(v, field.str(), level);
    }
    return signed_integer(v, field, out, "expected an integer");
  }

  // A JSON number that must be an int64: "out of range" beyond it, not_integer for a fraction.
  template <class Out>
  bool signed_integer(od::value v, const field_ref& field, Out& out, std::string_view not_integer) {
    const auto n = number_of(v);
    if (!n) return false;
    if (n->type == json_number::kind::signed_integer) {
      out = n->i;
    } else if (n->type == json_number::kind::unsigned_integer) {
      fail(field, "out of range");
    } else {
      fail(field, std::string(not_integer));
    }
    return true;
  }

  bool count(od::value v, const field_ref& field, std::int64_t& out, bool allow_null = false) {
    std::optional<std::int64_t> i;
    if (!integer(v, field, i, allow_null)) return false;
    if (i) {
      if (*i < 0) {
        fail(field, "negative (" + detail::number_text(*i) + ")");
      } else {
        out = *i;
      }
    }
    return true;
  }

  bool string(od::value v, const field_ref& field, std::optional<std::string_view>& out) {
    const auto t = type_of(v);
    if (!t) return false;
    if (*t != od::json_type::string) {
      fail(field, "expected a string");
      return skip(v, field.str(), level);
    }
    std::string_view s;
    if (!ok(v.get_string().get(s))) return false;
    out = s;
    return true;
  }

  bool name(od::value v, const field_ref& field, std::size_t max, std::string& out) {
    std::optional<std::string_view> s;
    if (!string(v, field, s)) return false;
    if (s) {
      if (detail::valid_name(*s, max)) {
        out.assign(*s);
      } else {
        fail(field, "does not match [A-Za-z0-9_.-]{1," + std::to_string(max) + "} " + detail::quoted(*s));
      }
    }
    return true;
  }

  bool date(od::value v, const field_ref& field, std::chrono::year_month_day& out) {
    std::optional<std::string_view> s;
    if (!string(v, field, s)) return false;
    if (s) {
      if (const auto d = detail::parse_date(*s)) {
        out = *d;
      } else {
        fail(field, "not a valid date YYYY-MM-DD " + detail::quoted(*s));
      }
    }
    return true;
  }

  bool timestamp(od::value v, const field_ref& field, timestamp_ns& out) {
    const auto t = type_of(v);
    if (!t) return false;
    if (*t == od::json_type::string) {
      std::string_view s;
      if (!ok(v.get_string().get(s))) return false;
      if (const auto ts = parse_timestamp(s)) {
        out = *ts;
      } else {
        fail(field, "not an ISO-8601 UTC timestamp " + detail::quoted(s));
      }
      return true;
    }
    if (*t == od::json_type::number) return signed_integer(v, field, out, "expected a string or an integer");
    fail(field, "expected a string or an integer");
    return skip(v, field.str(), level);
  }
};

/// Known fields of one object: a bit per field, for "missing" and "duplicate field".
struct field_set {
  std::uint32_t seen = 0;
  std::vector<std::string_view> unknown;
};

/// Iterates the fields of obj: handler(index of the key in names, or -1, key, value, path) -> bool.
/// Records duplicates and, at the end, missing required fields (required: bitmask over names).
template <std::size_t N, class Handler>
bool for_each_field(walker& w, od::object obj, std::size_t level, std::string_view parent, std::size_t parent_index,
                    const std::array<std::string_view, N>& names, std::uint32_t required, Handler&& handler) {
  field_set fs;
  for (auto field_result : obj) {
    od::field field;
    if (!w.ok(std::move(field_result).get(field))) return false;
    std::string_view key;
    if (!w.ok(field.unescaped_key().get(key))) return false;
    int index = -1;
    for (std::size_t i = 0; i < N; ++i) {
      if (names[i] == key) {
        index = static_cast<int>(i);
        break;
      }
    }
    const field_ref path{parent, parent_index, key};
    bool duplicate = false;
    if (index >= 0) {
      duplicate = (fs.seen >> index & 1U) != 0;
      fs.seen |= 1U << index;
    } else {
      duplicate = std::find(fs.unknown.begin(), fs.unknown.end(), key) != fs.unknown.end();
      fs.unknown.push_back(key);
    }
    if (duplicate) {
      w.fail_duplicate(path.str());
      // The value is validated but not decoded again.
      if (!w.skip(field.value(), path.str(), level)) return false;
      continue;
    }
    if (index < 0) {
      std::string p = path.str();
      if (!w.skip(field.value(), p, level)) return false;
      continue;
    }
    w.level = level;
    if (!handler(index, field.value(), path)) return false;
  }
  for (std::size_t i = 0; i < N; ++i) {
    if ((required >> i & 1U) != 0 && (fs.seen >> i & 1U) == 0)
      w.fail(field_ref{parent, parent_index, names[i]}, "missing");
  }
  return true;
}

constexpr std::uint32_t all(std::size_t n) { return (std::uint32_t{1} << n) - 1; }

}  // namespace

struct message_decoder::impl {
  codec_limits limits;
  od::parser parser;
  std::unique_ptr<char[]> buffer;
  std::size_t capacity = 0;

  /// Runs decode(walker&, od::object) -> void on the message; the error precedence of the file comment.
  template <class T, class Decode>
  decode_result<T> run(std::string_view json, Decode&& decode) {
    decode_result<T> result;
    if (json.size() > limits.max_message_bytes) {
      result.error = {"message", std::to_string(json.size()) + " bytes exceed the limit of " +
                                     std::to_string(limits.max_message_bytes)};
      return result;
    }
    const std::size_t needed = json.size() + simdjson::SIMDJSON_PADDING;
    if (needed > capacity) {
      buffer = std::make_unique<char[]>(needed);
      capacity = needed;
    }
    std::memcpy(buffer.get(), json.data(), json.size());
    std::memset(buffer.get() + json.size(), 0, simdjson::SIMDJSON_PADDING);

    walker w;
    T value{};
    [&] {
      od::document doc;
      if (!w.ok(parser.iterate(buffer.get(), json.size(), capacity).get(doc))) return;
      od::json_type t{};
      if (!w.ok(doc.type().get(t))) return;
      if (t != od::json_type::object) {
        w.fail("message", "expected an object");
        // Validate the rest as JSON.
        if (t == od::json_type::array) {
          od::array arr;
          if (!w.ok(doc.get_array().get(arr))) return;
          std::string path;
          std::size_t i = 0;
          for (auto element : arr) {
            od::value ev;
            if (!w.ok(element.get(ev))) return;
            path = "[" + std::to_string(i++) + "]";
            if (!w.skip(ev, path, 1)) return;
          }
        } else {
          // A scalar document: the token must be the last one; no trailing check below.
          std::string_view token;
          if (!w.ok(doc.raw_json_token().get(token))) return;
          if (token.data() + token.size() != buffer.get() + json.size()) {
            w.json_error = true;
            return;
          }
          while (!token.empty() &&
                 (token.back() == ' ' || token.back() == '\t' || token.back() == '\n' || token.back() == '\r')) {
            token.remove_suffix(1);
          }
          if (t == od::json_type::string) {
            std::string_view str;
            w.ok(doc.get_string().get(str));
          } else if (t == od::json_type::number) {
            if (!read_number(token)) w.json_error = true;
          } else if (t == od::json_type::boolean) {
            if (token != "true" && token != "false") w.json_error = true;
          } else if (token != "null") {
            w.json_error = true;
          }
          return;
        }
      } else {
        od::object obj;
        if (!w.ok(doc.get_object().get(obj))) return;
        if (!decode(w, obj, value)) return;
      }
      // Trailing content after the document.
      const char* location = nullptr;
      if (doc.current_location().get(location) == SUCCESS) w.ok(simdjson::TAPE_ERROR);
    }();
    if (w.json_error) {
      result.error = {"message", "not valid JSON"};
    } else if (w.duplicate) {
      result.error = std::move(*w.duplicate);
    } else if (w.first) {
      result.error = std::move(*w.first);
    } else {
      result.value = std::move(value);
    }
    return result;
  }
};

message_decoder::message_decoder(codec_limits limits) : impl_(std::make_unique<impl>()) { impl_->limits = limits; }
message_decoder::~message_decoder() = default;
message_decoder::message_decoder(message_decoder&&) noexcept = default;
message_decoder& message_decoder::operator=(message_decoder&&) noexcept = default;

decode_result<underlying_tick> message_decoder::decode_underlying(std::string_view json) {
  return impl_->run<underlying_tick>(json, [](walker& w, od::object obj, underlying_tick& tick) {
    static constexpr std::array<std::string_view, 5> names = {"product", "tick_id", "price", "volume", "timestamp"};
    return for_each_field(w, obj, 1, "", field_ref::no_index, names, all(5),
                          [&](int index, od::value v, const field_ref& path) {
                            switch (index) {
                              case 0: return w.name(v, path, detail::max_product_chars, tick.product);
                              case 1: {
                                std::optional<std::int64_t> id;
                                if (!w.integer(v, path, id)) return false;
                                if (id) tick.tick_id = *id;
                                return true;
                              }
                              case 2: return w.price(v, path, tick.price);
                              case 3: return w.count(v, path, tick.volume);
                              default: return w.timestamp(v, path, tick.timestamp);
                            }
                          });
  });
}

decode_result<option_quote> message_decoder::decode_quote(std::string_view json) {
  return impl_->run<option_quote>(json, [](walker& w, od::object obj, option_quote& q) {
    static constexpr std::array<std::string_view, 13> names = {
        "product", "symbol", "expiry",        "strike",           "option_type", "bid",      "ask",
        "last",    "volume", "open_interest", "underlying_price", "quote_id",    "timestamp"};
    return for_each_field(w, obj, 1, "", field_ref::no_index, names, all(13),
                          [&](int index, od::value v, const field_ref& path) {
                            switch (index) {
                              case 0: return w.name(v, path, detail::max_product_chars, q.product);
                              case 1: return w.name(v, path, detail::max_symbol_chars, q.symbol);
                              case 2: return w.date(v, path, q.expiry);
                              case 3: {
                                std::optional<double> k;
                                if (!w.number(v, path, k)) return false;
                                if (k) {
                                  if (*k > 0) {
                                    q.strike = *k;
                                  } else {
                                    w.fail(path, "must be > 0 (" + detail::number_text(*k) + ")");
                                  }
                                }
                                return true;
                              }
                              case 4: {
                                std::optional<std::string_view> s;
                                if (!w.string(v, path, s)) return false;
                                if (s) {
                                  if (const auto call = detail::parse_option_type(*s)) {
                                    q.is_call = *call;
                                  } else {
                                    w.fail(path, "expected CE, PE, call or put " + detail::quoted(*s));
                                  }
                                }
                                return true;
                              }
                              case 5: return w.price(v, path, q.bid);
                              case 6: return w.price(v, path, q.ask);
                              case 7: return w.price(v, path, q.last);
                              case 8: return w.count(v, path, q.volume);
                              case 9: return w.count(v, path, q.open_interest);
                              case 10: return w.price(v, path, q.underlying_price);
                              case 11: {
                                std::optional<std::int64_t> id;
                                if (!w.integer(v, path, id)) return false;
                                if (id) q.quote_id = *id;
                                return true;
                              }
                              default: return w.timestamp(v, path, q.timestamp);
                            }
                          });
  });
}

namespace {

bool decode_side(walker& w, od::value v, const field_ref& path, std::size_t max_quotes, chain_side& side) {
  const auto t = w.type_of(v);
  if (!t) return false;
  if (*t != od::json_type::array) {
    w.fail(path, "expected an array");
    return w.skip(v, path.str(), 1);  // a field of the document
  }
  od::array arr;
  if (!w.ok(v.get_array().get(arr))) return false;
  std::size_t n = 0;
  if (!w.ok(arr.count_elements().get(n))) return false;
  if (n > max_quotes) {
    w.fail(path, std::to_string(n) + " quotes exceed the limit of " + std::to_string(max_quotes));
  }
  const std::size_t reserve = std::min(n, max_quotes);
  side.strike.reserve(reserve);
  side.bid.reserve(reserve);
  side.ask.reserve(reserve);
  side.last.reserve(reserve);
  side.volume.reserve(reserve);
  side.open_interest.reserve(reserve);
  double max_strike = -std::numeric_limits<double>::infinity();
  std::size_t i = 0;
  const std::string side_name = path.str();
  for (auto element : arr) {
    od::value ev;
    if (!w.ok(element.get(ev))) return false;
    const field_ref prefix{side_name, i++, {}};
    const auto et = w.type_of(ev);
    if (!et) return false;
    if (*et != od::json_type::object) {
      w.fail(prefix, "expected an object");
      if (!w.skip(ev, prefix.str(), 2)) return false;
      continue;
    }
    od::object obj;
    if (!w.ok(ev.get_object().get(obj))) return false;
    static constexpr std::array<std::string_view, 6> names = {"strike", "bid",    "ask",
                                                              "last",   "volume", "open_interest"};
    double strike = 0, bid = 0, ask = 0, last = 0;
    std::int64_t volume = 0, oi = 0;
    const bool good = for_each_field(
        w, obj, 3, side_name, prefix.index, names, 1U, [&](int index, od::value fv, const field_ref& fp) {
          switch (index) {
            case 0: {
              std::optional<double> k;
              if (!w.number(fv, fp, k)) return false;
              if (k) {
                if (!(*k > 0)) {
                  w.fail(fp, "must be > 0 (" + detail::number_text(*k) + ")");
                } else {
                  // Sorted chains (the usual case) never scan.
                  const bool dup =
                      *k <= max_strike && std::find(side.strike.begin(), side.strike.end(), *k) != side.strike.end();
                  if (dup) w.fail(fp, "duplicate strike (" + detail::number_text(*k) + ")");
                  strike = *k;
                }
              }
              return true;
            }
            case 1: return w.price(fv, fp, bid, true);
            case 2: return w.price(fv, fp, ask, true);
            case 3: return w.price(fv, fp, last, true);
            case 4: return w.count(fv, fp, volume, true);
            default: return w.count(fv, fp, oi, true);
          }
        });
    if (!good) return false;
    if (w.first) continue;  // the message is rejected; only its JSON validity still matters
    max_strike = std::max(max_strike, strike);
    side.strike.push_back(strike);
    side.bid.push_back(bid);
    side.ask.push_back(ask);
    side.last.push_back(last);
    side.volume.push_back(volume);
    side.open_interest.push_back(oi);
  }
  return true;
}

}  // namespace

decode_result<option_chain> message_decoder::decode_chain(std::string_view json) {
  const std::size_t max_quotes = impl_->limits.max_quotes_per_side;
  return impl_->run<option_chain>(json, [max_quotes](walker& w, od::object obj, option_chain& c) {
    static constexpr std::array<std::string_view, 9> names = {
        "product", "expiry", "chain_id", "timestamp", "underlying_price", "calls", "puts", "rate", "dividend_yield"};
    return for_each_field(w, obj, 1, "", field_ref::no_index, names, all(7),
                          [&](int index, od::value v, const field_ref& path) {
                            switch (index) {
                              case 0: return w.name(v, path, detail::max_product_chars, c.product);
                              case 1: return w.date(v, path, c.expiry);
                              case 2: {
                                std::optional<std::string_view> s;
                                if (!w.string(v, path, s)) return false;
                                if (s) {
                                  if (s->empty()) {
                                    w.fail(path, "empty");
                                  } else {
                                    c.chain_id.assign(*s);
                                  }
                                }
                                return true;
                              }
                              case 3: return w.timestamp(v, path, c.timestamp);
                              case 4: return w.price(v, path, c.underlying_price);
                              case 5: return decode_side(w, v, path, max_quotes, c.calls);
                              case 6: return decode_side(w, v, path, max_quotes, c.puts);
                              case 7: {
                                std::optional<double> r;
                                if (!w.number(v, path, r, true)) return false;
                                c.rate = r;
                                return true;
                              }
                              default: {
                                std::optional<double> q;
                                if (!w.number(v, path, q, true)) return false;
                                c.dividend_yield = q;
                                return true;
                              }
                            }
                          });
  });
}

}  // namespace optaro

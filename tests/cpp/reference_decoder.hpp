#pragma once
// An independent decoder of the three inbound messages (MESSAGES.md), written with nlohmann/json from
// the rules, not from src/codec_decode.cpp, for differential tests: both must accept, reject and read
// every message identically, with the same error text. Error precedence (as documented in
// codec_decode.cpp): size limit, then "message: not valid JSON" (including numbers beyond the range of
// a double and nesting deeper than 512 containers), then the first duplicate key in document order, then the
// first other violation in document order, a missing field being reported when its object ends.
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <optaro/codec.hpp>
#include <optaro/market.hpp>

namespace optaro::reference {

using ojson = nlohmann::ordered_json;

namespace impl {

inline std::string num(double v) {
  std::array<char, 32> b{};
  auto r = std::to_chars(b.data(), b.data() + b.size(), v);
  return {b.data(), r.ptr};
}

inline std::string quote(const std::string& s) {
  std::string out = "(\"";
  const char* hex = "0123456789ABCDEF";
  std::size_t n = 0;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (n++ == 40) {
      out += "...";
      break;
    }
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 32 || c > 126) {
      out += "\\x";
      out.push_back(hex[c / 16]);
      out.push_back(hex[c % 16]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out + "\")";
}

inline bool name_ok(const std::string& s, std::size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) return false;
  }
  return true;
}

/// SAX handler: builds an ordered_json (document order kept) and finds the first duplicate key, with
/// its path; rejects non-finite numbers and nesting deeper than 1024.
class builder : public nlohmann::json_sax<ojson> {
 public:
  ojson root;
  std::optional<std::string> duplicate;

  bool null() override { return put(nullptr); }
  bool boolean(bool v) override { return put(v); }
  bool number_integer(number_integer_t v) override { return put(v); }
  bool number_unsigned(number_unsigned_t v) override { return put(v); }
  bool number_float(number_float_t v, const string_t&) override { return std::isfinite(v) && put(v); }
  bool string(string_t& v) override { return put(v); }
  bool binary(binary_t&) override { return false; }
  bool start_object(std::size_t) override { return open(ojson::object()); }
  bool start_array(std::size_t) override { return open(ojson::array()); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool key(string_t& k) override {
    frame& f = frames_.back();
    for (const auto& seen : f.keys) {
      if (seen == k && !duplicate) duplicate = path() + (path().empty() ? "" : ".") + k;
    }
    f.keys.push_back(k);
    f.key = k;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  struct frame {
    ojson* node;
    bool array;
    std::size_t index = 0;  // of the element being read, +1
    std::string key;
    std::vector<std::string> keys;
  };
  std::vector<frame> frames_;

  std::string path() const {
    std::string p;
    for (const frame& f : frames_) {
      if (&f == &frames_.back()) break;
      if (f.array) {
        p += "[" + std::to_string(f.index - 1) + "]";
      } else {
        if (!p.empty()) p += ".";
        p += f.key;
      }
    }
    return p;
  }
  ojson* slot(ojson v) {
    if (frames_.empty()) {
      root = std::move(v);
      return &root;
    }
    frame& f = frames_.back();
    if (f.array) {
      ++f.index;
      f.node->push_back(std::move(v));
      return &f.node->back();
    }
    ojson& target = (*f.node)[f.key];
    target = std::move(v);
    return &target;
  }
  bool put(ojson v) {
    slot(std::move(v));
    return true;
  }
  bool open(ojson v) {
    if (frames_.size() >= 512) return false;  // as the codec: deeper nesting is not valid JSON
    ojson* node = slot(std::move(v));
    frames_.push_back({node, node->is_array(), 0, {}, {}});
    return true;
  }
  bool close() {
    frames_.pop_back();
    return true;
  }
};

class checker {
 public:
  std::optional<decode_error> first;
  void fail(const std::string& field, const std::string& reason) {
    if (!first) first = decode_error{field, reason};
  }
  static std::string at(const std::string& prefix, const std::string& key) {
    return prefix.empty() ? key : prefix + "." + key;
  }

  std::optional<double> number(const ojson& v, const std::string& f) {
    if (!v.is_number()) {
      fail(f, "expected a number");
      return std::nullopt;
    }
    return v.get<double>();
  }
  std::optional<double> price(const ojson& v, const std::string& f) {
    auto d = number(v, f);
    if (d && *d < 0) {
      fail(f, "negative (" + num(*d) + ")");
      return std::nullopt;
    }
    return d;
  }
  std::optional<std::int64_t> integer(const ojson& v, const std::string& f) {
    if (v.is_number_unsigned()) {
      if (v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
        fail(f, "out of range");
        return std::nullopt;
      }
      return static_cast<std::int64_t>(v.get<std::uint64_t>());
    }
    if (v.is_number_integer()) return v.get<std::int64_t>();
    fail(f, "expected an integer");
    return std::nullopt;
  }
  std::optional<std::int64_t> count(const ojson& v, const std::string& f) {
    auto i = integer(v, f);
    if (i && *i < 0) {
      fail(f, "negative (" + std::to_string(*i) + ")");
      return std::nullopt;
    }
    if (i && *i > 100'000'000'000'000) {
      fail(f, "above 10^14 (" + std::to_string(*i) + ")");
      return std::nullopt;
    }
    return i;
  }
  std::optional<std::string> str(const ojson& v, const std::string& f) {
    if (!v.is_string()) {
      fail(f, "expected a string");
      return std::nullopt;
    }
    return v.get<std::string>();
  }
  std::optional<std::string> name(const ojson& v, const std::string& f, std::size_t max) {
    auto s = str(v, f);
    if (s && !name_ok(*s, max)) {
      fail(f, "does not match [A-Za-z0-9_.-]{1," + std::to_string(max) + "} " + quote(*s));
      return std::nullopt;
    }
    return s;
  }
  std::optional<std::chrono::year_month_day> date(const ojson& v, const std::string& f) {
    auto s = str(v, f);
    if (!s) return std::nullopt;
    int y = 0;
    unsigned m = 0, d = 0;
    bool ok = s->size() == 10 && (*s)[4] == '-' && (*s)[7] == '-';
    for (std::size_t i = 0; ok && i < 10; ++i) {
      if (i != 4 && i != 7 && !std::isdigit(static_cast<unsigned char>((*s)[i]))) ok = false;
    }
    if (ok) {
      y = std::stoi(s->substr(0, 4));
      m = static_cast<unsigned>(std::stoi(s->substr(5, 2)));
      d = static_cast<unsigned>(std::stoi(s->substr(8, 2)));
      ok = std::chrono::year_month_day{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}}.ok();
    }
    if (!ok) {
      fail(f, "not a valid date YYYY-MM-DD " + quote(*s));
      return std::nullopt;
    }
    return std::chrono::year_month_day{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
  }
  std::optional<timestamp_ns> timestamp(const ojson& v, const std::string& f) {
    if (v.is_string()) {
      // parse_timestamp is the unit under its own tests (test_codec.cpp, Timestamp.*).
      auto t = parse_timestamp(v.get<std::string>());
      if (!t) fail(f, "not an ISO-8601 UTC timestamp " + quote(v.get<std::string>()));
      return t;
    }
    if (v.is_number_integer()) return integer(v, f);
    fail(f, "expected a string or an integer");
    return std::nullopt;
  }
  std::optional<double> strike(const ojson& v, const std::string& f) {
    auto k = number(v, f);
    if (k && !(*k > 0)) {
      fail(f, "must be > 0 (" + num(*k) + ")");
      return std::nullopt;
    }
    return k;
  }
  void missing(const ojson& obj, const std::string& prefix, std::initializer_list<const char*> required) {
    for (const char* k : required) {
      if (!obj.contains(k)) fail(at(prefix, k), "missing");
    }
  }
};

struct parsed {
  ojson doc;
  std::optional<decode_error> error;
};

inline parsed parse(std::string_view json, const codec_limits& limits) {
  parsed p;
  if (json.size() > limits.max_message_bytes) {
    p.error = decode_error{"message", std::to_string(json.size()) + " bytes exceed the limit of " +
                                          std::to_string(limits.max_message_bytes)};
    return p;
  }
  builder b;
  bool ok = false;
  // nlohmann/json reads a NUL byte as the end of the input; in JSON it is never valid.
  if (json.find('\0') != std::string_view::npos) {
    p.error = decode_error{"message", "not valid JSON"};
    return p;
  }
  try {
    ok = ojson::sax_parse(json, &b, nlohmann::detail::input_format_t::json, true);
  } catch (const std::exception&) {
    ok = false;
  }
  if (!ok) {
    p.error = decode_error{"message", "not valid JSON"};
  } else if (b.duplicate) {
    p.error = decode_error{*b.duplicate, "duplicate field"};
  } else if (!b.root.is_object()) {
    p.error = decode_error{"message", "expected an object"};
  } else {
    p.doc = std::move(b.root);
  }
  return p;
}

template <class T>
decode_result<T> finish(T value, checker& c) {
  decode_result<T> r;
  if (c.first) {
    r.error = *c.first;
  } else {
    r.value = std::move(value);
  }
  return r;
}

}  // namespace impl

inline decode_result<underlying_tick> decode_underlying(std::string_view json, codec_limits limits = {}) {
  auto p = impl::parse(json, limits);
  if (p.error) return {std::nullopt, *p.error};
  impl::checker c;
  underlying_tick t;
  for (const auto& [k, v] : p.doc.items()) {
    if (k == "product") {
      if (auto s = c.name(v, k, 32)) t.product = *s;
    } else if (k == "tick_id") {
      if (auto i = c.integer(v, k)) t.tick_id = *i;
    } else if (k == "price") {
      if (auto d = c.price(v, k)) t.price = *d;
    } else if (k == "volume") {
      if (auto i = c.count(v, k)) t.volume = *i;
    } else if (k == "timestamp") {
      if (auto ts = c.timestamp(v, k)) t.timestamp = *ts;
    }
  }
  c.missing(p.doc, "", {"product", "tick_id", "price", "volume", "timestamp"});
  return impl::finish(std::move(t), c);
}

inline decode_result<option_quote> decode_quote(std::string_view json, codec_limits limits = {}) {
  auto p = impl::parse(json, limits);
  if (p.error) return {std::nullopt, *p.error};
  impl::checker c;
  option_quote q;
  for (const auto& [k, v] : p.doc.items()) {
    if (k == "product") {
      if (auto s = c.name(v, k, 32)) q.product = *s;
    } else if (k == "symbol") {
      if (auto s = c.name(v, k, 64)) q.symbol = *s;
    } else if (k == "expiry") {
      if (auto d = c.date(v, k)) q.expiry = *d;
    } else if (k == "strike") {
      if (auto d = c.strike(v, k)) q.strike = *d;
    } else if (k == "option_type") {
      if (auto s = c.str(v, k)) {
        std::string l;
        for (char ch : *s) l.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
        if (l == "ce" || l == "call") {
          q.is_call = true;
        } else if (l == "pe" || l == "put") {
          q.is_call = false;
        } else {
          c.fail(k, "expected CE, PE, call or put " + impl::quote(*s));
        }
      }
    } else if (k == "bid") {
      if (auto d = c.price(v, k)) q.bid = *d;
    } else if (k == "ask") {
      if (auto d = c.price(v, k)) q.ask = *d;
    } else if (k == "last") {
      if (auto d = c.price(v, k)) q.last = *d;
    } else if (k == "volume") {
      if (auto i = c.count(v, k)) q.volume = *i;
    } else if (k == "open_interest") {
      if (auto i = c.count(v, k)) q.open_interest = *i;
    } else if (k == "underlying_price") {
      if (auto d = c.price(v, k)) q.underlying_price = *d;
    } else if (k == "quote_id") {
      if (auto i = c.integer(v, k)) q.quote_id = *i;
    } else if (k == "timestamp") {
      if (auto ts = c.timestamp(v, k)) q.timestamp = *ts;
    }
  }
  c.missing(p.doc, "",
            {"product", "symbol", "expiry", "strike", "option_type", "bid", "ask", "last", "volume", "open_interest",
             "underlying_price", "quote_id", "timestamp"});
  return impl::finish(std::move(q), c);
}

namespace impl {
inline void side(checker& c, const ojson& v, const std::string& name, std::size_t max, chain_side& s) {
  if (!v.is_array()) {
    c.fail(name, "expected an array");
    return;
  }
  if (v.size() > max) c.fail(name, std::to_string(v.size()) + " quotes exceed the limit of " + std::to_string(max));
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string prefix = name + "[" + std::to_string(i) + "]";
    const ojson& e = v[i];
    if (!e.is_object()) {
      c.fail(prefix, "expected an object");
      continue;
    }
    double strike = 0, bid = 0, ask = 0, last = 0;
    std::int64_t volume = 0, oi = 0;
    for (const auto& [k, fv] : e.items()) {
      const std::string f = prefix + "." + k;
      if (k == "strike") {
        if (auto d = c.strike(fv, f)) {
          for (double seen : s.strike) {
            if (seen == *d) c.fail(f, "duplicate strike (" + num(*d) + ")");
          }
          strike = *d;
        }
      } else if (k == "bid" || k == "ask" || k == "last") {
        if (fv.is_null()) continue;
        if (auto d = c.price(fv, f)) (k == "bid" ? bid : k == "ask" ? ask : last) = *d;
      } else if (k == "volume" || k == "open_interest") {
        if (fv.is_null()) continue;
        if (auto n = c.count(fv, f)) (k == "volume" ? volume : oi) = *n;
      }
    }
    c.missing(e, prefix, {"strike"});
    s.push_back(strike, bid, ask, last, volume, oi);
  }
}
}  // namespace impl

inline decode_result<option_chain> decode_chain(std::string_view json, codec_limits limits = {}) {
  auto p = impl::parse(json, limits);
  if (p.error) return {std::nullopt, *p.error};
  impl::checker c;
  option_chain ch;
  for (const auto& [k, v] : p.doc.items()) {
    if (k == "product") {
      if (auto s = c.name(v, k, 32)) ch.product = *s;
    } else if (k == "expiry") {
      if (auto d = c.date(v, k)) ch.expiry = *d;
    } else if (k == "chain_id") {
      if (auto s = c.str(v, k)) {
        if (s->empty()) {
          c.fail(k, "empty");
        } else if (s->size() > 128) {
          c.fail(k, "longer than 128 bytes");
        } else {
          ch.chain_id = *s;
        }
      }
    } else if (k == "timestamp") {
      if (auto ts = c.timestamp(v, k)) ch.timestamp = *ts;
    } else if (k == "underlying_price") {
      if (auto d = c.price(v, k)) ch.underlying_price = *d;
    } else if (k == "calls") {
      impl::side(c, v, k, limits.max_quotes_per_side, ch.calls);
    } else if (k == "puts") {
      impl::side(c, v, k, limits.max_quotes_per_side, ch.puts);
    } else if (k == "rate" || k == "dividend_yield") {
      if (v.is_null()) continue;
      if (auto d = c.number(v, k)) (k == "rate" ? ch.rate : ch.dividend_yield) = *d;
    }
  }
  c.missing(p.doc, "", {"product", "expiry", "chain_id", "timestamp", "underlying_price", "calls", "puts"});
  return impl::finish(std::move(ch), c);
}

}  // namespace optaro::reference

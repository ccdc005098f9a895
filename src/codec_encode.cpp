// Encoding: the inbound messages (the exact inverse of decoding) and enriched:option_chain
// (MESSAGES.md "Enrichment"), streamed into a std::string: no document is built first. Doubles are
// written with std::to_chars (shortest round trip); NaN, infinities and nullopt as null, because the
// stores downstream (MongoDB/FerretDB) reject non-finite numbers.
#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <optaro/chain.hpp>
#include <optaro/codec.hpp>

#include "codec_detail.hpp"

namespace optaro {
namespace {

class writer {
 public:
  explicit writer(std::string& out) : out_(out) {}

  void raw(std::string_view s) { out_.append(s); }
  void key(std::string_view k) {
    if (need_comma_) out_ += ',';
    out_ += '"';
    out_.append(k);  // keys are literals of this file: nothing to escape
    out_ += "\":";
    need_comma_ = false;
  }
  void begin_object() {
    separate();
    out_ += '{';
    need_comma_ = false;
  }
  void end_object() {
    out_ += '}';
    need_comma_ = true;
  }
  void begin_array() {
    separate();
    out_ += '[';
    need_comma_ = false;
  }
  void end_array() {
    out_ += ']';
    need_comma_ = true;
  }
  void null() {
    separate();
    out_ += "null";
    need_comma_ = true;
  }
  void number(double v) {
    separate();
    if (std::isfinite(v)) {
      std::array<char, 32> buf{};
      const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
      out_.append(buf.data(), r.ptr);
    } else {
      out_ += "null";
    }
    need_comma_ = true;
  }
  void number(std::optional<double> v) {
    if (v) {
      number(*v);
    } else {
      null();
    }
  }
  void integer(std::int64_t v) {
    separate();
    std::array<char, 24> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    out_.append(buf.data(), r.ptr);
    need_comma_ = true;
  }
  void string(std::string_view s) {
    static constexpr std::string_view hex = "0123456789abcdef";
    separate();
    out_ += '"';
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out_.append(s.substr(start, i - start));
      start = i + 1;
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        case '\b': out_ += "\\b"; break;
        case '\f': out_ += "\\f"; break;
        default:
          out_ += "\\u00";
          out_ += hex[c >> 4];
          out_ += hex[c & 0xf];
      }
    }
    out_.append(s.substr(start));
    out_ += '"';
    need_comma_ = true;
  }
  void timestamp(timestamp_ns t) { string(format_timestamp(t)); }
  void date(std::chrono::year_month_day d) {
    std::array<char, 16> buf{};
    const int y = static_cast<int>(d.year());
    const unsigned m = static_cast<unsigned>(d.month()), day = static_cast<unsigned>(d.day());
    buf[0] = static_cast<char>('0' + y / 1000 % 10);
    buf[1] = static_cast<char>('0' + y / 100 % 10);
    buf[2] = static_cast<char>('0' + y / 10 % 10);
    buf[3] = static_cast<char>('0' + y % 10);
    buf[4] = '-';
    buf[5] = static_cast<char>('0' + m / 10 % 10);
    buf[6] = static_cast<char>('0' + m % 10);
    buf[7] = '-';
    buf[8] = static_cast<char>('0' + day / 10 % 10);
    buf[9] = static_cast<char>('0' + day % 10);
    string(std::string_view{buf.data(), 10});
  }

  // key + value shorthands
  // key + value shorthands. Numbers are formatted together with their key into one stack buffer and
  // appended at once: the enriched message is mostly such fields.
  void field(std::string_view k, double v) {
    if (!std::isfinite(v)) {
      key(k), null();
      return;
    }
    std::array<char, 96> buf{};
    char* p = prefix(buf, k);
    p = std::to_chars(p, buf.data() + buf.size(), v).ptr;
    out_.append(buf.data(), p);
    need_comma_ = true;
  }
  void field(std::string_view k, std::optional<double> v) {
    if (v) {
      field(k, *v);
    } else {
      key(k), null();
    }
  }
  void field(std::string_view k, std::int64_t v) {
    std::array<char, 96> buf{};
    char* p = prefix(buf, k);
    p = std::to_chars(p, buf.data() + buf.size(), v).ptr;
    out_.append(buf.data(), p);
    need_comma_ = true;
  }
  void field(std::string_view k, std::string_view v) { key(k), string(v); }

 private:
  /// Writes [,]"k": into buf (k: a literal of this file, at most 48 characters) and returns the end.
  char* prefix(std::array<char, 96>& buf, std::string_view k) {
    char* p = buf.data();
    if (need_comma_) *p++ = ',';
    *p++ = '"';
    p = std::copy(k.begin(), k.end(), p);
    *p++ = '"';
    *p++ = ':';
    return p;
  }
  void separate() {
    if (need_comma_) out_ += ',';
  }
  std::string& out_;
  bool need_comma_ = false;
};

void chain_header(writer& w, const option_chain& c) {
  w.field("product", std::string_view{c.product});
  w.key("expiry"), w.date(c.expiry);
  w.field("chain_id", std::string_view{c.chain_id});
  w.key("timestamp"), w.timestamp(c.timestamp);
  w.field("underlying_price", c.underlying_price);
}

void side_quote(writer& w, const chain_side& s, std::size_t i) {
  w.field("strike", s.strike[i]);
  w.field("bid", s.bid[i]);
  w.field("ask", s.ask[i]);
  w.field("last", s.last[i]);
  w.field("volume", s.volume[i]);
  w.field("open_interest", s.open_interest[i]);
}

void plain_side(writer& w, std::string_view name, const chain_side& s) {
  w.key(name);
  w.begin_array();
  for (std::size_t i = 0; i < s.size(); ++i) {
    w.begin_object();
    side_quote(w, s, i);
    w.end_object();
  }
  w.end_array();
}

void enriched_side(writer& w, std::string_view name, const chain_side& s, std::span<const quote_analytics> a) {
  w.key(name);
  w.begin_array();
  for (std::size_t i = 0; i < s.size(); ++i) {
    w.begin_object();
    side_quote(w, s, i);
    if (i < a.size()) {
      const quote_analytics& q = a[i];
      w.field("price", q.price);
      w.field("iv", q.iv);
      w.field("iv_status", to_string(q.status));
      w.field("delta", q.delta);
      w.field("gamma", q.gamma);
      w.field("vega", q.vega);
      w.field("theta", q.theta);
      w.field("rho", q.rho);
    }
    w.end_object();
  }
  w.end_array();
}

}  // namespace

void encode(std::string& out, const underlying_tick& tick) {
  writer w{out};
  w.begin_object();
  w.field("product", std::string_view{tick.product});
  w.field("tick_id", tick.tick_id);
  w.field("price", tick.price);
  w.field("volume", tick.volume);
  w.key("timestamp"), w.timestamp(tick.timestamp);
  w.end_object();
}

void encode(std::string& out, const option_quote& q) {
  writer w{out};
  w.begin_object();
  w.field("product", std::string_view{q.product});
  w.field("symbol", std::string_view{q.symbol});
  w.key("expiry"), w.date(q.expiry);
  w.field("strike", q.strike);
  w.field("option_type", std::string_view{q.is_call ? "CE" : "PE"});
  w.field("bid", q.bid);
  w.field("ask", q.ask);
  w.field("last", q.last);
  w.field("volume", q.volume);
  w.field("open_interest", q.open_interest);
  w.field("underlying_price", q.underlying_price);
  w.field("quote_id", q.quote_id);
  w.key("timestamp"), w.timestamp(q.timestamp);
  w.end_object();
}

void encode(std::string& out, const option_chain& c) {
  writer w{out};
  w.begin_object();
  chain_header(w, c);
  plain_side(w, "calls", c.calls);
  plain_side(w, "puts", c.puts);
  if (c.rate) w.field("rate", *c.rate);
  if (c.dividend_yield) w.field("dividend_yield", *c.dividend_yield);
  w.end_object();
}

void encode_enriched_chain(std::string& out, const option_chain& c, const chain_analytics& a, timestamp_ns enriched_at,
                           double processing_us) {
  out.reserve(out.size() + 256 + 320 * (c.calls.size() + c.puts.size()) + 96 * a.strikes.size());
  writer w{out};
  w.begin_object();
  chain_header(w, c);
  enriched_side(w, "calls", c.calls, a.calls);
  enriched_side(w, "puts", c.puts, a.puts);
  w.field("time_to_expiry", a.time_to_expiry);
  w.field("forward", a.forward);
  w.field("rate", a.rate);
  w.field("dividend_yield", a.dividend_yield);
  w.field("pcr_oi", a.pcr_oi);
  w.field("pcr_volume", a.pcr_volume);
  w.field("total_call_oi", a.total_call_oi);
  w.field("total_put_oi", a.total_put_oi);
  w.field("total_call_volume", a.total_call_volume);
  w.field("total_put_volume", a.total_put_volume);
  w.field("max_pain", a.max_pain);
  w.field("atm_strike", a.atm_strike);
  w.field("atm_iv", a.atm_iv);
  w.field("risk_reversal_25d", a.risk_reversal_25d);
  w.field("butterfly_25d", a.butterfly_25d);
  w.field("expected_move", a.expected_move);
  w.field("pcr_oi_window", a.pcr_oi_window);
  w.field("pcr_volume_window", a.pcr_volume_window);
  w.field("max_call_oi_strike", a.max_call_oi_strike);
  w.field("max_put_oi_strike", a.max_put_oi_strike);
  w.field("gamma_exposure", a.gamma_exposure);
  w.field("delta_exposure", a.delta_exposure);
  w.key("strikes");
  w.begin_array();
  for (std::size_t i = 0; i < a.strikes.size(); ++i) {
    w.begin_object();
    w.field("strike", a.strikes[i]);
    w.field("pcr_oi", i < a.pcr_oi_by_strike.size() ? a.pcr_oi_by_strike[i] : std::nullopt);
    if (i < a.call_oi_change.size()) w.field("call_oi_change", a.call_oi_change[i]);
    if (i < a.put_oi_change.size()) w.field("put_oi_change", a.put_oi_change[i]);
    w.end_object();
  }
  w.end_array();
  w.key("enriched_at"), w.timestamp(enriched_at);
  w.field("processing_us", processing_us);
  w.end_object();
}

decode_result<std::string> enrich_chain_json(message_decoder& decoder, std::string_view message,
                                             const chain_config& config, timestamp_ns enriched_at,
                                             const option_chain* previous) {
  const auto start = std::chrono::steady_clock::now();
  decode_result<option_chain> chain = decoder.decode_chain(message);
  decode_result<std::string> result;
  if (!chain) {
    result.error = std::move(chain.error);
    return result;
  }
  const chain_analytics analytics = enrich_chain(*chain.value, config, previous);
  std::string out;
  // processing_us is written last: encode with a placeholder of fixed form, then patch the number.
  encode_enriched_chain(out, *chain.value, analytics, enriched_at, 0.0);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const double us = std::chrono::duration<double, std::micro>(elapsed).count();
  // The message ends with "processing_us":0}; replace the 0.
  out.resize(out.size() - 2);
  writer w{out};
  w.number(us);
  out += '}';
  result.value = std::move(out);
  return result;
}

decode_result<std::string> enrich_chain_json(std::string_view message, const chain_config& config,
                                             timestamp_ns enriched_at, const option_chain* previous,
                                             codec_limits limits) {
  message_decoder decoder(limits);
  return enrich_chain_json(decoder, message, config, enriched_at, previous);
}

}  // namespace optaro

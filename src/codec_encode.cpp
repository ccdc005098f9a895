// Encoding: the inbound messages (the exact inverse of decoding) and enriched:option_chain
// (MESSAGES.md "Enrichment"), streamed into a std::string: no document is built first. Doubles are
// written as std::to_chars writes them (shortest round trip; number_format.hpp does it faster); NaN,
// infinities and nullopt as null, because the stores downstream (MongoDB/FerretDB) reject non-finite
// numbers.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <optaro/chain.hpp>
#include <optaro/codec.hpp>

#include "number_format.hpp"

namespace optaro {
namespace {

/// Writes JSON text into a std::string through a raw pointer. Each write first checks that its longest
/// possible text fits (one comparison); the string grows in steps of several KiB and is cut to what was
/// written when the writer is done. (Many small std::string appends cost more than the text itself:
/// each updates the size and the terminator and calls memcpy.)
class writer {
 public:
  explicit writer(std::string& out) : out_(out), p_(out.data() + out.size()), end_(p_) {}
  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;
  ~writer() { out_.resize(static_cast<std::size_t>(p_ - out_.data())); }

  void key(std::string_view k) {
    room(k.size() + 4);
    if (need_comma_) *p_++ = ',';
    *p_++ = '"';
    put(k);  // keys are literals of this file: nothing to escape
    *p_++ = '"';
    *p_++ = ':';
    need_comma_ = false;
  }
  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }
  void null() {
    room(5);
    separate();
    put_null();
    need_comma_ = true;
  }
  void number(double v) {
    room(detail::max_double_chars + 1);
    separate();
    if (std::isfinite(v)) {
      p_ = detail::write_double(p_, v);
    } else {
      put_null();
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
    room(detail::max_integer_chars + 1);
    separate();
    p_ = detail::write_integer(p_, v);
    need_comma_ = true;
  }
  void string(std::string_view s) {
    static constexpr std::string_view hex = "0123456789abcdef";
    room(3 + 6 * s.size());  // a comma, the quotes, and at most six characters per byte ("\u001f")
    separate();
    *p_++ = '"';
    for (const char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (c >= 0x20 && c != '"' && c != '\\') [[likely]] {
        *p_++ = ch;
        continue;
      }
      *p_++ = '\\';
      switch (c) {
        case '"': *p_++ = '"'; break;
        case '\\': *p_++ = '\\'; break;
        case '\n': *p_++ = 'n'; break;
        case '\r': *p_++ = 'r'; break;
        case '\t': *p_++ = 't'; break;
        case '\b': *p_++ = 'b'; break;
        case '\f': *p_++ = 'f'; break;
        default:
          put("u00");
          *p_++ = hex[c >> 4];
          *p_++ = hex[c & 0xf];
      }
    }
    *p_++ = '"';
    need_comma_ = true;
  }
  void timestamp(timestamp_ns t) { string(format_timestamp(t)); }
  void boolean(bool v) {
    room(6);
    separate();
    put(v ? "true" : "false");
    need_comma_ = true;
  }
  void date(std::chrono::year_month_day d) {
    std::array<char, 10> text{};
    const int y = static_cast<int>(d.year());
    const unsigned m = static_cast<unsigned>(d.month()), day = static_cast<unsigned>(d.day());
    text[0] = static_cast<char>('0' + y / 1000 % 10);
    text[1] = static_cast<char>('0' + y / 100 % 10);
    text[2] = static_cast<char>('0' + y / 10 % 10);
    text[3] = static_cast<char>('0' + y % 10);
    text[4] = '-';
    text[5] = static_cast<char>('0' + m / 10 % 10);
    text[6] = static_cast<char>('0' + m % 10);
    text[7] = '-';
    text[8] = static_cast<char>('0' + day / 10 % 10);
    text[9] = static_cast<char>('0' + day % 10);
    string(std::string_view{text.data(), text.size()});
  }

  // key + value shorthands
  void field(std::string_view k, double v) { key(k), number(v); }
  void field(std::string_view k, std::optional<double> v) { key(k), number(v); }
  void field(std::string_view k, std::int64_t v) { key(k), integer(v); }
  void field(std::string_view k, std::string_view v) { key(k), string(v); }

 private:
  /// Makes room for n more characters.
  void room(std::size_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n) [[unlikely]]
      grow(n);
  }
  void grow(std::size_t n) {
    // resize() zero-fills, so take 8 KiB at a time (the destructor cuts the string back to the text),
    // but no more than the capacity already there: going past it would reallocate and copy the text.
    const auto used = static_cast<std::size_t>(p_ - out_.data());
    out_.resize(std::max(used + n, std::min(out_.capacity(), used + 8192)));
    p_ = out_.data() + used;
    end_ = out_.data() + out_.size();
  }
  void put(std::string_view s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void put_null() { put("null"); }
  void separate() {
    if (need_comma_) *p_++ = ',';
  }
  void open(char bracket) {
    room(2);
    separate();
    *p_++ = bracket;
    need_comma_ = false;
  }
  void close(char bracket) {
    room(1);
    *p_++ = bracket;
    need_comma_ = true;
  }

  std::string& out_;
  char* p_;    // the end of the text written so far
  char* end_;  // the end of the room made so far
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
  out.reserve(out.size() + 256 + 128 * (c.calls.size() + c.puts.size()));  // about 95 a quote
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

std::string window_label(std::chrono::seconds window) {
  const auto n = window.count();
  return n % 60 == 0 ? std::to_string(n / 60) + "m" : std::to_string(n) + "s";
}

namespace {
void candle_fields(writer& w, const candle& c) {
  w.key("start"), w.timestamp(c.start_ns);
  w.field("open", c.open);
  w.field("high", c.high);
  w.field("low", c.low);
  w.field("close", c.close);
  w.field("volume", c.volume);
  w.field("vwap", c.vwap);  // NaN (no volume) is written as null
  w.field("ticks", c.ticks);
}
}  // namespace

void encode_enriched_underlying(std::string& out, const underlying_tick& tick, std::span<const labelled_candle> candles,
                                bool late, timestamp_ns enriched_at, double processing_us) {
  writer w{out};
  w.begin_object();
  w.field("product", std::string_view{tick.product});
  w.field("tick_id", tick.tick_id);
  w.field("price", tick.price);
  w.field("volume", tick.volume);
  w.key("timestamp"), w.timestamp(tick.timestamp);
  w.key("ohlc");
  w.begin_object();
  for (const labelled_candle& c : candles) {
    w.key(c.window);
    w.begin_object();
    candle_fields(w, c.bar);
    w.end_object();
  }
  w.end_object();
  w.key("late"), w.boolean(late);
  w.key("enriched_at"), w.timestamp(enriched_at);
  w.field("processing_us", processing_us);
  w.end_object();
}

void encode_candle(std::string& out, std::string_view product, const labelled_candle& c) {
  writer w{out};
  w.begin_object();
  w.field("product", product);
  w.field("window", c.window);
  candle_fields(w, c.bar);
  w.end_object();
}

void encode_latest_pcr(std::string& out, const option_chain& chain, const chain_analytics& analytics) {
  writer w{out};
  w.begin_object();
  w.field("pcr_oi", analytics.pcr_oi);
  w.field("pcr_volume", analytics.pcr_volume);
  w.key("timestamp"), w.timestamp(chain.timestamp);
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
  // The message ends with "processing_us":0}; replace the 0}.
  std::array<char, detail::max_double_chars + 1> number{};
  char* end = std::isfinite(us) ? detail::write_double(number.data(), us) : std::copy_n("null", 4, number.data());
  *end++ = '}';
  out.resize(out.size() - 2);
  out.append(number.data(), end);
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

#pragma once
// JSON <-> message values (../shared/design/MESSAGES.md). Decoding is strict: the first violation of a
// rule rejects the message with an error naming the field and the reason, e.g.
// "calls[17].open_interest: negative (-5)". Decoding uses simdjson, with the SIMD kernel the CPU
// supports (an implementation detail: no simdjson type appears here); encoding streams into a string
// with shortest round-trip doubles, without building a document first.
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <optaro/chain.hpp>
#include <optaro/market.hpp>
#include <optaro/ohlc.hpp>

namespace optaro {

/// Why a message was rejected: the field (a path such as "calls[17].open_interest", or "message" for
/// the document as a whole) and the reason ("negative (-5)", "missing", "expected a number", ...).
struct decode_error {
  std::string field;
  std::string reason;
  [[nodiscard]] std::string message() const { return field + ": " + reason; }
};

/// A decoded value or the reason there is none.
template <class T>
struct decode_result {
  std::optional<T> value;
  decode_error error;  ///< meaningful only when value is empty
  [[nodiscard]] explicit operator bool() const noexcept { return value.has_value(); }
};

/// Size limits (MESSAGES.md "Validation").
struct codec_limits {
  std::size_t max_message_bytes = std::size_t{1} << 20;  ///< 1 MiB
  std::size_t max_quotes_per_side = 5000;
};

/// ISO-8601 UTC ("2025-01-15T10:30:00Z", fractional seconds allowed, "Z" or "+00:00") to epoch ns;
/// nullopt if the text is not such a timestamp.
[[nodiscard]] std::optional<timestamp_ns> parse_timestamp(std::string_view text) noexcept;
/// Epoch ns to ISO-8601 UTC: "2025-01-15T10:30:00Z", with as many fractional digits as needed.
[[nodiscard]] std::string format_timestamp(timestamp_ns t);
/// "YYYY-MM-DD" (a valid Gregorian date, year 0000-9999) to a date; nullopt otherwise.
[[nodiscard]] std::optional<std::chrono::year_month_day> parse_date(std::string_view text) noexcept;
/// A date as "YYYY-MM-DD"; d must be valid, with a year in 0..9999.
[[nodiscard]] std::string format_date(std::chrono::year_month_day d);

/// Decodes the three inbound messages. Reuse one decoder per thread: it keeps simdjson's buffers.
/// Not thread-safe; cheap to move.
class message_decoder {
 public:
  explicit message_decoder(codec_limits limits = {});
  ~message_decoder();
  message_decoder(message_decoder&&) noexcept;
  message_decoder& operator=(message_decoder&&) noexcept;
  message_decoder(const message_decoder&) = delete;
  message_decoder& operator=(const message_decoder&) = delete;

  [[nodiscard]] decode_result<underlying_tick> decode_underlying(std::string_view json);
  [[nodiscard]] decode_result<option_quote> decode_quote(std::string_view json);
  [[nodiscard]] decode_result<option_chain> decode_chain(std::string_view json);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The inbound messages back to JSON (for producers, tests and replays); decode(encode(m)) == m.
void encode(std::string& out, const underlying_tick& tick);
void encode(std::string& out, const option_quote& quote);
void encode(std::string& out, const option_chain& chain);

/// The enriched:option_chain message: the chain plus its analytics (MESSAGES.md "Enrichment"), with
/// enriched_at and processing_us as given. Appends to out, so a caller can reuse one buffer.
void encode_enriched_chain(std::string& out, const option_chain& chain, const chain_analytics& analytics,
                           timestamp_ns enriched_at, double processing_us);

/// A candle with the label of its window: "1m", "5m", "15m" for whole minutes, "90s" otherwise.
struct labelled_candle {
  std::string_view window;
  candle bar;
};
/// The label of a window as enriched messages and cache keys spell it.
[[nodiscard]] std::string window_label(std::chrono::seconds window);

/// The enriched:underlying message: the tick plus "ohlc" with the candles the tick updated, by window
/// label (empty, and "late": true, for a tick that arrived after its windows closed), then enriched_at
/// and processing_us. Appends to out.
void encode_enriched_underlying(std::string& out, const underlying_tick& tick, std::span<const labelled_candle> candles,
                                bool late, timestamp_ns enriched_at, double processing_us);
/// The ohlc:{p}:{w} cache value: {"product", "window", "start", "open", "high", "low", "close", "volume",
/// "vwap", "ticks"}. Appends to out.
void encode_candle(std::string& out, std::string_view product, const labelled_candle& candle);
/// The latest:pcr:{p}:{e} cache value: {"pcr_oi", "pcr_volume", "timestamp"}. Appends to out.
void encode_latest_pcr(std::string& out, const option_chain& chain, const chain_analytics& analytics);

/// JSON in, JSON out: decode a market:option_chain message, enrich it, encode enriched:option_chain.
/// processing_us is measured here (steady clock) from the start of decoding to the end of encoding.
/// The decoder is the caller's, so that a worker reuses its buffers across messages.
[[nodiscard]] decode_result<std::string> enrich_chain_json(message_decoder& decoder, std::string_view message,
                                                           const chain_config& config, timestamp_ns enriched_at,
                                                           const option_chain* previous = nullptr);
/// The same with a decoder of its own (allocated per call): for occasional use.
[[nodiscard]] decode_result<std::string> enrich_chain_json(std::string_view message, const chain_config& config,
                                                           timestamp_ns enriched_at,
                                                           const option_chain* previous = nullptr,
                                                           codec_limits limits = {});

}  // namespace optaro

#pragma once
// OHLC candles of underlying ticks over fixed time windows: a batch function over columns, and a
// streaming aggregator for several windows at once in event time (ISSUE 5, MESSAGES.md
// `enriched:underlying`). Pure: no I/O, no globals, no locks; an aggregator belongs to one thread.
//
// Windows, for both: half-open [start, start + w) with start = anchor + floor((t - anchor) / w) * w,
// so an anchor of 03:45 UTC gives bars aligned to the NSE open at 09:15 IST. Within a window the ticks
// are ordered by timestamp, arrival (input) order breaking ties: open is the first tick, close the last.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <optaro/market.hpp>

namespace optaro {

/// One window's candle.
struct candle {
  timestamp_ns start_ns = 0;  ///< the window is [start_ns, start_ns + window)
  double open = 0, high = 0, low = 0, close = 0;
  double volume = 0;       ///< sum of the ticks' volumes
  double vwap = 0;         ///< sum(price * volume) / volume; NaN when the volume is 0
  std::int64_t ticks = 0;  ///< number of ticks in the window (>= 1: empty windows have no candle)
};

/// The largest window: its length in nanoseconds, twice over, must fit in 64 bits (about 146 years).
inline constexpr std::chrono::seconds max_ohlc_window{4'611'686'018};

/// Candles of the ticks (timestamps_ns[i], prices[i], volumes[i]) over windows of `window`, anchored at
/// `anchor` (seconds since the Unix epoch; any value, only anchor mod window matters), in increasing
/// start_ns; windows without ticks are omitted. The input need not be sorted: sorted input, and input
/// spanning no more windows than it has ticks, take linear time; other input a sort (O(n log n)). The
/// order in which volume and price * volume are summed is unspecified (it changes only the rounding).
///
/// Prices may be zero or negative (some futures have traded below zero); volumes are counts or sizes
/// and must be >= 0.
///
/// Throws std::invalid_argument naming the argument: window <= 0 or above max_ohlc_window; prices or
/// volumes of another length than timestamps_ns; prices[i] not finite; volumes[i] negative or not
/// finite; timestamps_ns[i] whose window would start before the earliest representable time.
[[nodiscard]] std::vector<candle> ohlc(std::span<const timestamp_ns> timestamps_ns, std::span<const double> prices,
                                       std::span<const double> volumes, std::chrono::seconds window,
                                       std::chrono::seconds anchor = std::chrono::seconds{0});

// ---- streaming ------------------------------------------------------------------------------------

/// What an aggregator emits. `updated`: the candle a tick has just changed (its state so far; it may
/// change again). `closed`: the final candle of a window; nothing changes it afterwards.
enum class candle_event_kind : std::uint8_t { updated, closed };

struct candle_event {
  candle_event_kind kind = candle_event_kind::updated;
  std::uint32_t window_index = 0;  ///< position of the window in candle_aggregator::windows()
  std::chrono::seconds window{0};  ///< its length
  candle bar;
};

/// What became of a tick passed to candle_aggregator::push.
enum class tick_disposition : std::uint8_t {
  accepted,  ///< folded into one candle of every window
  late,      ///< one of its windows had already closed: folded into none, counted in late_ticks()
  invalid,   ///< price not finite, volume negative or not finite, or a window start not representable:
             ///< folded into none, counted in invalid_ticks()
};

namespace detail {
/// A candle being built (shared by ohlc() and candle_aggregator; not part of the API).
struct partial_candle {
  timestamp_ns start_ns = 0;
  timestamp_ns open_ns = 0, close_ns = 0;  ///< timestamps of the open and close ticks
  double open = 0, high = 0, low = 0, close = 0;
  double volume = 0, price_volume = 0;
  std::int64_t ticks = 0;
};
}  // namespace detail

/// Candles of one product's ticks over several windows at once (default 1, 5 and 15 minutes), in event
/// time: a window closes when the watermark reaches its end plus the allowed lateness, however late the
/// ticks arrive in wall-clock time. Keep one aggregator per product.
///
/// The watermark is the largest tick timestamp seen (or the value given to advance_watermark, if
/// larger). A window [start, end) is open while watermark < end + allowed_lateness and closes, for
/// good, when the watermark reaches end + allowed_lateness.
///
/// A tick is accepted when every window it belongs to is open: a tick behind the watermark is then
/// folded in (out of order within its windows: open and close follow timestamps, not arrival, so the
/// candles equal those of ohlc() over the accepted ticks, sums to rounding). Otherwise the tick is late and folded into
/// none of the windows, even those still open, so that all windows see the same ticks (five 1-minute
/// candles always add up to their 5-minute candle). With allowed_lateness = 0, a tick is late exactly
/// when the watermark has reached the end of the earliest-ending of its windows.
///
/// Emission: push appends to the caller's vector (never clears it) first a `closed` event for every
/// window the tick's new watermark closes (per window in configuration order, oldest first), then,
/// for an accepted tick, one `updated` event per window, in configuration order, carrying the candle
/// the tick changed, which is an older, still open candle when the tick was late but within lateness.
/// A late or invalid tick appends nothing.
///
/// Not thread-safe; no locks: an engine gives each product's ticks to one thread at a time.
class candle_aggregator {
 public:
  struct config {
    std::vector<std::chrono::seconds> windows{std::chrono::minutes{1}, std::chrono::minutes{5},
                                              std::chrono::minutes{15}};
    std::chrono::seconds anchor{0};                ///< as for ohlc(); 03:45 UTC for 09:15 IST
    std::chrono::nanoseconds allowed_lateness{0};  ///< how long a window stays open after its end
  };

  /// Throws std::invalid_argument naming the field: no windows, more than 64, a window <= 0 or above
  /// max_ohlc_window, the same window twice, allowed_lateness < 0.
  candle_aggregator() : candle_aggregator(config{}) {}
  explicit candle_aggregator(config settings);

  /// Folds in one tick; see the class comment for what is appended to events.
  tick_disposition push(timestamp_ns timestamp, double price, double volume, std::vector<candle_event>& events);

  /// Moves the watermark to at least `timestamp` (an idle product's windows still close, e.g. on a
  /// heartbeat or a clock), appending a `closed` event for every window that closes.
  void advance_watermark(timestamp_ns timestamp, std::vector<candle_event>& events);

  /// End of stream: closes every open window (appending `closed` events) without moving the watermark;
  /// a tick pushed afterwards starts a new candle, even in a window emitted as closed.
  void flush(std::vector<candle_event>& events);

  /// Open candles of window `window_index`, oldest first (the current candle is the last one).
  [[nodiscard]] std::vector<candle> open_candles(std::size_t window_index) const;

  [[nodiscard]] std::span<const std::chrono::seconds> windows() const noexcept { return settings_.windows; }
  [[nodiscard]] std::chrono::nanoseconds allowed_lateness() const noexcept { return settings_.allowed_lateness; }
  /// nullopt before the first accepted tick or advance_watermark.
  [[nodiscard]] std::optional<timestamp_ns> watermark() const noexcept;
  [[nodiscard]] std::int64_t late_ticks() const noexcept { return late_ticks_; }
  [[nodiscard]] std::int64_t invalid_ticks() const noexcept { return invalid_ticks_; }

 private:
  using partial_candle = detail::partial_candle;
  struct window_state {
    std::int64_t length_ns = 0;
    std::int64_t phase_ns = 0;         ///< anchor mod length
    std::int64_t close_after_ns = 0;   ///< length + allowed lateness, saturated
    std::vector<partial_candle> open;  ///< sorted by start_ns; usually one or two
  };

  void close_windows(std::vector<candle_event>& events);

  config settings_;
  std::vector<window_state> states_;
  std::vector<timestamp_ns> starts_;  ///< scratch of push: the tick's window start per window
  timestamp_ns watermark_;
  timestamp_ns next_close_;  ///< the watermark at which the first open window closes (max when none)
  std::int64_t late_ticks_ = 0;
  std::int64_t invalid_ticks_ = 0;
};

}  // namespace optaro

// OHLC candles: the batch function and the streaming aggregator share the window arithmetic and the
// folding of a tick into a candle, so that both give the same candles for the same ticks.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include <optaro/ohlc.hpp>

namespace optaro {
namespace {

constexpr std::int64_t min_time = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t max_time = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t ns_per_second = 1'000'000'000;

[[noreturn]] void reject(const char* function, const std::string& argument, const std::string& reason) {
  throw std::invalid_argument(std::string(function) + ": " + argument + ": " + reason);
}

std::string indexed(const char* name, std::size_t i) { return std::string(name) + "[" + std::to_string(i) + "]"; }

std::string number_text(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  return std::to_string(x);
}

void check_window(const char* function, const std::string& argument, std::chrono::seconds window) {
  if (window.count() <= 0) reject(function, argument, "must be positive (" + std::to_string(window.count()) + " s)");
  if (window > max_ohlc_window) {
    reject(function, argument,
           std::to_string(window.count()) + " s exceeds the largest window (" +
               std::to_string(max_ohlc_window.count()) + " s)");
  }
}

// Windows repeat every `length`, so only anchor mod length matters; reducing in seconds first keeps
// any anchor (even one whose nanoseconds overflow) usable.
std::int64_t phase_ns(std::chrono::seconds anchor, std::chrono::seconds window) {
  std::int64_t phase = anchor.count() % window.count();
  if (phase < 0) phase += window.count();
  return phase * ns_per_second;
}

// The start of the window holding t: t - floor_mod(t - phase, length), computed without forming
// t - phase (which can overflow). false when that start lies before the representable range.
// Requires 0 <= phase < length <= max_time / 2, so that every intermediate fits.
bool window_start(timestamp_ns t, std::int64_t length, std::int64_t phase, timestamp_ns& start) {
  std::int64_t offset = (t % length - phase) % length;
  if (offset < 0) offset += length;
  if (t < min_time + offset) return false;
  start = t - offset;
  return true;
}

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  std::int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) return b > 0 ? max_time : min_time;
  return sum;
}

// t in [start, start + length), for t >= start without overflow: the difference is taken unsigned.
bool in_window(timestamp_ns t, timestamp_ns start, std::int64_t length) {
  return t >= start &&
         static_cast<std::uint64_t>(t) - static_cast<std::uint64_t>(start) < static_cast<std::uint64_t>(length);
}

// Open and close follow timestamps, ties by arrival: a tick replaces the open only when strictly
// earlier, the close when not earlier. In timestamp order this is "first" and "last".
void fold(detail::partial_candle& c, timestamp_ns t, double price, double volume) {
  if (c.ticks == 0) {
    c.open_ns = c.close_ns = t;
    c.open = c.high = c.low = c.close = price;
  } else {
    if (t < c.open_ns) {
      c.open_ns = t;
      c.open = price;
    }
    if (t >= c.close_ns) {
      c.close_ns = t;
      c.close = price;
    }
    c.high = std::max(c.high, price);
    c.low = std::min(c.low, price);
  }
  c.volume += volume;
  c.price_volume += price * volume;
  ++c.ticks;
}

candle finished(const detail::partial_candle& c) {
  return {c.start_ns,
          c.open,
          c.high,
          c.low,
          c.close,
          c.volume,
          c.volume > 0 ? c.price_volume / c.volume : std::numeric_limits<double>::quiet_NaN(),
          c.ticks};
}

bool valid_price(double price) { return std::isfinite(price); }
bool valid_volume(double volume) { return volume >= 0 && std::isfinite(volume); }

// One pass over the ticks in timestamp order (position k of the order is tick index_of(k)).
template <class IndexOf>
std::vector<candle> sweep(std::span<const timestamp_ns> timestamps, std::span<const double> prices,
                          std::span<const double> volumes, std::int64_t length, std::int64_t phase, IndexOf index_of) {
  std::vector<candle> out;
  detail::partial_candle current;
  for (std::size_t k = 0; k < timestamps.size(); ++k) {
    const std::size_t i = index_of(k);
    const timestamp_ns t = timestamps[i];
    if (current.ticks == 0 || !in_window(t, current.start_ns, length)) {
      if (current.ticks != 0) out.push_back(finished(current));
      current = {};
      if (!window_start(t, length, phase, current.start_ns)) {
        reject("ohlc", indexed("timestamps_ns", i),
               "its window starts before the earliest representable time (" + std::to_string(t) + ")");
      }
    }
    fold(current, t, prices[i], volumes[i]);
  }
  if (current.ticks != 0) out.push_back(finished(current));
  return out;
}

}  // namespace

std::vector<candle> ohlc(std::span<const timestamp_ns> timestamps_ns, std::span<const double> prices,
                         std::span<const double> volumes, std::chrono::seconds window, std::chrono::seconds anchor) {
  check_window("ohlc", "window", window);
  const std::size_t n = timestamps_ns.size();
  if (prices.size() != n) {
    reject("ohlc", "prices",
           "length " + std::to_string(prices.size()) + " differs from timestamps_ns (" + std::to_string(n) + ")");
  }
  if (volumes.size() != n) {
    reject("ohlc", "volumes",
           "length " + std::to_string(volumes.size()) + " differs from timestamps_ns (" + std::to_string(n) + ")");
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!valid_price(prices[i])) reject("ohlc", indexed("prices", i), "not finite (" + number_text(prices[i]) + ")");
    if (!valid_volume(volumes[i])) {
      reject("ohlc", indexed("volumes", i),
             std::string(volumes[i] < 0 ? "negative" : "not finite") + " (" + number_text(volumes[i]) + ")");
    }
  }
  const std::int64_t length = window.count() * ns_per_second;
  const std::int64_t phase = phase_ns(anchor, window);
  if (std::is_sorted(timestamps_ns.begin(), timestamps_ns.end())) {
    return sweep(timestamps_ns, prices, volumes, length, phase, [](std::size_t k) { return k; });
  }
  // Unsorted ticks that span no more windows than there are ticks (a session's ticks, say) go straight
  // into a slot per window: fold orders open and close by timestamp, then arrival, as a stable sort
  // would, so only the order of the sums differs.
  const auto [earliest, latest] = std::minmax_element(timestamps_ns.begin(), timestamps_ns.end());
  timestamp_ns first_start = 0;
  if (!window_start(*earliest, length, phase, first_start)) {
    reject("ohlc", indexed("timestamps_ns", static_cast<std::size_t>(earliest - timestamps_ns.begin())),
           "its window starts before the earliest representable time (" + std::to_string(*earliest) + ")");
  }
  const auto offset = [first_start](timestamp_ns t) {
    return static_cast<std::uint64_t>(t) - static_cast<std::uint64_t>(first_start);
  };
  const std::uint64_t window_count = offset(*latest) / static_cast<std::uint64_t>(length) + 1;
  if (window_count <= n) {
    std::vector<detail::partial_candle> slots(window_count);
    for (std::size_t i = 0; i < n; ++i) {
      fold(slots[offset(timestamps_ns[i]) / static_cast<std::uint64_t>(length)], timestamps_ns[i], prices[i],
           volumes[i]);
    }
    std::vector<candle> out;
    for (std::size_t slot = 0; slot < slots.size(); ++slot) {
      if (slots[slot].ticks == 0) continue;
      slots[slot].start_ns = first_start + static_cast<std::int64_t>(slot) * length;  // <= latest: no overflow
      out.push_back(finished(slots[slot]));
    }
    return out;
  }
  // (timestamp, input position) pairs are distinct, so an unstable sort of them is the stable order.
  std::vector<std::pair<timestamp_ns, std::size_t>> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = {timestamps_ns[i], i};
  std::sort(order.begin(), order.end());
  return sweep(timestamps_ns, prices, volumes, length, phase, [&order](std::size_t k) { return order[k].second; });
}

// ---- candle_aggregator ------------------------------------------------------------------------------

candle_aggregator::candle_aggregator(config settings)
    : settings_(std::move(settings)), watermark_(min_time), next_close_(max_time) {
  constexpr const char* function = "candle_aggregator";
  if (settings_.windows.empty()) reject(function, "windows", "empty");
  if (settings_.windows.size() > 64) {
    reject(function, "windows", std::to_string(settings_.windows.size()) + " windows (at most 64)");
  }
  if (settings_.allowed_lateness.count() < 0) {
    reject(function, "allowed_lateness", "negative (" + std::to_string(settings_.allowed_lateness.count()) + " ns)");
  }
  for (std::size_t k = 0; k < settings_.windows.size(); ++k) {
    check_window(function, indexed("windows", k), settings_.windows[k]);
    for (std::size_t j = 0; j < k; ++j) {
      if (settings_.windows[j] == settings_.windows[k]) {
        reject(function, indexed("windows", k), "the same window as windows[" + std::to_string(j) + "]");
      }
    }
    window_state state;
    state.length_ns = settings_.windows[k].count() * ns_per_second;
    state.phase_ns = phase_ns(settings_.anchor, settings_.windows[k]);
    state.close_after_ns = saturating_add(state.length_ns, settings_.allowed_lateness.count());
    states_.push_back(std::move(state));
  }
  starts_.resize(states_.size());
}

std::optional<timestamp_ns> candle_aggregator::watermark() const noexcept {
  // min_time doubles as "nothing seen": no tick can move the watermark there and keep a window open.
  if (watermark_ == min_time) return std::nullopt;
  return watermark_;
}

tick_disposition candle_aggregator::push(timestamp_ns timestamp, double price, double volume,
                                         std::vector<candle_event>& events) {
  if (!valid_price(price) || !valid_volume(volume)) {
    ++invalid_ticks_;
    return tick_disposition::invalid;
  }
  // First find every window of the tick and check that all are open; only then change anything, so
  // that a late tick touches no window.
  bool late = false;
  for (std::size_t k = 0; k < states_.size(); ++k) {
    const window_state& state = states_[k];
    timestamp_ns& start = starts_[k];
    if (!state.open.empty() && in_window(timestamp, state.open.back().start_ns, state.length_ns)) {
      start = state.open.back().start_ns;  // the common case: the current candle, no division
    } else if (!window_start(timestamp, state.length_ns, state.phase_ns, start)) {
      ++invalid_ticks_;
      return tick_disposition::invalid;
    }
    late = late || saturating_add(start, state.close_after_ns) <= watermark_;
  }
  if (late) {
    ++late_ticks_;
    return tick_disposition::late;
  }
  if (timestamp > watermark_) {
    watermark_ = timestamp;
    // An accepted tick's own windows end after it and after the old watermark less the lateness, so
    // this never closes them.
    if (watermark_ >= next_close_) close_windows(events);
  }
  for (std::size_t k = 0; k < states_.size(); ++k) {
    window_state& state = states_[k];
    const timestamp_ns start = starts_[k];
    auto it = state.open.end();
    while (it != state.open.begin() && std::prev(it)->start_ns >= start) --it;
    if (it == state.open.end() || it->start_ns != start) {
      it = state.open.insert(it, partial_candle{});
      it->start_ns = start;
      next_close_ = std::min(next_close_, saturating_add(start, state.close_after_ns));
    }
    fold(*it, timestamp, price, volume);
    events.push_back({candle_event_kind::updated, static_cast<std::uint32_t>(k), settings_.windows[k], finished(*it)});
  }
  return tick_disposition::accepted;
}

void candle_aggregator::close_windows(std::vector<candle_event>& events) {
  next_close_ = max_time;
  for (std::size_t k = 0; k < states_.size(); ++k) {
    window_state& state = states_[k];
    auto first_open = state.open.begin();
    while (first_open != state.open.end() && saturating_add(first_open->start_ns, state.close_after_ns) <= watermark_) {
      events.push_back(
          {candle_event_kind::closed, static_cast<std::uint32_t>(k), settings_.windows[k], finished(*first_open)});
      ++first_open;
    }
    state.open.erase(state.open.begin(), first_open);
    if (!state.open.empty()) {
      next_close_ = std::min(next_close_, saturating_add(state.open.front().start_ns, state.close_after_ns));
    }
  }
}

void candle_aggregator::advance_watermark(timestamp_ns timestamp, std::vector<candle_event>& events) {
  if (timestamp <= watermark_) return;
  watermark_ = timestamp;
  if (watermark_ >= next_close_) close_windows(events);
}

void candle_aggregator::flush(std::vector<candle_event>& events) {
  for (std::size_t k = 0; k < states_.size(); ++k) {
    for (const partial_candle& c : states_[k].open) {
      events.push_back({candle_event_kind::closed, static_cast<std::uint32_t>(k), settings_.windows[k], finished(c)});
    }
    states_[k].open.clear();
  }
  next_close_ = max_time;
}

std::vector<candle> candle_aggregator::open_candles(std::size_t window_index) const {
  if (window_index >= states_.size()) {
    reject(
        "candle_aggregator::open_candles", "window_index",
        std::to_string(window_index) + " is not below the number of windows (" + std::to_string(states_.size()) + ")");
  }
  std::vector<candle> out;
  for (const partial_candle& c : states_[window_index].open) out.push_back(finished(c));
  return out;
}

}  // namespace optaro

// OHLC candles (src/ohlc.cpp): the batch function against a plain reference (group by window with a
// map, 128-bit arithmetic) on shuffled ticks with duplicate timestamps, negative times and anchors;
// the streaming aggregator against the batch function, and a table of late-tick cases.
//
// Random ticks come from std::mt19937_64 with fixed seeds, turned into numbers from its bits (its
// output sequence is fixed by the standard; the distributions are not).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <optaro/ohlc.hpp>

namespace {

using namespace std::chrono_literals;
using optaro::candle;
using optaro::candle_aggregator;
using optaro::candle_event;
using optaro::candle_event_kind;
using optaro::tick_disposition;
using optaro::timestamp_ns;

constexpr std::int64_t ns = 1'000'000'000;
// 09:15 IST is 03:45 UTC: NSE bars are anchored there.
constexpr std::chrono::seconds nse_open_utc = 3h + 45min;

struct ticks {
  std::vector<timestamp_ns> t;
  std::vector<double> price, volume;

  void add(timestamp_ns time, double p, double v) {
    t.push_back(time);
    price.push_back(p);
    volume.push_back(v);
  }
};

// ---- the reference ----------------------------------------------------------------------------------

// The definition as the issue writes it, in 128-bit integers so that nothing can overflow.
__extension__ typedef __int128 wide_int;  // a GCC/Clang extension: __extension__ keeps -Wpedantic quiet

timestamp_ns reference_start(timestamp_ns t, std::chrono::seconds window, std::chrono::seconds anchor) {
  const wide_int w = static_cast<wide_int>(window.count()) * ns;
  const wide_int a = static_cast<wide_int>(anchor.count()) * ns;
  const wide_int d = static_cast<wide_int>(t) - a;
  wide_int q = d / w;
  if (d % w != 0 && d < 0) --q;  // floor, not truncation
  return static_cast<timestamp_ns>(a + q * w);
}

std::vector<candle> reference_ohlc(const ticks& in, std::chrono::seconds window, std::chrono::seconds anchor) {
  struct tick {
    timestamp_ns t;
    std::size_t arrival;
    double price, volume;
  };
  std::map<timestamp_ns, std::vector<tick>> by_window;
  for (std::size_t i = 0; i < in.t.size(); ++i) {
    by_window[reference_start(in.t[i], window, anchor)].push_back({in.t[i], i, in.price[i], in.volume[i]});
  }
  std::vector<candle> out;
  for (auto& [start, group] : by_window) {
    std::stable_sort(group.begin(), group.end(), [](const tick& a, const tick& b) { return a.t < b.t; });
    candle c;
    c.start_ns = start;
    c.open = group.front().price;
    c.close = group.back().price;
    c.high = -std::numeric_limits<double>::infinity();
    c.low = std::numeric_limits<double>::infinity();
    double price_volume = 0;
    for (const tick& k : group) {
      c.high = std::max(c.high, k.price);
      c.low = std::min(c.low, k.price);
      c.volume += k.volume;
      price_volume += k.price * k.volume;
    }
    c.vwap = c.volume > 0 ? price_volume / c.volume : std::numeric_limits<double>::quiet_NaN();
    c.ticks = static_cast<std::int64_t>(group.size());
    out.push_back(c);
  }
  return out;
}

// vwap_tolerance 0: bit for bit (the same summation order); otherwise relative.
void expect_same_candles(const std::vector<candle>& got, const std::vector<candle>& want, double vwap_tolerance = 0) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("candle " + std::to_string(i) + " starting at " + std::to_string(want[i].start_ns));
    EXPECT_EQ(got[i].start_ns, want[i].start_ns);
    EXPECT_EQ(got[i].open, want[i].open);
    EXPECT_EQ(got[i].high, want[i].high);
    EXPECT_EQ(got[i].low, want[i].low);
    EXPECT_EQ(got[i].close, want[i].close);
    EXPECT_EQ(got[i].ticks, want[i].ticks);
    if (vwap_tolerance == 0) {
      EXPECT_EQ(got[i].volume, want[i].volume);
    } else {
      EXPECT_NEAR(got[i].volume, want[i].volume, vwap_tolerance * want[i].volume);
    }
    if (std::isnan(want[i].vwap)) {
      EXPECT_TRUE(std::isnan(got[i].vwap)) << got[i].vwap;
    } else if (vwap_tolerance == 0) {
      EXPECT_EQ(got[i].vwap, want[i].vwap);
    } else {
      EXPECT_NEAR(got[i].vwap, want[i].vwap, vwap_tolerance * std::abs(want[i].vwap));
    }
  }
}

// ---- random ticks -------------------------------------------------------------------------------------

double unit_draw(std::mt19937_64& gen) { return static_cast<double>(gen() >> 11) * 0x1.0p-53; }

// n ticks around `center` within +-span, on a 250 ms grid (so that many share a timestamp), in random
// order; prices on a 0.05 tick grid, volumes 0 to 99 (some 0), plus an isolated zero-volume tick far
// from the others (a window whose VWAP is NaN).
ticks random_ticks(std::size_t n, timestamp_ns center, std::int64_t span, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  const std::int64_t grid = 250'000'000;
  const std::uint64_t steps = static_cast<std::uint64_t>(2 * span / grid);
  ticks out;
  for (std::size_t i = 0; i < n; ++i) {
    const timestamp_ns t = center - span + static_cast<std::int64_t>(gen() % steps) * grid;
    const double price = 21500 + 0.05 * static_cast<double>(gen() % 4000);
    const double volume = static_cast<double>(gen() % 100);
    out.add(t, price, volume);
  }
  out.add(center + 3 * span, 21600.5, 0);
  std::vector<std::size_t> order(out.t.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), gen);
  ticks shuffled;
  for (std::size_t i : order) shuffled.add(out.t[i], out.price[i], out.volume[i]);
  return shuffled;
}

timestamp_ns utc(std::chrono::sys_days day, std::chrono::nanoseconds time_of_day) {
  return (day.time_since_epoch() + time_of_day).count();
}

constexpr std::chrono::sys_days trading_day = std::chrono::year{2025} / std::chrono::January / 15;

// ---- batch: against the reference -----------------------------------------------------------------------

struct batch_case {
  const char* name;
  timestamp_ns center;
  std::chrono::seconds anchor;
};

TEST(Ohlc, MatchesReferenceOnShuffledTicks) {
  const batch_case cases[] = {
      {"session, anchored at 00:00 UTC", utc(trading_day, 6h), 0s},
      {"session, anchored at 09:15 IST", utc(trading_day, 6h), nse_open_utc},
      {"around the epoch (negative times)", 0, 0s},
      {"negative times, anchored at 09:15 IST", -utc(trading_day, 0s), nse_open_utc},
      {"negative anchor", utc(trading_day, 6h), -7s},
      {"anchor whose nanoseconds overflow", utc(trading_day, 6h), std::chrono::seconds{20'000'000'001}},
  };
  std::uint64_t seed = 5001;
  for (const batch_case& c : cases) {
    // Many ticks a window (one slot per window) and ticks sparser than windows (the sort).
    for (const std::size_t n : {std::size_t{5000}, std::size_t{100}}) {
      const ticks in = random_ticks(n, c.center, 2 * 3600 * ns, seed++);
      for (std::chrono::seconds window : {60s, 300s, 900s, 7s}) {
        SCOPED_TRACE(std::string(c.name) + ", " + std::to_string(n) + " ticks, window " +
                     std::to_string(window.count()) + " s");
        // Shuffled input is summed in another order than the reference's: VWAP to rounding.
        expect_same_candles(optaro::ohlc(in.t, in.price, in.volume, window, c.anchor),
                            reference_ohlc(in, window, c.anchor), 1e-12);
      }
    }
  }
}

TEST(Ohlc, SortedAndShuffledInputGiveTheSameCandles) {
  ticks in = random_ticks(3000, utc(trading_day, 5h), 3600 * ns, 77);
  const std::vector<candle> shuffled = optaro::ohlc(in.t, in.price, in.volume, 300s, nse_open_utc);
  // Stable sort: the ties keep their input order, which decides open and close.
  std::vector<std::size_t> order(in.t.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return in.t[a] < in.t[b]; });
  ticks sorted;
  for (std::size_t i : order) sorted.add(in.t[i], in.price[i], in.volume[i]);
  const std::vector<candle> from_sorted = optaro::ohlc(sorted.t, sorted.price, sorted.volume, 300s, nse_open_utc);
  expect_same_candles(from_sorted, shuffled, 1e-12);
  // Sorted input sums in timestamp order, as the reference does: bit for bit.
  expect_same_candles(from_sorted, reference_ohlc(in, 300s, nse_open_utc));
}

TEST(Ohlc, AnchoredAtNseOpen) {
  ticks in;
  in.add(utc(trading_day, 3h + 44min + 59s), 100, 1);  // 09:14:59 IST: the bar before the open
  in.add(utc(trading_day, 3h + 45min), 101, 2);        // 09:15:00 IST: first bar of the session
  in.add(utc(trading_day, 3h + 59min + 59s), 102, 3);  // 09:29:59 IST: still the first bar
  in.add(utc(trading_day, 4h), 103, 4);                // 09:30:00 IST: the second bar
  const std::vector<candle> bars = optaro::ohlc(in.t, in.price, in.volume, 15min, nse_open_utc);
  ASSERT_EQ(bars.size(), 3U);
  EXPECT_EQ(bars[0].start_ns, utc(trading_day, 3h + 30min));
  EXPECT_EQ(bars[1].start_ns, utc(trading_day, 3h + 45min));
  EXPECT_EQ(bars[1].ticks, 2);
  EXPECT_EQ(bars[1].open, 101);
  EXPECT_EQ(bars[1].close, 102);
  EXPECT_DOUBLE_EQ(bars[1].vwap, (101.0 * 2 + 102.0 * 3) / 5);
  EXPECT_EQ(bars[2].start_ns, utc(trading_day, 4h));
}

TEST(Ohlc, TiesKeepInputOrderAndZeroVolumeHasNoVwap) {
  ticks in;
  in.add(10 * ns, 5, 0);
  in.add(10 * ns, 7, 0);
  in.add(10 * ns, 6, 0);
  const std::vector<candle> bars = optaro::ohlc(in.t, in.price, in.volume, 60s);
  ASSERT_EQ(bars.size(), 1U);
  EXPECT_EQ(bars[0].open, 5);
  EXPECT_EQ(bars[0].close, 6);
  EXPECT_EQ(bars[0].high, 7);
  EXPECT_EQ(bars[0].low, 5);
  EXPECT_EQ(bars[0].volume, 0);
  EXPECT_TRUE(std::isnan(bars[0].vwap));
}

TEST(Ohlc, ExtremeTimestamps) {
  constexpr timestamp_ns latest = std::numeric_limits<timestamp_ns>::max();
  constexpr timestamp_ns earliest = std::numeric_limits<timestamp_ns>::min();
  ticks in;
  in.add(latest, 1, 1);
  in.add(latest - 1, 2, 1);
  in.add(earliest + 3600 * ns, 3, 1);  // its hour window still starts after the earliest time
  for (std::chrono::seconds anchor : {0s, nse_open_utc, -1s}) {
    expect_same_candles(optaro::ohlc(in.t, in.price, in.volume, 60s, anchor), reference_ohlc(in, 60s, anchor));
  }
  EXPECT_TRUE(optaro::ohlc({}, {}, {}, 60s).empty());

  ticks too_early;
  too_early.add(0, 1, 1);
  too_early.add(earliest, 1, 1);  // 1677-09-21T00:12:43.145224192: its minute starts before that
  try {
    (void)optaro::ohlc(too_early.t, too_early.price, too_early.volume, 60s);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("timestamps_ns[1]"), std::string::npos) << e.what();
  }
}

void expect_rejected(const ticks& in, std::chrono::seconds window, const std::string& message_part) {
  try {
    (void)optaro::ohlc(in.t, in.price, in.volume, window);
    ADD_FAILURE() << "no exception; expected one naming " << message_part;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(message_part), std::string::npos) << e.what();
  }
}

TEST(Ohlc, RejectsBadArguments) {
  ticks good;
  good.add(0, 1, 1);
  good.add(ns, 2, 1);
  expect_rejected(good, 0s, "window: must be positive");
  expect_rejected(good, -60s, "window: must be positive");
  expect_rejected(good, optaro::max_ohlc_window + 1s, "window:");

  ticks short_prices = good;
  short_prices.price.pop_back();
  expect_rejected(short_prices, 60s, "prices: length 1 differs");
  ticks short_volumes = good;
  short_volumes.volume.push_back(1);
  expect_rejected(short_volumes, 60s, "volumes: length 3 differs");

  ticks nan_price = good;
  nan_price.price[1] = std::numeric_limits<double>::quiet_NaN();
  expect_rejected(nan_price, 60s, "prices[1]: not finite");
  ticks inf_price = good;
  inf_price.price[0] = std::numeric_limits<double>::infinity();
  expect_rejected(inf_price, 60s, "prices[0]: not finite");
  ticks negative_volume = good;
  negative_volume.volume[1] = -5;
  expect_rejected(negative_volume, 60s, "volumes[1]: negative");
  ticks nan_volume = good;
  nan_volume.volume[0] = std::numeric_limits<double>::quiet_NaN();
  expect_rejected(nan_volume, 60s, "volumes[0]: not finite");

  ticks negative_price = good;  // allowed: some futures have traded below zero
  negative_price.price[0] = -37.63;
  EXPECT_EQ(optaro::ohlc(negative_price.t, negative_price.price, negative_price.volume, 60s)[0].low, -37.63);
}

// ---- streaming: against the batch function ------------------------------------------------------------

std::vector<candle> closed_candles(const std::vector<candle_event>& events, std::uint32_t window_index) {
  std::vector<candle> out;
  for (const candle_event& e : events) {
    if (e.kind == candle_event_kind::closed && e.window_index == window_index) out.push_back(e.bar);
  }
  std::sort(out.begin(), out.end(), [](const candle& a, const candle& b) { return a.start_ns < b.start_ns; });
  return out;
}

TEST(CandleAggregator, WithUnboundedLatenessEqualsBatch) {
  const ticks in = random_ticks(5000, utc(trading_day, 6h), 2 * 3600 * ns, 9001);
  candle_aggregator aggregator({{60s, 300s, 900s}, nse_open_utc, std::chrono::hours{24 * 365}});
  std::vector<candle_event> events;
  for (std::size_t i = 0; i < in.t.size(); ++i) {
    ASSERT_EQ(aggregator.push(in.t[i], in.price[i], in.volume[i], events), tick_disposition::accepted);
  }
  aggregator.flush(events);
  EXPECT_EQ(aggregator.late_ticks(), 0);
  for (std::uint32_t k = 0; k < 3; ++k) {
    SCOPED_TRACE("window " + std::to_string(k));
    // Arrival order is not timestamp order, so the sums run in another order: VWAP to rounding.
    expect_same_candles(closed_candles(events, k), reference_ohlc(in, aggregator.windows()[k], nse_open_utc), 1e-12);
  }
}

// Ticks a little out of order, some far behind: the closed candles are the batch candles of exactly
// the accepted ticks, and every accepted tick produced one update per window.
TEST(CandleAggregator, ClosedCandlesAreTheBatchCandlesOfAcceptedTicks) {
  std::mt19937_64 gen(4242);
  const timestamp_ns open = utc(trading_day, 3h + 45min);
  ticks accepted;
  candle_aggregator aggregator({{60s, 300s, 900s}, nse_open_utc, 2s});
  std::vector<candle_event> events;
  std::size_t late = 0;
  for (int i = 0; i < 20000; ++i) {
    timestamp_ns t = open + static_cast<std::int64_t>(i) * 100'000'000;  // 10 ticks a second
    const double u = unit_draw(gen);
    if (u < 0.2) t -= static_cast<std::int64_t>(gen() % 1'500'000'000);     // within the lateness
    if (u > 0.98) t -= static_cast<std::int64_t>(gen() % 120'000'000'000);  // often beyond it
    const double price = 23000 + 0.05 * static_cast<double>(gen() % 2000);
    const double volume = static_cast<double>(gen() % 50);
    const std::size_t before = events.size();
    const tick_disposition d = aggregator.push(t, price, volume, events);
    if (d == tick_disposition::accepted) {
      accepted.add(t, price, volume);
      std::size_t updates = 0;
      for (std::size_t e = before; e < events.size(); ++e) updates += events[e].kind == candle_event_kind::updated;
      ASSERT_EQ(updates, 3U);
    } else {
      ASSERT_EQ(d, tick_disposition::late);
      ASSERT_EQ(events.size(), before);
      ++late;
    }
  }
  EXPECT_GT(late, 100U);
  EXPECT_EQ(aggregator.late_ticks(), static_cast<std::int64_t>(late));
  aggregator.flush(events);
  for (std::uint32_t k = 0; k < 3; ++k) {
    SCOPED_TRACE("window " + std::to_string(k));
    expect_same_candles(closed_candles(events, k), reference_ohlc(accepted, aggregator.windows()[k], nse_open_utc),
                        1e-12);
  }
}

// ---- streaming: late ticks, case by case ----------------------------------------------------------------

struct expected_event {
  candle_event_kind kind;
  std::uint32_t window_index;
  std::chrono::seconds start;  // after 10:00 UTC
  std::int64_t ticks;
  double open, close;
};

struct step {
  const char* what;
  std::chrono::milliseconds at;  // after 10:00 UTC
  double price;
  tick_disposition disposition;
  std::vector<expected_event> events;
};

constexpr auto updated = candle_event_kind::updated;
constexpr auto closed = candle_event_kind::closed;
constexpr auto accepted = tick_disposition::accepted;
constexpr auto late = tick_disposition::late;

void run_steps(candle_aggregator& aggregator, const std::vector<step>& steps) {
  const timestamp_ns ten = utc(trading_day, 10h);
  std::int64_t late_count = 0;
  for (const step& s : steps) {
    SCOPED_TRACE(s.what);
    std::vector<candle_event> events;
    const timestamp_ns t = ten + std::chrono::nanoseconds(s.at).count();
    EXPECT_EQ(aggregator.push(t, s.price, 1, events), s.disposition);
    late_count += s.disposition == late;
    EXPECT_EQ(aggregator.late_ticks(), late_count);
    ASSERT_EQ(events.size(), s.events.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
      SCOPED_TRACE("event " + std::to_string(i));
      const expected_event& want = s.events[i];
      EXPECT_EQ(events[i].kind, want.kind);
      EXPECT_EQ(events[i].window_index, want.window_index);
      EXPECT_EQ(events[i].window, aggregator.windows()[want.window_index]);
      EXPECT_EQ(events[i].bar.start_ns, ten + std::chrono::nanoseconds(want.start).count());
      EXPECT_EQ(events[i].bar.ticks, want.ticks);
      EXPECT_EQ(events[i].bar.open, want.open);
      EXPECT_EQ(events[i].bar.close, want.close);
    }
  }
}

TEST(CandleAggregator, LateTicksOneWindow) {
  candle_aggregator aggregator({{60s}, 0s, 10s});
  EXPECT_FALSE(aggregator.watermark().has_value());
  // One step a line, as a table.
  // clang-format off
  run_steps(aggregator,
            {
                {"on time", 5s, 100, accepted, {{updated, 0, 0s, 1, 100, 100}}},
                {"on time, later", 30s, 101, accepted, {{updated, 0, 0s, 2, 100, 101}}},
                {"out of order within the window: a new open", 2s, 99, accepted, {{updated, 0, 0s, 3, 99, 101}}},
                {"same timestamp as the open: arrival order keeps the first", 2s, 98, accepted,
                 {{updated, 0, 0s, 4, 99, 101}}},
                {"next window; the previous stays open for its lateness", 62s, 102, accepted,
                 {{updated, 0, 60s, 1, 102, 102}}},
                {"within lateness: the older candle is updated and emitted (a new close)", 58s, 97, accepted,
                 {{updated, 0, 0s, 5, 99, 97}}},
                {"the watermark reaches end + lateness: the first window closes", 70s, 103, accepted,
                 {{closed, 0, 0s, 5, 99, 97}, {updated, 0, 60s, 2, 102, 103}}},
                {"beyond the lateness: late, nothing emitted", 59s, 96, late, {}},
                {"a whole window behind: late", 1s, 95, late, {}},
                {"out of order in the current window, behind the watermark", 65s, 104, accepted,
                 {{updated, 0, 60s, 3, 102, 103}}},
            });
  // clang-format on
  EXPECT_EQ(aggregator.watermark(), utc(trading_day, 10h + 70s));
  const std::vector<candle> open = aggregator.open_candles(0);
  ASSERT_EQ(open.size(), 1U);
  EXPECT_EQ(open[0].ticks, 3);  // the late ticks are in no candle

  std::vector<candle_event> events;
  aggregator.advance_watermark(utc(trading_day, 10h + 129s), events);
  EXPECT_TRUE(events.empty()) << "10:01 closes at 10:02:10";
  aggregator.advance_watermark(utc(trading_day, 10h + 130s), events);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].kind, closed);
  EXPECT_EQ(events[0].bar.start_ns, utc(trading_day, 10h + 60s));
  EXPECT_TRUE(aggregator.open_candles(0).empty());
}

TEST(CandleAggregator, LateTicksSeveralWindows) {
  candle_aggregator aggregator({{60s, 300s}, 0s, 0s});
  // One step a line, as a table.
  // clang-format off
  run_steps(aggregator,
            {
                {"first tick", 50s, 100, accepted, {{updated, 0, 0s, 1, 100, 100}, {updated, 1, 0s, 1, 100, 100}}},
                {"out of order within both windows, no lateness needed", 10s, 99, accepted,
                 {{updated, 0, 0s, 2, 99, 100}, {updated, 1, 0s, 2, 99, 100}}},
                {"the next minute closes the first (no lateness)", 65s, 101, accepted,
                 {{closed, 0, 0s, 2, 99, 100}, {updated, 0, 60s, 1, 101, 101}, {updated, 1, 0s, 3, 99, 101}}},
                {"late for the minute, though its 5 minutes are open: folded into neither", 55s, 98, late, {}},
                {"five minutes later both close", 300s, 102, accepted,
                 {{closed, 0, 60s, 1, 101, 101},
                  {closed, 1, 0s, 3, 99, 101},
                  {updated, 0, 300s, 1, 102, 102},
                  {updated, 1, 300s, 1, 102, 102}}},
            });
  // clang-format on
  std::vector<candle_event> events;
  aggregator.flush(events);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].window_index, 0U);
  EXPECT_EQ(events[1].window_index, 1U);
  EXPECT_EQ(events[1].bar.ticks, 1);
}

TEST(CandleAggregator, LatenessAcrossAGapOpensAnOlderWindow) {
  // No tick in 10:01 yet; the watermark is in 10:02 and 10:01 is still within its lateness.
  candle_aggregator aggregator({{60s}, 0s, 30s});
  // One step a line, as a table.
  // clang-format off
  run_steps(aggregator, {
                            {"10:00:30", 30s, 100, accepted, {{updated, 0, 0s, 1, 100, 100}}},
                            {"10:02:10 closes 10:00", 130s, 102, accepted,
                             {{closed, 0, 0s, 1, 100, 100}, {updated, 0, 120s, 1, 102, 102}}},
                            {"10:01:50, within lateness of the empty 10:01", 110s, 101, accepted,
                             {{updated, 0, 60s, 1, 101, 101}}},
                        });
  // clang-format on
  const std::vector<candle> open = aggregator.open_candles(0);
  ASSERT_EQ(open.size(), 2U);
  EXPECT_EQ(open[0].start_ns, utc(trading_day, 10h + 60s));
  EXPECT_EQ(open[1].start_ns, utc(trading_day, 10h + 120s));
}

TEST(CandleAggregator, InvalidTicksAndConfiguration) {
  candle_aggregator aggregator;  // 1, 5, 15 minutes
  ASSERT_EQ(aggregator.windows().size(), 3U);
  EXPECT_EQ(aggregator.windows()[2], 15min);
  std::vector<candle_event> events;
  EXPECT_EQ(aggregator.push(0, std::numeric_limits<double>::quiet_NaN(), 1, events), tick_disposition::invalid);
  EXPECT_EQ(aggregator.push(0, 1, -1, events), tick_disposition::invalid);
  EXPECT_EQ(aggregator.push(std::numeric_limits<timestamp_ns>::min(), 1, 1, events), tick_disposition::invalid);
  EXPECT_EQ(aggregator.invalid_ticks(), 3);
  EXPECT_TRUE(events.empty());
  EXPECT_FALSE(aggregator.watermark().has_value());
  EXPECT_EQ(aggregator.push(std::numeric_limits<timestamp_ns>::max(), 1, 1, events), tick_disposition::accepted);
  EXPECT_EQ(events.size(), 3U);

  const auto rejected = [](candle_aggregator::config settings, const std::string& message_part) {
    try {
      candle_aggregator a(std::move(settings));
      ADD_FAILURE() << "no exception; expected one naming " << message_part;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(message_part), std::string::npos) << e.what();
    }
  };
  rejected({{}, 0s, 0s}, "windows: empty");
  rejected({{60s, 0s}, 0s, 0s}, "windows[1]: must be positive");
  rejected({{60s, 300s, 60s}, 0s, 0s}, "windows[2]: the same window as windows[0]");
  rejected({{60s}, 0s, -1s}, "allowed_lateness: negative");
  EXPECT_THROW((void)aggregator.open_candles(3), std::invalid_argument);
}

}  // namespace

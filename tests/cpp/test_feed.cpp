// The reference pipeline's feed generator (examples/pipeline/feed.hpp): determinism for a seed, every
// message accepted by the strict decoder, ids and event times, strikes around the money, the smile the
// chain analytics recover from the quotes, the open-interest profile, event rates, expiry calendars,
// the underlying's volatility, and configuration checks.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include <optaro/chain.hpp>
#include <optaro/codec.hpp>
#include <optaro/market.hpp>
#include <optaro/svi.hpp>

#include "pipeline/feed.hpp"

namespace {

using namespace std::chrono_literals;
using optaro::message_kind;
using optaro::timestamp_ns;
using optaro::pipeline::feed_config;
using optaro::pipeline::feed_generator;
using optaro::pipeline::feed_message;
using std::chrono::year_month_day;

constexpr timestamp_ns second = 1'000'000'000;

year_month_day ymd(int y, unsigned m, unsigned d) {
  return year_month_day{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
}

bool is_thursday(year_month_day d) { return std::chrono::weekday{std::chrono::sys_days{d}} == std::chrono::Thursday; }

bool is_last_thursday(year_month_day d) {
  return is_thursday(d) && std::chrono::year_month_day{std::chrono::sys_days{d} + std::chrono::days{7}}.month() != d.month();
}

feed_config with_quotes() {
  feed_config c;
  c.quotes_per_second = 200;
  return c;
}

const optaro::pipeline::product_spec& spec_of(const feed_config& c, std::string_view name) {
  for (const auto& p : c.products) {
    if (p.name == name) return p;
  }
  throw std::logic_error("no such product");
}

// ---- determinism --------------------------------------------------------------------------------------

TEST(FeedDeterminism, SameSeedGivesTheSameBytes) {
  feed_generator a(with_quotes()), b(with_quotes());
  for (int i = 0; i < 5000; ++i) {
    const feed_message x = a.next(), y = b.next();
    ASSERT_EQ(x.payload, y.payload) << "message " << i;
    ASSERT_EQ(x.event_time, y.event_time);
    ASSERT_EQ(x.kind, y.kind);
    ASSERT_EQ(x.product, y.product);
  }
}

TEST(FeedDeterminism, ReusingAMessageGivesTheSameSequence) {
  feed_generator a(with_quotes()), b(with_quotes());
  feed_message reused;
  for (int i = 0; i < 3000; ++i) {
    const feed_message x = a.next();
    b.next(reused);
    ASSERT_EQ(x.payload, reused.payload) << "message " << i;
    ASSERT_EQ(x.event_time, reused.event_time);
    ASSERT_EQ(x.kind, reused.kind);
    ASSERT_EQ(x.product, reused.product);
  }
}

TEST(FeedDeterminism, DifferentSeedsDiffer) {
  feed_config c = with_quotes();
  feed_generator a(c);
  c.seed = 2;
  feed_generator b(c);
  int different = 0;
  for (int i = 0; i < 5000; ++i) different += a.next().payload != b.next().payload ? 1 : 0;
  EXPECT_GT(different, 4000);  // the first tick (at the starting spot) may coincide
}

// ---- messages ----------------------------------------------------------------------------------------

TEST(FeedMessages, DecodeStrictlyWithOrderedTimesAndMonotonicIds) {
  feed_config c = with_quotes();
  feed_generator g(c);
  optaro::message_decoder decoder;
  timestamp_ns previous_time = c.start;
  std::map<std::string, std::int64_t> tick_ids, quote_ids;
  std::set<std::string> chain_ids;
  std::map<std::string, double> last_price;
  std::size_t counts[3] = {0, 0, 0};
  for (int n = 0; n < 30'000; ++n) {
    const feed_message m = g.next();
    ASSERT_GE(m.event_time, previous_time) << "message " << n;
    previous_time = m.event_time;
    ++counts[static_cast<std::size_t>(m.kind)];
    switch (m.kind) {
      case message_kind::underlying: {
        const auto d = decoder.decode_underlying(m.payload);
        ASSERT_TRUE(d) << d.error.message() << "\n" << m.payload;
        EXPECT_EQ(d.value->timestamp, m.event_time);
        EXPECT_EQ(d.value->product, m.product);
        auto [it, fresh] = tick_ids.try_emplace(m.product, 0);
        EXPECT_EQ(d.value->tick_id, it->second + 1) << m.product;  // strictly increasing, no gaps
        it->second = d.value->tick_id;
        EXPECT_GE(d.value->volume, 1);
        EXPECT_LE(d.value->volume, 500);
        EXPECT_EQ(d.value->price, g.spot(m.product));
        last_price[m.product] = d.value->price;
        break;
      }
      case message_kind::option_quote: {
        const auto d = decoder.decode_quote(m.payload);
        ASSERT_TRUE(d) << d.error.message() << "\n" << m.payload;
        const optaro::option_quote& q = *d.value;
        EXPECT_EQ(q.timestamp, m.event_time);
        auto [it, fresh] = quote_ids.try_emplace(q.symbol, 0);
        EXPECT_EQ(q.quote_id, it->second + 1) << q.symbol;
        it->second = q.quote_id;
        EXPECT_GE(q.ask, q.bid + 0.05 - 1e-9);
        EXPECT_GE(q.last, std::max(q.bid, 0.05) - 1e-9);
        EXPECT_LE(q.last, q.ask + 1e-9);
        if (last_price.contains(q.product)) {
          EXPECT_EQ(q.underlying_price, last_price[q.product]);
        }
        break;
      }
      case message_kind::option_chain: {
        const auto d = decoder.decode_chain(m.payload);
        ASSERT_TRUE(d) << d.error.message() << "\n" << m.payload.substr(0, 300);
        const optaro::option_chain& ch = *d.value;
        EXPECT_EQ(ch.timestamp, m.event_time);
        EXPECT_TRUE(chain_ids.insert(ch.chain_id).second) << "duplicate " << ch.chain_id;
        EXPECT_EQ(ch.rate, c.rate);
        EXPECT_EQ(ch.dividend_yield, c.dividend_yield);
        if (last_price.contains(ch.product)) {
          EXPECT_EQ(ch.underlying_price, last_price[ch.product]);
        }
        break;
      }
    }
  }
  EXPECT_GT(counts[0], 0U);
  EXPECT_GT(counts[1], 0U);
  EXPECT_GT(counts[2], 0U);
  EXPECT_EQ(g.produced(message_kind::underlying), counts[0]);
  EXPECT_EQ(g.produced(message_kind::option_quote), counts[1]);
  EXPECT_EQ(g.produced(message_kind::option_chain), counts[2]);
  EXPECT_TRUE(std::isnan(g.spot("NOPE")));
}

TEST(FeedMessages, ChainIdsAndSymbolsFollowTheConventions) {
  feed_generator g(with_quotes());
  optaro::message_decoder decoder;
  bool saw_monthly = false, saw_weekly = false;
  for (int n = 0; n < 20'000; ++n) {
    const feed_message m = g.next();
    if (m.kind == message_kind::option_chain) {
      const auto ch = *decoder.decode_chain(m.payload).value;
      std::string expiry = optaro::format_date(ch.expiry);
      expiry.erase(std::remove(expiry.begin(), expiry.end(), '-'), expiry.end());
      const std::string prefix = ch.product + "-" + expiry + "-";
      ASSERT_EQ(ch.chain_id.substr(0, prefix.size()), prefix);
      const std::string counter = ch.chain_id.substr(prefix.size());
      EXPECT_EQ(counter.size(), 6U) << ch.chain_id;
      EXPECT_TRUE(std::all_of(counter.begin(), counter.end(), [](char x) { return x >= '0' && x <= '9'; }));
    } else if (m.kind == message_kind::option_quote) {
      const auto q = *decoder.decode_quote(m.payload).value;
      const auto y = static_cast<int>(q.expiry.year()) % 100;
      const auto mo = static_cast<unsigned>(q.expiry.month());
      const auto d = static_cast<unsigned>(q.expiry.day());
      static constexpr const char* months[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                               "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
      static constexpr char codes[] = "123456789OND";
      std::string code = std::to_string(y);
      if (is_last_thursday(q.expiry)) {
        code += months[mo - 1];
        saw_monthly = true;
      } else {
        code += codes[mo - 1];
        code += (d < 10 ? "0" : "") + std::to_string(d);
        saw_weekly = true;
      }
      const std::string expected =
          q.product + code + std::to_string(std::llround(q.strike)) + (q.is_call ? "CE" : "PE");
      EXPECT_EQ(q.symbol, expected);
    }
  }
  EXPECT_TRUE(saw_monthly);
  EXPECT_TRUE(saw_weekly);
}

// ---- chains ------------------------------------------------------------------------------------------

TEST(FeedChains, StrikesAreCentredOnTheAtmStrike) {
  feed_config c;
  c.products.push_back({"FINNIFTY", 20000, 50, 7, 0.15, 40});
  feed_generator g(c);
  optaro::message_decoder decoder;
  int chains = 0;
  while (chains < 300) {
    const feed_message m = g.next();
    if (m.kind != message_kind::option_chain) continue;
    ++chains;
    const auto ch = *decoder.decode_chain(m.payload).value;
    const auto& spec = spec_of(c, ch.product);
    const double atm = std::round(ch.underlying_price / spec.strike_step) * spec.strike_step;
    const auto n = static_cast<std::size_t>(2 * spec.strikes_each_side + 1);
    ASSERT_EQ(ch.calls.size(), n);
    ASSERT_EQ(ch.puts.size(), n);
    for (std::size_t i = 0; i < n; ++i) {
      const double expected = atm + (static_cast<double>(i) - spec.strikes_each_side) * spec.strike_step;
      EXPECT_EQ(ch.calls.strike[i], expected);
      EXPECT_EQ(ch.puts.strike[i], expected);
      EXPECT_EQ(std::fmod(ch.calls.strike[i], spec.strike_step), 0.0);
    }
  }
}

TEST(FeedChains, AnalyticsRecoverTheGeneratingSmile) {
  feed_config c;
  c.products.push_back({"MIDCPNIFTY", 11000, 25, 15, 0.18, 50});
  c.monthly_expiries = 2;
  feed_generator g(c);
  optaro::message_decoder decoder;
  const optaro::chain_config config{c.rate, c.dividend_yield};
  int chains = 0, near_checked = 0, checked = 0;
  while (chains < 200) {
    const feed_message m = g.next();
    if (m.kind != message_kind::option_chain) continue;
    ++chains;
    const auto ch = *decoder.decode_chain(m.payload).value;
    const auto smile = g.smile(ch.product, ch.expiry, ch.timestamp);
    ASSERT_TRUE(smile.has_value());
    const optaro::chain_analytics a = optaro::enrich_chain(ch, config);
    const double S = ch.underlying_price, T = a.time_to_expiry, r = c.rate, q = c.dividend_yield;
    const double F = S * std::exp((r - q) * T);
    ASSERT_NEAR(a.forward, F, 1e-9 * F);
    const double atm_vol = spec_of(c, ch.product).atm_vol;
    ASSERT_TRUE(a.atm_iv.has_value());
    EXPECT_NEAR(*a.atm_iv, atm_vol, 0.003) << ch.chain_id;
    EXPECT_NEAR(optaro::svi_total_variance(*smile, 0.0), atm_vol * atm_vol * T, 1e-12);
    for (int side = 0; side < 2; ++side) {
      const optaro::chain_side& s = side == 0 ? ch.calls : ch.puts;
      const auto& qa = side == 0 ? a.calls : a.puts;
      for (std::size_t i = 0; i < s.size(); ++i) {
        const double K = s.strike[i], k = std::log(K / F);
        EXPECT_GE(optaro::svi_durrleman_g(*smile, k), 0.0) << "butterfly arbitrage at " << K;
        if (s.bid[i] <= 0 || qa[i].status != optaro::quote_iv_status::ok) continue;
        const double model_vol = std::sqrt(optaro::svi_total_variance(*smile, k) / T);
        // The mid is within half a tick of the model price: its IV is within that over vega.
        const double vega = qa[i].vega * 100;  // trader units are per vol point
        const double tolerance = 0.75 * 0.05 / vega + 1e-6;
        EXPECT_NEAR(qa[i].iv, model_vol, tolerance) << ch.chain_id << " K=" << K << (side == 0 ? " call" : " put");
        ++checked;
        if (std::abs(K / S - 1) < 0.01) {
          EXPECT_NEAR(qa[i].iv, model_vol, 0.005) << ch.chain_id << " K=" << K;
          ++near_checked;
        }
      }
    }
    // Put-call parity of the mids, within the two half-spreads.
    for (std::size_t i = 0; i < ch.calls.size(); ++i) {
      const double K = ch.calls.strike[i];
      const double call_mid = (ch.calls.bid[i] + ch.calls.ask[i]) / 2, put_mid = (ch.puts.bid[i] + ch.puts.ask[i]) / 2;
      const double parity = S * std::exp(-q * T) - K * std::exp(-r * T);
      const double allowed = (ch.calls.ask[i] - ch.calls.bid[i]) / 2 + (ch.puts.ask[i] - ch.puts.bid[i]) / 2;
      EXPECT_LE(std::abs(call_mid - put_mid - parity), allowed + 1e-9) << ch.chain_id << " K=" << K;
    }
    // A negative skew: the 25-delta risk reversal.
    if (a.risk_reversal_25d) {
      EXPECT_LT(*a.risk_reversal_25d, 0.0) << ch.chain_id;
    }
  }
  EXPECT_GT(near_checked, 500);
  EXPECT_GT(checked, 5000);
}

TEST(FeedChains, OpenInterestPeaksNearTheMoneyPutsBelowCallsAbove) {
  feed_generator g(feed_config{});
  optaro::message_decoder decoder;
  const feed_config& c = g.config();
  int chains = 0;
  while (chains < 300) {
    const feed_message m = g.next();
    if (m.kind != message_kind::option_chain) continue;
    ++chains;
    const auto ch = *decoder.decode_chain(m.payload).value;
    const double step = spec_of(c, ch.product).strike_step;
    const double atm = std::round(ch.underlying_price / step) * step;
    const auto argmax = [](const optaro::chain_side& s) {
      return s.strike[static_cast<std::size_t>(std::max_element(s.open_interest.begin(), s.open_interest.end()) -
                                               s.open_interest.begin())];
    };
    EXPECT_GE(argmax(ch.calls), atm) << ch.chain_id;
    EXPECT_LE(argmax(ch.puts), atm) << ch.chain_id;
    std::int64_t calls_below = 0, puts_below = 0, calls_above = 0, puts_above = 0;
    for (std::size_t i = 0; i < ch.calls.size(); ++i) {
      if (ch.calls.strike[i] < ch.underlying_price) {
        calls_below += ch.calls.open_interest[i];
        puts_below += ch.puts.open_interest[i];
      } else {
        calls_above += ch.calls.open_interest[i];
        puts_above += ch.puts.open_interest[i];
      }
      EXPECT_LE(ch.calls.volume[i], ch.calls.open_interest[i]);  // about 5% of it
    }
    EXPECT_GT(puts_below, calls_below) << ch.chain_id;
    EXPECT_GT(calls_above, puts_above) << ch.chain_id;
    // Whole lots.
    const auto lot = static_cast<std::int64_t>(spec_of(c, ch.product).lot_size);
    for (const std::int64_t oi : ch.puts.open_interest) EXPECT_EQ(oi % lot, 0);
  }
}

// ---- rates and calendars --------------------------------------------------------------------------------

TEST(FeedRates, TenSecondsOfEventTime) {
  feed_config c;
  c.ticks_per_second = 1000;
  c.chains_per_second = 10;
  feed_generator g(c);
  std::size_t ticks = 0, chains = 0;
  std::map<std::string, std::size_t> per_product;
  for (;;) {
    const feed_message m = g.next();
    if (m.event_time >= c.start + 10 * second) break;
    if (m.kind == message_kind::underlying) ++ticks;
    if (m.kind == message_kind::option_chain) {
      ++chains;
      ++per_product[m.product];
    }
  }
  EXPECT_NEAR(static_cast<double>(ticks), 10'000.0, 1.0);
  EXPECT_EQ(chains, 100U);
  EXPECT_EQ(per_product["NIFTY"], 50U);  // round robin over products x expiries
  EXPECT_EQ(per_product["BANKNIFTY"], 50U);
}

TEST(FeedExpiries, WeeklyThursdaysAndMonthlyLastThursdays) {
  feed_config c;  // starts Wednesday 2025-01-15
  {
    feed_generator g(c);
    EXPECT_EQ(g.expiries(), (std::vector<year_month_day>{ymd(2025, 1, 16), ymd(2025, 1, 23), ymd(2025, 1, 30)}));
    optaro::message_decoder decoder;
    std::set<std::chrono::sys_days> seen;
    for (int n = 0; n < 20'000; ++n) {
      const feed_message m = g.next();
      if (m.kind == message_kind::option_chain) seen.insert(std::chrono::sys_days{decoder.decode_chain(m.payload).value->expiry});
    }
    EXPECT_EQ(seen.size(), 3U);
    for (const auto d : seen) EXPECT_TRUE(is_thursday(year_month_day{d}));
  }
  c.weekly_expiries = 3;
  c.monthly_expiries = 3;
  {
    feed_generator g(c);
    const auto e = g.expiries();
    // Jan 30 is both the third weekly and January's monthly: listed once.
    EXPECT_EQ(e, (std::vector<year_month_day>{ymd(2025, 1, 16), ymd(2025, 1, 23), ymd(2025, 1, 30), ymd(2025, 2, 27),
                                              ymd(2025, 3, 27)}));
    for (std::size_t i = 0; i < e.size(); ++i) {
      EXPECT_TRUE(is_thursday(e[i]));
      if (i >= 3) {
        EXPECT_TRUE(is_last_thursday(e[i]));
      }
    }
  }
  c.start = 1'738'137'600'000'000'000;  // 2025-01-29T08:00:00Z: the next weekly is January's monthly
  c.weekly_expiries = 1;
  c.monthly_expiries = 1;
  {
    feed_generator g(c);
    EXPECT_EQ(g.expiries(), (std::vector<year_month_day>{ymd(2025, 1, 30)}));
  }
  c.weekly_expiries = 0;
  c.monthly_expiries = 2;
  c.start = 1'738'224'000'000'000'000;  // 2025-01-30T08:00:00Z: expiry day of January's monthly
  {
    feed_generator g(c);
    EXPECT_EQ(g.expiries(), (std::vector<year_month_day>{ymd(2025, 2, 27), ymd(2025, 3, 27)}));
  }
}

TEST(FeedExpiries, RollForwardWhenAnExpiryExpires) {
  feed_config c;
  c.start = 1'737'021'590'000'000'000;  // 2025-01-16T09:59:50Z: Thursdays strictly after the start date
  EXPECT_EQ(feed_generator(c).expiries().front(), ymd(2025, 1, 23));

  c.start = 1'736'985'590'000'000'000;  // 2025-01-15T23:59:50Z
  c.ticks_per_second = 0.1;  // 11 hours of event time in a few thousand messages
  c.chains_per_second = 0.1;
  feed_generator g(c);
  ASSERT_EQ(g.expiries().front(), ymd(2025, 1, 16));
  optaro::message_decoder decoder;
  std::set<std::string> chain_ids;
  std::set<std::chrono::sys_days> before, after;
  const timestamp_ns expiry_instant = 1'737'021'600'000'000'000;  // 2025-01-16T10:00:00Z
  for (;;) {
    const feed_message m = g.next();
    if (m.event_time > expiry_instant + 3600 * second) break;
    if (m.kind != message_kind::option_chain) continue;
    const auto ch = *decoder.decode_chain(m.payload).value;
    ASSERT_GT(optaro::time_to_expiry(ch.expiry, 10h, ch.timestamp), 0.0) << ch.chain_id;
    EXPECT_TRUE(chain_ids.insert(ch.chain_id).second) << ch.chain_id;
    (m.event_time < expiry_instant ? before : after).insert(std::chrono::sys_days{ch.expiry});
  }
  EXPECT_TRUE(before.contains(std::chrono::sys_days{ymd(2025, 1, 16)}));
  EXPECT_FALSE(after.contains(std::chrono::sys_days{ymd(2025, 1, 16)}));
  EXPECT_TRUE(after.contains(std::chrono::sys_days{ymd(2025, 1, 23)}));
  EXPECT_TRUE(after.contains(std::chrono::sys_days{ymd(2025, 1, 30)}));
  EXPECT_EQ(g.expiries().front(), ymd(2025, 1, 23));
}

// ---- the underlying ------------------------------------------------------------------------------------

TEST(FeedGbm, LogReturnStdevMatchesTheAtmVol) {
  feed_config c;
  c.products = {{"NIFTY", 21500, 50, 20, 0.13, 25}, {"BANKNIFTY", 46000, 100, 20, 0.25, 15}};
  c.ticks_per_second = 2;  // one tick per product per second: moves far above the 0.05 rounding
  c.chains_per_second = 0;
  c.jumps_per_day = 0;
  feed_generator g(c);
  optaro::message_decoder decoder;
  std::map<std::string, std::vector<double>> prices;
  for (int n = 0; n < 40'000; ++n) {
    const feed_message m = g.next();
    prices[m.product].push_back(decoder.decode_underlying(m.payload).value->price);
  }
  const double dt = 1.0 / 31'536'000.0;
  for (const auto& spec : c.products) {
    const std::vector<double>& p = prices[spec.name];
    double sum = 0, sum2 = 0;
    for (std::size_t i = 1; i < p.size(); ++i) {
      const double x = std::log(p[i] / p[i - 1]);
      sum += x;
      sum2 += x * x;
    }
    const double n = static_cast<double>(p.size() - 1);
    const double stdev = std::sqrt((sum2 - sum * sum / n) / (n - 1));
    EXPECT_NEAR(stdev / std::sqrt(dt), spec.atm_vol, 0.2 * spec.atm_vol) << spec.name;
    EXPECT_NEAR(stdev / std::sqrt(dt), spec.atm_vol, 0.05 * spec.atm_vol) << spec.name;  // 20,000 returns: ~1%
  }
}

TEST(FeedGbm, JumpsAddVariance) {
  feed_config c;
  c.products = {{"NIFTY", 21500, 50, 20, 0.13, 25}};
  c.ticks_per_second = 1.0 / 60;  // a tick a minute
  c.chains_per_second = 0;
  c.jumps_per_day = 50;
  c.jump_size = 0.004;
  feed_generator g(c);
  double sum2 = 0, previous = g.spot("NIFTY");
  const int n = 20'000;
  for (int i = 0; i < n; ++i) {
    static_cast<void>(g.next());
    const double s = g.spot("NIFTY");
    sum2 += std::log(s / previous) * std::log(s / previous);
    previous = s;
  }
  const double dt = 60.0 / 31'536'000.0;
  const double expected = 0.13 * 0.13 * dt + 50 * (60.0 / 86'400.0) * 0.004 * 0.004;
  EXPECT_NEAR(sum2 / n, expected, 0.15 * expected);
}

// ---- configuration --------------------------------------------------------------------------------------

TEST(FeedConfig, ValidateNamesTheField) {
  const auto message_of = [](const feed_config& c) -> std::string {
    try {
      c.validate();
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(message_of(feed_config{}), "");
  feed_config c;
  c.products[1].strike_step = 0;
  EXPECT_NE(message_of(c).find("products[1].strike_step"), std::string::npos);
  c = {};
  c.products[0].name = "NIFTY 50";
  EXPECT_NE(message_of(c).find("products[0].name"), std::string::npos);
  c = {};
  c.products[1].name = "NIFTY";
  EXPECT_NE(message_of(c).find("duplicate"), std::string::npos);
  c = {};
  c.chains_per_second = -1;
  EXPECT_NE(message_of(c).find("chains_per_second"), std::string::npos);
  c = {};
  c.weekly_expiries = 0;
  c.monthly_expiries = 0;
  EXPECT_NE(message_of(c).find("weekly_expiries"), std::string::npos);
  c = {};
  c.products.clear();
  EXPECT_NE(message_of(c).find("products"), std::string::npos);
  c = {};
  c.products[0].atm_vol = std::nan("");
  EXPECT_NE(message_of(c).find("products[0].atm_vol"), std::string::npos);
  c = {};
  c.ticks_per_second = c.chains_per_second = c.quotes_per_second = 0;
  EXPECT_THROW(feed_generator{c}, std::invalid_argument);
}

}  // namespace

// The message codec (MESSAGES.md): the simdjson decoder against an independent nlohmann/json one
// (reference_decoder.hpp) on the invalid corpus (tests/data/messages/invalid.jsonl, each case with its
// expected error), the valid examples, generated size-limit breakers, random round trips, truncated and
// mutated messages; timestamps; and the enriched:option_chain encoding read back with nlohmann/json.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <optaro/chain.hpp>
#include <optaro/codec.hpp>
#include <optaro/market.hpp>

#include "reference_decoder.hpp"

namespace {

using namespace optaro;
using nlohmann::json;
using namespace std::chrono_literals;

std::string read_file(const std::string& name) {
  std::ifstream in(std::string(OPTARO_TEST_DATA_DIR) + "/messages/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

template <class T>
std::string encoded(const T& v) {
  std::string out;
  encode(out, v);
  return out;
}

/// Outcome of one decoder as text: the error, or "ok " + the re-encoded value.
template <class T>
std::string outcome(const decode_result<T>& r) {
  return r ? "ok " + encoded(*r.value) : "error " + r.error.message();
}

struct both {
  std::string fast, reference;
};

both decode_both(message_decoder& d, std::string_view kind, std::string_view message, codec_limits limits = {}) {
  if (kind == "underlying")
    return {outcome(d.decode_underlying(message)), outcome(reference::decode_underlying(message, limits))};
  if (kind == "option_quote")
    return {outcome(d.decode_quote(message)), outcome(reference::decode_quote(message, limits))};
  return {outcome(d.decode_chain(message)), outcome(reference::decode_chain(message, limits))};
}

constexpr timestamp_ns t0 = 1736937000LL * 1000000000LL;  // 2025-01-15T10:30:00Z

// ---- timestamps ---------------------------------------------------------------------------------

TEST(Timestamp, ParsesIsoUtc) {
  EXPECT_EQ(parse_timestamp("2025-01-15T10:30:00Z"), t0);
  EXPECT_EQ(parse_timestamp("2025-01-15T10:30:00+00:00"), t0);
  EXPECT_EQ(parse_timestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_timestamp("2025-01-15T10:30:00.5Z"), t0 + 500000000);
  EXPECT_EQ(parse_timestamp("2025-01-15T10:30:00.000000001Z"), t0 + 1);
  EXPECT_EQ(parse_timestamp("2025-01-15T10:30:00.123456789+00:00"), t0 + 123456789);
  EXPECT_EQ(parse_timestamp("1969-12-31T23:59:59.999999999Z"), -1);
  // Leap years: 2024-02-29 and 2000-02-29 exist, 2100-02-29 and 2025-02-29 do not.
  EXPECT_EQ(parse_timestamp("2024-02-29T00:00:00Z"), 1709164800LL * 1000000000LL);
  EXPECT_EQ(parse_timestamp("2000-02-29T00:00:00Z"), 951782400LL * 1000000000LL);
  EXPECT_EQ(parse_timestamp("2024-12-31T23:59:59Z"), 1735689599LL * 1000000000LL);
  EXPECT_FALSE(parse_timestamp("2100-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_timestamp("2025-02-29T00:00:00Z"));
}

TEST(Timestamp, RejectsEverythingElse) {
  for (const char* bad : {"",
                          "Z",
                          "2025-01-15",
                          "2025-01-15T10:30:00",
                          "2025-01-15T10:30Z",
                          "2025-01-15T10:30:00+05:30",
                          "2025-01-15T10:30:00-00:00",
                          "2025-01-15T10:30:00+0000",
                          "2025-01-15T10:30:00z",
                          "2025-01-15t10:30:00Z",
                          "2025-01-15 10:30:00Z",
                          "2025-01-15T24:00:00Z",
                          "2025-01-15T10:60:00Z",
                          "2025-01-15T10:30:60Z",
                          "2025-02-30T10:30:00Z",
                          "2025-13-01T10:30:00Z",
                          "2025-00-01T10:30:00Z",
                          "2025-01-00T10:30:00Z",
                          "2025-01-15T10:30:00.Z",
                          "2025-01-15T10:30:00.1234567890Z",
                          "2025-01-15T10:30:00ZZ",
                          " 2025-01-15T10:30:00Z",
                          "2025-01-15T10:30:00Z ",
                          "+2025-01-15T10:30:00Z",
                          "2025-1-15T10:30:00Z",
                          "2025-01-15T1:30:00Z",
                          "2025-01-15T10:30:0aZ",
                          "2262-04-12T00:00:00Z",
                          "1677-09-21T00:00:00Z",
                          "9999-12-31T23:59:59Z"}) {
    EXPECT_FALSE(parse_timestamp(bad)) << bad;
  }
}

TEST(Timestamp, FormatsWithTrimmedFraction) {
  EXPECT_EQ(format_timestamp(t0), "2025-01-15T10:30:00Z");
  EXPECT_EQ(format_timestamp(t0 + 500000000), "2025-01-15T10:30:00.5Z");
  EXPECT_EQ(format_timestamp(t0 + 120000), "2025-01-15T10:30:00.00012Z");
  EXPECT_EQ(format_timestamp(t0 + 1), "2025-01-15T10:30:00.000000001Z");
  EXPECT_EQ(format_timestamp(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_timestamp(-1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(format_timestamp(1709164800LL * 1000000000LL), "2024-02-29T00:00:00Z");
}

TEST(Timestamp, RoundTripsOverTheWholeRange) {
  std::mt19937_64 gen(20250115);
  const std::vector<timestamp_ns> edges = {
      std::numeric_limits<timestamp_ns>::min(), std::numeric_limits<timestamp_ns>::max(), 0, -1, 1, t0};
  for (const timestamp_ns t : edges) EXPECT_EQ(parse_timestamp(format_timestamp(t)), t) << t;
  for (int i = 0; i < 20000; ++i) {
    const auto t = static_cast<timestamp_ns>(gen());
    ASSERT_EQ(parse_timestamp(format_timestamp(t)), t) << t;
    // Whole seconds, milliseconds: fewer digits.
    const timestamp_ns s = t / 1000000000 * 1000000000;
    ASSERT_EQ(parse_timestamp(format_timestamp(s)), s);
  }
}

TEST(Timestamp, EpochNanosecondsInMessages) {
  message_decoder d;
  const auto r = d.decode_underlying(
      R"({"product": "NIFTY", "tick_id": 1, "price": 1, "volume": 0, "timestamp": 1736937000000000000})");
  ASSERT_TRUE(r) << r.error.message();
  EXPECT_EQ(r.value->timestamp, t0);
  const auto f = reference::decode_underlying(
      R"({"product": "NIFTY", "tick_id": 1, "price": 1, "volume": 0, "timestamp": 1736937000000000000})");
  ASSERT_TRUE(f);
  EXPECT_EQ(f.value->timestamp, t0);
}

// ---- the invalid corpus ---------------------------------------------------------------------------

TEST(Codec, InvalidCorpusRejectedByBothWithTheExpectedError) {
  std::istringstream lines(read_file("invalid.jsonl"));
  message_decoder d;
  std::string line;
  std::size_t n = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    const json c = json::parse(line);
    const std::string kind = c.at("kind"), message = c.at("message"), error = c.at("error");
    const both r = decode_both(d, kind, message);
    EXPECT_EQ(r.fast, "error " + error) << "case " << n << ": " << message;
    EXPECT_EQ(r.reference, "error " + error) << "case " << n << " (reference): " << message;
    ++n;
  }
  EXPECT_GE(n, 40U);
}

std::string quotes_json(std::size_t n) {
  std::string s = "[";
  for (std::size_t i = 0; i < n; ++i) {
    if (i) s += ",";
    s += R"({"strike":)" + std::to_string(1000 + i) + "}";
  }
  return s + "]";
}

TEST(Codec, SizeLimits) {
  const std::string chain = read_file("option_chain.json");
  message_decoder d;
  // 1 MiB + 1 byte: whitespace after the document.
  std::string big = chain;
  big.resize((std::size_t{1} << 20) + 1, ' ');
  both r = decode_both(d, "option_chain", big);
  EXPECT_EQ(r.fast, "error message: 1048577 bytes exceed the limit of 1048576");
  EXPECT_EQ(r.reference, r.fast);
  big.resize(std::size_t{1} << 20);  // exactly the limit: fine
  r = decode_both(d, "option_chain", big);
  EXPECT_EQ(r.fast.substr(0, 2), "ok");
  EXPECT_EQ(r.reference, r.fast);

  const std::string head =
      R"({"product": "NIFTY", "expiry": "2025-01-30", "chain_id": "c", "timestamp": "2025-01-15T10:30:00Z", "underlying_price": 21543.25, )";
  r = decode_both(d, "option_chain", head + R"("calls": )" + quotes_json(5001) + R"(, "puts": []})");
  EXPECT_EQ(r.fast, "error calls: 5001 quotes exceed the limit of 5000");
  EXPECT_EQ(r.reference, r.fast);
  r = decode_both(d, "option_chain", head + R"("calls": [], "puts": )" + quotes_json(5000) + "}");
  EXPECT_EQ(r.fast.substr(0, 2), "ok");
  EXPECT_EQ(r.reference, r.fast);
  // chain_id, part of the idempotency key: 1 to 128 bytes, any characters.
  const auto with_chain_id = [](const std::string& id) {
    return R"({"product": "NIFTY", "expiry": "2025-01-30", "chain_id": ")" + id +
           R"(", "timestamp": "2025-01-15T10:30:00Z", "underlying_price": 1, "calls": [], "puts": []})";
  };
  r = decode_both(d, "option_chain", with_chain_id(std::string(128, 'x')));
  EXPECT_EQ(r.fast.substr(0, 2), "ok");
  EXPECT_EQ(r.reference, r.fast);
  r = decode_both(d, "option_chain", with_chain_id(std::string(129, 'x')));
  EXPECT_EQ(r.fast, "error chain_id: longer than 128 bytes");
  EXPECT_EQ(r.reference, r.fast);
  // Configured limits; the count comes before errors inside the array.
  const codec_limits small{200, 2};
  message_decoder ds(small);
  const std::string three = head + R"("calls": [], "puts": [{"strike": 1}, {"strike": 2}, {"strike": -3}]})";
  r = decode_both(ds, "option_chain", three + std::string(250 - three.size(), ' '), small);
  EXPECT_EQ(r.fast, "error message: 250 bytes exceed the limit of 200");
  EXPECT_EQ(r.reference, r.fast);
  const codec_limits quotes{1 << 20, 2};
  message_decoder dq(quotes);
  r = decode_both(dq, "option_chain", head + R"("calls": [], "puts": [{"strike": 1}, {"strike": 2}, {"strike": -3}]})",
                  quotes);
  EXPECT_EQ(r.fast, "error puts: 3 quotes exceed the limit of 2");
  EXPECT_EQ(r.reference, r.fast);
}

// ---- valid messages ---------------------------------------------------------------------------------

TEST(Codec, ExamplesReadIdentically) {
  message_decoder d;
  const auto tick = d.decode_underlying(read_file("underlying.json"));
  ASSERT_TRUE(tick) << tick.error.message();
  EXPECT_EQ(tick.value->product, "NIFTY");
  EXPECT_EQ(tick.value->tick_id, 12345);
  EXPECT_EQ(tick.value->price, 21543.25);
  EXPECT_EQ(tick.value->volume, 150);
  EXPECT_EQ(tick.value->timestamp, t0);
  EXPECT_EQ(outcome(tick), outcome(reference::decode_underlying(read_file("underlying.json"))));

  const auto q = d.decode_quote(read_file("option_quote.json"));
  ASSERT_TRUE(q) << q.error.message();
  EXPECT_EQ(q.value->product, "NIFTY");
  EXPECT_EQ(q.value->symbol, "NIFTY25JAN21500CE");
  EXPECT_EQ(q.value->expiry, std::chrono::year_month_day{2025y / 1 / 30});
  EXPECT_EQ(q.value->strike, 21500);
  EXPECT_TRUE(q.value->is_call);
  EXPECT_EQ(q.value->bid, 180.5);
  EXPECT_EQ(q.value->ask, 182.0);
  EXPECT_EQ(q.value->last, 181.2);
  EXPECT_EQ(q.value->volume, 125000);
  EXPECT_EQ(q.value->open_interest, 2300000);
  EXPECT_EQ(q.value->underlying_price, 21543.25);
  EXPECT_EQ(q.value->quote_id, 998);
  EXPECT_EQ(q.value->timestamp, t0);
  EXPECT_EQ(outcome(q), outcome(reference::decode_quote(read_file("option_quote.json"))));

  const auto c = d.decode_chain(read_file("option_chain.json"));
  ASSERT_TRUE(c) << c.error.message();
  EXPECT_EQ(c.value->product, "NIFTY");
  EXPECT_EQ(c.value->expiry, std::chrono::year_month_day{2025y / 1 / 30});
  EXPECT_EQ(c.value->chain_id, "NIFTY-20250130-000123");
  EXPECT_EQ(c.value->timestamp, t0);
  EXPECT_EQ(c.value->underlying_price, 21543.25);
  ASSERT_EQ(c.value->calls.size(), 1U);
  ASSERT_EQ(c.value->puts.size(), 1U);
  EXPECT_EQ(c.value->calls.strike[0], 21500);
  EXPECT_EQ(c.value->calls.bid[0], 180.5);
  EXPECT_EQ(c.value->calls.ask[0], 182.0);
  EXPECT_EQ(c.value->calls.last[0], 181.2);
  EXPECT_EQ(c.value->calls.volume[0], 125000);
  EXPECT_EQ(c.value->calls.open_interest[0], 2300000);
  EXPECT_EQ(c.value->puts.strike[0], 21500);
  EXPECT_EQ(c.value->puts.bid[0], 120.0);
  EXPECT_EQ(c.value->puts.ask[0], 121.5);
  EXPECT_EQ(c.value->puts.last[0], 120.8);
  EXPECT_EQ(c.value->puts.volume[0], 98000);
  EXPECT_EQ(c.value->puts.open_interest[0], 2100000);
  EXPECT_FALSE(c.value->rate);
  EXPECT_FALSE(c.value->dividend_yield);
  EXPECT_EQ(outcome(c), outcome(reference::decode_chain(read_file("option_chain.json"))));
}

TEST(Codec, LenientPartsOfTheFormat) {
  message_decoder d;
  // Optional quote prices absent or null (-> 0), rate and dividend_yield, unknown fields, escapes,
  // option types in any case, +00:00, epoch ns.
  const std::string m =
      R"({"product": "NI\u0046TY", "x": {"nested": [1, {"a": null}]}, "expiry": "2025-01-30", "chain_id": "id \"1\"",
          "timestamp": "2025-01-15T10:30:00.25+00:00", "underlying_price": 0, "rate": -0.01, "dividend_yield": null,
          "calls": [{"strike": 1.5, "bid": null, "volume": null, "unknown": "x"}, {"strike": 3}],
          "puts": []})";
  const auto c = d.decode_chain(m);
  ASSERT_TRUE(c) << c.error.message();
  EXPECT_EQ(c.value->product, "NIFTY");
  EXPECT_EQ(c.value->chain_id, "id \"1\"");
  EXPECT_EQ(c.value->timestamp, t0 + 250000000);
  ASSERT_EQ(c.value->calls.size(), 2U);
  EXPECT_EQ(c.value->calls.strike[0], 1.5);
  EXPECT_EQ(c.value->calls.bid[0], 0);
  EXPECT_EQ(c.value->calls.ask[1], 0);
  EXPECT_EQ(c.value->rate, -0.01);
  EXPECT_FALSE(c.value->dividend_yield);
  EXPECT_EQ(outcome(c), outcome(reference::decode_chain(m)));
  for (const char* type : {"ce", "Call", "CALL", "pe", "pUt", "PE"}) {
    std::string q = read_file("option_quote.json");
    q.replace(q.find("\"CE\""), 4, std::string("\"") + type + "\"");
    const auto r = d.decode_quote(q);
    ASSERT_TRUE(r) << type << ": " << r.error.message();
    EXPECT_EQ(r.value->is_call, type[0] == 'c' || type[0] == 'C') << type;
    EXPECT_EQ(outcome(r), outcome(reference::decode_quote(q)));
  }
}

// ---- round trips ---------------------------------------------------------------------------------

class rng {
 public:
  explicit rng(std::uint64_t seed) : gen_(seed) {}
  double unit() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }
  double uniform(double a, double b) { return a + (b - a) * unit(); }
  std::uint64_t next() { return gen_(); }
  std::int64_t below(std::int64_t n) { return static_cast<std::int64_t>(gen_() % static_cast<std::uint64_t>(n)); }
  /// A price: 0, a round one, or random bits.
  double price() {
    switch (below(4)) {
      case 0: return 0;
      case 1: return static_cast<double>(below(100000)) / 20;
      case 2: return uniform(0, 1e5);
      default: return std::ldexp(unit(), static_cast<int>(below(80)) - 40);
    }
  }

 private:
  std::mt19937_64 gen_;
};

std::string random_name(rng& g, std::size_t max) {
  static constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-";
  std::string s(static_cast<std::size_t>(1 + g.below(static_cast<std::int64_t>(max))), 'x');
  for (char& c : s) c = alphabet[static_cast<std::size_t>(g.below(static_cast<std::int64_t>(alphabet.size())))];
  return s;
}

std::chrono::year_month_day random_date(rng& g) {
  return std::chrono::year_month_day{std::chrono::sys_days{std::chrono::days{g.below(100000)}}};
}

void fill_side(rng& g, chain_side& s, std::size_t n) {
  double k = g.uniform(0.01, 100);
  for (std::size_t i = 0; i < n; ++i) {
    k += g.uniform(0.001, 50);  // ascending: no duplicates
    // One statement per draw: the order of the draws is fixed (that of function arguments is not).
    const double strike = g.below(3) == 0 ? std::round(k) + static_cast<double>(i) * 1000 : k;
    const double bid = g.price(), ask = g.price(), last = g.price();
    const std::int64_t volume = g.below(100'000'000'000'001);  // up to the limit, 10^14
    s.push_back(strike, bid, ask, last, volume, g.below(10000000));
  }
  // Rounded strikes may have broken the order, not uniqueness (i * 1000 apart).
}

option_chain random_chain(rng& g, std::size_t max_quotes) {
  option_chain c;
  c.product = random_name(g, 32);
  c.expiry = random_date(g);
  c.chain_id = g.below(2) ? random_name(g, 40) : std::string("chain \"\\/\n\t\x01 \xC3\xA9 id");
  c.timestamp = static_cast<timestamp_ns>(g.next());
  c.underlying_price = g.price();
  fill_side(g, c.calls, static_cast<std::size_t>(g.below(static_cast<std::int64_t>(max_quotes) + 1)));
  fill_side(g, c.puts, static_cast<std::size_t>(g.below(static_cast<std::int64_t>(max_quotes) + 1)));
  if (g.below(2)) c.rate = g.uniform(-0.1, 0.2);
  if (g.below(2)) c.dividend_yield = g.below(2) ? 0.0 : g.uniform(0, 0.1);
  return c;
}

TEST(Codec, RoundTripsRandomMessages) {
  rng g(31415);
  message_decoder d;
  std::string text;
  for (int i = 0; i < 500; ++i) {
    const option_chain c = random_chain(g, i % 50 == 0 ? 300 : 12);
    text.clear();
    encode(text, c);
    const auto back = d.decode_chain(text);
    ASSERT_TRUE(back) << back.error.message() << "\n" << text;
    EXPECT_EQ(encoded(*back.value), text);
    // Field by field for the parts encode could hide.
    EXPECT_EQ(back.value->chain_id, c.chain_id);
    EXPECT_EQ(back.value->timestamp, c.timestamp);
    EXPECT_EQ(back.value->calls.strike, c.calls.strike);
    EXPECT_EQ(back.value->puts.bid, c.puts.bid);
    EXPECT_EQ(back.value->calls.volume, c.calls.volume);
    EXPECT_EQ(back.value->rate, c.rate);
    EXPECT_EQ(back.value->dividend_yield, c.dividend_yield);
    const auto ref = reference::decode_chain(text);
    ASSERT_TRUE(ref) << ref.error.message();
    EXPECT_EQ(encoded(*ref.value), text);

    underlying_tick t{random_name(g, 32), static_cast<std::int64_t>(g.next()), g.price(), g.below(1000000),
                      static_cast<timestamp_ns>(g.next())};
    const auto tb = d.decode_underlying(encoded(t));
    ASSERT_TRUE(tb) << tb.error.message();
    EXPECT_EQ(encoded(*tb.value), encoded(t));
    EXPECT_EQ(tb.value->tick_id, t.tick_id);
    EXPECT_EQ(tb.value->price, t.price);

    option_quote q{random_name(g, 32),
                   random_name(g, 64),
                   random_date(g),
                   g.uniform(0.5, 1e5),
                   g.below(2) == 0,
                   g.price(),
                   g.price(),
                   g.price(),
                   g.below(1000000),
                   g.below(1000000),
                   g.price(),
                   static_cast<std::int64_t>(g.next()),
                   static_cast<timestamp_ns>(g.next())};
    const auto qb = d.decode_quote(encoded(q));
    ASSERT_TRUE(qb) << qb.error.message();
    EXPECT_EQ(encoded(*qb.value), encoded(q));
    EXPECT_EQ(qb.value->is_call, q.is_call);
    EXPECT_EQ(qb.value->expiry, q.expiry);
    EXPECT_EQ(outcome(qb), outcome(reference::decode_quote(encoded(q))));
  }
}

TEST(Codec, TwoHundredQuoteChain) {
  option_chain c;
  c.product = "NIFTY";
  c.expiry = 2025y / 1 / 30;
  c.chain_id = "NIFTY-20250130-000200";
  c.timestamp = t0;
  c.underlying_price = 21543.25;
  for (int i = 0; i < 100; ++i) {
    const double k = 19000 + 50.0 * i;
    for (chain_side* s : {&c.calls, &c.puts}) {
      s->push_back(k, 100.05 + i, 101.55 + i, 100.8 + i, 1000 * i, 25000 + 75 * i);
    }
  }
  const std::string text = encoded(c);
  EXPECT_GT(text.size(), 15000U);
  message_decoder d;
  const auto back = d.decode_chain(text);
  ASSERT_TRUE(back) << back.error.message();
  EXPECT_EQ(encoded(*back.value), text);
  EXPECT_EQ(outcome(back), outcome(reference::decode_chain(text)));
  // The decoder is reused: the same text decodes the same way again, and after a failure.
  EXPECT_FALSE(d.decode_chain(text.substr(0, text.size() / 2)));
  EXPECT_EQ(outcome(d.decode_chain(text)), outcome(back));
}

// ---- robustness -----------------------------------------------------------------------------------

TEST(Codec, TruncationsAndMutationsNeverCrashAndBothDecodersAgree) {
  std::vector<std::pair<std::string, std::string>> seeds = {
      {"underlying", read_file("underlying.json")},
      {"option_quote", read_file("option_quote.json")},
      {"option_chain", read_file("option_chain.json")},
  };
  {
    rng g(7);
    seeds.emplace_back("option_chain", encoded(random_chain(g, 6)));
  }
  message_decoder d;
  std::size_t disagreements = 0, accepted = 0, total = 0;
  auto check = [&](const std::string& kind, const std::string& m) {
    const both r = decode_both(d, kind, m);
    ++total;
    if (r.fast.starts_with("ok")) ++accepted;
    if (r.fast != r.reference) {
      ++disagreements;
      ADD_FAILURE() << kind << " " << json(m).dump(-1, ' ', true, json::error_handler_t::replace)
                    << "\n fast: " << r.fast << "\n  ref: " << r.reference;
    }
  };
  for (const auto& [kind, m] : seeds) {
    for (std::size_t n = 0; n <= m.size(); ++n) check(kind, m.substr(0, n));
  }
  rng g(99);
  static constexpr std::string_view tokens[] = {"{",        "}",
                                                "[",        "]",
                                                ",",        ":",
                                                "\"",       "\\",
                                                "-",        "0",
                                                "1e400",    "null",
                                                "true",     "\"a\"",
                                                " ",        "\xff",
                                                "\xC3\xA9", "\x01",
                                                "\\u0000",  "e",
                                                ".",        "9223372036854775808",
                                                "-1",       "\"strike\":1,"};
  // OPTARO_CODEC_FUZZ_ITERATIONS=n runs longer (e.g. under the sanitizers); 20,000 by default.
  const char* env = std::getenv("OPTARO_CODEC_FUZZ_ITERATIONS");
  const long iterations = env != nullptr ? std::strtol(env, nullptr, 10) : 20000;
  for (long i = 0; i < iterations && disagreements < 20; ++i) {
    const auto& [kind, seed] = seeds[static_cast<std::size_t>(g.below(static_cast<std::int64_t>(seeds.size())))];
    std::string m = seed;
    const int edits = 1 + static_cast<int>(g.below(3));
    for (int e = 0; e < edits && !m.empty(); ++e) {
      const auto pos = static_cast<std::size_t>(g.below(static_cast<std::int64_t>(m.size())));
      switch (g.below(4)) {
        case 0: m[pos] = static_cast<char>(g.next()); break;
        case 1: m.erase(pos, 1 + static_cast<std::size_t>(g.below(4))); break;
        case 2: m.insert(pos, tokens[static_cast<std::size_t>(g.below(std::size(tokens)))]); break;
        default: m[pos] = "{}[],:\"0-. "[g.below(12)]; break;
      }
    }
    check(kind, m);
  }
  for (int i = 0; i < 3000; ++i) {  // random bytes
    std::string m(static_cast<std::size_t>(g.below(64)), ' ');
    for (char& c : m) c = static_cast<char>(g.next());
    check("option_chain", m);
  }
  EXPECT_EQ(disagreements, 0U);
  EXPECT_GT(accepted, 0U);
  RecordProperty("messages", static_cast<int>(total));
}

TEST(Codec, DeepNestingIsRejectedNotACrash) {
  message_decoder d;
  const std::string deep = R"({"x": )" + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_EQ(d.decode_chain(deep).error.message(), "message: not valid JSON");
  EXPECT_EQ(reference::decode_chain(deep).error.message(), "message: not valid JSON");
}

TEST(Codec, NestingLimitIsTheSameForBothDecoders) {
  message_decoder d;
  const std::string tick = read_file("underlying.json");
  // The document is container 1; "x" holds n more. 512 containers in all are allowed.
  for (const std::size_t n : {510U, 511U, 512U, 600U}) {
    std::string m = tick.substr(0, tick.rfind('}')) + R"(, "x": )" + std::string(n, '[') + std::string(n, ']') + "}";
    const both r = decode_both(d, "underlying", m);
    EXPECT_EQ(r.fast, r.reference) << n;
    EXPECT_EQ(r.fast.starts_with("ok"), n <= 511) << n;
  }
  // Inside a chain quote (container 3).
  const std::string head =
      R"({"product": "N", "expiry": "2025-01-30", "chain_id": "c", "timestamp": 0, "underlying_price": 1, "puts": [], "calls": [{"strike": 1, "x": )";
  for (const std::size_t n : {508U, 509U, 510U}) {
    const std::string m = head + std::string(n, '[') + std::string(n, ']') + "}]}";
    const both r = decode_both(d, "option_chain", m);
    EXPECT_EQ(r.fast, r.reference) << n;
    EXPECT_EQ(r.fast.starts_with("ok"), n <= 509) << n;
  }
}

TEST(Codec, InvalidUtf8IsNotValidJson) {
  message_decoder d;
  const std::string chain = read_file("option_chain.json");
  for (const std::string& bad : {std::string("\xff"), std::string("\xC0\xAF"), std::string("\xED\xA0\x80"),
                                 std::string("\xE2\x82"), std::string("\xF4\x90\x80\x80"), std::string("\x80")}) {
    std::string m = chain;
    m.replace(m.find("NIFTY-"), 5, "NI" + bad + "Y");  // inside chain_id
    const both r = decode_both(d, "option_chain", m);
    EXPECT_EQ(r.fast, "error message: not valid JSON");
    EXPECT_EQ(r.reference, r.fast);
    m = chain;
    m.replace(m.find("\"product\""), 0, "\"x\": \"" + bad + "\", ");  // in an unknown field
    EXPECT_EQ(d.decode_chain(m).error.message(), "message: not valid JSON");
  }
  // Valid multi-byte UTF-8 and escapes in chain_id are kept as they are.
  std::string m = chain;
  m.replace(m.find("NIFTY-"), 6, "\xE2\x82\xAC\\u20AC\\ud83d\\ude00-");
  const auto c = d.decode_chain(m);
  ASSERT_TRUE(c) << c.error.message();
  EXPECT_EQ(c.value->chain_id.substr(0, 10), "\xE2\x82\xAC\xE2\x82\xAC\xF0\x9F\x98\x80");
  EXPECT_EQ(outcome(c), outcome(reference::decode_chain(m)));
}

TEST(Codec, NumbersAreReadExactly) {
  // simdjson 3.0.1 loses digits of long mantissas and rejects integers beyond 64 bits; the decoder
  // reads numbers from their text (strtod semantics, as nlohmann/json).
  message_decoder d;
  const std::string chain = read_file("option_chain.json");
  for (const char* text :
       {"0.0160955089223372036854775808427638933", "123456789012345678901234567890",
        "1.2400275057192889e-092233720368547758088", "4.9e-324", "1e-400", "-0", "0.1e1", "1E+2",
        "1.7976931348623157e308",
        "99999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
        "99999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
        "99999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
        "9999999999999999999999999999999999999999999999999999999999999999999999e-100"}) {
    std::string m = chain;
    m.replace(m.rfind('}'), 1, std::string(R"(, "rate": )") + text + "}");
    const auto c = d.decode_chain(m);
    ASSERT_TRUE(c) << text << ": " << c.error.message();
    EXPECT_EQ(c.value->rate, std::strtod(text, nullptr)) << text;
    EXPECT_EQ(outcome(c), outcome(reference::decode_chain(m))) << text;
  }
  for (const char* text : {"1e309", "-1e400", "01", "1.", ".5", "+1", "1e", "0x10", "NaN", "Infinity", "-"}) {
    std::string m = chain;
    m.replace(m.rfind('}'), 1, std::string(R"(, "rate": )") + text + "}");
    EXPECT_EQ(d.decode_chain(m).error.message(), "message: not valid JSON") << text;
    EXPECT_EQ(reference::decode_chain(m).error.message(), "message: not valid JSON") << text;
  }
}

TEST(Codec, IntegersBeyond64BitsLeaveStringsAlone) {
  // Such integers are read as doubles; the digits inside strings (escaped quotes included) stay text.
  message_decoder d;
  std::string m = read_file("option_chain.json");
  m.replace(m.find("NIFTY-"), 6, R"(a\"-123456789012345678901234567890\\)");
  m.replace(m.find("21543.25"), 8, "123456789012345678901234567890");
  const auto c = d.decode_chain(m);
  ASSERT_TRUE(c) << c.error.message();
  EXPECT_EQ(c.value->chain_id.substr(0, 34), R"(a"-123456789012345678901234567890\)");
  EXPECT_EQ(c.value->underlying_price, 123456789012345678901234567890.0);
  EXPECT_EQ(outcome(c), outcome(reference::decode_chain(m)));
}

// ---- the enriched chain ---------------------------------------------------------------------------

TEST(Codec, EnrichedChainCarriesEveryField) {
  message_decoder d;
  option_chain c = *d.decode_chain(read_file("option_chain.json")).value;
  c.calls.push_back(21600, 0, 0, 0, 0, 7);
  chain_analytics a;
  a.time_to_expiry = 0.04;
  a.forward = 21550.5;
  a.rate = 0.07;
  a.dividend_yield = 0.01;
  a.pcr_oi = 0.9;
  a.pcr_volume = std::nullopt;
  a.pcr_oi_window = 1.25;
  a.total_call_oi = 2300007;
  a.total_put_oi = 2100000;
  a.total_call_volume = 125000;
  a.total_put_volume = 98000;
  a.max_pain = 21500;
  a.atm_strike = 21500;
  a.atm_iv = 0.13;
  a.risk_reversal_25d = -0.02;
  a.butterfly_25d = std::nullopt;
  a.expected_move = 560.25;
  a.max_call_oi_strike = 21500;
  a.max_put_oi_strike = 21500;
  a.gamma_exposure = -1.5e9;
  a.delta_exposure = 2.25e8;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  a.calls = {{181.25, 0.14, quote_iv_status::ok, 0.55, 0.0003, 12.5, -7.25, 4.5},
             {nan, nan, quote_iv_status::no_price, nan, nan, nan, nan, nan}};
  a.puts = {{120.75, 0.12, quote_iv_status::ok, -0.45, 0.0003, 12.0, -6.5, -4.0}};
  a.strikes = {21500, 21600};
  a.pcr_oi_by_strike = {2100000.0 / 2300000.0, 0.0};
  std::string out = "prefix:";  // appends
  encode_enriched_chain(out, c, a, t0 + 1500000, 42.5);
  ASSERT_TRUE(out.starts_with("prefix:"));
  const json j = json::parse(out.substr(7));

  EXPECT_EQ(j.at("product"), "NIFTY");
  EXPECT_EQ(j.at("expiry"), "2025-01-30");
  EXPECT_EQ(j.at("chain_id"), "NIFTY-20250130-000123");
  EXPECT_EQ(j.at("timestamp"), "2025-01-15T10:30:00Z");
  EXPECT_EQ(j.at("underlying_price"), 21543.25);
  EXPECT_EQ(j.at("time_to_expiry"), 0.04);
  EXPECT_EQ(j.at("forward"), 21550.5);
  EXPECT_EQ(j.at("rate"), 0.07);
  EXPECT_EQ(j.at("dividend_yield"), 0.01);
  EXPECT_EQ(j.at("pcr_oi"), 0.9);
  EXPECT_TRUE(j.at("pcr_volume").is_null());
  EXPECT_EQ(j.at("total_call_oi"), 2300007);
  EXPECT_EQ(j.at("total_put_oi"), 2100000);
  EXPECT_EQ(j.at("total_call_volume"), 125000);
  EXPECT_EQ(j.at("total_put_volume"), 98000);
  EXPECT_EQ(j.at("max_pain"), 21500);
  EXPECT_EQ(j.at("atm_strike"), 21500);
  EXPECT_EQ(j.at("atm_iv"), 0.13);
  EXPECT_EQ(j.at("risk_reversal_25d"), -0.02);
  EXPECT_TRUE(j.at("butterfly_25d").is_null());
  EXPECT_EQ(j.at("expected_move"), 560.25);
  EXPECT_EQ(j.at("pcr_oi_window"), 1.25);
  EXPECT_TRUE(j.at("pcr_volume_window").is_null());
  EXPECT_EQ(j.at("max_call_oi_strike"), 21500);
  EXPECT_EQ(j.at("max_put_oi_strike"), 21500);
  EXPECT_EQ(j.at("gamma_exposure"), -1.5e9);
  EXPECT_EQ(j.at("delta_exposure"), 2.25e8);
  EXPECT_EQ(j.at("enriched_at"), "2025-01-15T10:30:00.0015Z");
  EXPECT_EQ(j.at("processing_us"), 42.5);

  ASSERT_EQ(j.at("calls").size(), 2U);
  ASSERT_EQ(j.at("puts").size(), 1U);
  const json& q0 = j.at("calls")[0];
  EXPECT_EQ(q0.at("strike"), 21500);
  EXPECT_EQ(q0.at("bid"), 180.5);
  EXPECT_EQ(q0.at("ask"), 182.0);
  EXPECT_EQ(q0.at("last"), 181.2);
  EXPECT_EQ(q0.at("volume"), 125000);
  EXPECT_EQ(q0.at("open_interest"), 2300000);
  EXPECT_EQ(q0.at("price"), 181.25);
  EXPECT_EQ(q0.at("iv"), 0.14);
  EXPECT_EQ(q0.at("iv_status"), std::string(to_string(quote_iv_status::ok)));
  EXPECT_EQ(q0.at("delta"), 0.55);
  EXPECT_EQ(q0.at("gamma"), 0.0003);
  EXPECT_EQ(q0.at("vega"), 12.5);
  EXPECT_EQ(q0.at("theta"), -7.25);
  EXPECT_EQ(q0.at("rho"), 4.5);
  const json& q1 = j.at("calls")[1];
  EXPECT_EQ(q1.at("open_interest"), 7);
  for (const char* k : {"price", "iv", "delta", "gamma", "vega", "theta", "rho"}) EXPECT_TRUE(q1.at(k).is_null()) << k;
  EXPECT_EQ(q1.at("iv_status"), "no_price");
  const json& p0 = j.at("puts")[0];
  EXPECT_EQ(p0.at("delta"), -0.45);
  EXPECT_EQ(p0.at("rho"), -4.0);

  ASSERT_EQ(j.at("strikes").size(), 2U);
  EXPECT_EQ(j.at("strikes")[0].at("strike"), 21500);
  EXPECT_EQ(j.at("strikes")[0].at("pcr_oi"), 2100000.0 / 2300000.0);
  EXPECT_FALSE(j.at("strikes")[0].contains("call_oi_change"));
  EXPECT_EQ(j.at("strikes")[1].at("pcr_oi"), 0.0);

  // With a previous snapshot: OI changes per strike; rate and dividend_yield overrides pass through.
  a.call_oi_change = {-100, 7};
  a.put_oi_change = {250, 0};
  c.rate = 0.065;
  out.clear();
  encode_enriched_chain(out, c, a, t0, 1);
  const json k = json::parse(out);
  EXPECT_EQ(k.at("strikes")[0].at("call_oi_change"), -100);
  EXPECT_EQ(k.at("strikes")[1].at("put_oi_change"), 0);
  EXPECT_EQ(k.at("rate"), 0.07);  // the analytics' rate (the override already applied by enrich_chain)
  EXPECT_EQ(k.at("enriched_at"), "2025-01-15T10:30:00Z");
  // Every key once (nlohmann would keep the last of a duplicate silently).
  EXPECT_EQ(std::count(out.begin(), out.end(), '"') % 2, 0);
  EXPECT_EQ(out.find("\"rate\""), out.rfind("\"rate\""));
}

TEST(Codec, EnrichChainJsonRejectsWithTheDecoderError) {
  const auto r = enrich_chain_json(R"({"product": "NI FTY"})", chain_config{}, t0);
  EXPECT_FALSE(r);
  EXPECT_EQ(r.error.message(), R"(product: does not match [A-Za-z0-9_.-]{1,32} ("NI FTY"))");
  const auto big =
      enrich_chain_json(read_file("option_chain.json"), chain_config{}, t0, nullptr, codec_limits{100, 10});
  EXPECT_FALSE(big);
  EXPECT_EQ(big.error.field, "message");
}

TEST(Codec, EnrichChainJsonOnTheExample) {
  const auto r = enrich_chain_json(read_file("option_chain.json"), chain_config{}, t0);
  ASSERT_TRUE(r) << r.error.message();
  const json j = json::parse(*r.value);
  for (const char* k : {"product",
                        "expiry",
                        "chain_id",
                        "timestamp",
                        "underlying_price",
                        "calls",
                        "puts",
                        "time_to_expiry",
                        "forward",
                        "rate",
                        "dividend_yield",
                        "pcr_oi",
                        "pcr_volume",
                        "total_call_oi",
                        "total_put_oi",
                        "total_call_volume",
                        "total_put_volume",
                        "max_pain",
                        "atm_strike",
                        "atm_iv",
                        "risk_reversal_25d",
                        "butterfly_25d",
                        "expected_move",
                        "pcr_oi_window",
                        "pcr_volume_window",
                        "max_call_oi_strike",
                        "max_put_oi_strike",
                        "gamma_exposure",
                        "delta_exposure",
                        "strikes",
                        "enriched_at",
                        "processing_us"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  for (const char* k : {"strike", "bid", "ask", "last", "volume", "open_interest", "price", "iv", "iv_status", "delta",
                        "gamma", "vega", "theta", "rho"}) {
    EXPECT_TRUE(j.at("calls")[0].contains(k)) << k;
    EXPECT_TRUE(j.at("puts")[0].contains(k)) << k;
  }
  EXPECT_EQ(j.at("enriched_at"), "2025-01-15T10:30:00Z");
  EXPECT_TRUE(j.at("processing_us").is_number());
  EXPECT_GT(j.at("processing_us").get<double>(), 0.0);
}

TEST(Encode, CandleMessagesExactly) {
  EXPECT_EQ(optaro::window_label(std::chrono::seconds{60}), "1m");
  EXPECT_EQ(optaro::window_label(std::chrono::seconds{900}), "15m");
  EXPECT_EQ(optaro::window_label(std::chrono::seconds{90}), "90s");

  const optaro::candle bar{1'736'937'000'000'000'000, 100, 103, 99.5, 101.25, 40, 101.5, 3};
  const optaro::labelled_candle one{"1m", bar};
  std::string out;
  optaro::encode_candle(out, "NIFTY", one);
  EXPECT_EQ(out,
            R"({"product":"NIFTY","window":"1m","start":"2025-01-15T10:30:00Z","open":100,"high":103,"low":99.5,)"
            R"("close":101.25,"volume":40,"vwap":101.5,"ticks":3})");

  optaro::candle no_volume = bar;
  no_volume.vwap = std::numeric_limits<double>::quiet_NaN();
  const optaro::labelled_candle both[] = {one, {"5m", no_volume}};
  out.clear();
  const optaro::underlying_tick tick{"NIFTY", 7, 101.25, 0, 1'736'937'030'000'000'000};
  optaro::encode_enriched_underlying(out, tick, both, false, 1'736'937'030'500'000'000, 12.5);
  EXPECT_EQ(out,
            R"({"product":"NIFTY","tick_id":7,"price":101.25,"volume":0,"timestamp":"2025-01-15T10:30:30Z",)"
            R"("ohlc":{"1m":{"start":"2025-01-15T10:30:00Z","open":100,"high":103,"low":99.5,"close":101.25,)"
            R"("volume":40,"vwap":101.5,"ticks":3},"5m":{"start":"2025-01-15T10:30:00Z","open":100,"high":103,)"
            R"("low":99.5,"close":101.25,"volume":40,"vwap":null,"ticks":3}},"late":false,)"
            R"("enriched_at":"2025-01-15T10:30:30.5Z","processing_us":12.5})");
  out.clear();
  optaro::encode_enriched_underlying(out, tick, {}, true, 1'736'937'030'500'000'000, 1);
  EXPECT_NE(out.find(R"("ohlc":{},"late":true,)"), std::string::npos) << out;
}

}  // namespace

// The JSON event log (src/event_log.cpp): exact lines at a fixed manual_clock time, escaping of every
// control character class, lines read back with nlohmann/json, non-finite doubles, level filtering,
// discarding loggers, and many threads writing whole lines.
#include <chrono>
#include <cstdint>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <optaro/clock.hpp>
#include <optaro/event_log.hpp>

namespace {

using namespace std::chrono_literals;
using optaro::event_logger;
using optaro::log_field;
using optaro::log_level;
using optaro::manual_clock;
using optaro::memory_event_sink;

// 2026-12-01T10:00:00.123456789Z
manual_clock::time_point fixed_time() {
  return manual_clock::time_point{std::chrono::sys_days{std::chrono::year{2026} / 12 / 1}} + 10h + 123456789ns;
}

constexpr std::string_view prefix = R"({"ts":"2026-12-01T10:00:00.123456789Z",)";

TEST(EventLog, ExactLineAtFixedTime) {
  const manual_clock clock{fixed_time()};
  memory_event_sink sink;
  const event_logger log{&sink, clock};
  const std::string product = "ES";
  log.log(log_level::info, "message_enriched",
          {{"kind", "option_chain"},
           {"product", product},
           {"channel", std::string_view{"market:option_chain"}},
           {"quotes", 42},
           {"offset", -7},
           {"bytes", std::uint64_t{18446744073709551615U}},
           {"min", std::numeric_limits<std::int64_t>::min()},
           {"latency_s", 0.1},
           {"ratio", 1e-7},
           {"ok", true},
           {"retry", false},
           {"receipt", nullptr}});
  log.log(log_level::error, "store_failed");

  const std::vector<std::string> lines = sink.lines();
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[0], std::string{prefix} +
                          R"("level":"info","event":"message_enriched","kind":"option_chain","product":"ES",)"
                          R"("channel":"market:option_chain","quotes":42,"offset":-7,"bytes":18446744073709551615,)"
                          R"("min":-9223372036854775808,"latency_s":0.1,"ratio":1e-07,"ok":true,"retry":false,)"
                          R"("receipt":null})");
  EXPECT_EQ(lines[1], std::string{prefix} + R"("level":"error","event":"store_failed"})");
}

TEST(EventLog, TimestampFollowsTheClock) {
  manual_clock clock{manual_clock::time_point{std::chrono::sys_days{std::chrono::year{2026} / 12 / 1}}};
  memory_event_sink sink;
  const event_logger log{&sink, clock, log_level::debug};
  log.log(log_level::debug, "a");
  clock.advance(1500ms);
  log.log(log_level::warning, "b");
  const std::vector<std::string> lines = sink.lines();
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[0], R"({"ts":"2026-12-01T00:00:00Z","level":"debug","event":"a"})");
  EXPECT_EQ(lines[1], R"({"ts":"2026-12-01T00:00:01.5Z","level":"warning","event":"b"})");
}

TEST(EventLog, FieldTypes) {
  EXPECT_TRUE(std::holds_alternative<bool>(log_field("k", true).value));
  EXPECT_TRUE(std::holds_alternative<std::int64_t>(log_field("k", 1).value));
  EXPECT_TRUE(std::holds_alternative<std::int64_t>(log_field("k", short{-1}).value));
  EXPECT_TRUE(std::holds_alternative<std::uint64_t>(log_field("k", 1U).value));
  EXPECT_TRUE(std::holds_alternative<std::uint64_t>(log_field("k", std::size_t{1}).value));
  EXPECT_TRUE(std::holds_alternative<double>(log_field("k", 1.0).value));
  EXPECT_TRUE(std::holds_alternative<double>(log_field("k", 1.0F).value));
  EXPECT_TRUE(std::holds_alternative<std::nullptr_t>(log_field("k", nullptr).value));
  EXPECT_TRUE(std::holds_alternative<std::string_view>(log_field("k", "v").value));
  const char* none = nullptr;
  EXPECT_TRUE(std::holds_alternative<std::nullptr_t>(log_field("k", none).value));
}

TEST(EventLog, EscapesEveryControlCharacterClass) {
  std::string all_controls;
  for (int c = 0; c < 0x20; ++c) all_controls += static_cast<char>(c);
  const std::string text = all_controls + "\"quote\" back\\slash /slash \x7f caf\xc3\xa9 \xe2\x82\xac";
  const std::string expected_text =
      R"("\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f)"
      R"(\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f)"
      "\\\"quote\\\" back\\\\slash /slash \x7f caf\xc3\xa9 \xe2\x82\xac\"";

  std::string direct;
  optaro::append_json_string(direct, text);
  EXPECT_EQ(direct, expected_text);

  const manual_clock clock{fixed_time()};
  memory_event_sink sink;
  const event_logger log{&sink, clock};
  // The event name and the keys are escaped as well.
  log.log(log_level::info, "ev\"ent\n", {{"k\ney\"", text}, {"", ""}});
  const std::vector<std::string> lines = sink.lines();
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_EQ(lines[0], std::string{prefix} + R"("level":"info","event":"ev\"ent\n","k\ney\"":)" + expected_text +
                          R"(,"":""})");

  const nlohmann::json parsed = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(parsed.at("event").get<std::string>(), "ev\"ent\n");
  EXPECT_EQ(parsed.at("k\ney\"").get<std::string>(), text);
  EXPECT_EQ(parsed.at("").get<std::string>(), "");
}

TEST(EventLog, LinesParseBackToTheSameValues) {
  const manual_clock clock{fixed_time()};
  memory_event_sink sink;
  const event_logger log{&sink, clock};
  const std::vector<double> doubles{0.0, -0.0, 1.0, -2.5, 0.1, 1.0 / 3.0, 1e300, 5e-324, 123456789.125,
                                    std::numeric_limits<double>::max(), std::numeric_limits<double>::min()};
  for (const double d : doubles) {
    log.log(log_level::info, "number", {{"d", d}, {"i", std::int64_t{-1234567890123}}, {"u", std::uint64_t{42}}});
  }
  const std::vector<std::string> lines = sink.lines();
  ASSERT_EQ(lines.size(), doubles.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const nlohmann::json j = nlohmann::json::parse(lines[i]);
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j.size(), 6U);
    EXPECT_EQ(j.at("ts"), "2026-12-01T10:00:00.123456789Z");
    EXPECT_EQ(j.at("level"), "info");
    EXPECT_EQ(j.at("event"), "number");
    EXPECT_EQ(j.at("d").get<double>(), doubles[i]) << lines[i];  // shortest round trip: bit-exact
    EXPECT_EQ(j.at("i").get<std::int64_t>(), -1234567890123);
    EXPECT_EQ(j.at("u").get<std::uint64_t>(), 42U);
  }
  // Fields keep their order (nlohmann's ordered_json preserves it).
  const nlohmann::ordered_json ordered = nlohmann::ordered_json::parse(lines[0]);
  std::vector<std::string> keys;
  for (const auto& item : ordered.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"ts", "level", "event", "d", "i", "u"}));
}

TEST(EventLog, NonFiniteDoublesAreNull) {
  const manual_clock clock{fixed_time()};
  memory_event_sink sink;
  const event_logger log{&sink, clock};
  log.log(log_level::warning, "odd",
          {{"nan", std::numeric_limits<double>::quiet_NaN()},
           {"inf", std::numeric_limits<double>::infinity()},
           {"ninf", -std::numeric_limits<double>::infinity()},
           {"neg_zero", -0.0}});
  const std::vector<std::string> lines = sink.lines();
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_EQ(lines[0],
            std::string{prefix} + R"("level":"warning","event":"odd","nan":null,"inf":null,"ninf":null,"neg_zero":-0})");
  const nlohmann::json j = nlohmann::json::parse(lines[0]);
  EXPECT_TRUE(j.at("nan").is_null());
  EXPECT_TRUE(j.at("inf").is_null());
  EXPECT_TRUE(j.at("ninf").is_null());
}

TEST(EventLog, MinimumLevelFilters) {
  const manual_clock clock{fixed_time()};
  memory_event_sink sink;
  const event_logger log{&sink, clock, log_level::warning};
  EXPECT_EQ(log.minimum(), log_level::warning);
  EXPECT_FALSE(log.enabled(log_level::debug));
  EXPECT_FALSE(log.enabled(log_level::info));
  EXPECT_TRUE(log.enabled(log_level::warning));
  EXPECT_TRUE(log.enabled(log_level::error));
  log.debug("d");
  log.info("i");
  log.warning("w");
  log.error("e", {{"n", 1}});
  const std::vector<std::string> lines = sink.lines();
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(lines[0], std::string{prefix} + R"("level":"warning","event":"w"})");
  EXPECT_EQ(lines[1], std::string{prefix} + R"("level":"error","event":"e","n":1})");

  const event_logger defaults{&sink, clock};  // info and above by default
  EXPECT_FALSE(defaults.enabled(log_level::debug));
  EXPECT_TRUE(defaults.enabled(log_level::info));

  sink.clear();
  EXPECT_TRUE(sink.lines().empty());
}

TEST(EventLog, NullSinkAndDefaultLoggerDiscard) {
  const event_logger discard;
  EXPECT_FALSE(discard.enabled(log_level::error));
  discard.log(log_level::error, "nothing", {{"a", 1}});  // no clock either: must not touch it

  const manual_clock clock{fixed_time()};
  const event_logger null_sink{nullptr, clock, log_level::debug};
  EXPECT_FALSE(null_sink.enabled(log_level::error));
  null_sink.error("nothing");
}

TEST(EventLog, LevelNames) {
  EXPECT_EQ(optaro::to_string(log_level::debug), "debug");
  EXPECT_EQ(optaro::to_string(log_level::info), "info");
  EXPECT_EQ(optaro::to_string(log_level::warning), "warning");
  EXPECT_EQ(optaro::to_string(log_level::error), "error");
}

TEST(EventLog, StreamSinkWritesLinesWithNewlines) {
  std::ostringstream out;
  optaro::stream_event_sink sink{out};
  const manual_clock clock{fixed_time()};
  const event_logger log{&sink, clock};
  log.info("one");
  log.info("two", {{"x", "y"}});
  EXPECT_EQ(out.str(), std::string{prefix} + R"("level":"info","event":"one"})" + "\n" + std::string{prefix} +
                           R"("level":"info","event":"two","x":"y"})" + "\n");
}

TEST(EventLog, ManyThreadsWriteIntactLines) {
  constexpr int threads = 8;
  constexpr int per_thread = 2000;
  const manual_clock clock{fixed_time()};
  memory_event_sink sink;
  const event_logger log{&sink, clock};
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&log, t] {
      const std::string padding(static_cast<std::size_t>(50 + t * 10), static_cast<char>('a' + t));
      for (int i = 0; i < per_thread; ++i) {
        log.info("tick", {{"thread", t}, {"i", i}, {"padding", padding}});
      }
    });
  }
  for (std::thread& t : pool) t.join();

  const std::vector<std::string> lines = sink.lines();
  ASSERT_EQ(lines.size(), std::size_t{threads} * per_thread);
  std::vector<std::set<int>> seen(threads);
  for (const std::string& line : lines) {
    const nlohmann::json j = nlohmann::json::parse(line);
    const int t = j.at("thread").get<int>();
    ASSERT_GE(t, 0);
    ASSERT_LT(t, threads);
    EXPECT_EQ(j.at("padding").get<std::string>(),
              std::string(static_cast<std::size_t>(50 + t * 10), static_cast<char>('a' + t)));
    EXPECT_TRUE(seen[static_cast<std::size_t>(t)].insert(j.at("i").get<int>()).second) << "duplicate: " << line;
  }
  for (const std::set<int>& s : seen) {
    ASSERT_EQ(s.size(), static_cast<std::size_t>(per_thread));
    EXPECT_EQ(*s.begin(), 0);
    EXPECT_EQ(*s.rbegin(), per_thread - 1);
  }
}

}  // namespace

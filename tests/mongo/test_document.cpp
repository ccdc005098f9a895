// The MongoDB adapter's pure part, without a server: URI redaction, and the enriched JSON -> BSON -> JSON
// conversion (dates, nested arrays of objects, nulls, big integers, unicode and control characters).
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <optaro/codec.hpp>
#include <optaro/mongo/store.hpp>

#include "mongo/document.hpp"

namespace {

using json = nlohmann::json;
namespace detail = optaro::mongo::detail;

std::string round_trip(const std::string& text, const optaro::stored_document* identity = nullptr) {
  return detail::bson_to_json(detail::json_to_bson(text, identity));
}

TEST(MongoUri, RedactsThePasswordAndNothingElse) {
  struct row {
    const char* uri;
    const char* redacted;
  };
  const std::vector<row> table = {
      {"mongodb://127.0.0.1:27017/", "mongodb://127.0.0.1:27017/"},
      {"mongodb://alice:s3cret@db.example:27017/optaro", "mongodb://alice:***@db.example:27017/optaro"},
      {"mongodb://alice:s3cret@h1:1,h2:2/?replicaSet=rs0", "mongodb://alice:***@h1:1,h2:2/?replicaSet=rs0"},
      {"mongodb+srv://bob:p%40ss%3Aw0rd@cluster.example/", "mongodb+srv://bob:***@cluster.example/"},
      {"mongodb://alice@h/?authMechanism=MONGODB-X509", "mongodb://alice@h/?authMechanism=MONGODB-X509"},
      {"mongodb://alice:@h/", "mongodb://alice:@h/"},
      {"mongodb://alice:s3cret@h", "mongodb://alice:***@h"},
      {"mongodb://:s3cret@h/", "mongodb://:***@h/"},
      {"mongodb://h/?tls=true&tlsCertificateKeyFilePassword=k3y&w=1",
       "mongodb://h/?tls=true&tlsCertificateKeyFilePassword=***&w=1"},
      {"not a uri", "not a uri"},
      {"", ""},
  };
  for (const row& r : table) EXPECT_EQ(optaro::mongo::redact_uri(r.uri), r.redacted) << r.uri;
}

TEST(MongoUri, BadUriIsInvalidArgumentWithoutThePassword) {
  optaro::mongo::store_options options;
  options.uri = "mongodb://alice:s3cret@h:notaport/";
  try {
    const optaro::mongo::document_store store{options};
    FAIL() << "accepted a bad URI";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string{e.what()}.find("s3cret"), std::string::npos) << e.what();
    EXPECT_NE(std::string{e.what()}.find("***"), std::string::npos) << e.what();
  }
}

TEST(MongoUri, ScrubAndRetryableCodes) {
  EXPECT_EQ(detail::scrub("a pw b pw", "pw"), "a *** b ***");
  EXPECT_EQ(detail::scrub("text", ""), "text");
  for (const std::int64_t code : {6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436})
    EXPECT_TRUE(detail::is_retryable_server_code(code)) << code;
  for (const std::int64_t code : {1, 2, 11000, 13, 18, 85, 86, 121})
    EXPECT_FALSE(detail::is_retryable_server_code(code)) << code;
}

TEST(MongoDocument, TimestampsBecomeDatesTruncatedToMilliseconds) {
  const std::string in =
      R"({"product":"NIFTY","tick_id":1,"timestamp":"2025-01-15T10:30:00.123456789Z",)"
      R"("enriched_at":"2025-01-15T10:30:01Z","ohlc":{"1m":{"start":"2025-01-15T10:30:00.5Z"}}})";
  const json out = json::parse(round_trip(in));
  EXPECT_EQ(out["timestamp"], "2025-01-15T10:30:00.123Z");
  EXPECT_EQ(out["enriched_at"], "2025-01-15T10:30:01Z");
  // Only the top-level times are dates: a nested one stays the text it was.
  EXPECT_EQ(out["ohlc"]["1m"]["start"], "2025-01-15T10:30:00.5Z");
  // Before 1970 the truncation is towards the past too.
  EXPECT_EQ(json::parse(round_trip(R"({"timestamp":"1969-12-31T23:59:59.9995Z"})"))["timestamp"],
            "1969-12-31T23:59:59.999Z");
  // Integer epoch nanoseconds are a timestamp as well; text that is not one stays text.
  EXPECT_EQ(json::parse(round_trip(R"({"timestamp":1736937000000000000})"))["timestamp"], "2025-01-15T10:30:00Z");
  EXPECT_EQ(json::parse(round_trip(R"({"timestamp":"soon"})"))["timestamp"], "soon");
}

TEST(MongoDocument, NestedArraysOfObjectsNullsAndNumbersRoundTrip) {
  const std::string in =
      R"({"product":"NIFTY","expiry":"2025-01-30","chain_id":"NIFTY-1","underlying_price":21543.25,)"
      R"("calls":[{"strike":21500,"bid":180.5,"iv":null,"iv_status":"ok","delta":0.5123456789012345},)"
      R"({"strike":21600,"bid":0.1,"iv":0.12,"iv_status":"no_price","delta":-1e-300}],"puts":[],)"
      R"("pcr_oi":null,"flags":[true,false,null,[1,2]],"big":9223372036854775807,"small":-9223372036854775808,)"
      R"("huge":18446744073709551615,"whole":21500.0,"tiny":5e-324,"neg_zero":-0.0,"empty":{}})";
  const std::string text = round_trip(in);
  const json out = json::parse(text);
  EXPECT_EQ(out, json::parse(in)) << text;
  // Integers stay integers (exactly, at the int64 limits); doubles are written as std::to_chars does.
  EXPECT_NE(text.find(R"("big":9223372036854775807)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("small":-9223372036854775808)"), std::string::npos) << text;
  EXPECT_TRUE(out["big"].is_number_integer());
  EXPECT_NE(text.find(R"("delta":0.5123456789012345)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("whole":21500)"), std::string::npos) << text;
  // Above INT64_MAX BSON has only doubles.
  EXPECT_TRUE(out["huge"].is_number_float());
  EXPECT_EQ(text.find("\"_id\""), std::string::npos);
  // Member order is kept.
  EXPECT_LT(text.find("\"calls\""), text.find("\"puts\""));
}

TEST(MongoDocument, StringsWithUnicodeAndControlCharactersRoundTrip) {
  json in = json::object();
  in["product"] = "NIFTY";
  in["text"] = std::string("quote \" backslash \\ tab \t newline \n nul ") + std::string(1, '\0') + " bell \x07 del \x7f";
  in["unicode"] = "\xE2\x82\xB9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x93\x88";  // rupee sign, CJK, an emoji
  in["k\"ey\n"] = "odd key";
  const std::string text = round_trip(in.dump());
  EXPECT_EQ(json::parse(text), in) << text;
  EXPECT_NE(text.find("\\u0000"), std::string::npos);
  EXPECT_NE(text.find("\\u0007"), std::string::npos);
  EXPECT_NE(text.find("\xE2\x82\xB9"), std::string::npos);  // UTF-8 is kept as it is, not escaped
}

TEST(MongoDocument, RejectsWhatIsNotAJsonObject) {
  for (const char* bad : {"", "[1,2]", "42", "\"text\"", "{\"a\":", "{\"a\":1} {}", "{\"a\":1}x", "{\"a\":nan}"})
    EXPECT_THROW(static_cast<void>(detail::json_to_bson(bad)), optaro::mongo::store_error) << bad;
  EXPECT_THROW(static_cast<void>(detail::json_to_bson(R"({"a\u0000b":1})")), optaro::mongo::store_error);
  EXPECT_THROW(static_cast<void>(detail::bson_to_json(std::vector<std::uint8_t>{1, 2, 3})), optaro::mongo::store_error);
}

TEST(MongoDocument, IdentityFieldsAreCheckedAndCompleted) {
  const optaro::stored_document tick{optaro::message_kind::underlying, "NIFTY", "", "7", 1'736'937'000'000'000'000,
                                     R"({"price":1.5})"};
  const json completed = json::parse(round_trip(std::string{tick.json}, &tick));
  EXPECT_EQ(completed["product"], "NIFTY");
  EXPECT_EQ(completed["tick_id"], 7);
  EXPECT_TRUE(completed["tick_id"].is_number_integer());
  EXPECT_EQ(completed["timestamp"], "2025-01-15T10:30:00Z");

  const std::string matching = R"({"product":"NIFTY","tick_id":7,"timestamp":"2025-01-15T10:30:00Z"})";
  EXPECT_EQ(json::parse(round_trip(matching, &tick)), json::parse(matching));
  EXPECT_THROW(static_cast<void>(detail::json_to_bson(R"({"product":"BANKNIFTY"})", &tick)), optaro::mongo::store_error);
  EXPECT_THROW(static_cast<void>(detail::json_to_bson(R"({"tick_id":8})", &tick)), optaro::mongo::store_error);
  EXPECT_THROW(static_cast<void>(detail::json_to_bson(R"({"tick_id":"7"})", &tick)), optaro::mongo::store_error);

  const optaro::stored_document quote{optaro::message_kind::option_quote, "NIFTY", "NIFTY25JAN21500CE", "998", 0,
                                      R"({"product":"NIFTY","quote_id":998})"};
  const json q = json::parse(round_trip(std::string{quote.json}, &quote));
  EXPECT_EQ(q["symbol"], "NIFTY25JAN21500CE");
  const optaro::stored_document chain{optaro::message_kind::option_chain, "NIFTY", "", "NIFTY-20250130-000123", 0,
                                      R"({"product":"NIFTY"})"};
  EXPECT_EQ(json::parse(round_trip(std::string{chain.json}, &chain))["chain_id"], "NIFTY-20250130-000123");
}

TEST(MongoDocument, EnrichedChainRoundTripsExceptForMillisecondTruncation) {
  optaro::option_chain c;
  c.product = "NIFTY";
  c.expiry = std::chrono::year{2025} / 1 / 30;
  c.chain_id = "NIFTY-1";
  c.timestamp = 1'736'937'000'123'456'789;
  c.underlying_price = 21543.25;
  for (int i = -5; i <= 5; ++i) {
    c.calls.push_back(21500.0 + 50 * i, 100 - 5 * i, 101 - 5 * i, 100.5 - 5 * i, 1000, 50'000);
    c.puts.push_back(21500.0 + 50 * i, 90 + 5 * i, 91 + 5 * i, 90.5 + 5 * i, 1000, 40'000);
  }
  const auto enriched = optaro::enrich_chain_json(
      [&] {
        std::string out;
        optaro::encode(out, c);
        return out;
      }(),
      optaro::chain_config{}, 1'736'937'001'987'654'321);
  ASSERT_TRUE(enriched) << enriched.error.message();
  json expected = json::parse(*enriched.value);
  expected["timestamp"] = "2025-01-15T10:30:00.123Z";
  expected["enriched_at"] = "2025-01-15T10:30:01.987Z";
  EXPECT_EQ(json::parse(round_trip(*enriched.value)), expected);
}

}  // namespace

// The dead-letter record (src/ports.cpp): the exact JSON of one record, round trips of any payload
// (every byte value, invalid UTF-8, quotes, invalid JSON), and decode errors that name the field.
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <optaro/codec.hpp>
#include <optaro/ports.hpp>

namespace {

using namespace std::chrono_literals;
using optaro::dead_letter;
using optaro::dead_letter_reason;
using optaro::decode_dead_letter;
using optaro::encode_dead_letter;
using optaro::message_kind;

constexpr optaro::timestamp_ns at(std::chrono::sys_time<std::chrono::nanoseconds> t) {
  return t.time_since_epoch().count();
}

constexpr auto trading_day = std::chrono::sys_days{std::chrono::year{2025} / 1 / 15};

dead_letter sample() {
  dead_letter letter;
  letter.id = "NIFTY-20250130-000123";
  letter.kind = message_kind::option_chain;
  letter.channel = "market:option_chain";
  letter.error = "calls[17].open_interest: negative (-5)";
  letter.reason = dead_letter_reason::invalid_message;
  letter.attempts = 1;
  letter.first_failed_at = at(trading_day + 10h + 30min);
  letter.failed_at = at(trading_day + 10h + 30min + 500ms);
  letter.payload = R"({"product":"NIFTY"})";
  letter.trace_id = "4bf92f3577b34da6";
  return letter;
}

dead_letter round_trip(const dead_letter& letter) {
  const std::string json = encode_dead_letter(letter);
  const auto decoded = decode_dead_letter(json);
  EXPECT_TRUE(decoded) << decoded.error.message() << "\n" << json;
  return decoded ? *decoded.value : dead_letter{};
}

TEST(DeadLetterNames, KindsAndReasonsRoundTrip) {
  for (const auto kind : {message_kind::underlying, message_kind::option_quote, message_kind::option_chain}) {
    EXPECT_EQ(optaro::parse_message_kind(optaro::to_string(kind)), kind);
  }
  for (const auto reason : {dead_letter_reason::invalid_message, dead_letter_reason::retries_exhausted,
                            dead_letter_reason::processing_failed, dead_letter_reason::shutdown}) {
    EXPECT_EQ(optaro::parse_dead_letter_reason(optaro::to_string(reason)), reason);
  }
  EXPECT_EQ(optaro::to_string(dead_letter_reason::shutdown), "shutdown");
  EXPECT_EQ(optaro::to_string(message_kind::option_quote), "option_quote");
  EXPECT_EQ(optaro::to_string(dead_letter_reason::retries_exhausted), "retries_exhausted");
  EXPECT_EQ(optaro::parse_message_kind("Option_Chain"), std::nullopt);
  EXPECT_EQ(optaro::parse_message_kind(""), std::nullopt);
  EXPECT_EQ(optaro::parse_dead_letter_reason("invalid"), std::nullopt);
}

TEST(DeadLetterCodec, EncodesTheDocumentedRecordExactly) {
  EXPECT_EQ(encode_dead_letter(sample()),
            R"json({"id":"NIFTY-20250130-000123","kind":"option_chain","channel":"market:option_chain",)json"
            R"json("error":"calls[17].open_interest: negative (-5)","reason":"invalid_message","attempts":1,)json"
            R"json("first_failed_at":"2025-01-15T10:30:00Z","failed_at":"2025-01-15T10:30:00.5Z",)json"
            R"json("payload":"{\"product\":\"NIFTY\"}","trace_id":"4bf92f3577b34da6"})json");
}

TEST(DeadLetterCodec, EmptyIdIsNullAndRoundTrips) {
  dead_letter letter = sample();
  letter.id.clear();
  const auto doc = nlohmann::json::parse(encode_dead_letter(letter));
  EXPECT_TRUE(doc.at("id").is_null());
  EXPECT_EQ(round_trip(letter), letter);
}

TEST(DeadLetterCodec, EveryPayloadRoundTripsByteForByte) {
  std::string every_byte;
  for (int b = 0; b < 256; ++b) every_byte += static_cast<char>(b);
  const std::vector<std::string> payloads{
      "",
      R"({"product": "NIFTY", "calls": [)",           // truncated: not JSON
      "quote \" backslash \\ slash / tab \t nl \n",  // escapes
      std::string("nul \0 inside", 12),
      "\x01\x1f\x7f",
      "euro \xE2\x82\xAC smile \xF0\x9F\x98\x80",  // valid multi-byte UTF-8
      every_byte,
      "\xff",
      "\xff\xfe",
      "\xff\xfe\xfd",
      "\xC0\xAF",          // overlong '/'
      "\xED\xA0\x80",      // a surrogate
      "\xF4\x90\x80\x80",  // above U+10FFFF
      "\xE2\x82",          // truncated sequence
  };
  for (const std::string& payload : payloads) {
    SCOPED_TRACE(::testing::PrintToString(payload));
    dead_letter letter = sample();
    letter.payload = payload;
    const std::string json = encode_dead_letter(letter);
    // Whatever the payload, the record itself is valid JSON.
    const auto doc = nlohmann::json::parse(json, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << json;
    EXPECT_NE(doc.contains("payload"), doc.contains("payload_base64"));
    EXPECT_EQ(round_trip(letter), letter);
  }
}

TEST(DeadLetterCodec, InvalidUtf8PayloadIsStoredAsBase64) {
  dead_letter letter = sample();
  letter.payload = "\xff\xfe\xfd\xfc";
  const auto doc = nlohmann::json::parse(encode_dead_letter(letter));
  EXPECT_FALSE(doc.contains("payload"));
  EXPECT_EQ(doc.at("payload_base64"), "//79/A==");
}

TEST(DeadLetterCodec, InvalidUtf8InOtherFieldsIsReplacedNotThrown) {
  dead_letter letter = sample();
  letter.error = "product: bad \xff";
  std::string json;
  ASSERT_NO_THROW(json = encode_dead_letter(letter));
  const auto decoded = decode_dead_letter(json);
  ASSERT_TRUE(decoded) << decoded.error.message();
  EXPECT_EQ(decoded.value->error, "product: bad \xEF\xBF\xBD");
}

TEST(DeadLetterCodec, TraceIdIsOptional) {
  auto doc = nlohmann::json::parse(encode_dead_letter(sample()));
  doc.erase("trace_id");
  const auto decoded = decode_dead_letter(doc.dump());
  ASSERT_TRUE(decoded) << decoded.error.message();
  EXPECT_EQ(decoded.value->trace_id, "");
  EXPECT_EQ(decoded.value->attempts, 1);
}

TEST(DeadLetterCodec, OtherFieldsRoundTrip) {
  dead_letter letter = sample();
  letter.kind = message_kind::option_quote;
  letter.reason = dead_letter_reason::retries_exhausted;
  letter.attempts = 7;
  letter.first_failed_at = at(trading_day + 123456789ns);
  letter.failed_at = -1'500'000'000;  // before 1970
  letter.error = "document store unavailable";
  EXPECT_EQ(round_trip(letter), letter);
}

// One field changed (or removed, when `value` is discarded) in a valid record, and the error expected.
struct decode_case {
  std::string name;
  std::string field;
  nlohmann::json value;  // discarded: remove the field
  std::string expected_field;
  std::string expected_reason;
};

TEST(DeadLetterDecodeErrors, NameTheFieldAndTheReason) {
  const nlohmann::json removed(nlohmann::json::value_t::discarded);
  const std::vector<decode_case> cases{
      {"id missing", "id", removed, "id", "missing"},
      {"id a number", "id", 5, "id", "expected a string or null"},
      {"kind missing", "kind", removed, "kind", "missing"},
      {"kind a number", "kind", 1, "kind", "expected a string"},
      {"kind unknown", "kind", "bond", "kind", "unknown message kind \"bond\""},
      {"channel missing", "channel", removed, "channel", "missing"},
      {"error null", "error", nullptr, "error", "expected a string"},
      {"reason unknown", "reason", "oops", "reason", "unknown reason \"oops\""},
      {"attempts a string", "attempts", "1", "attempts", "expected an integer"},
      {"attempts fractional", "attempts", 1.5, "attempts", "expected an integer"},
      {"attempts zero", "attempts", 0, "attempts", "must be >= 1 (got 0)"},
      {"attempts negative", "attempts", -3, "attempts", "must be >= 1 (got -3)"},
      {"attempts too large", "attempts", 3'000'000'000U, "attempts", "too large"},
      {"attempts missing", "attempts", removed, "attempts", "missing"},
      {"first_failed_at text", "first_failed_at", "yesterday", "first_failed_at", "not an ISO-8601 UTC timestamp"},
      {"failed_at a number", "failed_at", 123, "failed_at", "expected a string"},
      {"payload missing", "payload", removed, "payload", "missing"},
      {"payload a number", "payload", 5, "payload", "expected a string"},
      {"payload_base64 as well", "payload_base64", "AA==", "payload", "both payload and payload_base64 present"},
      {"trace_id a number", "trace_id", 7, "trace_id", "expected a string"},
  };
  for (const decode_case& c : cases) {
    SCOPED_TRACE(c.name);
    auto doc = nlohmann::json::parse(encode_dead_letter(sample()));
    if (c.value.is_discarded()) {
      doc.erase(c.field);
    } else {
      doc[c.field] = c.value;
    }
    const auto decoded = decode_dead_letter(doc.dump());
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error.field, c.expected_field);
    EXPECT_EQ(decoded.error.reason, c.expected_reason);
  }
}

TEST(DeadLetterDecodeErrors, RejectsBadBase64AndNonObjects) {
  auto doc = nlohmann::json::parse(encode_dead_letter(sample()));
  doc.erase("payload");
  for (const char* bad : {"abc", "ab=c", "A===", "AB==AB==", "AB*=", "AB=="}) {  // AB== has stray bits
    SCOPED_TRACE(bad);
    doc["payload_base64"] = bad;
    const auto decoded = decode_dead_letter(doc.dump());
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error.message(), "payload_base64: not valid base64");
  }
  doc["payload_base64"] = "AA==";
  const auto zero_byte = decode_dead_letter(doc.dump());
  ASSERT_TRUE(zero_byte) << zero_byte.error.message();
  EXPECT_EQ(zero_byte.value->payload, std::string(1, '\0'));

  EXPECT_EQ(decode_dead_letter("{").error.message(), "message: not valid JSON");
  EXPECT_EQ(decode_dead_letter("[1, 2]").error.message(), "message: expected an object");
  EXPECT_EQ(decode_dead_letter("").error.message(), "message: not valid JSON");
}

}  // namespace

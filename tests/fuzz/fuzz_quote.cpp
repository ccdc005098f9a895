// message_decoder::decode_quote on arbitrary bytes. Checks: no crash or sanitizer report; a quote that
// decodes obeys MESSAGES.md (strike finite and > 0, prices finite and >= 0, counts >= 0, a valid expiry
// date); and encode() round-trips it: decode(encode(quote)) == quote, field by field.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <optaro/codec.hpp>

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static optaro::message_decoder decoder;
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  const auto quote = decoder.decode_quote(json);
  if (!quote) {
    // The field is empty only for a repeated empty key at the top level ({"": 1, "": 2}): its path is "".
    FUZZ_CHECK(!quote.error.reason.empty(), "an error gives a reason");
    FUZZ_CHECK(!quote.error.field.empty() || quote.error.reason == "duplicate field", "an error names the field");
    return 0;
  }
  const optaro::option_quote& q = *quote.value;
  FUZZ_CHECK(std::isfinite(q.strike) && q.strike > 0, "strike finite and > 0");
  for (const double p : {q.bid, q.ask, q.last, q.underlying_price}) {
    FUZZ_CHECK(std::isfinite(p) && p >= 0, "prices finite and >= 0");
  }
  FUZZ_CHECK(q.volume >= 0 && q.open_interest >= 0, "counts >= 0");
  FUZZ_CHECK(q.expiry.ok(), "expiry is a valid date");

  std::string encoded;
  optaro::encode(encoded, q);
  const auto again = decoder.decode_quote(encoded);
  FUZZ_CHECK(again.value.has_value(), "encode(quote) decodes");
  const optaro::option_quote& r = *again.value;
  FUZZ_CHECK(r.product == q.product && r.symbol == q.symbol && r.expiry == q.expiry && r.strike == q.strike &&
                 r.is_call == q.is_call && r.bid == q.bid && r.ask == q.ask && r.last == q.last &&
                 r.volume == q.volume && r.open_interest == q.open_interest &&
                 r.underlying_price == q.underlying_price && r.quote_id == q.quote_id && r.timestamp == q.timestamp,
             "decode(encode(quote)) == quote");
  return 0;
}

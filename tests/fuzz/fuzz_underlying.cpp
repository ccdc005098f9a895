// message_decoder::decode_underlying on arbitrary bytes. Checks: no crash or sanitizer report; a tick
// that decodes obeys MESSAGES.md (product [A-Za-z0-9_.-]{1,32}, price finite and >= 0, volume >= 0);
// and encode() round-trips it: decode(encode(tick)) == tick, field by field.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <optaro/codec.hpp>

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static optaro::message_decoder decoder;  // reused, as a worker does: its buffers carry over
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  const auto tick = decoder.decode_underlying(json);
  if (!tick) {
    // The field is empty only for a repeated empty key at the top level ({"": 1, "": 2}): its path is "".
    FUZZ_CHECK(!tick.error.reason.empty(), "an error gives a reason");
    FUZZ_CHECK(!tick.error.field.empty() || tick.error.reason == "duplicate field", "an error names the field");
    return 0;
  }
  const optaro::underlying_tick& t = *tick.value;
  FUZZ_CHECK(!t.product.empty() && t.product.size() <= 32, "product length");
  FUZZ_CHECK(std::isfinite(t.price) && t.price >= 0, "price finite and >= 0");
  FUZZ_CHECK(t.volume >= 0, "volume >= 0");

  std::string encoded;
  optaro::encode(encoded, t);
  const auto again = decoder.decode_underlying(encoded);
  FUZZ_CHECK(again.value.has_value(), "encode(tick) decodes");
  const optaro::underlying_tick& u = *again.value;
  FUZZ_CHECK(u.product == t.product && u.tick_id == t.tick_id && u.price == t.price && u.volume == t.volume &&
                 u.timestamp == t.timestamp,
             "decode(encode(tick)) == tick");
  return 0;
}

// decode_dead_letter on arbitrary bytes: the records a replay reads back from a store. Checks: no crash,
// no exception (it reports errors as values) and no sanitizer report; a record that decodes has
// attempts >= 1; and it round-trips: decode_dead_letter(encode_dead_letter(d)) == d, field by field
// (the payload byte for byte, whether stored as text or as payload_base64).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <optaro/ports.hpp>

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  const auto letter = optaro::decode_dead_letter(json);
  if (!letter) {
    FUZZ_CHECK(!letter.error.field.empty() && !letter.error.reason.empty(), "an error names a field and a reason");
    return 0;
  }
  const optaro::dead_letter& d = *letter.value;
  FUZZ_CHECK(d.attempts >= 1, "attempts >= 1");

  const std::string encoded = optaro::encode_dead_letter(d);
  const auto again = optaro::decode_dead_letter(encoded);
  FUZZ_CHECK(again.value.has_value(), "encode_dead_letter(d) decodes");
  const optaro::dead_letter& e = *again.value;
  FUZZ_CHECK(e.id == d.id, "id round-trips");
  FUZZ_CHECK(e.kind == d.kind, "kind round-trips");
  FUZZ_CHECK(e.channel == d.channel, "channel round-trips");
  FUZZ_CHECK(e.error == d.error, "error round-trips");
  FUZZ_CHECK(e.reason == d.reason, "reason round-trips");
  FUZZ_CHECK(e.attempts == d.attempts, "attempts round-trips");
  FUZZ_CHECK(e.first_failed_at == d.first_failed_at && e.failed_at == d.failed_at, "times round-trip");
  FUZZ_CHECK(e.payload == d.payload, "payload round-trips byte for byte");
  FUZZ_CHECK(e.trace_id == d.trace_id, "trace_id round-trips");
  FUZZ_CHECK(e == d, "decode(encode(d)) == d");
  return 0;
}

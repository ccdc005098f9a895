// optaro::redis::reply_decoder (RESP2 over hiredis's reader) on arbitrary bytes in arbitrary splits: what
// a server, or anything in between, may send. The first input byte seeds the split points; the rest is
// the byte stream. Checks: no crash, no sanitizer report, no exception other than std::runtime_error
// (a protocol error); the same stream fed at once and fed in pieces gives the same replies and the same
// protocol error; is_retryable_error_reply is safe on every error reply's text.
//
// Found by this target and fixed: hiredis 0.14's own reply functions allocated the element array of a
// multi-bulk reply as soon as its header arrived ("*2000000000\r\n", 14 bytes, asked for 16 GB); the
// decoder's functions append elements as they arrive (RedisReply.HugeMultiBulkHeader* in
// tests/redis/test_connection.cpp).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <vector>

#include <optaro/redis/connection.hpp>

#include "fuzz_check.hpp"

namespace {

using optaro::redis::reply;

struct outcome {
  std::vector<reply> replies;
  bool protocol_error = false;
};

// Takes every complete reply; false once the decoder reports a protocol error (it is unusable then).
bool drain(optaro::redis::reply_decoder& decoder, outcome& out) {
  try {
    while (std::optional<reply> r = decoder.next()) out.replies.push_back(std::move(*r));
    return true;
  } catch (const std::runtime_error&) {
    out.protocol_error = true;
    return false;
  }
}

void touch_errors(const reply& r) {
  if (r.is_error()) (void)optaro::redis::is_retryable_error_reply(r.text);
  for (const reply& e : r.elements) touch_errors(e);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::uint32_t state = data[0] * 2654435761U + 1U;  // xorshift32 for the piece lengths
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);

  outcome whole;
  {
    optaro::redis::reply_decoder decoder;
    decoder.feed(bytes);
    drain(decoder, whole);
  }

  outcome pieces;
  {
    optaro::redis::reply_decoder decoder;
    std::size_t at = 0;
    while (at < bytes.size()) {
      state ^= state << 13;
      state ^= state >> 17;
      state ^= state << 5;
      const std::size_t n = std::min<std::size_t>(bytes.size() - at, 1 + state % 16);
      decoder.feed(bytes.substr(at, n));
      at += n;
      if (!drain(decoder, pieces)) break;
    }
  }

  FUZZ_CHECK(whole.protocol_error == pieces.protocol_error, "same protocol error whatever the split");
  FUZZ_CHECK(whole.replies == pieces.replies, "same replies whatever the split");
  for (const reply& r : whole.replies) touch_errors(r);
  return 0;
}

// The names of configuration and records: parse_message_kind and parse_dead_letter_reason (dead-letter
// records, channel suffixes), and the option_type rule of quotes (detail::parse_option_type) and the
// product/symbol rule (detail::valid_name). Checks: no crash; a name that parses is exactly the
// to_string of what it parsed to (one spelling per value); option types are CE/PE/call/put in any case;
// valid_name agrees with [A-Za-z0-9_.-]{1,max}.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <optaro/ports.hpp>

#include "codec_detail.hpp"
#include "fuzz_check.hpp"

namespace {

bool name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (const auto kind = optaro::parse_message_kind(text)) {
    FUZZ_CHECK(optaro::to_string(*kind) == text, "to_string(parse_message_kind(s)) == s");
  }
  if (const auto reason = optaro::parse_dead_letter_reason(text)) {
    FUZZ_CHECK(optaro::to_string(*reason) == text, "to_string(parse_dead_letter_reason(s)) == s");
  }
  if (const auto call = optaro::detail::parse_option_type(text)) {
    FUZZ_CHECK(text.size() == 2 || text.size() == 3 || text.size() == 4, "option_type is CE, PE, call or put");
  }
  for (const std::size_t max : {optaro::detail::max_product_chars, optaro::detail::max_symbol_chars}) {
    bool expected = !text.empty() && text.size() <= max;
    for (const char c : text) expected = expected && name_char(c);
    FUZZ_CHECK(optaro::detail::valid_name(text, max) == expected, "valid_name == [A-Za-z0-9_.-]{1,max}");
  }
  return 0;
}

// parse_timestamp and parse_date on arbitrary text, and the formatters behind them. Checks: no crash or
// sanitizer report; parse(format(t)) == t for every timestamp parse_timestamp accepts; a date that
// parses is valid, in years 0000-9999, and format_date gives the very same text back (YYYY-MM-DD has
// one spelling); and, for the input's first 8 bytes read as any int64 epoch-ns value t,
// parse_timestamp(format_timestamp(t)) == t (every int64 instant lies within years 1677-2262).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <optaro/codec.hpp>

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (const auto t = optaro::parse_timestamp(text)) {
    const std::string formatted = optaro::format_timestamp(*t);
    FUZZ_CHECK(optaro::parse_timestamp(formatted) == t, "parse_timestamp(format_timestamp(t)) == t");
  }

  if (const auto d = optaro::parse_date(text)) {
    FUZZ_CHECK(d->ok(), "a parsed date is valid");
    FUZZ_CHECK(int{d->year()} >= 0 && int{d->year()} <= 9999, "year in 0000-9999");
    const std::string formatted = optaro::format_date(*d);
    FUZZ_CHECK(formatted == text, "format_date(parse_date(s)) == s");
    FUZZ_CHECK(optaro::parse_date(formatted) == d, "parse_date(format_date(d)) == d");
  }

  if (size >= sizeof(std::int64_t)) {
    std::int64_t t = 0;
    std::memcpy(&t, data, sizeof t);
    const std::string formatted = optaro::format_timestamp(t);
    FUZZ_CHECK(optaro::parse_timestamp(formatted) == t, "parse_timestamp(format_timestamp(t)) == t (any int64)");
  }
  return 0;
}

// ISO-8601 UTC timestamps <-> epoch nanoseconds (MESSAGES.md "Inbound messages"), with std::chrono
// calendar types only: no time zone database. Accepted: YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+00:00);
// anything else (other offsets, lower-case 't'/'z', missing parts, invalid dates such as
// 2025-02-30, hour 24, leap second 60) is rejected.
#include <array>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include <optaro/codec.hpp>

#include "codec_detail.hpp"

namespace optaro {
namespace {

constexpr std::int64_t ns_per_s = 1'000'000'000;

// n decimal digits at text[pos..pos+n) as an int, or -1.
int digits(std::string_view text, std::size_t pos, std::size_t n) noexcept {
  if (pos + n > text.size()) return -1;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

std::optional<timestamp_ns> parse_timestamp(std::string_view text) noexcept {
  // 0123456789012345678
  // YYYY-MM-DDTHH:MM:SS
  if (text.size() < 20) return std::nullopt;
  const int y = digits(text, 0, 4), mo = digits(text, 5, 2), d = digits(text, 8, 2);
  const int h = digits(text, 11, 2), mi = digits(text, 14, 2), s = digits(text, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0) return std::nullopt;
  if (text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':') return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(mo)},
                                         std::chrono::day{static_cast<unsigned>(d)}};
  if (!date.ok() || h > 23 || mi > 59 || s > 59) return std::nullopt;
  std::size_t pos = 19;
  std::int64_t frac = 0;
  if (text[pos] == '.') {
    ++pos;
    std::size_t n = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (++n > 9) return std::nullopt;
      frac = frac * 10 + (text[pos] - '0');
      ++pos;
    }
    if (n == 0) return std::nullopt;
    for (; n < 9; ++n) frac *= 10;
  }
  const std::string_view zone = text.substr(pos);
  if (zone != "Z" && zone != "+00:00") return std::nullopt;
  const auto days = std::chrono::sys_days{date}.time_since_epoch().count();  // |days| < 4e6
  const std::int64_t secs =
      static_cast<std::int64_t>(days) * 86400 + std::int64_t{h} * 3600 + std::int64_t{mi} * 60 + s;
  // Years 0000-9999 span about +-2.5e11 s; epoch ns in int64 cover 1677-09-21 to 2262-04-11.
  constexpr std::int64_t lo = std::numeric_limits<std::int64_t>::min(), hi = std::numeric_limits<std::int64_t>::max();
  if (secs >= 0) {
    if (secs > hi / ns_per_s || frac > hi - secs * ns_per_s) return std::nullopt;
    return secs * ns_per_s + frac;
  }
  // secs * ns + frac = (secs + 1) * ns - (ns - frac), without overflowing on the way.
  if (secs + 1 < lo / ns_per_s) return std::nullopt;
  const std::int64_t base = (secs + 1) * ns_per_s;
  if (base < lo + (ns_per_s - frac)) return std::nullopt;
  return base - (ns_per_s - frac);
}

std::string format_timestamp(timestamp_ns t) {
  // Floor division, so that instants before 1970 keep a non-negative fraction.
  std::int64_t secs = t / ns_per_s;
  std::int64_t frac = t % ns_per_s;
  if (frac < 0) {
    frac += ns_per_s;
    --secs;
  }
  std::int64_t days = secs / 86400;
  std::int64_t sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    --days;
  }
  const std::chrono::year_month_day date{std::chrono::sys_days{std::chrono::days{days}}};
  std::array<char, 40> buf{};
  char* p = buf.data();
  auto put = [&p](std::int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      p[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    p += width;
  };
  put(static_cast<int>(date.year()), 4);
  *p++ = '-';
  put(static_cast<unsigned>(date.month()), 2);
  *p++ = '-';
  put(static_cast<unsigned>(date.day()), 2);
  *p++ = 'T';
  put(sod / 3600, 2);
  *p++ = ':';
  put(sod / 60 % 60, 2);
  *p++ = ':';
  put(sod % 60, 2);
  if (frac != 0) {
    int width = 9;
    while (frac % 10 == 0) {
      frac /= 10;
      --width;
    }
    *p++ = '.';
    put(frac, width);
  }
  *p++ = 'Z';
  return {buf.data(), p};
}

std::optional<std::chrono::year_month_day> parse_date(std::string_view text) noexcept {
  return detail::parse_date(text);
}

std::string format_date(std::chrono::year_month_day d) {
  std::string text(10, '-');
  auto put = [&text](unsigned v, std::size_t at, std::size_t width) {
    for (std::size_t i = width; i-- > 0; v /= 10) text[at + i] = static_cast<char>('0' + v % 10);
  };
  put(static_cast<unsigned>(static_cast<int>(d.year())), 0, 4);
  put(static_cast<unsigned>(d.month()), 5, 2);
  put(static_cast<unsigned>(d.day()), 8, 2);
  return text;
}

}  // namespace optaro

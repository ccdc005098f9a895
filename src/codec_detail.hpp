#pragma once
// Internals shared by the decoder and the encoder (src/codec_*.cpp): field checks and the text of
// the values quoted in error reasons. Not installed.
#include <array>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace optaro::detail {

inline constexpr std::size_t max_product_chars = 32;
inline constexpr std::size_t max_symbol_chars = 64;
inline constexpr std::size_t max_chain_id_bytes = 128;
/// Volumes and open interests: 10^14 contracts at most, so that a chain's sums (10,000 quotes at most)
/// stay exact in int64, and every count is exact in a JSON reader's double.
inline constexpr std::int64_t max_count = 100'000'000'000'000;
/// Strings quoted in error reasons are cut to this many bytes (then "...").
inline constexpr std::size_t max_quoted_chars = 40;

/// [A-Za-z0-9_.-]{1,max}
[[nodiscard]] inline bool valid_name(std::string_view s, std::size_t max) noexcept {
  if (s.empty() || s.size() > max) return false;
  for (const char c : s) {
    const bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

/// A value in an error reason: in double quotes, '"' and '\' escaped, bytes outside printable ASCII
/// as \xHH (so that the error text is always valid UTF-8), cut after max_quoted_chars bytes.
[[nodiscard]] inline std::string quoted(std::string_view s) {
  static constexpr std::string_view hex = "0123456789ABCDEF";
  std::string out = "(\"";
  const std::size_t n = s.size() < max_quoted_chars ? s.size() : max_quoted_chars;
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (n < s.size()) out += "...";
  out += "\")";
  return out;
}

/// Shortest round-trip text of a double (as in the encoder).
[[nodiscard]] inline std::string number_text(double v) {
  std::array<char, 32> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return {buf.data(), r.ptr};
}
[[nodiscard]] inline std::string number_text(std::int64_t v) { return std::to_string(v); }

/// "YYYY-MM-DD", a valid Gregorian date.
[[nodiscard]] inline std::optional<std::chrono::year_month_day> parse_date(std::string_view s) noexcept {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  std::array<int, 3> v{};
  static constexpr std::array<std::size_t, 3> starts{0, 5, 8}, lengths{4, 2, 2};
  for (std::size_t k = 0; k < 3; ++k) {
    for (std::size_t i = starts[k]; i < starts[k] + lengths[k]; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v[k] = v[k] * 10 + (s[i] - '0');
    }
  }
  const std::chrono::year_month_day d{std::chrono::year{v[0]}, std::chrono::month{static_cast<unsigned>(v[1])},
                                      std::chrono::day{static_cast<unsigned>(v[2])}};
  if (!d.ok()) return std::nullopt;
  return d;
}

/// CE/PE/call/put, case-insensitive: true for a call.
[[nodiscard]] inline std::optional<bool> parse_option_type(std::string_view s) noexcept {
  auto eq = [s](std::string_view lower) {
    if (s.size() != lower.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
      char c = s[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != lower[i]) return false;
    }
    return true;
  };
  if (eq("ce") || eq("call")) return true;
  if (eq("pe") || eq("put")) return false;
  return std::nullopt;
}

}  // namespace optaro::detail

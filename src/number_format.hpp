#pragma once
// Number text for the JSON encoder, written straight into a caller's buffer. Doubles come out byte for
// byte as libstdc++'s std::to_chars(first, last, double) writes them (the shortest text that reads back
// as the same double, in fixed or scientific notation, whichever is shorter), computed with the
// Schubfach algorithm (R. Giulietti, "The Schubfach way to render doubles", 2020) and written without
// going through a temporary buffer: with about half of the instructions. Short decimals such as prices
// (at most four places) take a cheaper exact test first. tests/cpp/test_number_format.cpp compares the
// output with std::to_chars on millions of doubles. Not installed.
#include <cstddef>
#include <cstdint>
#include <optional>

namespace optaro::detail {

/// Room that write_double needs: "-2.2250738585072014e-308" is 24 characters. It stores digits in
/// blocks of eight, so it may write up to there also when its text is shorter.
inline constexpr std::size_t max_double_chars = 24;
/// Room that write_integer needs: "-9223372036854775808" is 20 characters (and the same as above).
inline constexpr std::size_t max_integer_chars = 20;

/// Writes what std::to_chars(out, out + max_double_chars, v) writes ("inf", "-nan", "-0", "1e+22",
/// "0.001", ...) and returns the end. out must have max_double_chars bytes of room.
char* write_double(char* out, double v) noexcept;

/// Writes what std::to_chars writes for v and returns the end. out must have max_integer_chars bytes
/// of room.
char* write_integer(char* out, std::int64_t v) noexcept;

/// |v| = digits * 10^exponent, with the fewest digits that still read back as v; among those the one
/// nearest to v, and on a tie the one with an even last digit. digits has no trailing zeros.
struct shortest_decimal {
  std::uint64_t digits = 0;
  int exponent = 0;
};

/// The shortest decimal of a finite v != 0 (nullopt for others). Also nullopt when the 128-bit
/// arithmetic cannot decide between two neighbouring results (write_double then asks std::to_chars):
/// that needs a scaled product within 2^-63 of an integer without being one. The tests count these
/// cases and have found none. Exposed for the tests.
[[nodiscard]] std::optional<shortest_decimal> to_shortest_decimal(double v) noexcept;

/// What write_double's shortcut for short decimals finds: the shortest decimal of v when a decimal of at
/// most four places reads back as v and 2^-11 <= |v| < 2^39 (integers too, which write_double handles
/// before), else nullopt. Where it finds one it must equal to_shortest_decimal(v). Exposed for the tests.
[[nodiscard]] std::optional<shortest_decimal> to_short_decimal(double v) noexcept;

}  // namespace optaro::detail

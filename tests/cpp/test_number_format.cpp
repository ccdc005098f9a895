// src/number_format.hpp against std::to_chars, byte for byte: write_double must write exactly what
// std::to_chars(first, last, double) writes (the encoder's output must not change), write_integer what
// std::to_chars writes for an int64_t. Random doubles, plus every class where a shortcut could go
// wrong: each binary exponent, powers of two (the uneven gaps around them), powers of ten, the digit
// counts and exponents where fixed and scientific notation trade places (around 1e-5, 1e16, 1e21),
// integers around 2^53 and 2^64, subnormals, zeros, infinities and NaNs, and the short decimals of the
// shortcut for prices (every number of places, its range ends, their neighbours one ulp away). Each
// check also confirms that nothing is written beyond the room the header promises, that the shortcut,
// where it applies, finds the same decimal as Schubfach, and counts the doubles for which Schubfach's
// fast path could not decide (expected: none).
//
// OPTARO_NUMBER_FORMAT_SAMPLES sets how many random doubles the random tests draw (default 1,000,000
// each, times four for the short decimals); the change that introduced number_format was checked with
// 100,000,000, the shortcut for short decimals with 50,000,000 (200,000,000 short decimals).
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "number_format.hpp"

namespace {

using optaro::detail::max_double_chars;
using optaro::detail::max_integer_chars;

std::uint64_t sample_count() {
  const char* text = std::getenv("OPTARO_NUMBER_FORMAT_SAMPLES");
  return text != nullptr ? std::strtoull(text, nullptr, 10) : 1000000;
}

/// The digits of a to_chars text without sign, point, leading or trailing zeros, and the exponent
/// of the last of them: "-0.00120" -> {"12", -4}, "1.5e+20" -> {"15", 19}.
struct text_decimal {
  std::string digits;
  int exponent = 0;
};

text_decimal decimal_of(std::string_view text) {
  text_decimal d;
  int exponent = 0;
  if (const auto e = text.find('e'); e != std::string_view::npos) {
    const std::string_view power = text.substr(e + 1);
    std::from_chars(power.data() + (power[0] == '+' ? 1 : 0), power.data() + power.size(), exponent);
    text = text.substr(0, e);
  }
  bool after_point = false;
  for (const char c : text) {
    if (c == '.') {
      after_point = true;
    } else if (c >= '0' && c <= '9') {
      if (!d.digits.empty() || c != '0') d.digits += c;
      if (after_point) --exponent;
    }
  }
  while (!d.digits.empty() && d.digits.back() == '0') {
    d.digits.pop_back();
    ++exponent;
  }
  d.exponent = exponent;
  return d;
}

/// Checks doubles one by one; reports the first few differences in full.
class double_checker {
 public:
  void check(double v) {
    ++checked_;
    std::array<char, 64> expected{};
    const char* const expected_end = std::to_chars(expected.data(), expected.data() + expected.size(), v).ptr;
    const std::string_view want{expected.data(), static_cast<std::size_t>(expected_end - expected.data())};

    // Exactly the promised room, then guard bytes that must stay as they are.
    std::array<char, max_double_chars + 8> written{};
    written.fill('#');
    const char* const end = optaro::detail::write_double(written.data(), v);
    const std::string_view have{written.data(), static_cast<std::size_t>(end - written.data())};
    bool guard_intact = true;
    for (std::size_t i = max_double_chars; i < written.size(); ++i) guard_intact = guard_intact && written[i] == '#';
    if (have != want || !guard_intact) report(v, "write_double wrote \"" + std::string(have) + "\"" +
                                                     (guard_intact ? "" : " and wrote past its room"));

    if (!std::isfinite(v) || v == 0) return;
    const auto d = optaro::detail::to_shortest_decimal(v);
    if (!d) {
      ++undecided_;
      return;
    }
    if (const auto s = optaro::detail::to_short_decimal(v)) {
      ++short_decimals_;
      if (s->digits != d->digits || s->exponent != d->exponent)
        report(v, "to_short_decimal gave " + std::to_string(s->digits) + "e" + std::to_string(s->exponent));
    }
    // Fixed notation beyond 2^53 shows the exact integer, not the shortest digits.
    if (std::fabs(v) >= 0x1p53 && want.find_first_of(".e") == std::string_view::npos) return;
    const text_decimal t = decimal_of(want);
    if (std::to_string(d->digits) != t.digits || d->exponent != t.exponent)
      report(v, "to_shortest_decimal gave " + std::to_string(d->digits) + "e" + std::to_string(d->exponent));
  }

  [[nodiscard]] std::uint64_t checked() const { return checked_; }
  [[nodiscard]] std::uint64_t differences() const { return differences_; }
  [[nodiscard]] std::uint64_t undecided() const { return undecided_; }

  /// One line for the test log, and the expectations every test shares.
  void expect_all_equal() const {
    EXPECT_EQ(differences_, 0u) << "of " << checked_ << " doubles";
    EXPECT_EQ(undecided_, 0u) << "doubles the fast path could not decide, of " << checked_;
    std::printf(
        "[ number_format ] %llu doubles compared with std::to_chars, %llu differences, %llu undecided, "
        "%llu short decimals\n",
        static_cast<unsigned long long>(checked_), static_cast<unsigned long long>(differences_),
        static_cast<unsigned long long>(undecided_), static_cast<unsigned long long>(short_decimals_));
  }

 private:
  void report(double v, const std::string& what) {
    if (++differences_ > 10) return;
    std::array<char, 64> expected{};
    const char* const expected_end = std::to_chars(expected.data(), expected.data() + expected.size(), v).ptr;
    ADD_FAILURE() << "bits 0x" << std::hex << std::bit_cast<std::uint64_t>(v) << std::dec << ": std::to_chars wrote \""
                  << std::string_view(expected.data(), static_cast<std::size_t>(expected_end - expected.data()))
                  << "\", " << what;
  }

  std::uint64_t checked_ = 0, differences_ = 0, undecided_ = 0, short_decimals_ = 0;
};

double from_bits(std::uint64_t bits) { return std::bit_cast<double>(bits); }

/// v, its neighbours up to two steps away, and the same for -v.
void check_around(double_checker& checker, double v) {
  for (const double w : {v, -v}) {
    double below = w, above = w;
    checker.check(w);
    for (int step = 0; step < 2; ++step) {
      below = std::nextafter(below, -std::numeric_limits<double>::infinity());
      above = std::nextafter(above, std::numeric_limits<double>::infinity());
      checker.check(below);
      checker.check(above);
    }
  }
}

double parse(const std::string& text) { return std::strtod(text.c_str(), nullptr); }

TEST(NumberFormat, RandomBitPatterns) {
  double_checker checker;
  std::mt19937_64 g(20250115);
  for (std::uint64_t i = sample_count(); i > 0; --i) checker.check(from_bits(g()));
  checker.expect_all_equal();
}

TEST(NumberFormat, RandomValuesOfEveryDayMagnitudes) {
  // Prices, Greeks and ratios: 1e-12 to 1e12 with full precision, and short decimals.
  double_checker checker;
  std::mt19937_64 g(7);
  std::uniform_real_distribution<double> unit(0, 1), magnitude(-12, 12);
  for (std::uint64_t i = sample_count(); i > 0; --i) {
    const double v = unit(g) * std::pow(10.0, magnitude(g));
    checker.check(i % 2 == 0 ? v : -v);
    checker.check(std::round(v * 100) / 100);
    checker.check(std::round(v * 20) / 20 + 0.05);
  }
  checker.expect_all_equal();
}

TEST(NumberFormat, EveryBinaryExponent) {
  double_checker checker;
  std::mt19937_64 g(11);
  for (std::uint64_t exponent = 0; exponent < 2047; ++exponent) {
    for (int i = 0; i < 300; ++i) {
      const std::uint64_t fraction = g() >> 12;
      checker.check(from_bits(exponent << 52 | fraction));
      // Few fraction bits: exact short binary fractions, where the products come out as integers.
      checker.check(from_bits(exponent << 52 | (fraction & ~((std::uint64_t{1} << (i % 52)) - 1))));
    }
    checker.check(from_bits(exponent << 52 | ((std::uint64_t{1} << 52) - 1)));
  }
  checker.expect_all_equal();
}

TEST(NumberFormat, PowersOfTwoAndTheirNeighbours) {
  // Every power of two above the smallest normal has a gap below half as wide as the gap above; these
  // are all such doubles.
  double_checker checker;
  for (std::uint64_t exponent = 0; exponent < 2047; ++exponent) check_around(checker, from_bits(exponent << 52));
  for (int bit = 0; bit < 52; ++bit) check_around(checker, from_bits(std::uint64_t{1} << bit));  // subnormal
  checker.expect_all_equal();
}

TEST(NumberFormat, PowersOfTenAndTheirNeighbours) {
  double_checker checker;
  for (int e = -325; e <= 309; ++e) {
    for (const char* mantissa : {"1", "2", "5", "9", "1.5", "1.25", "9.999999999999999", "1.0000000000000002",
                                 "1.2345678901234567", "4.9406564584124654", "2.2250738585072014"}) {
      check_around(checker, parse(std::string(mantissa) + "e" + std::to_string(e)));
    }
  }
  checker.expect_all_equal();
}

TEST(NumberFormat, WhereFixedAndScientificTradePlaces) {
  // std::to_chars picks the shorter notation, fixed on a tie; where that flips depends on the number
  // of significant digits (n) and the exponent: d.ddd * 10^e for every n and e near the flips.
  double_checker checker;
  std::mt19937_64 g(3);
  for (int n = 1; n <= 17; ++n) {
    for (int e = -30; e <= 30; ++e) {
      for (int i = 0; i < 20; ++i) {
        std::string digits = std::to_string(1 + g() % 9);
        for (int k = 1; k < n; ++k) digits += static_cast<char>('0' + g() % 10);
        if (n > 1 && digits.back() == '0') digits.back() = '7';
        check_around(checker, parse(digits + "e" + std::to_string(e - (n - 1))));
      }
    }
  }
  checker.expect_all_equal();
}

TEST(NumberFormat, Integers) {
  double_checker checker;
  for (int i = 0; i <= 100000; ++i) checker.check(i);
  std::mt19937_64 g(5);
  for (int i = 0; i < 200000; ++i) {
    checker.check(static_cast<double>(g() >> (11 + g() % 53)));       // below 2^53: exact
    checker.check(static_cast<double>(g() >> (g() % 11)));            // 2^53 to 2^64: printed exactly
    checker.check(static_cast<double>(g() % 1000000) * 1e16);         // to about 1e22, fixed or not
    checker.check(static_cast<double>(g() % 100000) * 50);            // strikes
  }
  for (int bit = 0; bit < 80; ++bit) check_around(checker, std::ldexp(1.0, bit));
  double power = 1;
  for (int e = 0; e <= 25; ++e, power *= 10) check_around(checker, power);
  for (const double v : {9007199254740991.0, 9007199254740992.0, 9007199254740993.0, 18446744073709551615.0,
                         1e21, 1e22, 123456789012345678901.0, 99999999999999991611392.0, 1152921504606846976.0})
    check_around(checker, v);
  checker.expect_all_equal();
}

TEST(NumberFormat, ShortDecimals) {
  double_checker checker;
  for (int i = -200000; i <= 200000; ++i) {
    checker.check(i / 100.0);
    checker.check(i / 1000.0);
    checker.check(i * 0.05);
    checker.check(i / 8.0);
  }
  checker.expect_all_equal();
}

// The shortcut for short decimals (at most four places, 2^-11 <= |v| < 2^39, see number_format.cpp).
constexpr double short_decimal_min = 0x1p-11, short_decimal_max = 0x1p39;

bool in_short_decimal_range(double v) { return std::fabs(v) >= short_decimal_min && std::fabs(v) < short_decimal_max; }

TEST(NumberFormat, RandomShortDecimals) {
  // Prices on 0.01 and 0.05 ticks from 0.05 to 1e6, made as a parser makes them (the double nearest
  // to the decimal) and as arithmetic does (ticks * 0.05); decimals of random digits and places, and a
  // neighbour one ulp away of each.
  double_checker checker;
  std::mt19937_64 g(19);
  const std::array<double, 7> powers_of_ten{1, 10, 100, 1000, 10000, 100000, 1000000};
  for (std::uint64_t i = sample_count(); i > 0; --i) {
    const double sign = g() % 2 == 0 ? 1 : -1;
    checker.check(sign * static_cast<double>(5 + g() % 99999996) / 100);
    checker.check(sign * static_cast<double>(1 + g() % 20000000) * 0.05);
    // Up to 16 random digits and 0 to 6 places (5 and 6 are too many for the shortcut).
    const std::uint64_t digits = g() % (std::uint64_t{1} << (1 + g() % 53));
    const double v = sign * static_cast<double>(digits) / powers_of_ten[g() % powers_of_ten.size()];
    checker.check(v);
    checker.check(std::nextafter(v, g() % 2 == 0 ? 0.0 : 2 * v));
  }
  checker.expect_all_equal();
}

TEST(NumberFormat, ShortDecimalBoundaries) {
  double_checker checker;
  std::uint64_t surprises = 0;
  auto expect_shortcut = [&surprises](double v, bool taken) {
    if (optaro::detail::to_short_decimal(v).has_value() != taken && ++surprises <= 10)
      ADD_FAILURE() << "to_short_decimal(" << v << ") should " << (taken ? "" : "not ") << "find a decimal";
  };
  // Every number of places, both signs: where in range, the shortcut takes every one of them (it is
  // exact: it finds a decimal of four places whenever one reads back as v). Five places it never takes
  // at these magnitudes, nor the neighbours one ulp away: no decimal of four places but v's own lies
  // that near, and that one reads back as v.
  for (const double scale : {10.0, 100.0, 1000.0, 10000.0, 100000.0}) {
    for (std::int64_t k = -100000; k <= 100000; ++k) {
      if (k % 10 == 0) continue;
      const double v = static_cast<double>(k) / scale;
      checker.check(v);
      expect_shortcut(v, scale <= 10000 && in_short_decimal_range(v));
      for (const double neighbour : {std::nextafter(v, -1e300), std::nextafter(v, 1e300)}) {
        checker.check(neighbour);
        expect_shortcut(neighbour, false);
      }
    }
  }
  // The ends of the range, and 2^53 / 10^j (where a test of digits * 10^-j with digits < 2^53 would
  // end): a thousand doubles on either side of each.
  std::vector<double> ends{short_decimal_min, short_decimal_max};
  for (const double power : {10.0, 100.0, 1000.0, 10000.0}) ends.push_back(0x1p53 / power);
  for (const double end : ends) {
    double below = end, above = end;
    for (int step = 0; step < 1000; ++step) {
      checker.check(below);
      checker.check(-above);
      below = std::nextafter(below, 0.0);
      above = std::nextafter(above, 1e300);
    }
  }
  // The narrowest margins. With |v| = c * 2^-s, how far a decimal of four places lies from the ends of
  // R depends on c * 10^4 mod 2^s, which 2^(s-4) consecutive doubles run through in full: all of it
  // for the binades of s = 14 to 20 (2^32 <= |v| < 2^39), where R is widest against 10^-4.
  for (int s = 14; s <= 20; ++s) {
    double v = std::ldexp(1.0, 52 - s);
    for (int step = 0; step < 1 << 16; ++step) {
      checker.check(v);
      v = std::nextafter(v, 1e300);
    }
  }
  expect_shortcut(549755813888.5, false);  // 2^39 + 0.5: out of range
  expect_shortcut(549755813887.5, true);   // 2^39 - 0.5
  // Where fixed and scientific trade places: 0.0005 is "5e-04" (taken, but written in scientific), 0.0004
  // "4e-04" (out of range), 0.0012 "0.0012"; and decimals of 1 to 16 digits with 1 to 4 places.
  for (std::int64_t k = 1; k <= 20000; ++k) check_around(checker, static_cast<double>(k) / 10000);
  std::uint64_t digits = 0;
  for (int n = 1; n <= 16; ++n) {
    digits = digits * 10 + static_cast<std::uint64_t>(n % 9 + 1);
    for (const double scale : {10.0, 100.0, 1000.0, 10000.0})
      check_around(checker, static_cast<double>(digits) / scale);
  }
  expect_shortcut(0.0005, true);
  expect_shortcut(0.0004, false);
  // Powers of two, whose R is lopsided: 0.5 to 0.0625 have four places at most, 2^-5 to 2^-11 do not.
  for (int e = -11; e < 0; ++e) {
    check_around(checker, std::ldexp(1.0, e));
    expect_shortcut(std::ldexp(1.0, e), e >= -4);
  }
  checker.expect_all_equal();
  EXPECT_EQ(surprises, 0u);
}

TEST(NumberFormat, SubnormalsAndExtremes) {
  double_checker checker;
  for (std::uint64_t c = 1; c <= 20000; ++c) checker.check(from_bits(c));
  std::mt19937_64 g(13);
  for (int i = 0; i < 200000; ++i) checker.check(from_bits(g() >> 12));
  using limits = std::numeric_limits<double>;
  for (const double v : {limits::max(), limits::lowest(), limits::min(), limits::denorm_min(), limits::epsilon(),
                         from_bits((std::uint64_t{1} << 52) - 1)})
    check_around(checker, v);
  checker.expect_all_equal();
}

TEST(NumberFormat, ZerosInfinitiesAndNaNs) {
  double_checker checker;
  using limits = std::numeric_limits<double>;
  for (const double v : {0.0, -0.0, limits::infinity(), -limits::infinity(), limits::quiet_NaN(),
                         -limits::quiet_NaN(), limits::signaling_NaN(), from_bits(0xfff0000000000001)})
    checker.check(v);
  checker.expect_all_equal();
}

TEST(NumberFormat, IntegersAsToCharsWritesThem) {
  std::uint64_t checked = 0, differences = 0;
  auto check = [&](std::int64_t v) {
    ++checked;
    std::array<char, 32> expected{};
    const char* const expected_end = std::to_chars(expected.data(), expected.data() + expected.size(), v).ptr;
    std::array<char, max_integer_chars + 8> written{};
    written.fill('#');
    const char* const end = optaro::detail::write_integer(written.data(), v);
    bool guard_intact = true;
    for (std::size_t i = max_integer_chars; i < written.size(); ++i) guard_intact = guard_intact && written[i] == '#';
    const std::string_view want{expected.data(), static_cast<std::size_t>(expected_end - expected.data())};
    const std::string_view have{written.data(), static_cast<std::size_t>(end - written.data())};
    if ((have != want || !guard_intact) && ++differences <= 10)
      ADD_FAILURE() << v << ": wrote \"" << have << "\"" << (guard_intact ? "" : " and wrote past its room");
  };
  for (std::int64_t v = -100000; v <= 1000000; ++v) check(v);
  std::mt19937_64 g(17);
  for (int i = 0; i < 1000000; ++i) check(static_cast<std::int64_t>(g()) >> (g() % 64));
  std::int64_t power = 1;
  for (int e = 0; e <= 18; ++e) {
    for (const std::int64_t v : {power - 1, power, power + 1}) {
      check(v);
      check(-v);
    }
    if (e < 18) power *= 10;  // 10^19 is beyond int64
  }
  check(std::numeric_limits<std::int64_t>::max());
  check(std::numeric_limits<std::int64_t>::min());
  check(std::numeric_limits<std::int64_t>::min() + 1);
  EXPECT_EQ(differences, 0u) << "of " << checked << " integers";
}

}  // namespace

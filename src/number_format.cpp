// Shortest round-trip doubles by the Schubfach method, laid out as libstdc++'s std::to_chars lays them
// out, and integers. See number_format.hpp.
//
// Schubfach in brief: let |v| = c * 2^q (c an integer) and let R be the interval of reals that read
// back as v. Choose k with 10^k <= the width of R < 10^(k+1). Then R holds at least one multiple of
// 10^k and at most one multiple of 10^(k+1). If it holds a multiple of 10^(k+1), that one is the
// shortest decimal; otherwise the shortest have the precision 10^k, and the candidates are the two
// multiples s * 10^k <= |v| < (s+1) * 10^k. Deciding which lie in R needs |v| and the bounds of R times
// 10^-k, computed with a 128-bit approximation of 10^-k: "round to odd" products that compare with
// even integers exactly as the true products do. Where the 128 bits cannot settle a product (find_shortest
// says when; the tests have never seen it happen), write_double asks std::to_chars instead, so the
// output does not rest on an error analysis of the table.
#include "number_format.hpp"

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

namespace optaro::detail {
namespace {

// The small helpers on the hot path are [[gnu::always_inline]]: left to itself, GCC 12 calls some of
// them, and a call that returns two words through the stack costs more than the work inside.

// ---- 64 x 64 -> 128-bit products -------------------------------------------------------------------

struct uint128_parts {
  std::uint64_t high = 0, low = 0;
};

[[gnu::always_inline]] inline uint128_parts multiply_64x64(std::uint64_t a, std::uint64_t b) noexcept {
#if defined(__SIZEOF_INT128__)
  __extension__ using uint128 = unsigned __int128;
  const uint128 product = static_cast<uint128>(a) * b;
  return {static_cast<std::uint64_t>(product >> 64), static_cast<std::uint64_t>(product)};
#else
  const std::uint64_t a_low = a & 0xffffffff, a_high = a >> 32, b_low = b & 0xffffffff, b_high = b >> 32;
  const std::uint64_t low_low = a_low * b_low, high_low = a_high * b_low, low_high = a_low * b_high;
  const std::uint64_t middle = (low_low >> 32) + (high_low & 0xffffffff) + (low_high & 0xffffffff);
  return {a_high * b_high + (high_low >> 32) + (low_high >> 32) + (middle >> 32),
          (middle << 32) | (low_low & 0xffffffff)};
#endif
}

// ---- logarithms as integer arithmetic (checked against exact values below) --------------------------

/// floor(log10(2^q))
constexpr int floor_log10_pow2(int q) noexcept { return (q * 315653) >> 20; }
/// floor(log10(3/4 * 2^q))
constexpr int floor_log10_three_quarters_pow2(int q) noexcept { return (q * 315653 - 131237) >> 20; }
/// floor(log2(10^e))
constexpr int floor_log2_pow10(int e) noexcept { return (e * 1741647) >> 19; }

// ---- the powers of ten, computed at compile time ---------------------------------------------------
// For each e, g(e) = floor(10^e * 2^(127 - floor(log2 10^e))) + 1: 10^e scaled into [2^127, 2^128) and
// then raised, so that g exceeds the exact scaled value by more than 0 and at most 1. Doubles need
// e = -k for k = floor_log10_pow2(q), q in [-1074, 971].

constexpr int min_q = -1074, max_q = 971;
constexpr int min_table_exponent = -292, max_table_exponent = 324;

/// An unsigned integer of fixed width (1344 bits: 2^1280 and 10^325 fit); compile time only.
class wide_uint {
 public:
  static constexpr wide_uint power_of_two(int n) {
    wide_uint x;
    x.limbs_[static_cast<std::size_t>(n / 32)] = std::uint32_t{1} << (n % 32);
    return x;
  }
  /// false if the product does not fit
  constexpr bool multiply(std::uint32_t factor) {
    std::uint64_t carry = 0;
    for (std::uint32_t& limb : limbs_) {
      const std::uint64_t t = std::uint64_t{limb} * factor + carry;
      limb = static_cast<std::uint32_t>(t);
      carry = t >> 32;
    }
    return carry == 0;
  }
  /// Division rounding down.
  constexpr void divide(std::uint32_t divisor) {
    std::uint64_t remainder = 0;
    for (std::size_t i = limb_count; i-- > 0;) {
      const std::uint64_t t = (remainder << 32) | limbs_[i];
      limbs_[i] = static_cast<std::uint32_t>(t / divisor);
      remainder = t % divisor;
    }
  }
  [[nodiscard]] constexpr int bit_length() const {
    for (std::size_t i = limb_count; i-- > 0;) {
      if (limbs_[i] != 0) return static_cast<int>(32 * i + std::bit_width(limbs_[i]));
    }
    return 0;
  }
  /// Bit i; 0 for i < 0.
  [[nodiscard]] constexpr std::uint64_t bit(int i) const {
    if (i < 0) return 0;
    return (limbs_[static_cast<std::size_t>(i / 32)] >> (i % 32)) & 1;
  }

 private:
  static constexpr std::size_t limb_count = 42;
  std::array<std::uint32_t, limb_count> limbs_{};
};

/// floor(x * 2^(128 - bit_length(x))) + 1: x's leading 128 bits (zero-padded), plus one.
constexpr uint128_parts leading_128_bits_plus_one(const wide_uint& x) {
  const int lowest = x.bit_length() - 128;
  uint128_parts g;
  for (int i = 0; i < 64; ++i) {
    g.high |= x.bit(lowest + 64 + i) << i;
    g.low |= x.bit(lowest + i) << i;
  }
  if (++g.low == 0) ++g.high;
  return g;
}

struct power_of_ten_table {
  std::array<uint128_parts, max_table_exponent - min_table_exponent + 1> g{};
  /// The logarithm formulas agree with exact values over the range used, and every g is in
  /// (2^127, 2^128]; the static_assert below requires it.
  bool checked = true;
};

consteval power_of_ten_table make_power_of_ten_table() {
  power_of_ten_table table;
  auto set = [&table](int e, const wide_uint& x) {
    const uint128_parts g = leading_128_bits_plus_one(x);
    table.checked = table.checked && (g.high >> 63) == 1;
    table.g[static_cast<std::size_t>(e - min_table_exponent)] = g;
  };
  // Exact floor(log2 10^j) for j in [-limit, limit]: bit lengths of 10^j and of floor(2^n / 10^-j).
  constexpr int limit = 330;
  std::array<int, 2 * limit + 1> log2_pow10{};
  auto exact_log2_pow10 = [&log2_pow10](int j) { return log2_pow10[static_cast<std::size_t>(j + limit)]; };

  wide_uint up = wide_uint::power_of_two(0);
  for (int e = 0; e <= limit; ++e) {
    if (e > 0) {
      const bool fits = up.multiply(10);
      table.checked = table.checked && fits;
    }
    log2_pow10[static_cast<std::size_t>(e + limit)] = up.bit_length() - 1;
    if (e <= max_table_exponent) set(e, up);
  }
  // floor(2^n / 10^m) by repeated division (floor(floor(a / b) / c) = floor(a / (b c))); its leading
  // bits are those of 10^-m, and n = 1280 leaves more than 128 of them for m <= limit.
  constexpr int n = 1280;
  wide_uint down = wide_uint::power_of_two(n);
  for (int m = 1; m <= limit; ++m) {
    down.divide(10);
    log2_pow10[static_cast<std::size_t>(limit - m)] = down.bit_length() - 1 - n;
    if (-m >= min_table_exponent) set(-m, down);
  }

  for (int j = -limit; j <= limit; ++j) table.checked = table.checked && floor_log2_pow10(j) == exact_log2_pow10(j);
  for (int q = min_q; q <= max_q; ++q) {
    // 10^k <= 2^q  <=>  floor(log2 10^k) <= q;  2^q < 10^(k+1)  <=>  q <= floor(log2 10^(k+1)), or q < 0
    // when k + 1 = 0 (log2 10^j is an integer only for j = 0).
    const int k = floor_log10_pow2(q);
    table.checked = table.checked && exact_log2_pow10(k) <= q && (k + 1 == 0 ? q < 0 : q <= exact_log2_pow10(k + 1));
    // The table covers -k, also for the irregular k (tested exhaustively, there are only 2046 such
    // doubles), and the shift h of to_shortest_decimal stays in [1, 4].
    for (const int kk : {k, floor_log10_three_quarters_pow2(q)}) {
      const int h = q + floor_log2_pow10(-kk) + 1;
      table.checked = table.checked && -kk >= min_table_exponent && -kk <= max_table_exponent && h >= 1 && h <= 4;
    }
  }
  return table;
}

constexpr power_of_ten_table powers_of_ten_128 = make_power_of_ten_table();
static_assert(powers_of_ten_128.checked, "the power-of-ten table or a logarithm formula is wrong");

constexpr std::array<std::uint64_t, 28> powers_of_five = [] {
  std::array<std::uint64_t, 28> table{};
  table[0] = 1;
  for (std::size_t i = 1; i < table.size(); ++i) table[i] = table[i - 1] * 5;
  return table;
}();

/// Whether n * 2^q * 10^-k is an integer, for n < 2^59 and k = floor_log10_pow2(q) (or the irregular k).
bool is_integer_product(std::uint64_t n, int q, int k) noexcept {
  // k <= 0: n * 5^-k * 2^(q-k).
  if (k <= 0) return q - k >= 0 || std::countr_zero(n) >= k - q;
  // k > 0 (so q >= 4 and q - k > 0): n * 2^(q-k) / 5^k, and 5^26 > 2^59 > n.
  return static_cast<std::size_t>(k) < powers_of_five.size() && n % powers_of_five[static_cast<std::size_t>(k)] == 0;
}

/// n * 2^q * 10^-k, for n < 2^59, approximated from above by g * (n << h) / 2^128: its integer part and
/// the next 64 bits after the binary point (truncated). g exceeds the exact scaled power of ten by at
/// most 1, so the approximation exceeds the true value by less than 2^59 / 2^128 = 2^-69.
struct scaled_product {
  std::uint64_t integer = 0, fraction = 0;
};

[[gnu::always_inline]] inline scaled_product multiply_scaled(uint128_parts g, std::uint64_t shifted_n) noexcept {
  const uint128_parts low = multiply_64x64(g.low, shifted_n);
  const uint128_parts high = multiply_64x64(g.high, shifted_n);
  const std::uint64_t fraction = high.low + low.high;
  return {high.high + (fraction < high.low ? 1 : 0), fraction};
}

/// The shortest decimal of |v| (finite, not 0) as digits * 10^exponent, where digits < 10^17 may end
/// in zeros. false if undecided (see to_shortest_decimal).
[[gnu::always_inline]] inline bool find_shortest(double v, std::uint64_t& digits, int& exponent) noexcept {
  const auto bits = std::bit_cast<std::uint64_t>(v);
  const std::uint64_t fraction_bits = bits & ((std::uint64_t{1} << 52) - 1);
  const int biased_exponent = static_cast<int>((bits >> 52) & 0x7ff);
  // |v| = c * 2^q
  const std::uint64_t c = biased_exponent == 0 ? fraction_bits : fraction_bits | (std::uint64_t{1} << 52);
  const int q = biased_exponent == 0 ? min_q : biased_exponent - 1075;
  // At a power of two the next double below is half as far as the next above (except at the smallest
  // normal, whose neighbour below is a subnormal the full gap away): R is then [c - 1/4, c + 1/2] * 2^q,
  // of width 3/4 * 2^q, instead of [c - 1/2, c + 1/2] * 2^q.
  const bool irregular = fraction_bits == 0 && biased_exponent > 1;
  const int k = irregular ? floor_log10_three_quarters_pow2(q) : floor_log10_pow2(q);
  const int h = q + floor_log2_pow10(-k) + 1;
  const uint128_parts g = powers_of_ten_128.g[static_cast<std::size_t>(-k - min_table_exponent)];

  // 4 |v| 10^-k and the bounds of R times 4 * 10^-k, rounded to odd: floor(x) if the true value x is
  // an integer, else floor(x) | 1. Such values compare with even integers as x does. A computed
  // fraction of at least 2^-63 exceeds the approximation's excess, so it is x's own: x is no integer
  // and its floor is the computed integer part. A smaller fraction means that x is an integer (then the
  // computed integer part is x), or that x lies within 2^-63 of one without being one: then 128 bits
  // cannot tell on which side, and the caller falls back.
  const std::uint64_t four_c = c << 2, four_c_low = four_c - (irregular ? 1 : 2), four_c_high = four_c + 2;
  const scaled_product x = multiply_scaled(g, four_c << h), x_low = multiply_scaled(g, four_c_low << h),
                       x_high = multiply_scaled(g, four_c_high << h);
  if ((x.fraction <= 1) | (x_low.fraction <= 1) | (x_high.fraction <= 1)) [[unlikely]] {
    // Exact products are common enough (0.5, 387.75); undecided ones have not been seen.
    if ((x.fraction <= 1 && !is_integer_product(four_c, q, k)) ||
        (x_low.fraction <= 1 && !is_integer_product(four_c_low, q, k)) ||
        (x_high.fraction <= 1 && !is_integer_product(four_c_high, q, k)))
      return false;
  }
  const std::uint64_t vb = x.integer | (x.fraction > 1 ? 1 : 0);
  const std::uint64_t vb_low = x_low.integer | (x_low.fraction > 1 ? 1 : 0);
  const std::uint64_t vb_high = x_high.integer | (x_high.fraction > 1 ? 1 : 0);

  // The bounds belong to R when c is even: reading a bound back is a tie, and ties round to even.
  // The tests below are data-dependent, so they combine with & and | (not && and ||, which GCC turns
  // into branches that would often mispredict).
  const std::uint64_t bound_excluded = c & 1;
  // Whether a candidate below |v| lies in R, and one above.
  auto in_r_below = [=](std::uint64_t candidate) { return vb_low + bound_excluded <= candidate << 2; };
  auto in_r_above = [=](std::uint64_t candidate) { return (candidate << 2) + bound_excluded <= vb_high; };

  // s * 10^k <= |v| < (s + 1) * 10^k, and s < 10^17: |v| 10^-k < 2^53 2^q 10^-k < 2^53 * 10.
  const std::uint64_t s = vb >> 2;
  // One multiple of 10^(k+1) at most lies in R: if one does, it is the shortest.
  const std::uint64_t s_tens = s / 10 * 10, t_tens = s_tens + 10;
  const bool s_tens_in = in_r_below(s_tens), t_tens_in = in_r_above(t_tens);
  // Else one or both of s and s + 1: the one in R, or the nearer, or the even one.
  const bool s_in = in_r_below(s), t_in = in_r_above(s + 1);
  const std::uint64_t midpoint = (s << 2) + 2;
  const bool above_midpoint = (vb > midpoint) | ((vb == midpoint) & ((s & 1) != 0));
  const bool take_t = t_in & (!s_in | above_midpoint);
  digits = s + (take_t ? 1 : 0);
  if (s_tens_in != t_tens_in) digits = t_tens_in ? t_tens : s_tens;
  exponent = k;
  return true;
}

// ---- short decimals ---------------------------------------------------------------------------------
// Prices are mostly decimals of a few places (180.55, 0.05, 2483.475), and for those a cheaper test finds
// the decimal that find_shortest would: fix the precision at 10^-4 instead of deriving it from the
// width of R. Where R is narrower than 10^-4 it holds at most one multiple of 10^-4; if it holds one, x,
// then x is the shortest decimal. Proof: let 10^p be the coarsest power of ten of which x is a multiple
// (p >= -4). Any other decimal of R that is a multiple of 10^p, or of a coarser power, would be a second
// multiple of 10^-4 in R. So x is the only decimal of R at the coarsest precision R offers, and that is
// the one find_shortest returns (nearness to v only decides among several). write_decimal then chooses
// between fixed and scientific from the same value, as it does for find_shortest's.

constexpr int short_decimal_places = 4;
constexpr std::uint64_t short_decimal_scale = 10000;  // 10^short_decimal_places

/// If |v| = c * 2^-s with 14 <= s <= 63 (2^-11 <= |v| < 2^39), where R is at most 2^-s wide, so narrower
/// than 10^-4: the multiple of 10^-4 in R as digits * 10^-4, or false when R holds none.
[[gnu::always_inline]] inline bool find_short_decimal(double v, std::uint64_t& digits, int& exponent) noexcept {
  static_assert((std::uint64_t{1} << 14) > short_decimal_scale, "R must be narrower than 10^-4");
  const auto bits = std::bit_cast<std::uint64_t>(v);
  const int s = 1075 - static_cast<int>((bits >> 52) & 0x7ff);
  if (s < 14 || s > 63) return false;
  const std::uint64_t c = (bits & ((std::uint64_t{1} << 52) - 1)) | (std::uint64_t{1} << 52);

  // Everything times 10^4 * 2^s, in integers: |v| becomes t = c * 10^4 < 2^67, the multiples of 10^-4
  // become the multiples of 2^s, and R becomes [t - 5000, t + 5000]. The multiples of 2^s nearest to t
  // are t - r and t - r + 2^s, where r = t mod 2^s. Two details of R do not matter here. Its ends (in
  // R only when c is even): t and 2^s are multiples of 16, so r and 2^s - r are too, never 5000. And
  // at a power of two R reaches only t - 2500 below (see find_shortest): but then t = 625 * 2^56, and r
  // is 0 (s <= 56) or a multiple of 2^56 that is not 0, as is 2^s - r.
  const uint128_parts t = multiply_64x64(c, short_decimal_scale);
  const std::uint64_t below = (t.low >> s) | (t.high << (64 - s));  // floor(t / 2^s)
  const std::uint64_t r = t.low & ((std::uint64_t{1} << s) - 1);
  constexpr std::uint64_t half_width = short_decimal_scale / 2;
  const bool below_in_r = r <= half_width, above_in_r = (std::uint64_t{1} << s) - r <= half_width;
  digits = below + (above_in_r ? 1 : 0);
  exponent = -short_decimal_places;
  return below_in_r || above_in_r;
}

// ---- digits as text --------------------------------------------------------------------------------
// Digits are made in registers, eight at a time, and stored as whole words: storing them one or two
// at a time and then copying them into place made the CPU wait for its store buffer (a load that spans
// several recent small stores cannot be forwarded from them).

static_assert(std::endian::native == std::endian::little, "digit words are stored as little-endian words");

constexpr std::uint64_t ascii_zeros = 0x3030303030303030;

/// The eight digits of v < 10^8 (leading zeros included) as ASCII in a word whose lowest byte is the
/// first digit, i.e. in memory order.
[[gnu::always_inline]] inline std::uint64_t eight_digits(std::uint32_t v) noexcept {
  // Split into ever narrower lanes: 4 + 4 digits in 32-bit lanes, then 2 + 2 in 16-bit lanes, then
  // 1 + 1 in bytes. A lane x = 10^m a + b becomes a + 2^w b = 2^w x - (2^w 10^m - 1) a, for all lanes
  // at once: no intermediate outgrows its lane. The lane-wise divisions are multiplications
  // (x * 10486 >> 20 is x / 100 for x < 10^4, x * 103 >> 10 is x / 10 for x < 100), and the masks drop
  // what the shift brings in from the lane above.
  const std::uint64_t thousands = v / 10000;
  const std::uint64_t fours = (std::uint64_t{v} << 32) - thousands * ((std::uint64_t{10000} << 32) - 1);
  const std::uint64_t hundreds = ((fours * 10486) >> 20) & 0x0000007f0000007f;
  const std::uint64_t twos = (fours << 16) - hundreds * ((100 << 16) - 1);
  const std::uint64_t tens = ((twos * 103) >> 10) & 0x000f000f000f000f;
  const std::uint64_t ones = (twos << 8) - tens * ((10 << 8) - 1);
  return ones + ascii_zeros;
}

/// Sixteen characters, in memory order.
struct digit_block {
  std::uint64_t first8 = 0, last8 = 0;
};

/// The sixteen digits of m < 10^16, leading zeros included.
[[gnu::always_inline]] inline digit_block sixteen_digits(std::uint64_t m) noexcept {
  return {eight_digits(static_cast<std::uint32_t>(m / 100000000)),
          eight_digits(static_cast<std::uint32_t>(m % 100000000))};
}

/// '0' characters at the start of b (which holds at least one other digit).
[[gnu::always_inline]] inline int leading_zero_chars(digit_block b) noexcept {
  // A '0' is a zero byte in these differences; the start of the text is the low end of first8.
  const std::uint64_t first = b.first8 ^ ascii_zeros, last = b.last8 ^ ascii_zeros;
  return first != 0 ? std::countr_zero(first) / 8 : 8 + std::countr_zero(last) / 8;
}

/// '0' characters at the end of b (all 16 if b is all zeros).
[[gnu::always_inline]] inline int trailing_zero_chars(digit_block b) noexcept {
  const std::uint64_t first = b.first8 ^ ascii_zeros, last = b.last8 ^ ascii_zeros;
  return last != 0 ? std::countl_zero(last) / 8 : 8 + std::countl_zero(first) / 8;
}

/// b without its first n characters (0 to 15); zero bytes come in at the end.
[[gnu::always_inline]] inline digit_block drop_chars(digit_block b, int n) noexcept {
  if (n == 0) return b;
  if (n >= 8) return {b.last8 >> (8 * (n - 8)), 0};
  return {(b.first8 >> (8 * n)) | (b.last8 << (64 - 8 * n)), b.last8 >> (8 * n)};
}

void store_word(char* out, std::uint64_t word) noexcept { std::memcpy(out, &word, 8); }

void store_block(char* out, digit_block b) noexcept {
  store_word(out, b.first8);
  store_word(out + 8, b.last8);
}

/// word with '.' inserted before byte at (0 to 7); the byte pushed out at the top is the caller's.
[[gnu::always_inline]] inline std::uint64_t insert_point(std::uint64_t word, int at) noexcept {
  const std::uint64_t below = (std::uint64_t{1} << (8 * at)) - 1;
  return (word & below) | (std::uint64_t{'.'} << (8 * at)) | ((word & ~below) << 8);
}

/// Stores the 16 characters of b with a '.' inserted before character at (0 to 15): 17 bytes.
[[gnu::always_inline]] inline void store_block_with_point(char* out, digit_block b, int at) noexcept {
  if (at < 8) {
    store_word(out, insert_point(b.first8, at));
    store_word(out + 8, (b.last8 << 8) | (b.first8 >> 56));
  } else {
    store_word(out, b.first8);
    store_word(out + 8, insert_point(b.last8, at - 8));
  }
  out[16] = static_cast<char>(b.last8 >> 56);
}

/// Writes the digits of m and returns the end; writes 16 bytes (up to 20 from 10^16 on) whatever its
/// length.
char* write_unsigned(char* out, std::uint64_t m) noexcept {
  constexpr std::uint64_t ten_to_16 = 10000000000000000;
  if (m >= ten_to_16) [[unlikely]] {
    const std::uint64_t top = m / ten_to_16;  // at most 1844
    out = write_unsigned(out, top);
    store_block(out, sixteen_digits(m - top * ten_to_16));
    return out + 16;
  }
  const digit_block block = sixteen_digits(m);
  const int leading = m == 0 ? 15 : leading_zero_chars(block);
  store_block(out, drop_chars(block, leading));
  return out + 16 - leading;
}

/// Writes digits * 10^exponent (digits < 10^17, the shortest decimal of |v|, perhaps with trailing
/// zeros) as libstdc++'s std::to_chars does: fixed notation unless scientific is shorter (a tie goes
/// to fixed). Writes up to max_double_chars bytes, some of them beyond the text.
[[gnu::always_inline]] inline char* write_decimal(char* out, std::uint64_t digits, int exponent, double magnitude) noexcept {
  // The text of digits: a 17th digit on its own (lead), the others in a block of 16, which starts with
  // the first significant digit.
  const std::uint64_t high = digits / 100000000;  // below 10^9
  const auto low = static_cast<std::uint32_t>(digits - high * 100000000);
  const auto lead = static_cast<std::uint32_t>(high / 100000000);
  const auto middle = static_cast<std::uint32_t>(high - std::uint64_t{lead} * 100000000);
  // Short decimals end in eight zeros or more (digits of 0.25 are 25000000000000000).
  digit_block block{eight_digits(middle), ascii_zeros};
  if (low != 0) block.last8 = eight_digits(low);
  const int trailing_zeros = trailing_zero_chars(block);
  int n = 17 - trailing_zeros;  // significant digits
  if (lead == 0) {
    const int leading_zeros = leading_zero_chars(block);
    block = drop_chars(block, leading_zeros);
    n -= 1 + leading_zeros;
  }
  const int e = exponent + trailing_zeros;  // |v| ~ (the n significant digits) * 10^e

  // Fixed is "ddd00", "dd.dd" or "0.00dd"; scientific "d.ddde+XX", or "de+XX" for one digit.
  const bool fixed = n == 1 ? (e >= -3 && e <= 4) : (e >= -(n + 3) && e <= 5);
  if (fixed && e >= 0) {
    // An integer. Fixed notation prints all of its digits, which beyond 2^53 are not the shortest
    // digits but those of the exact value (2^60 is 1152921504606846976, not ...847000).
    if (magnitude >= 0x1p53) [[unlikely]] {
      if (magnitude < 0x1p64) return write_unsigned(out, static_cast<std::uint64_t>(magnitude));
      return std::to_chars(out, out + (max_double_chars - 1), magnitude).ptr;  // after a sign
    }
    // Below 2^53 this is an integer of write_double's own (a shortest decimal that is an integer below
    // 2^53 is a double, so it is v), with exponent 0 and no lead: the block holds all of its digits.
    store_block(out, block);
    return out + n + e;
  }
  if (fixed) {
    const int integer_digits = n + e;  // at most 16: e < 0
    if (integer_digits > 0) {
      // "dd.dd"
      if (lead != 0) {
        out[0] = static_cast<char>('0' + lead);
        store_block_with_point(out + 1, block, integer_digits - 1);
      } else {
        store_block_with_point(out, block, integer_digits);
      }
      return out + n + 1;
    }
    // "0.00dd": at most three zeros after the point.
    const int zeros = -integer_digits;
    std::memcpy(out, "0.000", 5);
    char* p = out + 2 + zeros;
    if (lead != 0) *p++ = static_cast<char>('0' + lead);
    store_block(p, block);
    return out + 2 + zeros + n;
  }
  // "d.ddde+XX": the first digit, the point, the others.
  if (lead != 0) {
    out[0] = static_cast<char>('0' + lead);
    store_block(out + 2, block);
  } else {
    out[0] = static_cast<char>(block.first8);
    store_block(out + 2, drop_chars(block, 1));
  }
  out[1] = '.';
  char* p = n > 1 ? out + n + 1 : out + 1;
  int scientific_exponent = e + n - 1;
  *p++ = 'e';
  *p++ = scientific_exponent < 0 ? '-' : '+';
  if (scientific_exponent < 0) scientific_exponent = -scientific_exponent;
  if (scientific_exponent >= 100) {
    *p++ = static_cast<char>('0' + scientific_exponent / 100);
    scientific_exponent %= 100;
  }
  p[0] = static_cast<char>('0' + scientific_exponent / 10);
  p[1] = static_cast<char>('0' + scientific_exponent % 10);
  return p + 2;
}

shortest_decimal without_trailing_zeros(shortest_decimal d) noexcept {
  while (d.digits % 10 == 0) {
    d.digits /= 10;
    ++d.exponent;
  }
  return d;
}

}  // namespace

std::optional<shortest_decimal> to_shortest_decimal(double v) noexcept {
  shortest_decimal d;
  if (!std::isfinite(v) || v == 0 || !find_shortest(std::fabs(v), d.digits, d.exponent)) return std::nullopt;
  return without_trailing_zeros(d);
}

std::optional<shortest_decimal> to_short_decimal(double v) noexcept {
  shortest_decimal d;
  if (!std::isfinite(v) || !find_short_decimal(std::fabs(v), d.digits, d.exponent)) return std::nullopt;
  return without_trailing_zeros(d);
}

char* write_double(char* out, double v) noexcept {
  char* const end_of_room = out + max_double_chars;
  const auto bits = std::bit_cast<std::uint64_t>(v);
  if (bits >> 63 != 0) *out++ = '-';  // also "-0", "-inf" and "-nan", as std::to_chars writes them
  const double magnitude = std::fabs(v);
  if (!std::isfinite(magnitude)) {
    std::memcpy(out, std::isnan(magnitude) ? "nan" : "inf", 3);
    return out + 3;
  }
  // Integers below 2^53 (0 too) are their own shortest decimal: no neighbour is as short.
  const auto integer = static_cast<std::uint64_t>(magnitude < 0x1p53 ? magnitude : 0);
  if (static_cast<double>(integer) == magnitude) {
    if (integer == 0) {
      *out = '0';
      return out + 1;
    }
    return write_decimal(out, integer, 0, magnitude);
  }
  std::uint64_t digits = 0;
  int exponent = 0;
  // Prices skip find_shortest; for other doubles, find_short_decimal costs a few instructions.
  if (!find_short_decimal(magnitude, digits, exponent) && !find_shortest(magnitude, digits, exponent)) [[unlikely]]
    return std::to_chars(out, end_of_room, magnitude).ptr;
  return write_decimal(out, digits, exponent, magnitude);
}

char* write_integer(char* out, std::int64_t v) noexcept {
  auto magnitude = static_cast<std::uint64_t>(v);
  if (v < 0) {
    *out++ = '-';
    magnitude = 0 - magnitude;
  }
  return write_unsigned(out, magnitude);
}

}  // namespace optaro::detail

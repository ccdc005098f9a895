#pragma once
// The benchmark option set: a fixed seed and documented ranges (CONVENTIONS.md, Measurement), so
// that every run, every machine and the Python comparison (compare_peers.py mirrors this file)
// price the same options.
//
// Option i consumes four consecutive outputs of std::mt19937_64 seeded with kSeed, in this order:
//   K     log-uniform in [50, 200]        (ln(F/K) is then uniform in [-ln 2, ln 2])
//   T     log-uniform in [1 day, 2 years] (1 day = 1/365 year; short expiries as often as long ones)
//   sigma uniform in [5%, 100%]
//   call  when the draw's top bit is set  (calls and puts about half each)
// with S = F = 100 and r = q = 0 (Black-76 with F = 100). A draw u in [0, 1) is the top 53 bits of
// the 64-bit output times 2^-53: written out, because std::uniform_real_distribution is not
// specified bit for bit and differs between standard libraries.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace optaro_bench {

inline constexpr std::uint64_t kSeed = 20240617;
inline constexpr double kSpot = 100.0;
inline constexpr double kRate = 0.0, kCarry = 0.0;
inline constexpr double kStrikeMin = 50.0, kStrikeMax = 200.0;
inline constexpr double kExpiryMin = 1.0 / 365.0, kExpiryMax = 2.0;
inline constexpr double kVolMin = 0.05, kVolMax = 1.0;

inline double unit_draw(std::mt19937_64& gen) { return static_cast<double>(gen() >> 11) * 0x1.0p-53; }

inline double log_uniform(double u, double lo, double hi) { return lo * std::exp(u * std::log(hi / lo)); }

/// Structure of arrays, as the batch API takes it.
struct option_set {
  std::vector<double> S, K, T, r, q, sigma;
  std::vector<std::uint8_t> is_call;
};

inline option_set make_option_set(std::size_t n) {
  option_set o;
  o.S.assign(n, kSpot);
  o.r.assign(n, kRate);
  o.q.assign(n, kCarry);
  o.K.resize(n);
  o.T.resize(n);
  o.sigma.resize(n);
  o.is_call.resize(n);
  std::mt19937_64 gen(kSeed);
  for (std::size_t i = 0; i < n; ++i) {
    o.K[i] = log_uniform(unit_draw(gen), kStrikeMin, kStrikeMax);
    o.T[i] = log_uniform(unit_draw(gen), kExpiryMin, kExpiryMax);
    o.sigma[i] = kVolMin + (kVolMax - kVolMin) * unit_draw(gen);
    o.is_call[i] = static_cast<std::uint8_t>(gen() >> 63);
  }
  return o;
}

}  // namespace optaro_bench

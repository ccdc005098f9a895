// price_chain: what optaro is for, in one screen. Generates a NIFTY-like weekly option chain from a
// volatility smile (seeded, so a run can be repeated), turns it into exchange-style quotes (model
// price plus noise within the bid-ask spread, rounded to the 0.05 tick), and then does what a desk
// does with such quotes: recovers the implied volatility of every quote, with a status where no
// volatility attains it, and computes the Greeks at that volatility in trader units.
//
//   price_chain [--seed N]
//
// Exits non-zero if a recovered volatility fails to reprice its quote or an inversion does not
// converge: the program doubles as a smoke test (ctest -R example_price_chain).
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string_view>
#include <vector>

#include <optaro/optaro.hpp>

namespace {

// The market: index points, continuous rates, ACT/365 time (CONVENTIONS.md).
constexpr double spot = 21543.25;
constexpr double rate = 0.065;   // r, continuously compounded
constexpr double carry = 0.012;  // q, the index's dividend yield
constexpr int days_to_expiry = 15;
constexpr double tick = 0.05;
// Strikes: every 50 points within 500 of the at-the-money strike, then every 100 out to 1500.
constexpr int near_step = 50, far_step = 100, near_width = 500, far_width = 1500;

struct smile {
  double atm, skew, convexity;  // sigma(k) = atm + skew k + convexity k^2, k = ln(K/F)
  [[nodiscard]] double operator()(double k) const { return atm + skew * k + convexity * k * k; }
};

// Uniform in [0, 1) from the generator's raw bits: std::uniform_real_distribution is not specified
// bit for bit, and a seed should give the same chain with every standard library.
double uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11U) * 0x1.0p-53; }

// What a quote screen would show for a model price: noise within half a spread of max(1 tick, 0.2%),
// rounded to the tick, never below one tick.
double quote_of(double model, std::mt19937_64& rng) {
  const double half_spread = std::fmax(tick, 0.002 * model);
  const double noisy = model + (2.0 * uniform(rng) - 1.0) * half_spread;
  return std::fmax(tick, std::round(noisy / tick) * tick);
}

struct side {
  double quote = 0;
  optaro::iv_result iv{};
  optaro::greeks greeks{};  // trader units, at the recovered volatility; valid when iv.st is ok
};

void print_side(const side& s) {
  if (s.iv.st == optaro::status::ok) {
    std::printf(" %8.2f %6.2f %8.4f %9.6f %7.2f %8.2f", s.quote, 100.0 * s.iv.sigma, s.greeks.delta, s.greeks.gamma,
                s.greeks.vega, s.greeks.theta);
  } else {
    const std::string_view name = optaro::to_string(s.iv.st);
    std::printf(" %8.2f  %-41.*s", s.quote, static_cast<int>(name.size()), name.data());
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t seed = 1;  // a seed whose chain has stale deep in-the-money quotes
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      std::fprintf(stderr, "usage: %s [--seed N]\n", argv[0]);
      return arg == "--help" || arg == "-h" ? 0 : 2;
    }
  }

  std::mt19937_64 rng(seed);
  const double T = days_to_expiry / 365.0;
  const double forward = spot * std::exp((rate - carry) * T);
  const smile vol{0.11 + 0.04 * uniform(rng), -0.30, 3.0};
  const double atm_strike = std::round(spot / near_step) * near_step;

  std::vector<double> strikes;
  for (int d = -far_width; d <= far_width; d += (d >= -near_width && d < near_width ? near_step : far_step)) {
    strikes.push_back(atm_strike + d);
  }

  const std::string_view version = optaro::version();
  std::printf("optaro %.*s  price_chain: a synthetic NIFTY-like weekly chain (seed %llu)\n",
              static_cast<int>(version.size()), version.data(), static_cast<unsigned long long>(seed));
  std::printf("spot %.2f  forward %.2f  expiry %d days (T = %.6f y)  r %.2f%%  q %.2f%%\n", spot, forward,
              days_to_expiry, T, 100.0 * rate, 100.0 * carry);
  std::printf(
      "smile sigma(k) = %.2f%% %+.2f k %+.1f k^2, k = ln(K/F); quotes = model price + noise within\n"
      "the spread, rounded to the %.2f tick. Greeks at the recovered IV, trader units: delta per\n"
      "point, gamma per point per point, vega per vol point, theta per calendar day.\n\n",
      100.0 * vol.atm, vol.skew, vol.convexity, tick);
  std::printf("        |%28s%24s |%27s\n", "CALL", "", "PUT");
  std::printf(
      " strike |    quote   IV %%    delta     gamma vega/pt  theta/d |"
      "    quote   IV %%    delta     gamma vega/pt  theta/d\n");

  int quotes = 0, failures = 0;
  std::array<int, 6> by_status{};
  double worst_reprice = 0.0, worst_smile_gap = 0.0;
  for (const double K : strikes) {
    std::array<side, 2> sides;  // call, put
    for (int j = 0; j < 2; ++j) {
      const bool is_call = j == 0;
      const double sigma = vol(std::log(K / forward));
      side& s = sides[static_cast<std::size_t>(j)];
      s.quote = quote_of(optaro::bs_price(spot, K, T, rate, carry, sigma, is_call), rng);
      s.iv = optaro::bs_implied_vol(s.quote, spot, K, T, rate, carry, is_call);
      ++quotes;
      ++by_status[static_cast<std::size_t>(s.iv.st)];
      if (s.iv.st == optaro::status::not_converged) ++failures;
      if (s.iv.st != optaro::status::ok) continue;
      s.greeks = optaro::to_trader_units(optaro::bs_greeks(spot, K, T, rate, carry, s.iv.sigma, is_call));
      // The recovered volatility must give the quote back; the gap to the smile is the quote noise.
      const double reprice_error = std::fabs(s.greeks.price - s.quote) / s.quote;
      worst_reprice = std::fmax(worst_reprice, reprice_error);
      if (!(reprice_error <= 1e-10)) ++failures;
      worst_smile_gap = std::fmax(worst_smile_gap, std::fabs(s.iv.sigma - sigma));
    }
    std::printf("%7.0f |", K);
    print_side(sides[0]);
    std::printf(" |");
    print_side(sides[1]);
    std::printf("\n");
  }

  std::printf("\n%d quotes:", quotes);
  for (std::size_t st = 0; st < by_status.size(); ++st) {
    if (by_status[st] == 0) continue;
    const std::string_view name = optaro::to_string(static_cast<optaro::status>(st));
    std::printf(" %d %.*s", by_status[st], static_cast<int>(name.size()), name.data());
  }
  std::printf("\n");
  if (by_status[static_cast<std::size_t>(optaro::status::below_intrinsic)] != 0) {
    std::printf(
        "below_intrinsic: the quote is under the discounted intrinsic value, as stale deep\n"
        "in-the-money quotes often are; no volatility attains it, so it has no IV and no Greeks.\n");
  }
  std::printf("max |reprice - quote| / quote at the recovered IV: %.1e\n", worst_reprice);
  std::printf("max |recovered IV - smile IV|: %.2f vol points (spread noise and tick rounding)\n",
              100.0 * worst_smile_gap);
  if (failures != 0) {
    std::printf("FAILED: %d quote(s) did not invert to a volatility that reprices them\n", failures);
    return 1;
  }
  return 0;
}

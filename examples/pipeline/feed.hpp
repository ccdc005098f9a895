#pragma once
// The reference pipeline's feed generator (issue 8): a deterministic stream of market messages for any
// number of products, as an exchange feed handler would publish them (MESSAGES.md formats).
//
// The underlying follows geometric Brownian motion with occasional jumps; each product lists weekly
// and monthly expiries with strikes at its step around the spot; option quotes are priced by
// Black-Scholes on an SVI smile per expiry, with bid/ask spreads that widen away from the money and
// open interest that peaks near the money, puts heavier below it and calls above. Ids are monotonic
// (tick_id per product, chain_id per product and expiry, quote_id per symbol). The same seed and
// configuration give the same messages, byte for byte.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <optaro/market.hpp>
#include <optaro/ports.hpp>
#include <optaro/svi.hpp>

namespace optaro::pipeline {

struct product_spec {
  std::string name;
  double spot = 0;              ///< starting price
  double strike_step = 50;      ///< strikes are multiples of this
  int strikes_each_side = 20;   ///< listed strikes below and above the ATM strike
  double atm_vol = 0.14;        ///< the smile's level at the money
  double lot_size = 1;
};

struct feed_config {
  std::vector<product_spec> products{{"NIFTY", 21500, 50, 20, 0.13, 25}, {"BANKNIFTY", 46000, 100, 20, 0.16, 15}};
  std::uint64_t seed = 1;
  /// Event time of the first message: 2025-01-15T03:45:00Z (09:15 IST) by default.
  timestamp_ns start = 1'736'912'700'000'000'000;
  double ticks_per_second = 1000;  ///< underlying ticks, all products together (event time)
  double chains_per_second = 10;   ///< option chains, all products and expiries together
  double quotes_per_second = 0;    ///< single option quotes
  int weekly_expiries = 2;         ///< the next N Thursdays
  int monthly_expiries = 1;        ///< the last Thursday of the next N months (when not already weekly)
  double drift = 0.0;              ///< per year
  double jumps_per_day = 2;        ///< Poisson intensity of jumps
  double jump_size = 0.004;        ///< standard deviation of a jump's log-return
  double rate = 0.065, dividend_yield = 0.012;

  /// std::invalid_argument naming the field.
  void validate() const;
};

/// One generated message.
struct feed_message {
  message_kind kind = message_kind::underlying;
  std::string payload;          ///< the JSON, as MESSAGES.md specifies it
  timestamp_ns event_time = 0;  ///< its "timestamp"
  std::string product;
};

class feed_generator {
 public:
  explicit feed_generator(feed_config config);
  ~feed_generator();
  feed_generator(const feed_generator&) = delete;
  feed_generator& operator=(const feed_generator&) = delete;

  /// The next message in event-time order (ties: ticks, then quotes, then chains, then by product).
  [[nodiscard]] feed_message next();
  /// The same into `out`, reusing its payload's capacity (for a producer loop that publishes and
  /// then reuses one message).
  void next(feed_message& out);
  /// Messages generated so far, by kind.
  [[nodiscard]] std::uint64_t produced(message_kind kind) const noexcept;
  /// The current underlying price of a product (for displays); NaN for an unknown product.
  [[nodiscard]] double spot(std::string_view product) const noexcept;
  [[nodiscard]] const feed_config& config() const noexcept;

  /// The expiries listed now (ascending; the same for every product). Weekly: the next
  /// weekly_expiries Thursdays after the reference date; monthly: the last Thursdays of the next
  /// monthly_expiries months whose last Thursday is after it (a month whose last Thursday is already
  /// a weekly expiry adds nothing). The reference date is start's date, and becomes an expiry's date
  /// once that expiry expires (10:00 UTC on its date) in event time: the list rolls forward.
  [[nodiscard]] std::vector<std::chrono::year_month_day> expiries() const;
  /// The smile the generator prices a product's expiry with at event time `at`: raw SVI total variance
  /// against k = ln(K / F), F = S e^{(r-q)T}, T = time_to_expiry(expiry, 10:00 UTC, at); its value at
  /// k = 0 is atm_vol^2 T. nullopt for an unknown product, an expiry not listed now, or T <= 0.
  [[nodiscard]] std::optional<svi_params> smile(std::string_view product, std::chrono::year_month_day expiry,
                                                timestamp_ns at) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace optaro::pipeline

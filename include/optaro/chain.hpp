#pragma once
// Chain analytics: put-call ratios, max pain, forward and ATM strike, per-quote implied volatility and
// Greeks, smile measures and positioning, and enrich_chain, which computes everything that the
// enriched:option_chain message carries (../shared/design/MESSAGES.md). Pure functions: no I/O, no
// clock (the caller passes "now" where a result needs it), no globals.
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include <optaro/market.hpp>

namespace optaro {

/// How the forward of a chain is obtained.
enum class forward_method : std::uint8_t {
  carry,   ///< S exp((r - q) T)
  parity,  ///< implied by put-call parity at the strikes nearest the money with both sides quoted
};

/// Configuration of a product's chain analytics (MESSAGES.md "Enrichment").
struct chain_config {
  double rate = 0;            ///< continuous, per year; a chain's own "rate" overrides it
  double dividend_yield = 0;  ///< continuous, per year; a chain's own "dividend_yield" overrides it
  /// Time of day (UTC) at which an expiry date expires: 15:30 Asia/Kolkata = 10:00 UTC by default.
  std::chrono::seconds expiry_time_utc{10 * 3600};
  forward_method forward = forward_method::carry;
  int pcr_window = 5;   ///< the windowed PCR counts the listed strikes within +-N of the ATM strike
  double lot_size = 1;  ///< contract multiplier for gamma and delta exposure
};

/// Outcome of one quote's implied-volatility inversion, as enriched messages name it.
enum class quote_iv_status : std::uint8_t {
  ok,
  zero_time_value,  ///< price at intrinsic: iv 0
  no_price,         ///< neither a usable mid nor a last price
  below_intrinsic,
  above_maximum,
  expired,  ///< time to expiry <= 0
  not_converged,
};
[[nodiscard]] std::string_view to_string(quote_iv_status s) noexcept;

/// Per-quote analytics; Greeks in trader units (delta, gamma per unit of the underlying, vega per vol
/// point, theta per calendar day, rho per rate point), NaN where iv is not available.
struct quote_analytics {
  double price = 0;  ///< the price used for the IV: mid, else last, else NaN (MESSAGES.md)
  double iv = 0;     ///< NaN unless status is ok or zero_time_value
  quote_iv_status status = quote_iv_status::no_price;
  double delta = 0, gamma = 0, vega = 0, theta = 0, rho = 0;
};

/// Everything enrich_chain computes for one chain. std::nullopt is JSON null.
struct chain_analytics {
  double time_to_expiry = 0;  ///< years (seconds / 31,536,000)
  double forward = 0;
  double rate = 0, dividend_yield = 0;
  std::optional<double> pcr_oi, pcr_volume;                ///< put / call totals; null if calls are 0
  std::optional<double> pcr_oi_window, pcr_volume_window;  ///< within +-pcr_window strikes of ATM
  std::int64_t total_call_oi = 0, total_put_oi = 0, total_call_volume = 0, total_put_volume = 0;
  std::optional<double> max_pain;
  std::optional<double> atm_strike, atm_iv;
  std::optional<double> risk_reversal_25d, butterfly_25d, expected_move;
  std::optional<double> max_call_oi_strike, max_put_oi_strike;
  double gamma_exposure = 0;  ///< sum over quotes of gamma * OI * lot size * S^2 / 100 (per 1% move), calls +, puts -
  double delta_exposure = 0;  ///< sum over quotes of delta * OI * lot size * S
  std::vector<quote_analytics> calls, puts;  ///< parallel to the chain's sides
  /// Per strike, over the union of listed strikes (ascending): put OI / call OI (null if call OI is 0),
  /// and the change in OI against the previous snapshot (only when one is given).
  std::vector<double> strikes;
  std::vector<std::optional<double>> pcr_oi_by_strike;
  std::vector<std::int64_t> call_oi_change, put_oi_change;
};

/// Sum of puts over sum of calls; nullopt when the calls sum to 0 (or there are none).
[[nodiscard]] std::optional<double> pcr(std::span<const double> call_values,
                                        std::span<const double> put_values) noexcept;

/// The listed strike (union of both sides) that minimises the total payout to option holders,
/// sum callOI * max(0, s - K) + sum putOI * max(0, K - s); ties go to the lowest strike; nullopt for an
/// empty chain. O(n log n): sort and prefix sums. Strikes need not be sorted or unique across sides.
[[nodiscard]] std::optional<double> max_pain(std::span<const double> call_strikes, std::span<const double> call_oi,
                                             std::span<const double> put_strikes, std::span<const double> put_oi);

/// Time to expiry in years of 365 days from an expiry date at the configured time of day (UTC).
[[nodiscard]] double time_to_expiry(std::chrono::year_month_day expiry, std::chrono::seconds expiry_time_utc,
                                    timestamp_ns now) noexcept;

/// All analytics of a chain. previous (the last snapshot of the same chain) adds OI changes per strike.
[[nodiscard]] chain_analytics enrich_chain(const option_chain& chain, const chain_config& config,
                                           const option_chain* previous = nullptr);

}  // namespace optaro

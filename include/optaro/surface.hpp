#pragma once
// Implied-volatility surfaces: an SVI smile per expiry (<optaro/svi.hpp>), joined across expiries
// linearly in total variance at fixed forward log-moneyness, with calendar-arbitrage diagnostics.
//
// Conventions: k = ln(K / F(T)) (forward log-moneyness), w(k, T) = sigma^2(k, T) T (total variance),
// T in years. Outside the data the surface is flat in implied volatility:
//   - in strike: beyond a slice's fitted range [k_min, k_max], w = w(k_min) or w(k_max);
//   - in expiry: before the first slice, w(k, T) = w_1(k) T / T_1; after the last, w_n(k) T / T_n.
// Between slices the forward is interpolated linearly in ln F (a constant carry per interval); before
// the first slice it runs from the spot (when given) to F_1, after the last it continues the last
// interval's carry (the spot's, with one slice; flat without a spot).
#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <optaro/chain.hpp>
#include <optaro/codec.hpp>
#include <optaro/market.hpp>
#include <optaro/svi.hpp>

namespace optaro {

/// One expiry of a surface: its fitted smile and where it was fitted.
struct smile_slice {
  std::optional<std::chrono::year_month_day> expiry;  ///< the date, when known (a label only)
  double time_to_expiry = 0;  ///< years, > 0
  double forward = 0;         ///< > 0
  svi_params params{};
  double k_min = 0, k_max = 0;  ///< forward log-moneyness range of the quotes the smile was fitted to
  double rmse = 0;              ///< of the fit, in total variance (weighted)
  std::size_t points = 0;       ///< quotes the smile was fitted to
};

/// Fits the smile of one expiry from implied volatilities: k = ln(K/F), w = iv^2 T, weighted as given
/// (empty: equal weights). Rows whose iv is not finite and > 0 or whose weight is 0 are left out.
/// nullopt when fewer than 5 rows remain. previous: the same expiry's last fit, as a warm start.
[[nodiscard]] std::optional<smile_slice> fit_smile(std::span<const double> strikes, std::span<const double> ivs,
                                                   std::span<const double> weights, double forward,
                                                   double time_to_expiry, const svi_params* previous = nullptr);

/// Fits the smile of an enriched chain: the out-of-the-money quote at each strike (calls at K >= F,
/// puts below) whose IV converged, weighted by vega, so that the wings, whose vols are least certain
/// per unit of price, count least. nullopt when fewer than 5 such quotes or the chain has expired.
[[nodiscard]] std::optional<smile_slice> fit_smile(const option_chain& chain, const chain_analytics& analytics,
                                                   const svi_params* previous = nullptr);

/// Where total variance falls with expiry at fixed k: w(k, t2) < w(k, t1) with t1 < t2.
struct calendar_violation {
  double k = 0;
  double t1 = 0, t2 = 0;
  double w1 = 0, w2 = 0;
};

/// Smiles across expiries. Cheap to copy; queries are const and thread-safe.
class vol_surface {
 public:
  vol_surface() = default;
  /// Slices in any order, distinct times to expiry; throws std::invalid_argument naming the slice and
  /// the field otherwise (time_to_expiry or forward not finite and > 0, k_min > k_max, parameters
  /// outside the SVI domain). spot: the underlying now, which anchors the forward before the first
  /// expiry.
  explicit vol_surface(std::vector<smile_slice> slices, std::optional<double> spot = std::nullopt);

  [[nodiscard]] const std::vector<smile_slice>& slices() const noexcept { return slices_; }
  [[nodiscard]] std::optional<double> spot() const noexcept { return spot_; }
  [[nodiscard]] bool empty() const noexcept { return slices_.empty(); }

  /// w(k, T); 0 at T = 0; NaN for an empty surface, T < 0 or a non-finite input.
  [[nodiscard]] double total_variance(double k, double t) const noexcept;
  /// F(T) (see the file comment); NaN for an empty surface or T < 0.
  [[nodiscard]] double forward(double t) const noexcept;
  /// Implied volatility at strike K and expiry T: sqrt(w(ln(K/F(T)), T) / T); NaN where undefined
  /// (T <= 0, K <= 0).
  [[nodiscard]] double iv(double strike, double t) const noexcept;

  /// Vectorised queries: k (or strike) and t of length n or 1 (broadcast), out of length n. Throws
  /// std::invalid_argument naming the argument whose length does not fit.
  void total_variance(std::span<const double> k, std::span<const double> t, std::span<double> out) const;
  void iv(std::span<const double> strike, std::span<const double> t, std::span<double> out) const;

  /// Calendar arbitrage between consecutive expiries on a grid of grid_points values of k spanning
  /// every slice's fitted range: the points where w falls by more than a relative 1e-12.
  [[nodiscard]] std::vector<calendar_violation> calendar_violations(std::size_t grid_points = 201) const;

 private:
  /// Slice i's total variance at k, flat beyond its fitted range.
  [[nodiscard]] double slice_variance(std::size_t i, double k) const noexcept;

  std::vector<smile_slice> slices_;  // ascending time to expiry
  std::optional<double> spot_;
};

/// The volatility_surface:{p} document (MESSAGES.md "Redis keys"):
/// {"product", "timestamp", "spot", "slices": [{"expiry", "time_to_expiry", "forward",
///  "svi": {"a", "b", "rho", "m", "sigma"}, "k_min", "k_max", "rmse", "points", "atm_iv"}],
///  "calendar_violations": [{"k", "t1", "t2", "w1", "w2"}]}; unknown values are null.
[[nodiscard]] std::string encode_surface(const vol_surface& surface, std::string_view product, timestamp_ns as_of);
/// The surface of such a document (what encode_surface wrote, or a producer's equivalent); an error
/// names the field and the reason.
[[nodiscard]] decode_result<vol_surface> decode_surface(std::string_view json);

/// A member of the iv_surface:{p}:{e} sorted set: "{strike}:{C|P}", scored by the strike, with the IV
/// for the companion hash iv_surface_iv:{p}:{e} (null where no IV).
struct iv_surface_member {
  std::string member;
  double score = 0;
  std::optional<double> iv;
};
/// One member per quote of the chain, calls first, in listed order.
[[nodiscard]] std::vector<iv_surface_member> iv_surface_members(const option_chain& chain,
                                                                const chain_analytics& analytics);

}  // namespace optaro

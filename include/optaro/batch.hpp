#pragma once
// Batch kernels over structure-of-arrays input. Every input span holds either n values or exactly
// one (broadcast to all n rows); outputs hold n values and are written in place. Nothing is
// allocated. One bad row never fails a batch: it gets NaN (and a status for implied vol).
// A length mismatch is a programming error at the call site: std::invalid_argument naming the field.
#include <cstddef>
#include <cstdint>
#include <span>

#include <optaro/status.hpp>

namespace optaro {

/// Inputs of a Black-Scholes-Merton batch; is_call is nonzero for a call.
struct bsm_batch {
  std::span<const double> S, K, T, r, q, sigma;
  std::span<const std::uint8_t> is_call;
};

/// Inputs of a Black-76 batch.
struct black76_batch {
  std::span<const double> F, K, T, r, sigma;
  std::span<const std::uint8_t> is_call;
};

/// Inputs of an implied-volatility batch (BSM; Black-76 is the same with S = F and q = r).
struct iv_batch {
  std::span<const double> price, S, K, T, r, q;
  std::span<const std::uint8_t> is_call;
};

/// Greek outputs, one column each; an empty span means "not wanted" and is skipped.
struct greeks_columns {
  std::span<double> price, delta, gamma, vega, theta, rho, vanna, volga, charm, speed, zomma, color, veta;
};

/// Number of rows of a batch: the longest input; throws std::invalid_argument naming the first input
/// whose length is neither that nor 1, or an output whose length differs.
std::size_t bs_price_batch(const bsm_batch& in, std::span<double> price);
std::size_t bs_greeks_batch(const bsm_batch& in, const greeks_columns& out, bool trader_units = false);
std::size_t black76_price_batch(const black76_batch& in, std::span<double> price);
std::size_t black76_greeks_batch(const black76_batch& in, const greeks_columns& out, bool trader_units = false);
/// sigma gets NaN where the status is not ok (0.0 for zero_time_value); st may be empty. Statuses are
/// bs_implied_vol's; on AVX2/AVX-512 the solves run in vector lanes and sigma is within the attainable
/// accuracy of bs_implied_vol's (docs/numerics.md), elsewhere equal to it.
std::size_t implied_vol_batch(const iv_batch& in, std::span<double> sigma, std::span<status> st = {});

}  // namespace optaro

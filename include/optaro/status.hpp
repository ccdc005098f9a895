#pragma once
// Per-element outcome of an implied-volatility inversion (CONVENTIONS.md). Batch kernels write one
// status per row instead of throwing or returning a sentinel, so one bad row never fails a batch.
#include <array>
#include <cstdint>
#include <string_view>

namespace optaro {

enum class status : std::uint8_t {
  ok = 0,               ///< a volatility in (0, inf) reproduces the price
  zero_time_value = 1,  ///< price equals intrinsic value: sigma = 0
  below_intrinsic = 2,  ///< price below the intrinsic value: no volatility attains it
  above_maximum = 3,    ///< price at or above the upper bound (forward or strike, discounted)
  invalid_input = 4,    ///< non-finite input, negative price, T <= 0, S or K <= 0
  not_converged = 5,    ///< the iteration did not meet its tolerance (never seen in tests; reported, not hidden)
};

/// Every status, in value order (for bindings and tests that enumerate them).
inline constexpr std::array<status, 6> all_statuses = {status::ok,
                                                       status::zero_time_value,
                                                       status::below_intrinsic,
                                                       status::above_maximum,
                                                       status::invalid_input,
                                                       status::not_converged};

/// Stable lower-case name of a status ("ok", "zero_time_value", ...), as used in messages.
constexpr std::string_view to_string(status s) noexcept {
  switch (s) {
    case status::ok: return "ok";
    case status::zero_time_value: return "zero_time_value";
    case status::below_intrinsic: return "below_intrinsic";
    case status::above_maximum: return "above_maximum";
    case status::invalid_input: return "invalid_input";
    case status::not_converged: return "not_converged";
  }
  return "unknown";
}

}  // namespace optaro

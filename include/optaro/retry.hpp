#pragma once
// Retry with exponential backoff and jitter, for retryable failures of the enrichment engine (a store
// or bus unavailable, a timeout). The formulas are those of Marc Brooker, "Exponential Backoff And
// Jitter", AWS Architecture Blog, 2015 (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/),
// with the growth factor and cap of the policy instead of a fixed 2. Celery's autoretry with
// retry_backoff and retry_jitter=True (its default), which the original system used, is full jitter
// (celery/utils/time.py, get_exponential_backoff_interval).
//
// Randomness comes from a caller's std::mt19937_64, whose output sequence the standard fixes, turned
// into a fraction from its raw bits: the std:: distributions are implementation-defined, so a
// schedule for a given seed is the same with every standard library.
#include <chrono>
#include <cstdint>
#include <random>
#include <string_view>
#include <vector>

namespace optaro {

/// How a backoff delay is randomised. With d = min(max_delay, base_delay * multiplier^(n-1)):
enum class retry_jitter : std::uint8_t {
  none,          ///< d exactly
  full,          ///< uniform in [0, d]: spreads retries the most (Celery's retry_jitter)
  equal,         ///< d/2 + uniform in [0, d/2]: never retries sooner than half the backoff
  decorrelated,  ///< min(max_delay, uniform in [base_delay, 3 * previous delay]); ignores multiplier
};

/// "none", "full", "equal", "decorrelated".
[[nodiscard]] std::string_view to_string(retry_jitter jitter) noexcept;
/// The inverse of to_string; std::invalid_argument for any other text.
[[nodiscard]] retry_jitter parse_retry_jitter(std::string_view name);

/// When and how often a failed message is retried. The defaults are the original system's: three
/// retries after 5, 10 and 20 seconds (5 s doubling, capped at 60 s), without jitter.
struct retry_policy {
  int max_retries = 3;                                            ///< retries after the first attempt, >= 0
  std::chrono::nanoseconds base_delay = std::chrono::seconds{5};  ///< delay before the first retry, >= 0
  double multiplier = 2.0;                                        ///< growth per retry, finite and >= 1
  std::chrono::nanoseconds max_delay = std::chrono::seconds{60};  ///< cap on any delay, >= base_delay
  retry_jitter jitter = retry_jitter::none;

  /// std::invalid_argument naming the first field that is out of range, and why.
  void validate() const;

  /// The delay before retry number `retry` (1 for the first retry), jittered as the policy says.
  /// `previous_delay` is used only by decorrelated jitter: the delay this function returned for the
  /// retry before (anything below base_delay, such as the default zero, counts as base_delay).
  /// `retry` may exceed max_retries (the formula goes on); whether to retry is the caller's call.
  [[nodiscard]] std::chrono::nanoseconds delay(int retry, std::mt19937_64& random,
                                               std::chrono::nanoseconds previous_delay = {}) const;

  /// The whole schedule: max_retries delays, each drawn from `random` in turn.
  [[nodiscard]] std::vector<std::chrono::nanoseconds> delays(std::mt19937_64& random) const;
  /// The whole schedule from a fresh generator seeded with `seed`: the same seed, the same schedule.
  [[nodiscard]] std::vector<std::chrono::nanoseconds> delays(std::uint64_t seed = 0) const;
};

}  // namespace optaro

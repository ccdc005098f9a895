// Retry delays (include/optaro/retry.hpp). Delays are computed in double nanoseconds and rounded
// once at the end, so the cap is applied before anything could overflow an int64.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include <optaro/retry.hpp>

namespace optaro {

namespace {

using std::chrono::nanoseconds;

// A fraction in [0, 1) from the top 53 bits of one draw: fixed by the generator, not by the library.
double unit_fraction(std::mt19937_64& random) { return static_cast<double>(random() >> 11) * 0x1.0p-53; }

// Uniform in [low, high] (high reachable only through rounding, which is harmless for a delay).
double uniform_between(double low, double high, std::mt19937_64& random) {
  return low + unit_fraction(random) * (high - low);
}

// Rounded to whole nanoseconds; a cap of nanoseconds::max() converts to 2^63 as a double, which
// llround cannot represent, so the top is clamped.
nanoseconds to_duration(double ns) {
  if (ns >= 0x1.0p63) return nanoseconds::max();
  return nanoseconds{std::llround(ns)};
}

}  // namespace

std::string_view to_string(retry_jitter jitter) noexcept {
  switch (jitter) {
    case retry_jitter::none: return "none";
    case retry_jitter::full: return "full";
    case retry_jitter::equal: return "equal";
    case retry_jitter::decorrelated: return "decorrelated";
  }
  return "unknown";
}

retry_jitter parse_retry_jitter(std::string_view name) {
  for (retry_jitter jitter :
       {retry_jitter::none, retry_jitter::full, retry_jitter::equal, retry_jitter::decorrelated}) {
    if (name == to_string(jitter)) return jitter;
  }
  throw std::invalid_argument("jitter: unknown kind '" + std::string(name) +
                              "' (expected none, full, equal or decorrelated)");
}

void retry_policy::validate() const {
  if (max_retries < 0) {
    throw std::invalid_argument("max_retries: negative (" + std::to_string(max_retries) + ")");
  }
  if (base_delay.count() < 0) {
    throw std::invalid_argument("base_delay: negative (" + std::to_string(base_delay.count()) + " ns)");
  }
  if (!std::isfinite(multiplier) || multiplier < 1.0) {
    throw std::invalid_argument("multiplier: must be finite and >= 1 (got " + std::to_string(multiplier) + ")");
  }
  if (max_delay < base_delay) {
    throw std::invalid_argument("max_delay: below base_delay (" + std::to_string(max_delay.count()) + " ns < " +
                                std::to_string(base_delay.count()) + " ns)");
  }
  if (to_string(jitter) == "unknown") {
    throw std::invalid_argument("jitter: not a retry_jitter value (" + std::to_string(static_cast<int>(jitter)) + ")");
  }
}

nanoseconds retry_policy::delay(int retry, std::mt19937_64& random, nanoseconds previous_delay) const {
  validate();
  if (retry < 1) throw std::invalid_argument("retry: must be >= 1 (got " + std::to_string(retry) + ")");

  const auto base = static_cast<double>(base_delay.count());
  const auto cap = static_cast<double>(max_delay.count());

  if (jitter == retry_jitter::decorrelated) {
    // Brooker: sleep = min(cap, random_between(base, sleep * 3)), starting from sleep = base. It grows
    // by its own draws, not by the multiplier.
    const double previous = std::max(base, static_cast<double>(previous_delay.count()));
    return to_duration(std::min(cap, uniform_between(base, 3.0 * previous, random)));
  }

  // Repeated multiplication (exact IEEE steps, the same everywhere) rather than std::pow, stopping at
  // the cap so that a large retry number cannot overflow.
  double backoff = base;
  for (int step = 1; step < retry && backoff < cap; ++step) backoff *= multiplier;
  backoff = std::min(backoff, cap);

  switch (jitter) {
    case retry_jitter::none: return to_duration(backoff);
    case retry_jitter::full: return to_duration(uniform_between(0.0, backoff, random));
    case retry_jitter::equal: return to_duration(backoff / 2 + uniform_between(0.0, backoff / 2, random));
    case retry_jitter::decorrelated: break;  // handled above
  }
  return to_duration(backoff);
}

std::vector<nanoseconds> retry_policy::delays(std::mt19937_64& random) const {
  validate();
  std::vector<nanoseconds> schedule;
  schedule.reserve(static_cast<std::size_t>(max_retries));
  nanoseconds previous{};
  for (int retry = 1; retry <= max_retries; ++retry) {
    previous = delay(retry, random, previous);
    schedule.push_back(previous);
  }
  return schedule;
}

std::vector<nanoseconds> retry_policy::delays(std::uint64_t seed) const {
  std::mt19937_64 random{seed};
  return delays(random);
}

}  // namespace optaro

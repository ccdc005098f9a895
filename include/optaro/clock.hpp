#pragma once
// The engine's Clock port (ARCHITECTURE.md): everything in the engine that depends on time (leases,
// TTLs, backoff, windows in processing time) asks an injected clock, so that tests advance a
// manual clock instead of sleeping.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>

namespace optaro {

/// Source of the current UTC time. Implementations must be safe to call from several threads.
class clock {
 public:
  /// UTC, nanoseconds since the Unix epoch; the same instant as a message's timestamp_ns.
  using time_point = std::chrono::sys_time<std::chrono::nanoseconds>;

  clock() = default;
  clock(const clock&) = delete;
  clock& operator=(const clock&) = delete;
  clock(clock&&) = delete;
  clock& operator=(clock&&) = delete;
  virtual ~clock() = default;

  [[nodiscard]] virtual time_point now() const = 0;
};

/// The real wall clock (std::chrono::system_clock).
class system_clock final : public clock {
 public:
  [[nodiscard]] time_point now() const override {
    return std::chrono::time_point_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now());
  }
};

/// A clock that moves only when told to: tests of leases, TTLs and backoff run in microseconds.
/// Reading it from worker threads while a test advances it is safe (an atomic).
class manual_clock final : public clock {
 public:
  explicit manual_clock(time_point start = time_point{}) : now_ns_{start.time_since_epoch().count()} {}

  [[nodiscard]] time_point now() const override {
    return time_point{std::chrono::nanoseconds{now_ns_.load(std::memory_order_acquire)}};
  }

  /// Moves the clock forward. Time never runs backwards: a negative step is a bug in the test.
  void advance(std::chrono::nanoseconds step) {
    if (step.count() < 0) throw std::invalid_argument("manual_clock::advance: step is negative");
    now_ns_.fetch_add(step.count(), std::memory_order_acq_rel);
  }

 private:
  std::atomic<std::int64_t> now_ns_;
};

}  // namespace optaro

#pragma once
// Operational metrics (counters, gauges, histograms) and their Prometheus text exposition (format
// 0.0.4). Updates are single atomic operations with relaxed ordering, so that worker threads can count
// on the hot path without a lock; registration and exposition take the registry's mutex (cold path).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace optaro {

/// A series' labels, written in the order given. Two registrations name the same series when their
/// label sets are equal (order does not matter).
using metric_labels = std::vector<std::pair<std::string, std::string>>;

/// A monotonically increasing count (Prometheus "counter"; give its name the "_total" suffix).
class counter {
 public:
  counter() = default;
  counter(const counter&) = delete;
  counter& operator=(const counter&) = delete;
  counter(counter&&) = delete;
  counter& operator=(counter&&) = delete;
  ~counter() = default;

  void increment(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

/// A value that goes up and down (queue depth, last lag).
class gauge {
 public:
  gauge() = default;
  gauge(const gauge&) = delete;
  gauge& operator=(const gauge&) = delete;
  gauge(gauge&&) = delete;
  gauge& operator=(gauge&&) = delete;
  ~gauge() = default;

  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double delta) noexcept;
  [[nodiscard]] double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

/// Counts of observations in fixed buckets, with their sum (latencies, sizes).
class histogram {
 public:
  /// upper_bounds: finite and strictly increasing (may be empty: then only the +Inf bucket);
  /// std::invalid_argument otherwise.
  explicit histogram(std::vector<double> upper_bounds);
  histogram(const histogram&) = delete;
  histogram& operator=(const histogram&) = delete;
  histogram(histogram&&) = delete;
  histogram& operator=(histogram&&) = delete;
  ~histogram() = default;

  /// Counts v in the first bucket i with v <= upper_bounds[i], or in the last (+Inf) bucket. NaN is
  /// ignored: it belongs to no bucket and would poison the sum.
  void observe(double v) noexcept;

  struct snapshot {
    std::vector<double> upper_bounds;
    /// Per bucket, NOT cumulative; size = upper_bounds.size() + 1, the last one being +Inf.
    std::vector<std::uint64_t> counts;
    double sum = 0;
    std::uint64_t count = 0;  ///< the sum of counts (so a snapshot is always self-consistent)
  };
  /// The buckets as they are now. Concurrent observations may be partly included (each field is read
  /// atomically, not all of them together).
  [[nodiscard]] snapshot read() const;

  /// The q-quantile estimated from the buckets like Prometheus' histogram_quantile: linear
  /// interpolation within the bucket holding rank q * count, the first bucket starting at 0 (or at its
  /// upper bound when that is <= 0), and the upper bound of the last finite bucket when the rank falls
  /// into the +Inf bucket. NaN when empty, without finite buckets, or q is NaN; -Inf for q < 0, +Inf
  /// for q > 1.
  [[nodiscard]] double quantile(double q) const;

  [[nodiscard]] const std::vector<double>& upper_bounds() const noexcept { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<double> sum_{0.0};
};

/// The metrics of one process (or one engine). Thread-safe; references returned by add_* stay valid
/// for the registry's lifetime.
class metrics_registry {
 public:
  metrics_registry();
  metrics_registry(const metrics_registry&) = delete;
  metrics_registry& operator=(const metrics_registry&) = delete;
  metrics_registry(metrics_registry&&) = delete;
  metrics_registry& operator=(metrics_registry&&) = delete;
  ~metrics_registry();

  // Registering a name + label set again returns the same object. std::invalid_argument, naming the
  // metric, for: an invalid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or label name
  // ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__"; "le" not on histograms), a label name given
  // twice, the name registered before with another type, other help text or (histograms) other
  // bounds, and names that would collide in the exposition (a histogram "x" and a metric "x_count").
  counter& add_counter(std::string name, std::string help, metric_labels labels = {});
  gauge& add_gauge(std::string name, std::string help, metric_labels labels = {});
  histogram& add_histogram(std::string name, std::string help, std::vector<double> upper_bounds,
                           metric_labels labels = {});

  /// Prometheus text exposition format 0.0.4: families in the order of their first registration, one
  /// "# HELP" and one "# TYPE" line each, then their series in registration order.
  [[nodiscard]] std::string prometheus_text() const;

 private:
  enum class kind : std::uint8_t { counter, gauge, histogram };
  struct series;
  struct family;
  family& family_for(std::string& name, std::string& help, kind k, const std::vector<double>* bounds,
                     const metric_labels& labels);
  static series* find_series(family& f, const metric_labels& identity);
  static std::string_view kind_name(kind k) noexcept;

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<family>> families_;  // registration order
  std::unordered_map<std::string, family*> by_name_;
};

/// count upper bounds start, start*factor, start*factor^2, ... (Prometheus' ExponentialBuckets).
/// std::invalid_argument unless start > 0, factor > 1 (both finite) and count >= 1.
[[nodiscard]] std::vector<double> exponential_buckets(double start, double factor, std::size_t count);

}  // namespace optaro

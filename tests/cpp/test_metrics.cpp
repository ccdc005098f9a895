// Metrics (src/metrics.cpp): the exact Prometheus exposition of a small registry, idempotent
// registration, every rejected registration, exact totals under concurrent updates, the quantile
// estimate and exponential_buckets.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <optaro/metrics.hpp>

namespace {

using optaro::counter;
using optaro::gauge;
using optaro::histogram;
using optaro::metric_labels;
using optaro::metrics_registry;

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// Expects std::invalid_argument whose message contains every one of `parts`.
void expect_invalid(const std::function<void()>& call, const std::vector<std::string>& parts) {
  try {
    call();
    ADD_FAILURE() << "no exception; expected one mentioning " << parts.front();
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    for (const std::string& part : parts) {
      EXPECT_NE(what.find(part), std::string::npos) << "'" << what << "' does not mention '" << part << "'";
    }
  }
}

TEST(MetricsExposition, SmallRegistryExactly) {
  metrics_registry r;
  counter& ok = r.add_counter("optaro_messages_total", "Messages processed.",
                              {{"kind", "option_chain"}, {"outcome", "ok"}});
  gauge& depth = r.add_gauge("optaro_queue_depth", "Deliveries waiting.\nSecond line, a \\ and \"quotes\".");
  // Registered after the gauge, exposed with its family.
  counter& dead = r.add_counter("optaro_messages_total", "Messages processed.",
                                {{"kind", "underlying"}, {"outcome", "dead_letter"}});
  histogram& latency = r.add_histogram("optaro_latency_seconds", "Latency.", {0.25, 1, 4}, {{"stage", "enrich"}});
  r.add_counter("optaro_escaped_total", "Escapes.", {{"path", "a\\b \"q\"\nz"}});
  gauge& odd = r.add_gauge("optaro_odd", "Non-finite values.", {{"v", "nan"}});
  gauge& neg_inf = r.add_gauge("optaro_odd", "Non-finite values.", {{"v", "-inf"}});
  r.add_histogram("optaro_sizes", "Shortest round-trip bounds.", {1e-05, 0.1, 1e21});

  ok.increment(3);
  dead.increment();
  depth.set(2.5);
  odd.set(nan);
  neg_inf.set(-inf);
  for (const double v : {0.125, 0.25, 2.0, 8.0}) latency.observe(v);
  latency.observe(nan);  // ignored

  const std::string expected =
      "# HELP optaro_messages_total Messages processed.\n"
      "# TYPE optaro_messages_total counter\n"
      "optaro_messages_total{kind=\"option_chain\",outcome=\"ok\"} 3\n"
      "optaro_messages_total{kind=\"underlying\",outcome=\"dead_letter\"} 1\n"
      "# HELP optaro_queue_depth Deliveries waiting.\\nSecond line, a \\\\ and \"quotes\".\n"
      "# TYPE optaro_queue_depth gauge\n"
      "optaro_queue_depth 2.5\n"
      "# HELP optaro_latency_seconds Latency.\n"
      "# TYPE optaro_latency_seconds histogram\n"
      "optaro_latency_seconds_bucket{stage=\"enrich\",le=\"0.25\"} 2\n"
      "optaro_latency_seconds_bucket{stage=\"enrich\",le=\"1\"} 2\n"
      "optaro_latency_seconds_bucket{stage=\"enrich\",le=\"4\"} 3\n"
      "optaro_latency_seconds_bucket{stage=\"enrich\",le=\"+Inf\"} 4\n"
      "optaro_latency_seconds_sum{stage=\"enrich\"} 10.375\n"
      "optaro_latency_seconds_count{stage=\"enrich\"} 4\n"
      "# HELP optaro_escaped_total Escapes.\n"
      "# TYPE optaro_escaped_total counter\n"
      "optaro_escaped_total{path=\"a\\\\b \\\"q\\\"\\nz\"} 0\n"
      "# HELP optaro_odd Non-finite values.\n"
      "# TYPE optaro_odd gauge\n"
      "optaro_odd{v=\"nan\"} NaN\n"
      "optaro_odd{v=\"-inf\"} -Inf\n"
      "# HELP optaro_sizes Shortest round-trip bounds.\n"
      "# TYPE optaro_sizes histogram\n"
      "optaro_sizes_bucket{le=\"1e-05\"} 0\n"
      "optaro_sizes_bucket{le=\"0.1\"} 0\n"
      "optaro_sizes_bucket{le=\"1e+21\"} 0\n"
      "optaro_sizes_bucket{le=\"+Inf\"} 0\n"
      "optaro_sizes_sum 0\n"
      "optaro_sizes_count 0\n";
  EXPECT_EQ(r.prometheus_text(), expected);
}

TEST(MetricsExposition, EmptyRegistryIsEmptyText) {
  const metrics_registry r;
  EXPECT_EQ(r.prometheus_text(), "");
}

TEST(MetricsRegistry, RegistrationIsIdempotent) {
  metrics_registry r;
  counter& a = r.add_counter("c_total", "h", {{"x", "1"}, {"y", "2"}});
  EXPECT_EQ(&a, &r.add_counter("c_total", "h", {{"x", "1"}, {"y", "2"}}));
  EXPECT_EQ(&a, &r.add_counter("c_total", "h", {{"y", "2"}, {"x", "1"}}));  // a label set: order is irrelevant
  EXPECT_NE(&a, &r.add_counter("c_total", "h", {{"x", "1"}, {"y", "3"}}));
  EXPECT_NE(&a, &r.add_counter("c_total", "h"));

  gauge& g = r.add_gauge("g", "h");
  EXPECT_EQ(&g, &r.add_gauge("g", "h"));
  histogram& h = r.add_histogram("h_seconds", "h", {1, 2}, {{"s", "a"}});
  EXPECT_EQ(&h, &r.add_histogram("h_seconds", "h", {1, 2}, {{"s", "a"}}));

  a.increment(2);
  r.add_counter("c_total", "h", {{"x", "1"}, {"y", "2"}}).increment();
  EXPECT_EQ(a.value(), 3U);
  // Still one HELP/TYPE per family and one line per series.
  const std::string text = r.prometheus_text();
  EXPECT_EQ(text.find("# TYPE c_total counter"), text.rfind("# TYPE c_total counter"));
  EXPECT_NE(text.find("c_total{x=\"1\",y=\"2\"} 3\n"), std::string::npos);
}

TEST(MetricsRegistry, RejectsInvalidNames) {
  metrics_registry r;
  expect_invalid([&] { r.add_counter("", "h"); }, {"''", "invalid metric name"});
  expect_invalid([&] { r.add_counter("1abc", "h"); }, {"1abc", "invalid metric name"});
  expect_invalid([&] { r.add_gauge("a-b", "h"); }, {"a-b", "invalid metric name"});
  expect_invalid([&] { r.add_gauge("a b", "h"); }, {"a b", "invalid metric name"});
  EXPECT_NO_THROW(r.add_gauge(":ns:sub_system:x9", "h"));
  EXPECT_NO_THROW(r.add_gauge("_x", "h"));

  expect_invalid([&] { r.add_counter("m", "h", {{"1x", "v"}}); }, {"'m'", "invalid label name '1x'"});
  expect_invalid([&] { r.add_counter("m", "h", {{"a:b", "v"}}); }, {"'m'", "invalid label name 'a:b'"});
  expect_invalid([&] { r.add_counter("m", "h", {{"", "v"}}); }, {"'m'", "invalid label name ''"});
  expect_invalid([&] { r.add_counter("m", "h", {{"__name", "v"}}); }, {"'m'", "'__name'", "reserved"});
  expect_invalid([&] { r.add_counter("m", "h", {{"a", "1"}, {"a", "2"}}); }, {"'m'", "'a'", "twice"});
  expect_invalid([&] { r.add_histogram("hist", "h", {1}, {{"le", "1"}}); }, {"'hist'", "'le'"});
  EXPECT_NO_THROW(r.add_counter("m", "h", {{"le", "ok on a counter"}, {"_x9", "v"}}));
  // A rejected registration leaves nothing behind.
  EXPECT_EQ(r.prometheus_text().find("hist"), std::string::npos);
}

TEST(MetricsRegistry, RejectsConflictingRegistrations) {
  metrics_registry r;
  r.add_counter("requests_total", "Requests.");
  r.add_histogram("latency_seconds", "Latency.", {0.1, 1});
  expect_invalid([&] { r.add_gauge("requests_total", "Requests."); }, {"requests_total", "counter", "gauge"});
  expect_invalid([&] { r.add_histogram("requests_total", "Requests.", {1}); }, {"requests_total", "histogram"});
  expect_invalid([&] { r.add_counter("requests_total", "Other help."); }, {"requests_total", "help"});
  expect_invalid([&] { r.add_counter("requests_total", "Other help.", {{"a", "b"}}); }, {"requests_total", "help"});
  expect_invalid([&] { r.add_histogram("latency_seconds", "Latency.", {0.1, 2}); }, {"latency_seconds", "bounds"});
  expect_invalid([&] { r.add_histogram("latency_seconds", "Latency.", {0.1}, {{"a", "b"}}); },
                 {"latency_seconds", "bounds"});
  // The exposition names of a histogram are taken, both ways round.
  expect_invalid([&] { r.add_counter("latency_seconds_count", "x"); }, {"latency_seconds_count", "collides"});
  expect_invalid([&] { r.add_gauge("latency_seconds_bucket", "x"); }, {"latency_seconds_bucket", "collides"});
  r.add_gauge("size_sum", "x");
  expect_invalid([&] { r.add_histogram("size", "x", {1}); }, {"'size'", "size_sum"});
}

TEST(MetricsRegistry, RejectsBadHistogramBounds) {
  metrics_registry r;
  expect_invalid([&] { r.add_histogram("h1", "h", {1, 1}); }, {"h1", "strictly increasing"});
  expect_invalid([&] { r.add_histogram("h2", "h", {2, 1}); }, {"h2", "strictly increasing"});
  expect_invalid([&] { r.add_histogram("h3", "h", {1, nan}); }, {"h3", "not finite"});
  expect_invalid([&] { r.add_histogram("h4", "h", {1, inf}); }, {"h4", "not finite"});
  expect_invalid([&] { r.add_histogram("h5", "h", {-inf, 1}); }, {"h5", "not finite"});
  EXPECT_THROW(histogram({3, 2}), std::invalid_argument);
  EXPECT_NO_THROW(r.add_histogram("h6", "h", {}));  // only the +Inf bucket
  EXPECT_EQ(r.prometheus_text(),
            "# HELP h6 h\n# TYPE h6 histogram\nh6_bucket{le=\"+Inf\"} 0\nh6_sum 0\nh6_count 0\n");
}

TEST(MetricsHistogram, BucketsAreUpperInclusiveAndNotCumulative) {
  histogram h({-1, 0, 1});
  for (const double v : {-inf, -2.0, -1.0, -0.5, 0.0, -0.0, 1.0, 1.5, inf, nan}) h.observe(v);
  const histogram::snapshot s = h.read();
  EXPECT_EQ(s.upper_bounds, (std::vector<double>{-1, 0, 1}));
  EXPECT_EQ(s.counts, (std::vector<std::uint64_t>{3, 3, 1, 2}));
  EXPECT_EQ(s.count, 9U);
  EXPECT_TRUE(std::isnan(s.sum));  // +Inf and -Inf were both added, as Prometheus would
}

TEST(MetricsConcurrency, FourThreadsGiveExactTotals) {
  constexpr int threads = 4;
  constexpr int per_thread = 100'000;
  metrics_registry r;
  std::vector<counter*> counters(threads);
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&r, &counters, t] {
      // Registration races too: all threads must get the same objects.
      counter& c = r.add_counter("ops_total", "Ops.", {{"pool", "main"}});
      gauge& g = r.add_gauge("level", "Level.");
      histogram& h = r.add_histogram("value", "Values.", {0.5, 1, 2});
      counters[static_cast<std::size_t>(t)] = &c;
      for (int i = 0; i < per_thread; ++i) {
        c.increment();
        g.add(1.0);
        h.observe(0.5 * static_cast<double>(1 + i % 4));  // 0.5, 1, 1.5, 2: exact sums
        if (i % 1000 == 0) (void)r.prometheus_text();  // reading while writing
      }
    });
  }
  for (std::thread& t : pool) t.join();
  for (const counter* c : counters) EXPECT_EQ(c, counters.front());

  constexpr std::uint64_t total = std::uint64_t{threads} * per_thread;
  EXPECT_EQ(r.add_counter("ops_total", "Ops.", {{"pool", "main"}}).value(), total);
  EXPECT_EQ(r.add_gauge("level", "Level.").value(), static_cast<double>(total));
  const histogram::snapshot s = r.add_histogram("value", "Values.", {0.5, 1, 2}).read();
  EXPECT_EQ(s.counts, (std::vector<std::uint64_t>{total / 4, total / 4, total / 2, 0}));
  EXPECT_EQ(s.count, total);
  EXPECT_EQ(s.sum, 1.25 * static_cast<double>(total));
}

TEST(MetricsGauge, SetAndAdd) {
  gauge g;
  EXPECT_EQ(g.value(), 0.0);
  g.set(10);
  g.add(-2.5);
  EXPECT_EQ(g.value(), 7.5);
}

TEST(MetricsHistogram, QuantileOfUniformDistribution) {
  std::vector<double> bounds;
  for (int i = 1; i <= 10; ++i) bounds.push_back(i);
  histogram h(bounds);
  EXPECT_TRUE(std::isnan(h.quantile(0.5)));  // empty
  // 1000 values evenly spread over (0, 10): 100 per bucket.
  for (int i = 0; i < 1000; ++i) h.observe((i + 0.5) / 100.0);
  EXPECT_NEAR(h.quantile(0.5), 5.0, 1e-12);
  EXPECT_NEAR(h.quantile(0.25), 2.5, 1e-12);
  EXPECT_NEAR(h.quantile(0.99), 9.9, 1e-12);
  EXPECT_NEAR(h.quantile(0.0), 0.0, 1e-12);
  EXPECT_NEAR(h.quantile(1.0), 10.0, 1e-12);
  EXPECT_EQ(h.quantile(-0.1), -inf);
  EXPECT_EQ(h.quantile(1.1), inf);
  EXPECT_TRUE(std::isnan(h.quantile(nan)));

  // Ranks in the +Inf bucket report the largest finite bound.
  for (int i = 0; i < 1000; ++i) h.observe(50);
  EXPECT_EQ(h.quantile(0.9), 10.0);
  EXPECT_NEAR(h.quantile(0.25), 5.0, 1e-12);
}

TEST(MetricsHistogram, QuantileEdgeCases) {
  histogram skewed({1, 2, 4});
  for (int i = 0; i < 10; ++i) skewed.observe(3);  // all in (2, 4]
  EXPECT_NEAR(skewed.quantile(0.5), 3.0, 1e-12);
  EXPECT_NEAR(skewed.quantile(0.0), 2.0, 1e-12);  // the lower edge of the first non-empty bucket

  histogram negative({-5, 5});
  negative.observe(-10);
  EXPECT_EQ(negative.quantile(0.5), -5.0);  // first bucket with a bound <= 0: its bound

  histogram no_finite({});
  no_finite.observe(1);
  EXPECT_TRUE(std::isnan(no_finite.quantile(0.5)));
}

TEST(MetricsBuckets, ExponentialBuckets) {
  EXPECT_EQ(optaro::exponential_buckets(1, 2, 5), (std::vector<double>{1, 2, 4, 8, 16}));
  const std::vector<double> ms = optaro::exponential_buckets(0.001, 10, 4);
  ASSERT_EQ(ms.size(), 4U);
  EXPECT_DOUBLE_EQ(ms[0], 0.001);
  EXPECT_DOUBLE_EQ(ms[1], 0.01);
  EXPECT_DOUBLE_EQ(ms[2], 0.1);
  EXPECT_DOUBLE_EQ(ms[3], 1.0);
  EXPECT_EQ(optaro::exponential_buckets(3, 1.5, 1), (std::vector<double>{3}));
  EXPECT_NO_THROW(histogram{optaro::exponential_buckets(1e-6, 1.1, 300)});  // usable as bounds
  EXPECT_THROW((void)optaro::exponential_buckets(0, 2, 3), std::invalid_argument);
  EXPECT_THROW((void)optaro::exponential_buckets(-1, 2, 3), std::invalid_argument);
  EXPECT_THROW((void)optaro::exponential_buckets(1, 1, 3), std::invalid_argument);
  EXPECT_THROW((void)optaro::exponential_buckets(1, nan, 3), std::invalid_argument);
  EXPECT_THROW((void)optaro::exponential_buckets(1, 2, 0), std::invalid_argument);
  EXPECT_THROW((void)optaro::exponential_buckets(1e300, 1e10, 3), std::invalid_argument);  // overflows
}

}  // namespace

#include <optaro/metrics.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <system_error>

namespace optaro {

namespace {

[[noreturn]] void fail(std::string_view metric, std::string_view what) {
  std::string text = "metrics_registry: metric '";
  text += metric;
  text += "': ";
  text += what;
  throw std::invalid_argument(text);
}

bool is_letter_or_underscore(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool valid_metric_name(std::string_view name) noexcept {
  if (name.empty() || !(is_letter_or_underscore(name[0]) || name[0] == ':')) return false;
  return std::all_of(name.begin() + 1, name.end(),
                     [](char c) { return is_letter_or_underscore(c) || is_digit(c) || c == ':'; });
}

bool valid_label_name(std::string_view name) noexcept {
  if (name.empty() || !is_letter_or_underscore(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(), [](char c) { return is_letter_or_underscore(c) || is_digit(c); });
}

void validate_bounds(std::string_view metric, const std::vector<double>& bounds) {
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) fail(metric, "histogram bound " + std::to_string(i) + " is not finite");
    if (i > 0 && !(bounds[i - 1] < bounds[i])) {
      fail(metric, "histogram bounds are not strictly increasing at " + std::to_string(i));
    }
  }
}

// Prometheus spells the non-finite values "+Inf", "-Inf" and "NaN" (Go's strconv would not).
void append_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    std::array<char, 32> buf{};
    const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    out.append(buf.data(), res.ptr);
  }
}

void append_uint(std::string& out, std::uint64_t v) {
  std::array<char, 24> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), res.ptr);
}

void append_label_value(std::string& out, std::string_view value) {
  for (const char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

// HELP text escapes backslash and newline only (quotes stay as they are).
void append_help(std::string& out, std::string_view help) {
  for (const char c : help) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
}

// `{a="1",b="2"}`, with an optional extra `le` label last; nothing when there are no labels at all.
void append_labels(std::string& out, const metric_labels& labels, std::string_view le = {}) {
  if (labels.empty() && le.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [key, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += key;
    out += "=\"";
    append_label_value(out, value);
    out += '"';
  }
  if (!le.empty()) {
    if (!first) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

metric_labels sorted(metric_labels labels) {
  std::sort(labels.begin(), labels.end());
  return labels;
}

}  // namespace

// ---- gauge, histogram ------------------------------------------------------------------------------

void gauge::add(double delta) noexcept {
  double current = value_.load(std::memory_order_relaxed);
  while (!value_.compare_exchange_weak(current, current + delta, std::memory_order_relaxed)) {
  }
}

histogram::histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  validate_bounds("histogram", bounds_);
  counts_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
}

void histogram::observe(double v) noexcept {
  if (std::isnan(v)) return;
  // The first bound >= v; past the end means the +Inf bucket.
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  const auto index = static_cast<std::size_t>(it - bounds_.begin());
  counts_[index].fetch_add(1, std::memory_order_relaxed);
  double current = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(current, current + v, std::memory_order_relaxed)) {
  }
}

histogram::snapshot histogram::read() const {
  snapshot s;
  s.upper_bounds = bounds_;
  s.counts.resize(bounds_.size() + 1);
  for (std::size_t i = 0; i < s.counts.size(); ++i) {
    s.counts[i] = counts_[i].load(std::memory_order_relaxed);
    s.count += s.counts[i];
  }
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

double histogram::quantile(double q) const {
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  constexpr double inf = std::numeric_limits<double>::infinity();
  if (std::isnan(q)) return nan;
  if (q < 0) return -inf;
  if (q > 1) return inf;
  if (bounds_.empty()) return nan;
  const snapshot s = read();
  if (s.count == 0) return nan;

  const double rank = q * static_cast<double>(s.count);
  // The first finite bucket whose cumulative count reaches the rank; for rank 0, the first non-empty
  // one (Prometheus would divide 0 by 0 there when the first bucket is empty).
  std::uint64_t before = 0;
  std::size_t b = 0;
  for (; b < bounds_.size(); ++b) {
    const std::uint64_t cumulative = before + s.counts[b];
    if (cumulative > 0 && static_cast<double>(cumulative) >= rank) break;
    before = cumulative;
  }
  if (b == bounds_.size()) return bounds_.back();
  if (b == 0 && bounds_[0] <= 0) return bounds_[0];
  const double start = b == 0 ? 0.0 : bounds_[b - 1];
  const double end = bounds_[b];
  const double in_bucket = static_cast<double>(s.counts[b]);
  return start + (end - start) * ((rank - static_cast<double>(before)) / in_bucket);
}

std::vector<double> exponential_buckets(double start, double factor, std::size_t count) {
  if (!(std::isfinite(start) && start > 0)) throw std::invalid_argument("exponential_buckets: start must be > 0");
  if (!(std::isfinite(factor) && factor > 1)) throw std::invalid_argument("exponential_buckets: factor must be > 1");
  if (count == 0) throw std::invalid_argument("exponential_buckets: count must be >= 1");
  std::vector<double> bounds;
  bounds.reserve(count);
  double b = start;
  for (std::size_t i = 0; i < count; ++i) {
    if (!std::isfinite(b)) throw std::invalid_argument("exponential_buckets: bounds overflow to infinity");
    bounds.push_back(b);
    b *= factor;
  }
  return bounds;
}

// ---- registry ----------------------------------------------------------------------------------------

struct metrics_registry::series {
  metric_labels labels;      // as given: the exposition order
  metric_labels identity;    // sorted: equal label sets name the same series
  std::unique_ptr<counter> c;
  std::unique_ptr<gauge> g;
  std::unique_ptr<histogram> h;
};

struct metrics_registry::family {
  std::string name;
  std::string help;
  kind type = kind::counter;
  std::vector<double> bounds;  // histograms only
  std::vector<series> members;  // registration order; the objects themselves live on the heap
};

metrics_registry::metrics_registry() = default;
metrics_registry::~metrics_registry() = default;

std::string_view metrics_registry::kind_name(kind k) noexcept {
  switch (k) {
    case kind::counter: return "counter";
    case kind::gauge: return "gauge";
    case kind::histogram: return "histogram";
  }
  return "unknown";
}

namespace {

constexpr std::array<std::string_view, 3> histogram_suffixes{"_bucket", "_sum", "_count"};

}  // namespace

metrics_registry::family& metrics_registry::family_for(std::string& name, std::string& help, kind k,
                                                       const std::vector<double>* bounds,
                                                       const metric_labels& labels) {
  if (!valid_metric_name(name)) fail(name, "invalid metric name (expected [a-zA-Z_:][a-zA-Z0-9_:]*)");
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::string& label = labels[i].first;
    if (!valid_label_name(label)) fail(name, "invalid label name '" + label + "' (expected [a-zA-Z_][a-zA-Z0-9_]*)");
    if (label.starts_with("__")) fail(name, "label name '" + label + "' is reserved (starts with \"__\")");
    if (k == kind::histogram && label == "le") fail(name, "label name 'le' is reserved on histograms");
    for (std::size_t j = 0; j < i; ++j) {
      if (labels[j].first == label) fail(name, "label name '" + label + "' given twice");
    }
  }
  if (bounds != nullptr) validate_bounds(name, *bounds);

  if (const auto found = by_name_.find(name); found != by_name_.end()) {
    family& f = *found->second;
    if (f.type != k) {
      fail(name, std::string("already registered as a ") + std::string(kind_name(f.type)) +
                     ", not a " + std::string(kind_name(k)));
    }
    if (f.help != help) fail(name, "already registered with other help text");
    if (bounds != nullptr && f.bounds != *bounds) fail(name, "already registered with other histogram bounds");
    return f;
  }

  // A histogram "x" exposes x_bucket, x_sum and x_count: no other family may take those names.
  for (const std::string_view suffix : histogram_suffixes) {
    if (k == kind::histogram) {
      if (by_name_.contains(name + std::string(suffix))) {
        fail(name, "histogram would collide with the metric '" + name + std::string(suffix) + "'");
      }
    }
    if (name.ends_with(suffix)) {
      const std::string base = name.substr(0, name.size() - suffix.size());
      if (const auto it = by_name_.find(base); it != by_name_.end() && it->second->type == kind::histogram) {
        fail(name, "collides with the series of the histogram '" + base + "'");
      }
    }
  }

  auto f = std::make_unique<family>();
  f->name = std::move(name);
  f->help = std::move(help);
  f->type = k;
  if (bounds != nullptr) f->bounds = *bounds;
  family& ref = *f;
  by_name_.emplace(ref.name, &ref);
  families_.push_back(std::move(f));
  return ref;
}

metrics_registry::series* metrics_registry::find_series(family& f, const metric_labels& identity) {
  for (series& s : f.members) {
    if (s.identity == identity) return &s;
  }
  return nullptr;
}

counter& metrics_registry::add_counter(std::string name, std::string help, metric_labels labels) {
  const std::lock_guard lock(mutex_);
  family& f = family_for(name, help, kind::counter, nullptr, labels);
  metric_labels identity = sorted(labels);
  if (series* s = find_series(f, identity)) return *s->c;
  auto c = std::make_unique<counter>();
  counter& ref = *c;
  f.members.push_back(series{std::move(labels), std::move(identity), std::move(c), nullptr, nullptr});
  return ref;
}

gauge& metrics_registry::add_gauge(std::string name, std::string help, metric_labels labels) {
  const std::lock_guard lock(mutex_);
  family& f = family_for(name, help, kind::gauge, nullptr, labels);
  metric_labels identity = sorted(labels);
  if (series* s = find_series(f, identity)) return *s->g;
  auto g = std::make_unique<gauge>();
  gauge& ref = *g;
  f.members.push_back(series{std::move(labels), std::move(identity), nullptr, std::move(g), nullptr});
  return ref;
}

histogram& metrics_registry::add_histogram(std::string name, std::string help, std::vector<double> upper_bounds,
                                           metric_labels labels) {
  const std::lock_guard lock(mutex_);
  family& f = family_for(name, help, kind::histogram, &upper_bounds, labels);
  metric_labels identity = sorted(labels);
  if (series* s = find_series(f, identity)) return *s->h;
  auto h = std::make_unique<histogram>(std::move(upper_bounds));
  histogram& ref = *h;
  f.members.push_back(series{std::move(labels), std::move(identity), nullptr, nullptr, std::move(h)});
  return ref;
}

std::string metrics_registry::prometheus_text() const {
  const std::lock_guard lock(mutex_);
  std::string out;
  out.reserve(256 * families_.size());
  std::string le;
  for (const auto& fp : families_) {
    const family& f = *fp;
    out += "# HELP ";
    out += f.name;
    out += ' ';
    append_help(out, f.help);
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += kind_name(f.type);
    out += '\n';
    for (const series& s : f.members) {
      switch (f.type) {
        case kind::counter:
          out += f.name;
          append_labels(out, s.labels);
          out += ' ';
          append_uint(out, s.c->value());
          out += '\n';
          break;
        case kind::gauge:
          out += f.name;
          append_labels(out, s.labels);
          out += ' ';
          append_double(out, s.g->value());
          out += '\n';
          break;
        case kind::histogram: {
          const histogram::snapshot snap = s.h->read();
          std::uint64_t cumulative = 0;
          for (std::size_t i = 0; i < snap.counts.size(); ++i) {
            cumulative += snap.counts[i];
            le.clear();
            append_double(le, i < snap.upper_bounds.size() ? snap.upper_bounds[i]
                                                            : std::numeric_limits<double>::infinity());
            out += f.name;
            out += "_bucket";
            append_labels(out, s.labels, le);
            out += ' ';
            append_uint(out, cumulative);
            out += '\n';
          }
          out += f.name;
          out += "_sum";
          append_labels(out, s.labels);
          out += ' ';
          append_double(out, snap.sum);
          out += '\n';
          out += f.name;
          out += "_count";
          append_labels(out, s.labels);
          out += ' ';
          append_uint(out, snap.count);
          out += '\n';
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace optaro

// The enrichment engine, embedded: optaro::enricher on the in-memory ports, with Python callbacks for
// what it publishes and logs, and the retry policy's schedule. Messages and results cross as bytes of
// JSON; the Python package (optaro/_engine.py) parses them and holds the docs.
//
// Threads. The engine calls the callbacks from its worker threads, which take the GIL to do so; so
// every call into the engine that can wait for a worker (submit under backpressure, wait_quiescent,
// stop, and, for simplicity, every other call that takes an engine or port lock) releases the GIL
// first, or a worker waiting for the GIL and the caller waiting for the worker would deadlock.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optaro/clock.hpp>
#include <optaro/engine.hpp>
#include <optaro/event_log.hpp>
#include <optaro/idempotency.hpp>
#include <optaro/memory_ports.hpp>
#include <optaro/ports.hpp>
#include <optaro/retry.hpp>

#include "register.hpp"

namespace optaro_python {
namespace {

namespace py = pybind11;

/// (max_retries, base_delay seconds, multiplier, max_delay seconds, jitter name)
using retry_tuple = std::tuple<int, double, double, double, std::string>;

/// Seconds as a float to nanoseconds, naming the field when the value has no such representation
/// (NaN, infinite, beyond int64). Negative values pass: the C++ validation says what is wrong with them.
std::chrono::nanoseconds nanoseconds_of(double seconds, std::string_view field) {
  if (!std::isfinite(seconds)) {
    throw std::invalid_argument(std::string{field} + ": must be finite (got " + std::to_string(seconds) + " s)");
  }
  const double ns = std::round(seconds * 1e9);
  // 2^63 is exactly representable; int64 holds everything strictly below it.
  if (std::abs(ns) >= 9223372036854775808.0) {
    throw std::invalid_argument(std::string{field} + ": beyond the range of int64 nanoseconds (" +
                                std::to_string(seconds) + " s)");
  }
  return std::chrono::nanoseconds{static_cast<std::int64_t>(ns)};
}

optaro::retry_policy retry_policy_of(const retry_tuple& t) {
  optaro::retry_policy p;
  p.max_retries = std::get<0>(t);
  p.base_delay = nanoseconds_of(std::get<1>(t), "base_delay");
  p.multiplier = std::get<2>(t);
  p.max_delay = nanoseconds_of(std::get<3>(t), "max_delay");
  p.jitter = optaro::parse_retry_jitter(std::get<4>(t));
  p.validate();
  return p;
}

double seconds_of(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e9; }

optaro::message_kind kind_of(std::string_view name) {
  if (const auto kind = optaro::parse_message_kind(name)) return *kind;
  throw std::invalid_argument("kind: expected underlying, option_quote or option_chain (got '" + std::string{name} +
                              "')");
}

optaro::log_level log_level_of(std::string_view name) {
  for (const auto level :
       {optaro::log_level::debug, optaro::log_level::info, optaro::log_level::warning, optaro::log_level::error}) {
    if (optaro::to_string(level) == name) return level;
  }
  throw std::invalid_argument("log_level: expected debug, info, warning or error (got '" + std::string{name} + "')");
}

std::size_t count_of(std::int64_t value, std::string_view field) {
  if (value < 1) {
    throw std::invalid_argument("enricher_config." + std::string{field} + ": must be >= 1 (got " +
                                std::to_string(value) + ")");
  }
  return static_cast<std::size_t>(value);
}

/// "TypeName: message" of the Python exception being handled (the GIL held).
std::string describe(const py::error_already_set& e) {
  try {
    return std::string(py::str(e.type().attr("__name__"))) + ": " + std::string(py::str(e.value()));
  } catch (const py::error_already_set&) {
    return e.what();
  }
}

std::vector<py::bytes> bytes_list(const std::vector<std::string>& items) {
  std::vector<py::bytes> out;
  out.reserve(items.size());
  for (const std::string& s : items) out.emplace_back(s);
  return out;
}

/// Log lines to a Python function, as bytes of JSON. The function's exceptions are reported as
/// unraisable (sys.unraisablehook) and go no further: a failing log must not fail a message.
class python_event_sink final : public optaro::event_sink {
 public:
  explicit python_event_sink(py::function callback) : callback_(std::move(callback)) {}

  void write(std::string_view json_line) override {
    const py::gil_scoped_acquire gil;
    try {
      callback_(py::bytes(json_line.data(), json_line.size()));
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("optaro.Enricher on_event");
    }
  }

 private:
  py::function callback_;
};

/// An enricher and the in-memory ports it owns. Python objects (the callbacks) are released, and
/// the engine stopped, only with the GIL in the right state: see the destructor.
class engine_handle {
 public:
  engine_handle(std::optional<py::function> on_publish, std::optional<py::function> on_event,
                optaro::enricher_config config, optaro::log_level minimum)
      : cache_(clock_), idempotency_(clock_) {
    if (on_publish) {
      on_publish_ = std::move(*on_publish);
      sink_ = std::make_unique<optaro::callback_sink>(
          [this](std::string_view channel, std::string_view payload) { publish(channel, payload); });
    } else {
      auto memory = std::make_unique<optaro::in_memory_sink>();
      memory_sink_ = memory.get();
      sink_ = std::move(memory);
    }
    if (on_event) events_ = std::make_unique<python_event_sink>(std::move(*on_event));

    optaro::enricher_ports ports;
    ports.sink = sink_.get();
    ports.store = &store_;
    ports.cache = &cache_;
    ports.idempotency = &idempotency_;
    ports.dead_letters = &dead_letters_;
    ports.time = &clock_;
    ports.events = events_.get();
    ports.log_minimum = minimum;
    engine_ = std::make_unique<optaro::enricher>(ports, std::move(config));
    engine_->start();
  }

  engine_handle(const engine_handle&) = delete;
  engine_handle& operator=(const engine_handle&) = delete;
  engine_handle(engine_handle&&) = delete;
  engine_handle& operator=(engine_handle&&) = delete;

  /// Called by pybind11 with the GIL held: stops the engine with it released (its workers may be
  /// waiting for it), then destroys the ports and the callbacks with it held again.
  ~engine_handle() {
    if (!stopped_) {
      const py::gil_scoped_release unlocked;
      engine_->stop();
    }
    engine_.reset();
  }

  bool submit(std::string_view kind, std::string channel, const py::bytes& payload) {
    optaro::delivery d;
    d.kind = kind_of(kind);
    d.channel = std::move(channel);
    d.payload = std::string(payload);
    const py::gil_scoped_release unlocked;
    return engine_->submit(std::move(d));
  }

  std::size_t replay_dead_letters() {
    const py::gil_scoped_release unlocked;
    return engine_->replay_dead_letters();
  }

  bool wait_quiescent(double timeout_seconds) {
    if (!(timeout_seconds >= 0)) {
      throw std::invalid_argument("timeout: must be >= 0 seconds (got " + std::to_string(timeout_seconds) + ")");
    }
    // Beyond a century is "forever"; the cap keeps the conversion to integer milliseconds defined.
    const double ms = std::min(timeout_seconds, 3.2e9) * 1e3;
    const std::chrono::milliseconds timeout{static_cast<std::int64_t>(std::ceil(ms))};
    const py::gil_scoped_release unlocked;
    return engine_->wait_quiescent(timeout);
  }

  void stop() {
    {
      const py::gil_scoped_release unlocked;
      engine_->stop();
    }
    stopped_ = true;
  }

  [[nodiscard]] bool stopped() const noexcept { return stopped_; }

  py::dict stats() const {
    optaro::enricher_stats s;
    {
      const py::gil_scoped_release unlocked;
      s = engine_->stats();
    }
    py::dict out;
    out["received"] = s.received;
    out["enriched"] = s.enriched;
    out["duplicates"] = s.duplicates;
    out["deferred"] = s.deferred;
    out["retries"] = s.retries;
    out["dead_lettered"] = s.dead_lettered;
    out["late_ticks"] = s.late_ticks;
    out["queued"] = s.queued;
    out["in_flight"] = s.in_flight;
    out["retries_pending"] = s.retries_pending;
    return out;
  }

  std::string health_json() const {
    const py::gil_scoped_release unlocked;
    return engine_->health().to_json();
  }

  std::string metrics_text() const {
    const py::gil_scoped_release unlocked;
    return engine_->metrics().prometheus_text();
  }

  std::vector<py::bytes> dead_letters() const {
    std::vector<std::string> encoded;
    {
      const py::gil_scoped_release unlocked;
      for (const optaro::dead_letter& letter : dead_letters_.list(0, dead_letters_.size())) {
        encoded.push_back(optaro::encode_dead_letter(letter));
      }
    }
    return bytes_list(encoded);
  }

  std::optional<py::bytes> cache_get(const std::string& key) {
    std::optional<std::string> value;
    {
      const py::gil_scoped_release unlocked;
      value = cache_.get(key);
    }
    if (!value) return std::nullopt;
    return py::bytes(*value);
  }

  std::vector<py::bytes> documents(std::string_view kind) const {
    const optaro::message_kind k = kind_of(kind);
    std::vector<std::string> docs;
    {
      const py::gil_scoped_release unlocked;
      docs = store_.documents(k);
    }
    return bytes_list(docs);
  }

  std::vector<py::bytes> published(std::string_view channel) const {
    if (memory_sink_ == nullptr) {
      throw std::logic_error("published: messages go to the on_enriched callback, not to a retained sink");
    }
    std::vector<std::string> messages;
    {
      const py::gil_scoped_release unlocked;
      messages = memory_sink_->messages(channel);
    }
    return bytes_list(messages);
  }

 private:
  /// The callback_sink's function, on a worker thread. A Python exception becomes a C++ one that the
  /// engine treats as permanent (reason processing_failed), its text naming the Python type; it is
  /// converted here, with the GIL held, because the engine destroys exceptions without it.
  void publish(std::string_view channel, std::string_view payload) {
    const py::gil_scoped_acquire gil;
    try {
      on_publish_(py::str(channel.data(), channel.size()), py::bytes(payload.data(), payload.size()));
    } catch (py::error_already_set& e) {
      throw std::runtime_error("on_enriched raised " + describe(e));
    }
  }

  // Declaration order is destruction order in reverse: the engine goes first, then its ports.
  py::object on_publish_;
  optaro::system_clock clock_;
  std::unique_ptr<optaro::message_sink> sink_;
  optaro::in_memory_sink* memory_sink_ = nullptr;
  optaro::in_memory_document_store store_;
  optaro::in_memory_cache cache_;
  optaro::in_memory_idempotency_store idempotency_;
  optaro::in_memory_dead_letter_queue dead_letters_;
  std::unique_ptr<python_event_sink> events_;
  std::unique_ptr<optaro::enricher> engine_;
  bool stopped_ = false;
};

std::unique_ptr<engine_handle> make_engine(std::optional<py::function> on_publish, std::optional<py::function> on_event,
                                           std::int64_t workers, std::int64_t queue_capacity,
                                           const retry_tuple& retry, double rate, double dividend_yield,
                                           const std::vector<std::int64_t>& windows_seconds,
                                           std::int64_t anchor_seconds, double allowed_lateness_seconds,
                                           bool fit_surfaces, const std::string& log_level) {
  optaro::enricher_config config;
  config.workers = count_of(workers, "workers");
  config.queue_capacity = count_of(queue_capacity, "queue_capacity");
  config.retry = retry_policy_of(retry);
  config.chains.rate = rate;
  config.chains.dividend_yield = dividend_yield;
  config.candles.windows.clear();
  for (const std::int64_t w : windows_seconds) config.candles.windows.emplace_back(w);
  config.candles.anchor = std::chrono::seconds{anchor_seconds};
  config.candles.allowed_lateness = nanoseconds_of(allowed_lateness_seconds, "allowed_lateness_seconds");
  config.fit_surfaces = fit_surfaces;
  const optaro::log_level minimum = log_level_of(log_level);
  return std::make_unique<engine_handle>(std::move(on_publish), std::move(on_event), std::move(config), minimum);
}

}  // namespace

void register_engine(py::module_& m) {
  m.def(
      "validate_retry_policy", [](const retry_tuple& policy) { (void)retry_policy_of(policy); },
      "optaro::retry_policy::validate of (max_retries, base_delay s, multiplier, max_delay s, jitter).",
      py::arg("policy"));
  m.def(
      "retry_delays",
      [](const retry_tuple& policy, std::uint64_t seed) {
        const optaro::retry_policy p = retry_policy_of(policy);
        std::vector<double> out;
        for (const std::chrono::nanoseconds d : p.delays(seed)) out.push_back(seconds_of(d));
        return out;
      },
      "optaro::retry_policy::delays(seed) in seconds; the policy as for validate_retry_policy.", py::arg("policy"),
      py::arg("seed"));

  py::class_<engine_handle>(m, "Enricher",
                            "optaro::enricher on in-memory ports, started; callbacks receive bytes of JSON.")
      .def(py::init(&make_engine), py::arg("on_publish"), py::arg("on_event"), py::arg("workers"),
           py::arg("queue_capacity"), py::arg("retry"), py::arg("rate"), py::arg("dividend_yield"),
           py::arg("windows_seconds"), py::arg("anchor_seconds"), py::arg("allowed_lateness_seconds"),
           py::arg("fit_surfaces"), py::arg("log_level"))
      .def("submit", &engine_handle::submit, "enricher::submit (the GIL released); False once stopped.",
           py::arg("kind"), py::arg("channel"), py::arg("payload"))
      .def("replay_dead_letters", &engine_handle::replay_dead_letters, "enricher::replay_dead_letters (all).")
      .def("wait_quiescent", &engine_handle::wait_quiescent, "enricher::wait_quiescent (the GIL released).",
           py::arg("timeout_seconds"))
      .def("stop", &engine_handle::stop, "enricher::stop (the GIL released); idempotent.")
      .def("stopped", &engine_handle::stopped, "Whether stop() has been called.")
      .def("stats", &engine_handle::stats, "enricher_stats as a dict.")
      .def("health_json", &engine_handle::health_json, "health_report::to_json.")
      .def("metrics_text", &engine_handle::metrics_text, "The Prometheus text exposition of the engine's metrics.")
      .def("dead_letters", &engine_handle::dead_letters, "encode_dead_letter of every dead letter, oldest first.")
      .def("cache_get", &engine_handle::cache_get, "The value of a live cache key.", py::arg("key"))
      .def("documents", &engine_handle::documents, "The stored documents of one kind, in insertion order.",
           py::arg("kind"))
      .def("published", &engine_handle::published,
           "What was published on a channel (only without on_publish; RuntimeError otherwise).", py::arg("channel"));
}

}  // namespace optaro_python

#pragma once
// A structured event log: one JSON object per line, e.g.
//   {"ts":"2026-12-01T10:00:00.123456789Z","level":"info","event":"message_enriched","kind":"option_chain"}
// with the time from the engine's clock port (so tests see fixed timestamps) and the fields in the
// order given. Each line is formatted into one string, without iostreams, and handed to a sink.
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include <optaro/clock.hpp>

namespace optaro {

enum class log_level : std::uint8_t { debug, info, warning, error };

/// "debug", "info", "warning", "error" ("unknown" for a value outside the enum).
[[nodiscard]] std::string_view to_string(log_level level) noexcept;

/// Where log lines go. Implementations must be thread-safe: loggers on several worker threads share
/// one sink. A line is one complete JSON object without a trailing newline.
class event_sink {
 public:
  event_sink() = default;
  event_sink(const event_sink&) = delete;
  event_sink& operator=(const event_sink&) = delete;
  event_sink(event_sink&&) = delete;
  event_sink& operator=(event_sink&&) = delete;
  virtual ~event_sink() = default;

  virtual void write(std::string_view json_line) = 0;
};

/// Writes each line and a '\n' to a stream and flushes, under a mutex so that lines never interleave.
/// The stream must outlive the sink.
class stream_event_sink final : public event_sink {
 public:
  explicit stream_event_sink(std::ostream& out);
  void write(std::string_view json_line) override;

 private:
  std::mutex mutex_;
  std::ostream* out_;
};

/// Keeps the lines in memory (tests).
class memory_event_sink final : public event_sink {
 public:
  void write(std::string_view json_line) override;
  [[nodiscard]] std::vector<std::string> lines() const;
  void clear();

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

/// One key/value of an event. Holds views: it lives only as long as the log call's argument list.
struct log_field {
  std::string_view key;
  std::variant<std::nullptr_t, std::string_view, std::int64_t, std::uint64_t, double, bool> value;

  /// A null const char* is written as null.
  log_field(std::string_view k, const char* v) noexcept : key{k} {
    if (v != nullptr) value = std::string_view{v};
  }
  log_field(std::string_view k, const std::string& v) noexcept : key{k}, value{std::string_view{v}} {}
  log_field(std::string_view k, std::string_view v) noexcept : key{k}, value{v} {}
  /// bool stays a bool; other signed integers become int64, unsigned ones uint64.
  template <std::integral T>
  log_field(std::string_view k, T v) noexcept : key{k} {
    if constexpr (std::same_as<T, bool>) {
      value = v;
    } else if constexpr (std::is_signed_v<T>) {
      value = static_cast<std::int64_t>(v);
    } else {
      value = static_cast<std::uint64_t>(v);
    }
  }
  /// Non-finite values are written as null (JSON has no NaN or Infinity).
  log_field(std::string_view k, double v) noexcept : key{k}, value{v} {}
  log_field(std::string_view k, std::nullptr_t) noexcept : key{k}, value{nullptr} {}
};

/// Formats events and hands them to a sink. Cheap to copy (two pointers and a level); safe to use from
/// several threads when the sink and clock are.
class event_logger {
 public:
  /// Discards everything.
  event_logger() = default;
  /// sink may be null (then everything is discarded); sink and time must outlive the logger.
  event_logger(event_sink* sink, const clock& time, log_level minimum = log_level::info) noexcept;

  /// Whether log(level, ...) would write anything: test it before computing expensive fields.
  [[nodiscard]] bool enabled(log_level level) const noexcept {
    return sink_ != nullptr && level >= minimum_;
  }
  [[nodiscard]] log_level minimum() const noexcept { return minimum_; }

  /// Writes {"ts":...,"level":...,"event":...,<fields in order>} when enabled(level). Keys are
  /// written as given (escaped); repeated keys are not detected. Exceptions from the sink propagate.
  void log(log_level level, std::string_view event, std::initializer_list<log_field> fields = {}) const;

  void debug(std::string_view event, std::initializer_list<log_field> fields = {}) const {
    log(log_level::debug, event, fields);
  }
  void info(std::string_view event, std::initializer_list<log_field> fields = {}) const {
    log(log_level::info, event, fields);
  }
  void warning(std::string_view event, std::initializer_list<log_field> fields = {}) const {
    log(log_level::warning, event, fields);
  }
  void error(std::string_view event, std::initializer_list<log_field> fields = {}) const {
    log(log_level::error, event, fields);
  }

 private:
  event_sink* sink_ = nullptr;
  const clock* clock_ = nullptr;
  log_level minimum_ = log_level::info;
};

/// Appends s to out as a JSON string literal (quotes included): '"', '\\' and control characters
/// below 0x20 escaped (\b \f \n \r \t, others \u00XX); other bytes, UTF-8 included, as they are.
void append_json_string(std::string& out, std::string_view s);

}  // namespace optaro

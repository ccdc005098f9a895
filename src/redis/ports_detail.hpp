#pragma once
// Helpers shared by the Redis ports (src/redis/ports.cpp, src/redis/sources.cpp); not installed.
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <optaro/ports.hpp>
#include <optaro/redis/connection.hpp>

namespace optaro::redis::detail {

/// A duration as whole milliseconds for PX / PEXPIRE, rounded up (a TTL never ends early) and at least
/// 1 (PX 0 is an error); saturates instead of overflowing.
[[nodiscard]] inline std::int64_t whole_milliseconds(std::chrono::nanoseconds span) noexcept {
  constexpr std::int64_t per_ms = 1'000'000;
  const std::int64_t ns = span.count();
  if (ns <= 0) return 1;
  const std::int64_t ms = ns / per_ms + (ns % per_ms != 0 ? 1 : 0);
  return ms < 1 ? 1 : ms;
}

[[nodiscard]] inline std::string milliseconds_text(std::chrono::nanoseconds span) {
  return std::to_string(whole_milliseconds(span));
}

/// Whether an error reply carries this code ("NOGROUP No such key ..." has the code NOGROUP).
[[nodiscard]] inline bool has_error_code(const reply& r, std::string_view code) noexcept {
  if (!r.is_error()) return false;
  const std::string_view text = r.text;
  return text.starts_with(code) && (text.size() == code.size() || text[code.size()] == ' ');
}

/// Throws for an error reply, classified as the connection layer does: retryable_error when retrying
/// may help (LOADING, BUSY, ...), command_error otherwise. `context` names the operation.
[[noreturn]] inline void throw_error_reply(std::string_view context, const reply& r) {
  std::string message{context};
  message.append(": ").append(r.text);
  if (is_retryable_error_reply(r.text)) throw retryable_error(message);
  throw command_error(message);
}

inline const reply& checked(std::string_view context, const reply& r) {
  if (r.is_error()) throw_error_reply(context, r);
  return r;
}

/// One command whose error reply comes back as a value (a pipeline of one), for callers that act on
/// the error's code (NOSCRIPT, BUSYGROUP, NOGROUP). I/O errors still throw retryable_error.
[[nodiscard]] inline reply call(connection& c, std::vector<std::string_view> args) {
  const std::vector<std::vector<std::string_view>> commands{std::move(args)};
  std::vector<reply> replies = c.pipeline(commands);
  if (replies.size() != 1) throw command_error("redis: expected one reply to one command");
  return std::move(replies.front());
}

/// Wall-clock time for dead-letter records, in the engine's timestamp unit.
[[nodiscard]] inline timestamp_ns now_ns() noexcept {
  return std::chrono::time_point_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now())
      .time_since_epoch()
      .count();
}

}  // namespace optaro::redis::detail

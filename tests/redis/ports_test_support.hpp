#pragma once
// Helpers of the Redis ports' integration tests (test_ports.cpp, test_streams.cpp): the server's
// address from the environment that tests/redis/with-redis.sh sets, names unique to each test, and a
// bounded wait for conditions that take real time.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include <optaro/redis/connection.hpp>
#include <optaro/redis/ports.hpp>

namespace optaro::redis::testing {

inline std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read before any thread starts
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

/// Options for the test server; connection and command timeouts short enough that an outage shows
/// quickly.
inline connection_options server_options() {
  connection_options options;
  options.address = url::parse(environment("OPTARO_TEST_REDIS_URL").value_or("redis://127.0.0.1:6379/0"));
  options.connect_timeout = std::chrono::milliseconds{500};
  options.command_timeout = std::chrono::milliseconds{2000};
  options.reconnect.base_delay = std::chrono::milliseconds{20};
  options.reconnect.max_delay = std::chrono::milliseconds{200};
  return options;
}

/// "<Suite>.<Test>.<pid>:": a key and channel prefix no other test (or run) shares.
inline std::string unique_prefix() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return std::string(info->test_suite_name()) + "." + info->name() + "." + std::to_string(::getpid()) + ":";
}

/// stop | start | restart the test server through the harness's control script.
inline void control_server(const std::string& action) {
  const auto script = environment("OPTARO_TEST_REDIS_CONTROL");
  ASSERT_TRUE(script.has_value()) << "OPTARO_TEST_REDIS_CONTROL is not set";
  const std::string command = "bash \"" + *script + "\" " + action + " >/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;  // NOLINT(concurrency-mt-unsafe,cert-env33-c)
}

/// Polls `condition` until it holds or `limit` passes; whether it held.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds limit = std::chrono::milliseconds{10'000}) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return condition();
}

/// Every inbound name with the test's prefix, so that tests never read each other's channels.
inline inbound_names prefixed_names(const std::string& prefix) {
  return inbound_names{prefix + "market:underlying", prefix + "market:option_quote", prefix + "market:option_chain"};
}

}  // namespace optaro::redis::testing

/// Skips a test when no server is configured (the binary run by hand, without with-redis.sh).
#define OPTARO_REQUIRE_REDIS()                                                                   \
  do {                                                                                           \
    if (!::optaro::redis::testing::environment("OPTARO_TEST_REDIS_URL")) {                       \
      GTEST_SKIP() << "OPTARO_TEST_REDIS_URL is not set (run through ctest or with-redis.sh)"; \
    }                                                                                            \
  } while (false)

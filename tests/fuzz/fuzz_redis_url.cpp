// optaro::redis::url::parse, the parser of redis://[[user]:password@]host[:port][/db] configuration
// text. Checks: no crash, no sanitizer report, no exception but std::invalid_argument, whose message is
// "redis url: <part>: <why>" in printable ASCII (it never quotes the input, which may hold the
// password); a URL that parses has a host, a port in 1-65535 and a db >= 0; and redacted() parses again
// to the same host, port, db and username, with the password "***" (or none).
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include <optaro/redis/connection.hpp>

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  optaro::redis::url u;
  try {
    u = optaro::redis::url::parse(text);
  } catch (const std::invalid_argument& e) {
    // Messages are "redis url: <part>: <why>" from fixed texts and never quote the input (any of it may
    // be the password): a short line of printable ASCII whatever bytes the input holds.
    const std::string_view message = e.what();
    FUZZ_CHECK(message.starts_with("redis url: ") && message.size() <= 100, "errors are \"redis url: ...\"");
    for (const char c : message) FUZZ_CHECK(c >= 0x20 && c < 0x7f, "errors are printable ASCII (no input quoted)");
    return 0;
  }
  FUZZ_CHECK(!u.host.empty(), "a host");
  FUZZ_CHECK(u.port >= 1 && u.port <= 65535, "port in 1-65535");
  FUZZ_CHECK(u.db >= 0, "db >= 0");

  const std::string redacted = u.redacted();
  optaro::redis::url again;
  try {
    again = optaro::redis::url::parse(redacted);
  } catch (const std::invalid_argument&) {
    FUZZ_CHECK(false, "redacted() parses again");
  }
  FUZZ_CHECK(again.host == u.host && again.port == u.port && again.db == u.db && again.username == u.username,
             "redacted() keeps host, port, db and username");
  FUZZ_CHECK(again.password == (u.password.empty() ? "" : "***"), "redacted() password is ***");
  return 0;
}

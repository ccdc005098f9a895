// A downstream program of the optaro::redis component: links it through find_package(optaro
// COMPONENTS redis) and uses it without a server (URL parsing and reply decoding), which proves that
// its headers, its library and hiredis underneath all resolve from the installed package.
#include <cstdio>
#include <string>

#include <optaro/redis/connection.hpp>

int main() {
  int failures = 0;
  auto check = [&](bool ok, const char* what) {
    std::printf("%s  %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) ++failures;
  };
  const optaro::redis::url u = optaro::redis::url::parse("redis://:secret@127.0.0.1:6390/2");
  check(u.port == 6390 && u.db == 2 && u.password == "secret", "url::parse");
  check(u.redacted().find("secret") == std::string::npos, "url::redacted hides the password");
  optaro::redis::reply_decoder decoder;
  decoder.feed("*2\r\n$3\r\nfoo\r\n:42\r\n");
  const auto r = decoder.next();
  check(r && r->elements.size() == 2 && r->elements[1].integer == 42, "reply_decoder (hiredis underneath)");
  return failures == 0 ? 0 : 1;
}

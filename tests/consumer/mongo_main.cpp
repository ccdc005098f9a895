// A downstream program of the optaro::mongo component: links it through find_package(optaro
// COMPONENTS mongo) and uses it without a server, which proves that its headers, its library and
// libmongoc underneath all resolve from the installed package.
#include <cstdio>
#include <string>

#include <optaro/mongo/store.hpp>

int main() {
  const std::string shown = optaro::mongo::redact_uri("mongodb://optaro:secret@127.0.0.1:27017/optaro");
  const bool ok = shown.find("secret") == std::string::npos && shown.find("127.0.0.1:27017") != std::string::npos;
  std::printf("%s  redact_uri: %s\n", ok ? "ok  " : "FAIL", shown.c_str());
  return ok ? 0 : 1;
}

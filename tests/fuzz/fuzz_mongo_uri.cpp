// The MongoDB adapter's own handling of connection-string text (configuration): detail::uri_password,
// redact_uri and detail::scrub (libmongoc itself parses the URI; it has its own fuzzing). Checks: no
// crash or sanitizer report; uri_password returns a view into the URI; redact_uri leaves no password
// behind (uri_password of a redacted mongodb:// URI is "***" or empty) and changes nothing else when
// there is no secret; scrub removes every occurrence of a secret that cannot overlap "***".
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <optaro/mongo/store.hpp>

#include "fuzz_check.hpp"
#include "mongo/document.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view uri(reinterpret_cast<const char*>(data), size);
  const std::string_view password = optaro::mongo::detail::uri_password(uri);
  FUZZ_CHECK(password.empty() ||
                 (password.data() >= uri.data() && password.data() + password.size() <= uri.data() + uri.size()),
             "uri_password is a view into the URI");

  const std::string redacted = optaro::mongo::redact_uri(uri);
  // Only where the first "://" is the scheme's (what libmongoc accepts): otherwise uri_password reads
  // the authority after a "://" inside the query, which redacting the query may move.
  if (uri.starts_with("mongodb://") || uri.starts_with("mongodb+srv://")) {
    const std::string_view left = optaro::mongo::detail::uri_password(redacted);
    FUZZ_CHECK(left.empty() || left == "***", "redact_uri leaves no password");
  }
  FUZZ_CHECK(!password.empty() || uri.find('?') != std::string_view::npos || redacted == uri,
             "redact_uri changes nothing without a secret");

  if (!password.empty() && password.find('*') == std::string_view::npos) {
    const std::string scrubbed = optaro::mongo::detail::scrub(uri, password);
    FUZZ_CHECK(scrubbed.find(password) == std::string::npos, "scrub removes the secret");
  }
  return 0;
}

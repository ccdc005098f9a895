#pragma once
// Administrative helpers of the MongoDB adapter for tests, benchmarks and tools (not installed, not part
// of the document_store port): they open a short-lived client of their own.
#include <chrono>
#include <string>

namespace optaro::mongo::detail {

/// Drops a database (the integration tests' cleanup). retryable_error when the server cannot be
/// reached, store_error otherwise; the URI's password never appears in either.
void drop_database(const std::string& uri, const std::string& database,
                   std::chrono::milliseconds timeout = std::chrono::milliseconds{5000});

}  // namespace optaro::mongo::detail

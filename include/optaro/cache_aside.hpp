#pragma once
// Cache-aside reads over the cache port: look in the cache, and on a miss load from the source of
// truth (a MongoDB query, say) and put the result in the cache with a TTL. With a single-flight guard:
// when a hot key expires, the threads that miss it at the same time wait for one load instead of all
// sending the same query to the database (a cache stampede).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <optaro/ports.hpp>

namespace optaro {

class cache_aside {
 public:
  /// Loads a value from the source of truth; nullopt when there is none (nothing is cached then).
  using loader = std::function<std::optional<std::string>()>;

  struct counts {
    std::uint64_t hits = 0;     ///< answered by the cache
    std::uint64_t loads = 0;    ///< calls of a loader
    std::uint64_t shared = 0;   ///< misses answered by another thread's load
    std::uint64_t cache_errors = 0;  ///< cache reads or writes that failed (the value was loaded or returned anyway)
  };

  /// `values` must outlive this object. std::invalid_argument when ttl <= 0.
  cache_aside(cache& values, std::chrono::nanoseconds ttl);
  cache_aside(const cache_aside&) = delete;
  cache_aside& operator=(const cache_aside&) = delete;
  ~cache_aside();

  /// The cached value of `key`, else load()'s, which is then cached for the TTL. Concurrent misses of
  /// one key make one call of a loader; the others wait for it and share its result, or its exception.
  /// A cache that fails (retryable_error or otherwise) is treated as a miss, and a failed cache write
  /// does not fail the read: the database stays the source of truth.
  [[nodiscard]] std::optional<std::string> get(std::string_view key, const loader& load);

  [[nodiscard]] counts stats() const;

 private:
  struct flight;
  cache& cache_;
  std::chrono::nanoseconds ttl_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<flight>> flights_;
  counts counts_;
};

}  // namespace optaro

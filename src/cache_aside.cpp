// Cache-aside reads with a single-flight guard (include/optaro/cache_aside.hpp).
#include <optaro/cache_aside.hpp>

#include <condition_variable>
#include <exception>
#include <stdexcept>
#include <utility>

namespace optaro {

/// One load in progress: the threads that missed the same key wait on it.
struct cache_aside::flight {
  std::mutex mutex;
  std::condition_variable landed;
  bool done = false;
  std::optional<std::string> value;
  std::exception_ptr error;
};

cache_aside::cache_aside(cache& values, std::chrono::nanoseconds ttl) : cache_(values), ttl_(ttl) {
  if (ttl.count() <= 0) throw std::invalid_argument("cache_aside: ttl must be > 0");
}

cache_aside::~cache_aside() = default;

std::optional<std::string> cache_aside::get(std::string_view key, const loader& load) {
  try {
    if (std::optional<std::string> cached = cache_.get(key)) {
      const std::lock_guard lock{mutex_};
      ++counts_.hits;
      return cached;
    }
  } catch (const std::exception&) {
    const std::lock_guard lock{mutex_};
    ++counts_.cache_errors;
  }

  std::shared_ptr<flight> joined;
  std::shared_ptr<flight> leading;
  {
    const std::lock_guard lock{mutex_};
    auto [it, inserted] = flights_.try_emplace(std::string{key});
    if (inserted) {
      it->second = std::make_shared<flight>();
      leading = it->second;
    } else {
      joined = it->second;
      ++counts_.shared;
    }
  }

  if (joined) {
    std::unique_lock lock{joined->mutex};
    joined->landed.wait(lock, [&] { return joined->done; });
    if (joined->error) std::rethrow_exception(joined->error);
    return joined->value;
  }

  // This thread leads: load, cache, then let the waiters go. The flight leaves the map only after the
  // cache holds the value, so that a thread arriving in between finds one or the other.
  std::optional<std::string> value;
  std::exception_ptr error;
  bool from_cache = false;
  try {
    // A thread that missed just before the previous leader cached the value and arrives after that
    // flight ended would load again: look once more before going to the database.
    value = cache_.get(key);
    from_cache = value.has_value();
  } catch (const std::exception&) {
  }
  if (!from_cache) {
    {
      const std::lock_guard lock{mutex_};
      ++counts_.loads;
    }
    try {
      value = load();
    } catch (...) {
      error = std::current_exception();
    }
  }
  if (value && !from_cache) {
    try {
      const cache_write write{std::string{key}, *value, ttl_};
      cache_.set({&write, 1});
    } catch (const std::exception&) {
      const std::lock_guard lock{mutex_};
      ++counts_.cache_errors;
    }
  }
  {
    const std::lock_guard lock{leading->mutex};
    leading->done = true;
    leading->value = value;
    leading->error = error;
  }
  leading->landed.notify_all();
  {
    const std::lock_guard lock{mutex_};
    flights_.erase(std::string{key});
  }
  if (error) std::rethrow_exception(error);
  return value;
}

cache_aside::counts cache_aside::stats() const {
  const std::lock_guard lock{mutex_};
  return counts_;
}

}  // namespace optaro

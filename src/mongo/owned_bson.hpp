#pragma once
// An owned bson_t for the MongoDB adapter's sources (not installed; libbson's header is theirs).
#include <bson/bson.h>

namespace optaro::mongo::detail {

/// A bson_t on the stack, initialised empty and destroyed on every path. A driver function that
/// "always initialises" its reply may initialise it again: an empty inline bson_t owns no memory.
class owned_bson {
 public:
  owned_bson() { bson_init(&value_); }
  ~owned_bson() { bson_destroy(&value_); }
  owned_bson(const owned_bson&) = delete;
  owned_bson& operator=(const owned_bson&) = delete;
  [[nodiscard]] bson_t* get() noexcept { return &value_; }
  [[nodiscard]] const bson_t* get() const noexcept { return &value_; }

 private:
  bson_t value_;
};

}  // namespace optaro::mongo::detail

#pragma once
// Private to the optaro::redis component: hiredis's reader building optaro::redis::reply.
// The only place (with connection.cpp) that includes hiredis; ports.cpp may include it too.
//
// hiredis's headers (sds.h in particular) are C with casts and conversions that optaro's warning set
// rejects; when hiredis is not under a system include directory they are not exempt, so the warnings
// are switched off for the include only.
#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wcast-align"
#endif
#include <hiredis/hiredis.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include <optaro/redis/connection.hpp>

namespace optaro::redis::detail {

/// hiredis's reader builds its replies through these functions (every reader optaro creates gets them,
/// the connections' too): they build optaro::redis::reply directly, without hiredis's tree and a copy
/// of it. An array's elements are appended as they arrive, never allocated when its header arrives,
/// so that memory follows the bytes received: hiredis 0.14's own functions allocate the element array
/// of "*2000000000\r\n" (16 GB) at once (found by fuzzing tests/fuzz/fuzz_redis_reply). The depth is
/// bounded by hiredis's reader (7 nested arrays in 0.14).
///
/// hiredis calls them with a task: its parent's object (an array being filled) and the element's
/// index, which is always the next one. Only a root is ever freed (freeObject); its elements belong to
/// it. None may throw into C: a failed allocation returns nullptr, which hiredis reports as an
/// out-of-memory error of the reader.
inline reply* new_element(const redisReadTask* task, reply::type kind) noexcept {
  try {
    if (task->parent == nullptr) {
      auto* root = new reply;
      root->kind = kind;
      return root;
    }
    auto* parent = static_cast<reply*>(task->parent->obj);
    reply& element = parent->elements.emplace_back();
    element.kind = kind;
    return &element;
  } catch (...) {
    return nullptr;
  }
}

inline redisReplyObjectFunctions* reply_functions() noexcept {
  static redisReplyObjectFunctions functions = [] {
    redisReplyObjectFunctions f{};
    f.createString = [](const redisReadTask* task, char* text, std::size_t length) -> void* {
      const reply::type kind = task->type == REDIS_REPLY_STATUS  ? reply::type::status
                               : task->type == REDIS_REPLY_ERROR ? reply::type::error
                                                                 : reply::type::string;
      reply* r = new_element(task, kind);
      if (r == nullptr) return nullptr;
      try {
        r->text.assign(text, length);
      } catch (...) {
        return nullptr;  // hiredis frees the root, with r in it
      }
      return r;
    };
    // The count's type differs between hiredis versions (int in 0.14, size_t later).
    f.createArray = [](const redisReadTask* task, auto count) -> void* {
      reply* r = new_element(task, reply::type::array);
      if (r == nullptr) return nullptr;
      try {
        constexpr std::size_t reserve_at_most = 1024;  // the rest as elements arrive
        r->elements.reserve(count > 0 ? std::min(static_cast<std::size_t>(count), reserve_at_most) : 0);
      } catch (...) {
        return nullptr;
      }
      return r;
    };
    f.createInteger = [](const redisReadTask* task, long long value) -> void* {
      reply* r = new_element(task, reply::type::integer);
      if (r != nullptr) r->integer = value;
      return r;
    };
    f.createNil = [](const redisReadTask* task) -> void* { return new_element(task, reply::type::nil); };
    f.freeObject = [](void* root) { delete static_cast<reply*>(root); };
    return f;
  }();
  return &functions;
}

/// Takes ownership of what redisCommand*/redisGetReply*/redisReaderGetReply returned: a root made by
/// reply_functions().
[[nodiscard]] inline reply take_reply(void* r) {
  const std::unique_ptr<reply> owned(static_cast<reply*>(r));
  return std::move(*owned);
}

/// Frees such a root without reading it.
inline void free_reply(void* r) noexcept { delete static_cast<reply*>(r); }

}  // namespace optaro::redis::detail

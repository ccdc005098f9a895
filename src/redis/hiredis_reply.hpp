#pragma once
// Private to the optaro::redis component: hiredis's reply tree turned into optaro::redis::reply.
// The only place (with connection.cpp) that includes hiredis; ports.cpp may include it too.
//
// hiredis's headers (sds.h in particular) are C with casts and conversions that optaro's warning set
// rejects; when hiredis is not under a system include directory they are not exempt, so the warnings
// are switched off for the include only.
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

/// Frees a reply tree that hiredis handed over (freeReplyObject frees the children too).
struct reply_deleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

/// Takes ownership of what redisCommand*/redisGetReply*/redisReaderGetReply returned as void*.
[[nodiscard]] inline reply_ptr adopt_reply(void* r) noexcept { return reply_ptr(static_cast<redisReply*>(r)); }

/// A deep copy of hiredis's reply. The depth is bounded by hiredis's reader (7 nested arrays in
/// 0.14), so the recursion is too. An unknown type (a RESP3 type from a newer hiredis) becomes an
/// error reply rather than being dropped silently.
[[nodiscard]] inline reply to_reply(const redisReply& r) {
  reply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.kind = reply::type::string;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.kind = reply::type::status;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.kind = reply::type::error;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.kind = reply::type::integer;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_NIL:
      out.kind = reply::type::nil;
      break;
    case REDIS_REPLY_ARRAY:
      out.kind = reply::type::array;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(to_reply(*r.element[i]));
      break;
    default:
      out.kind = reply::type::error;
      out.text = "optaro: unsupported hiredis reply type " + std::to_string(r.type);
      break;
  }
  return out;
}

/// to_reply of an adopted reply; the hiredis tree is freed on return, also when copying throws.
[[nodiscard]] inline reply take_reply(void* r) {
  reply_ptr owned = adopt_reply(r);
  return to_reply(*owned);
}

}  // namespace optaro::redis::detail

#pragma once
// The pure part of the MongoDB adapter (not installed): the enriched JSON <-> BSON conversion, the URI's
// password handling and the classification of server error codes. No libmongoc or libbson type appears
// here (BSON travels as bytes), so the unit tests exercise all of it without a server and without
// libbson's headers.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <optaro/ports.hpp>

namespace optaro::mongo::detail {

/// The BSON of an enriched message (a JSON object), as the store inserts it:
///  - top-level "timestamp" and "enriched_at" holding an ISO-8601 UTC string (or integer epoch ns) become
///    BSON dates, truncated towards the past to whole milliseconds (a BSON date's resolution), so that
///    the read path's range queries and sorts compare instants, not text;
///  - integers become int64 (an integer above INT64_MAX, which BSON cannot hold, becomes the nearest
///    double), other numbers doubles; non-finite numbers (which a JSON text cannot hold anyway) null;
///  - everything else as it is, in order.
/// With `identity`, the document must carry that identity (product; symbol for quotes; tick_id,
/// quote_id or chain_id): a field that is missing is added (and "timestamp" from identity->timestamp),
/// a field that disagrees is an error, because the unique indexes see the document, not the identity.
/// Throws optaro::mongo::store_error for text that is not a JSON object of at most 16 MiB of BSON.
[[nodiscard]] std::vector<std::uint8_t> json_to_bson(std::string_view json, const stored_document* identity = nullptr);

/// A BSON document back to the messages' JSON: dates as ISO-8601 UTC strings (format_timestamp), int32
/// and int64 as integers, doubles as std::to_chars writes them (shortest round trip; non-finite ones as
/// null), strings escaped as JSON needs; a top-level "_id" is left out. ObjectIds and Decimal128 (which
/// the store never writes) become strings; other types it never writes (binary, regex, ...) become null.
/// Throws store_error for bytes that are not a BSON document.
[[nodiscard]] std::string bson_to_json(std::span<const std::uint8_t> bson);

/// The password of a URI's authority (between the first ':' of the user information and the last '@'
/// before the host list), empty when there is none.
[[nodiscard]] std::string_view uri_password(std::string_view uri) noexcept;

/// `text` with every occurrence of `secret` replaced by "***" (nothing when secret is empty): for error
/// texts of the driver that might quote a URI.
[[nodiscard]] std::string scrub(std::string_view text, std::string_view secret);

/// Whether a server error code says "try again later": the node is unreachable, shutting down, not the
/// primary any more, the network timed out (see store.cpp for the list).
[[nodiscard]] bool is_retryable_server_code(std::int64_t code) noexcept;

/// The duplicate-key error code.
inline constexpr std::int64_t duplicate_key_code = 11000;

}  // namespace optaro::mongo::detail

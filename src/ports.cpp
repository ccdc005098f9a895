// Names of the port enums and the dead-letter record's JSON (include/optaro/ports.hpp). Dead letters are
// off the hot path, so the record is built with nlohmann/json rather than the codec's streaming writer.
#include <optaro/ports.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace optaro {

namespace {

using ordered = nlohmann::ordered_json;

constexpr std::array<std::string_view, 3> kind_names{"underlying", "option_quote", "option_chain"};
constexpr std::array<std::string_view, 4> reason_names{"invalid_message", "retries_exhausted", "processing_failed",
                                                     "shutdown"};

// ---- UTF-8 and base64 ------------------------------------------------------------------------------

// Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. At least as
// strict as nlohmann's own check, so that a payload stored as a string never makes dump() fail.
bool is_valid_utf8(std::string_view text) noexcept {
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;   // overlong
      if (lead == 0xED) high = 0x9F;  // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;   // overlong
      if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
    } else {
      return false;
    }
    if (n - i < length) return false;
    const auto second = static_cast<unsigned char>(text[i + 1]);
    if (second < low || second > high) return false;
    for (std::size_t k = 2; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if (next < 0x80 || next > 0xBF) return false;
    }
    i += length;
  }
  return true;
}

constexpr std::string_view base64_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string encode_base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t group = (std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                                (std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                                std::uint32_t{static_cast<unsigned char>(bytes[i + 2])};
    out += base64_alphabet[(group >> 18) & 63];
    out += base64_alphabet[(group >> 12) & 63];
    out += base64_alphabet[(group >> 6) & 63];
    out += base64_alphabet[group & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t group = std::uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    if (rest == 2) group |= std::uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
    out += base64_alphabet[(group >> 18) & 63];
    out += base64_alphabet[(group >> 12) & 63];
    out += rest == 2 ? base64_alphabet[(group >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

int base64_value(char c) noexcept {
  const std::size_t at = base64_alphabet.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

// Strict: padded to a multiple of 4, '=' only at the end, unused bits zero (one text per byte string).
std::optional<std::string> decode_base64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const std::size_t padding = !last ? 0 : text[i + 3] != '=' ? 0 : text[i + 2] == '=' ? 2 : 1;
    std::uint32_t group = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      if (k >= 4 - padding) {
        group <<= 6;
        continue;
      }
      const int value = base64_value(text[i + k]);
      if (value < 0) return std::nullopt;
      group = (group << 6) | static_cast<std::uint32_t>(value);
    }
    const std::array<char, 3> bytes{static_cast<char>((group >> 16) & 0xFF), static_cast<char>((group >> 8) & 0xFF),
                                    static_cast<char>(group & 0xFF)};
    if (padding == 2 && (group & 0xFFFF) != 0) return std::nullopt;
    if (padding == 1 && (group & 0xFF) != 0) return std::nullopt;
    out.append(bytes.data(), 3 - padding);
  }
  return out;
}

// ---- decoding --------------------------------------------------------------------------------------

/// Reads the record's fields, keeping the first error (the codec's convention: field + reason).
struct record_reader {
  const nlohmann::json& doc;
  std::optional<decode_error> error;

  bool fail(std::string field, std::string reason) {
    if (!error) error = decode_error{std::move(field), std::move(reason)};
    return false;
  }

  const nlohmann::json* required(const char* key) {
    const auto it = doc.find(key);
    if (it == doc.end()) {
      fail(key, "missing");
      return nullptr;
    }
    return &*it;
  }

  bool text(const char* key, std::string& out) {
    const nlohmann::json* value = required(key);
    if (value == nullptr) return false;
    if (!value->is_string()) return fail(key, "expected a string");
    out = value->get<std::string>();
    return true;
  }

  bool time(const char* key, timestamp_ns& out) {
    std::string raw;
    if (!text(key, raw)) return false;
    const auto parsed = parse_timestamp(raw);
    if (!parsed) return fail(key, "not an ISO-8601 UTC timestamp");
    out = *parsed;
    return true;
  }
};

}  // namespace

// The ports' batch operations, one item at a time: what a port without a cheaper way does.
void message_source::acknowledge_many(std::span<const delivery* const> handled) {
  for (const delivery* d : handled) acknowledge(*d);
}

void message_sink::publish_many(std::span<const outbound_message> messages) {
  for (const outbound_message& m : messages) publish(m.channel, m.payload);
}

std::vector<insert_outcome> document_store::insert_many(std::span<const stored_document> documents) {
  std::vector<insert_outcome> outcomes;
  outcomes.reserve(documents.size());
  for (const stored_document& d : documents) outcomes.push_back(insert(d));
  return outcomes;
}

std::string_view to_string(message_kind kind) noexcept {
  const auto index = static_cast<std::size_t>(kind);
  return index < kind_names.size() ? kind_names[index] : "unknown";
}

std::optional<message_kind> parse_message_kind(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kind_names.size(); ++i) {
    if (kind_names[i] == name) return static_cast<message_kind>(i);
  }
  return std::nullopt;
}

std::string_view to_string(dead_letter_reason reason) noexcept {
  const auto index = static_cast<std::size_t>(reason);
  return index < reason_names.size() ? reason_names[index] : "unknown";
}

std::optional<dead_letter_reason> parse_dead_letter_reason(std::string_view name) noexcept {
  for (std::size_t i = 0; i < reason_names.size(); ++i) {
    if (reason_names[i] == name) return static_cast<dead_letter_reason>(i);
  }
  return std::nullopt;
}

std::string encode_dead_letter(const dead_letter& letter) {
  ordered doc;
  doc["id"] = letter.id.empty() ? ordered(nullptr) : ordered(letter.id);
  doc["kind"] = to_string(letter.kind);
  doc["channel"] = letter.channel;
  doc["error"] = letter.error;
  doc["reason"] = to_string(letter.reason);
  doc["attempts"] = letter.attempts;
  doc["first_failed_at"] = format_timestamp(letter.first_failed_at);
  doc["failed_at"] = format_timestamp(letter.failed_at);
  // A poison message may not even be UTF-8, which a JSON string cannot carry losslessly.
  if (is_valid_utf8(letter.payload)) {
    doc["payload"] = letter.payload;
  } else {
    doc["payload_base64"] = encode_base64(letter.payload);
  }
  doc["trace_id"] = letter.trace_id;
  // replace: an error message quoting a poison message's bytes must not make the record unwritable.
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

decode_result<dead_letter> decode_dead_letter(std::string_view json) {
  decode_result<dead_letter> result;
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded()) {
    result.error = {"message", "not valid JSON"};
    return result;
  }
  if (!doc.is_object()) {
    result.error = {"message", "expected an object"};
    return result;
  }
  record_reader r{doc, std::nullopt};
  dead_letter letter;

  if (const nlohmann::json* id = r.required("id"); id != nullptr) {
    if (id->is_string()) {
      letter.id = id->get<std::string>();
    } else if (!id->is_null()) {
      r.fail("id", "expected a string or null");
    }
  }
  std::string name;
  if (r.text("kind", name)) {
    const auto kind = parse_message_kind(name);
    if (kind) {
      letter.kind = *kind;
    } else {
      r.fail("kind", "unknown message kind \"" + name + "\"");
    }
  }
  r.text("channel", letter.channel);
  r.text("error", letter.error);
  if (r.text("reason", name)) {
    const auto reason = parse_dead_letter_reason(name);
    if (reason) {
      letter.reason = *reason;
    } else {
      r.fail("reason", "unknown reason \"" + name + "\"");
    }
  }
  if (const nlohmann::json* attempts = r.required("attempts"); attempts != nullptr) {
    if (!attempts->is_number_integer()) {
      r.fail("attempts", "expected an integer");
    } else if (attempts->is_number_unsigned()) {
      const auto value = attempts->get<std::uint64_t>();
      if (value < 1 || value > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) {
        r.fail("attempts", value < 1 ? "must be >= 1 (got 0)" : "too large");
      } else {
        letter.attempts = static_cast<int>(value);
      }
    } else {
      r.fail("attempts", "must be >= 1 (got " + std::to_string(attempts->get<std::int64_t>()) + ")");
    }
  }
  r.time("first_failed_at", letter.first_failed_at);
  r.time("failed_at", letter.failed_at);

  const auto payload = doc.find("payload");
  const auto payload_base64 = doc.find("payload_base64");
  if (payload != doc.end() && payload_base64 != doc.end()) {
    r.fail("payload", "both payload and payload_base64 present");
  } else if (payload != doc.end()) {
    r.text("payload", letter.payload);
  } else if (payload_base64 != doc.end()) {
    std::string encoded;
    if (r.text("payload_base64", encoded)) {
      auto bytes = decode_base64(encoded);
      if (bytes) {
        letter.payload = std::move(*bytes);
      } else {
        r.fail("payload_base64", "not valid base64");
      }
    }
  } else {
    r.fail("payload", "missing");
  }
  // Optional: MESSAGES.md's record predates trace ids.
  if (const auto trace = doc.find("trace_id"); trace != doc.end()) {
    if (trace->is_string()) {
      letter.trace_id = trace->get<std::string>();
    } else {
      r.fail("trace_id", "expected a string");
    }
  }

  if (r.error) {
    result.error = std::move(*r.error);
  } else {
    result.value = std::move(letter);
  }
  return result;
}

}  // namespace optaro

// enrich_chain_json (market:option_chain JSON in, enriched:option_chain JSON out), the hot path on
// untrusted input. Checks: no crash or sanitizer report anywhere in decoding, the analytics (IV, Greeks,
// max pain, smile, parity forward) or encoding; it succeeds exactly when decode_chain does; and what it
// writes is valid JSON (RFC 8259: nlohmann::json::accept; not simdjson, which rejects the integers beyond
// 64 bits that large doubles such as gamma_exposure are written as) and an object. The input's size
// picks the configuration (carry or parity forward) and whether the chain is also its own previous
// snapshot (OI changes), so that every path is reachable without a header in the input.
//
// Found by this target and fixed: signed 64-bit overflow (UBSan) in time_to_expiry for expiries outside
// about 1678-2261, and in a chain's OI and volume sums for counts near INT64_MAX (now limited to 10^14);
// the regression tests are ChainAnalyticsFuzz.* in tests/cpp/test_chain_analytics.cpp.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <optaro/chain.hpp>
#include <optaro/codec.hpp>

#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static optaro::message_decoder decoder;
  const std::string_view json(reinterpret_cast<const char*>(data), size);

  optaro::chain_config config;
  config.forward = (size & 1U) != 0 ? optaro::forward_method::parity : optaro::forward_method::carry;
  const std::optional<optaro::option_chain> decoded = decoder.decode_chain(json).value;
  const optaro::option_chain* previous = (size & 2U) != 0 && decoded ? &*decoded : nullptr;

  constexpr optaro::timestamp_ns enriched_at = 1'736'937'000'000'000'000;  // 2025-01-15T10:30:00Z
  const auto enriched = optaro::enrich_chain_json(decoder, json, config, enriched_at, previous);
  FUZZ_CHECK(enriched.value.has_value() == decoded.has_value(), "enrich succeeds exactly where decode_chain does");
  if (!enriched) {
    FUZZ_CHECK(!enriched.error.reason.empty(), "an error gives a reason");
    return 0;
  }
  const std::string& out = *enriched.value;
  FUZZ_CHECK(nlohmann::json::accept(out), "enriched:option_chain is valid JSON");
  FUZZ_CHECK(out.front() == '{' && out.back() == '}', "enriched:option_chain is an object");
  return 0;
}

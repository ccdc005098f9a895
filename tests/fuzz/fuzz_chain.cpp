// message_decoder::decode_chain on arbitrary bytes. Checks: no crash or sanitizer report; a chain that
// decodes obeys MESSAGES.md (every column as long as the strikes, strikes finite and > 0 and unique per
// side, prices finite and >= 0, counts >= 0, a valid expiry, a non-empty chain_id); and encode()
// round-trips it: decode(encode(chain)) == chain, column by column.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <optaro/codec.hpp>

#include "fuzz_check.hpp"

namespace {

void check_side(const optaro::chain_side& s) {
  const std::size_t n = s.size();
  FUZZ_CHECK(s.bid.size() == n && s.ask.size() == n && s.last.size() == n && s.volume.size() == n &&
                 s.open_interest.size() == n,
             "columns as long as the strikes");
  for (std::size_t i = 0; i < n; ++i) {
    FUZZ_CHECK(std::isfinite(s.strike[i]) && s.strike[i] > 0, "strike finite and > 0");
    for (const double p : {s.bid[i], s.ask[i], s.last[i]}) FUZZ_CHECK(std::isfinite(p) && p >= 0, "price >= 0");
    FUZZ_CHECK(s.volume[i] >= 0 && s.open_interest[i] >= 0, "counts >= 0");
  }
  std::vector<double> strikes = s.strike;
  std::sort(strikes.begin(), strikes.end());
  FUZZ_CHECK(std::adjacent_find(strikes.begin(), strikes.end()) == strikes.end(), "no duplicate strike in a side");
}

bool same_side(const optaro::chain_side& a, const optaro::chain_side& b) {
  return a.strike == b.strike && a.bid == b.bid && a.ask == b.ask && a.last == b.last && a.volume == b.volume &&
         a.open_interest == b.open_interest;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static optaro::message_decoder decoder;
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  const auto chain = decoder.decode_chain(json);
  if (!chain) {
    // The field is empty only for a repeated empty key at the top level ({"": 1, "": 2}): its path is "".
    FUZZ_CHECK(!chain.error.reason.empty(), "an error gives a reason");
    FUZZ_CHECK(!chain.error.field.empty() || chain.error.reason == "duplicate field", "an error names the field");
    return 0;
  }
  const optaro::option_chain& c = *chain.value;
  FUZZ_CHECK(!c.chain_id.empty(), "chain_id not empty");
  FUZZ_CHECK(c.expiry.ok(), "expiry is a valid date");
  FUZZ_CHECK(std::isfinite(c.underlying_price) && c.underlying_price >= 0, "underlying_price finite and >= 0");
  FUZZ_CHECK(!c.rate || std::isfinite(*c.rate), "rate finite");
  FUZZ_CHECK(!c.dividend_yield || std::isfinite(*c.dividend_yield), "dividend_yield finite");
  check_side(c.calls);
  check_side(c.puts);

  std::string encoded;
  optaro::encode(encoded, c);
  const auto again = decoder.decode_chain(encoded);
  FUZZ_CHECK(again.value.has_value(), "encode(chain) decodes");
  const optaro::option_chain& d = *again.value;
  FUZZ_CHECK(d.product == c.product && d.expiry == c.expiry && d.chain_id == c.chain_id && d.timestamp == c.timestamp &&
                 d.underlying_price == c.underlying_price && d.rate == c.rate && d.dividend_yield == c.dividend_yield &&
                 same_side(d.calls, c.calls) && same_side(d.puts, c.puts),
             "decode(encode(chain)) == chain");
  return 0;
}

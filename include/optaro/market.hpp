#pragma once
// Plain value types of the inbound market messages (../shared/design/MESSAGES.md): an underlying tick,
// an option quote and an option chain, the chain as structure of arrays per side.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace optaro {

/// UTC time as nanoseconds since the Unix epoch (messages carry ISO-8601 UTC strings or this integer).
using timestamp_ns = std::int64_t;

struct underlying_tick {
  std::string product;
  std::int64_t tick_id = 0;
  double price = 0;
  std::int64_t volume = 0;
  timestamp_ns timestamp = 0;
};

struct option_quote {
  std::string product;
  std::string symbol;
  std::chrono::year_month_day expiry{};
  double strike = 0;
  bool is_call = true;
  double bid = 0, ask = 0, last = 0;  ///< 0 where the message has no such price
  std::int64_t volume = 0;
  std::int64_t open_interest = 0;
  double underlying_price = 0;
  std::int64_t quote_id = 0;
  timestamp_ns timestamp = 0;
};

/// One side (calls or puts) of a chain: column i of every vector is the i-th listed strike.
struct chain_side {
  std::vector<double> strike, bid, ask, last;  ///< prices 0 where the message has none
  std::vector<std::int64_t> volume, open_interest;

  [[nodiscard]] std::size_t size() const noexcept { return strike.size(); }
  void reserve(std::size_t n) {
    for (auto* column : {&strike, &bid, &ask, &last}) column->reserve(n);
    volume.reserve(n);
    open_interest.reserve(n);
  }
  /// Appends a quote: one value to every column.
  void push_back(double k, double bid_price, double ask_price, double last_price, std::int64_t traded,
                 std::int64_t oi) {
    strike.push_back(k);
    bid.push_back(bid_price);
    ask.push_back(ask_price);
    last.push_back(last_price);
    volume.push_back(traded);
    open_interest.push_back(oi);
  }
};

struct option_chain {
  std::string product;
  std::chrono::year_month_day expiry{};
  std::string chain_id;
  timestamp_ns timestamp = 0;
  double underlying_price = 0;
  chain_side calls, puts;
  std::optional<double> rate;            ///< overrides the configured rate for this message
  std::optional<double> dividend_yield;  ///< overrides the configured dividend yield
};

}  // namespace optaro

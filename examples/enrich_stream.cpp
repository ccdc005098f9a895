// enrich_stream: the enrichment engine embedded in a program, on its in-memory ports. Feeds it a
// stream of market messages (ticks of two products, option chains, one malformed message), waits for
// the engine to drain, and prints what came out: the latest candles, a chain's analytics, the dead
// letter and a few metrics. Replace the in-memory ports with Redis and MongoDB adapters and the same
// engine runs a production pipeline.
//
//   enrich_stream
//
// Exits non-zero if a message is lost or processed twice: the program doubles as a smoke test.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

#include <optaro/optaro.hpp>

namespace {

constexpr optaro::timestamp_ns second = 1'000'000'000;

/// A chain priced by Black-Scholes on a smile, quoted a quarter point either side.
optaro::option_chain make_chain(int n, optaro::timestamp_ns now, double spot) {
  optaro::option_chain c;
  c.product = "NIFTY";
  c.expiry = std::chrono::year{2025} / 1 / 30;
  c.chain_id = "NIFTY-20250130-" + std::to_string(n);
  c.timestamp = now;
  c.underlying_price = spot;
  const double t = optaro::time_to_expiry(c.expiry, std::chrono::hours{10}, now);
  for (int i = -15; i <= 15; ++i) {
    const double strike = 50 * std::round(spot / 50) + 50.0 * i;
    const double m = std::log(strike / spot);
    const double vol = 0.13 + 0.4 * m * m - 0.08 * m;
    for (const bool call : {true, false}) {
      const double p = optaro::bs_price(spot, strike, t, 0.065, 0.012, vol, call);
      (call ? c.calls : c.puts)
          .push_back(strike, std::max(0.05, p - 0.25), p + 0.25, p, 1000, 40'000 + 3'000 * (15 - std::abs(i)));
    }
  }
  c.rate = 0.065;
  c.dividend_yield = 0.012;
  return c;
}

optaro::delivery message(optaro::message_kind kind, std::string payload) {
  optaro::delivery d;
  d.kind = kind;
  d.channel = "market:" + std::string{optaro::to_string(kind)};
  d.payload = std::move(payload);
  return d;
}

}  // namespace

int main() {
  optaro::system_clock clock;
  optaro::in_memory_ports memory{clock};  // a sink, a store, a cache, claims and dead letters
  optaro::enricher_config config;
  config.workers = 2;
  optaro::enricher engine{memory.ports(), config};
  engine.start();

  // 2025-01-15 09:15 IST: 10 minutes of ticks, one a second, and a chain a minute.
  const optaro::timestamp_ns open = 1'736'912'700 * second;
  int sent = 0;
  double spot = 21500;
  for (int s = 0; s < 600; ++s) {
    spot *= 1 + 0.0002 * std::sin(s * 0.37);
    for (const auto& [product, price] : {std::pair{"NIFTY", spot}, std::pair{"BANKNIFTY", spot * 2.1}}) {
      std::string json;
      optaro::encode(json, optaro::underlying_tick{product, s, std::round(price * 20) / 20, 75 * (1 + s % 4),
                                                   open + s * second});
      engine.submit(message(optaro::message_kind::underlying, std::move(json)));
      ++sent;
    }
    if (s % 60 == 0) {
      std::string json;
      optaro::encode(json, make_chain(s / 60, open + s * second, spot));
      engine.submit(message(optaro::message_kind::option_chain, std::move(json)));
      ++sent;
    }
  }
  engine.submit(message(optaro::message_kind::underlying, R"({"product": "NIFTY", "tick_id": 1, "price": -3})"));
  ++sent;
  engine.stop();  // drains: everything submitted is processed before it returns

  const optaro::enricher_stats stats = engine.stats();
  std::printf("messages: %d sent, %llu enriched, %llu dead-lettered, %llu duplicates\n", sent,
              static_cast<unsigned long long>(stats.enriched), static_cast<unsigned long long>(stats.dead_lettered),
              static_cast<unsigned long long>(stats.duplicates));
  std::printf("latest 5m candle:   %s\n", memory.cache.get("ohlc:NIFTY:5m").value_or("(none)").c_str());
  std::printf("latest PCR:         %s\n", memory.cache.get("latest:pcr:NIFTY:2025-01-30").value_or("(none)").c_str());
  for (const optaro::dead_letter& d : memory.dead_letters.list(0, 10)) {
    std::printf("dead letter:        %s (%s): %s\n", std::string{optaro::to_string(d.reason)}.c_str(),
                std::string{optaro::to_string(d.kind)}.c_str(), d.error.c_str());
  }
  const bool ok = stats.enriched + stats.dead_lettered == static_cast<std::uint64_t>(sent) &&
                  stats.dead_lettered == 1 && stats.duplicates == 0 &&
                  memory.store.size(optaro::message_kind::underlying) == 1200 &&
                  memory.store.size(optaro::message_kind::option_chain) == 10;
  std::printf("%s\n", ok ? "every message accounted for, once" : "MISMATCH: a message was lost or duplicated");
  return ok ? 0 : 1;
}

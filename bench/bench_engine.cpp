// The enrichment engine end to end (issue 5): messages handed to optaro::enricher::submit until the
// engine is quiescent again (every message decoded, claimed, analysed, stored, cached, published and
// its claim completed), on the in-memory ports, with 1 and 2 worker threads.
//
// One benchmark iteration: submit a batch (128 chains, or 8,000 underlying ticks), then
// wait_quiescent. The batch is built while the timer is paused (the engine is idle then), so the
// timed part is the producer's submit calls plus everything the engine does. Wall time
// (UseRealTime): items_per_second is chains or ticks fully processed per second. The counter
// cpu_us_per_item is the process's CPU time (all threads: producer, dispatcher, workers) in the timed
// part per item: with 2 workers, wall time falls only as far as that work can be spread over the cores.
//
// Inputs (fixed seeds; built once per process):
//   chains: 8 streams (NIFTY, BANKNIFTY, FINNIFTY, MIDCPNIFTY; expiries 2025-01-30 and 2025-02-27),
//     100 strikes per side around the spot (200 quotes), priced by Black-Scholes on the smile
//     sigma(k) = 0.12 - 0.10 k + 0.50 k^2 (k = ln(K/F)) with r = 6.5 %, q = 1.2 %, bid/ask 0.5 %
//     around the price, volume and open interest from std::mt19937_64 seeded with 20250115. Each stream
//     cycles through 4 snapshots whose spot moves by up to +-0.2 % (the strikes stay), so the smile fit is
//     warm-started from a similar smile, as in a live feed. Every message gets a new chain_id (a counter
//     over the whole process, patched into the template message), so none is a duplicate.
//   ticks: 8 products, round robin, 100 ms apart per product (1-, 5- and 15-minute candles close as the
//     watermark moves), price a random walk, volume 1-100 (seed 20250116); tick_id from a process-wide
//     counter; timestamps keep increasing across iterations, so no tick is late.
//   The streams and products are picked so that the engine's routing (std::hash of the product, and
//   of the expiry for chains, modulo the workers; mirrored below) gives each of 2 workers half the
//   messages: the counter busiest_worker_share reports the share of the busiest worker (0.5 = even).
//
// Ports, chosen so that memory stays bounded however many iterations run:
//   - counting_store (below): counts inserts and bytes and keeps nothing. This measures the engine,
//     not a store: in_memory_document_store keeps every document (~68 KB per enriched chain here);
//   - in_memory_sink with retain = false (counts only);
//   - in_memory_cache (bounded by its keys: latest:*, ohlc:*, iv_surface:* per stream);
//   - in_memory_idempotency_store and in_memory_cache on the system clock; done keys are remembered
//     for 2 s (processed_ttl; the default is an hour), so the idempotency store holds the last 2 s of
//     message ids and sweeps the older ones, as it would in a long-running engine;
//   - in_memory_dead_letter_queue; no event log, the engine's own metrics registry.
// After the timed loop the benchmark checks that every message was enriched, published and stored
// once, that none was a duplicate, late or dead-lettered; otherwise it reports an error.
//
// The single-message cost without threads or ports is bench_chain's BM_enrich_chain_json.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <benchmark/benchmark.h>

#include <optaro/optaro.hpp>
#include <optaro/engine.hpp>
#include <optaro/memory_ports.hpp>

namespace {

using namespace std::chrono;

constexpr optaro::timestamp_ns chain_time = 1736937000LL * 1000000000LL;  // 2025-01-15T10:30:00Z
constexpr optaro::timestamp_ns tick_start = 1736912700LL * 1000000000LL;  // 2025-01-15T03:45:00Z
constexpr double rate = 0.065, dividend = 0.012;
constexpr std::size_t chains_per_iteration = 128;
constexpr std::size_t ticks_per_iteration = 8000;
constexpr std::size_t snapshots = 4;

// ---- a store that only counts ----------------------------------------------------------------------

class counting_store final : public optaro::document_store {
 public:
  optaro::insert_outcome insert(const optaro::stored_document& document) override {
    inserts_.fetch_add(1, std::memory_order_relaxed);
    bytes_.fetch_add(document.json.size(), std::memory_order_relaxed);
    return optaro::insert_outcome::inserted;
  }
  [[nodiscard]] std::uint64_t inserts() const { return inserts_.load(); }
  [[nodiscard]] std::uint64_t bytes() const { return bytes_.load(); }

 private:
  std::atomic<std::uint64_t> inserts_{0}, bytes_{0};
};

// ---- routing, mirrored from src/engine.cpp (route_hash) for the busiest_worker_share counter --------

std::size_t route_of(std::string_view product, std::string_view expiry, bool chain) {
  const std::size_t h = std::hash<std::string_view>{}(product);
  if (!chain) return h;
  return h ^ (std::hash<std::string_view>{}(expiry) * 0x9e3779b97f4a7c15ULL);
}

double busiest_share(const std::vector<std::size_t>& routes, std::size_t workers) {
  std::vector<std::size_t> per(workers, 0);
  for (std::size_t r : routes) ++per[r % workers];
  return static_cast<double>(*std::max_element(per.begin(), per.end())) / static_cast<double>(routes.size());
}

// ---- chains ----------------------------------------------------------------------------------------

struct product_spec {
  const char* name;
  double spot, step;
};
constexpr std::array<product_spec, 4> chain_products{{
    {"NIFTY", 21543.25, 50},
    {"BANKNIFTY", 45123.40, 100},
    {"FINNIFTY", 20456.70, 50},
    {"MIDCPNIFTY", 10678.90, 25},
}};
constexpr std::array<year_month_day, 2> chain_expiries{year_month_day{year{2025}, month{1}, day{30}},
                                                       year_month_day{year{2025}, month{2}, day{27}}};
constexpr std::string_view chain_id_digits = "000000000000";  // 12 digits, patched per message

/// A chain message with chain_id "{product}-{n}" where n is patched into the 12 digits at id_at.
struct chain_template {
  std::string message;
  std::size_t id_at = 0;
  std::size_t route = 0;
};

optaro::option_chain make_chain(const product_spec& p, year_month_day expiry, double spot, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0, 1);
  optaro::option_chain c;
  c.product = p.name;
  c.expiry = expiry;
  c.chain_id = std::string{p.name} + "-" + std::string{chain_id_digits};
  c.timestamp = chain_time;
  c.underlying_price = spot;
  const double expires_ns = static_cast<double>(sys_days{expiry}.time_since_epoch().count()) * 86400e9 + 10 * 3600e9;
  const double T = (expires_ns - static_cast<double>(chain_time)) / (365 * 86400e9);
  const double F = spot * std::exp((rate - dividend) * T);
  const double first = p.step * std::floor(p.spot / p.step) - p.step * 50;  // strikes of the product, not the snapshot
  for (optaro::chain_side* side : {&c.calls, &c.puts}) {
    const bool call = side == &c.calls;
    for (std::size_t i = 0; i < 100; ++i) {
      const double K = first + p.step * static_cast<double>(i);
      const double k = std::log(K / F), sigma = 0.12 - 0.10 * k + 0.50 * k * k;
      const double price = optaro::bs_price(spot, K, T, rate, dividend, sigma, call);
      const auto volume = static_cast<std::int64_t>(u(rng) * 200000);
      const auto oi = static_cast<std::int64_t>(u(rng) * 3000000);
      side->push_back(K, std::round(price * 0.995 * 20) / 20, std::round(price * 1.005 * 20) / 20 + 0.05,
                      std::round(price * 20) / 20, volume, oi);
    }
  }
  return c;
}

struct chain_inputs {
  std::vector<std::vector<chain_template>> streams;  // [stream][snapshot]
  std::vector<std::size_t> routes;                   // per message of one iteration
};

const chain_inputs& chains() {
  static const chain_inputs in = [] {
    chain_inputs d;
    std::mt19937_64 rng(20250115);
    for (const product_spec& p : chain_products) {
      for (year_month_day expiry : chain_expiries) {
        std::vector<chain_template> stream;
        for (std::size_t s = 0; s < snapshots; ++s) {
          const double spot = p.spot * (1 + 0.004 * (std::uniform_real_distribution<double>(0, 1)(rng) - 0.5));
          chain_template t;
          optaro::encode(t.message, make_chain(p, expiry, spot, rng));
          const std::string id = std::string{"\""} + p.name + "-" + std::string{chain_id_digits} + "\"";
          t.id_at = t.message.find(id) + 1 + std::char_traits<char>::length(p.name) + 1;
          t.route = route_of(p.name, optaro::format_date(expiry), true);
          stream.push_back(std::move(t));
        }
        d.streams.push_back(std::move(stream));
      }
    }
    for (std::size_t i = 0; i < chains_per_iteration; ++i) d.routes.push_back(d.streams[i % d.streams.size()][0].route);
    return d;
  }();
  return in;
}

void patch_number(std::string& message, std::size_t at, std::uint64_t n) {
  for (std::size_t i = chain_id_digits.size(); i-- > 0; n /= 10) message[at + i] = static_cast<char>('0' + n % 10);
}

// ---- ticks -----------------------------------------------------------------------------------------

constexpr std::array<const char*, 8> tick_products{"NIFTY", "BANKNIFTY", "FINNIFTY", "MIDCPNIFTY",
                                                   "SENSEX", "BANKEX", "RELIANCE", "TCS"};

struct tick_feed {
  std::mt19937_64 rng{20250116};
  std::vector<double> price = std::vector<double>(tick_products.size(), 20000.0);
  std::int64_t step = 0;  // round robin position: the time advances every tick_products.size() ticks

  optaro::underlying_tick next(std::int64_t id) {
    const std::size_t p = static_cast<std::size_t>(step) % tick_products.size();
    price[p] += 0.05 * (static_cast<double>(rng() % 5) - 2);
    optaro::underlying_tick tick;
    tick.product = tick_products[p];
    tick.tick_id = id;
    tick.price = price[p];
    tick.volume = static_cast<std::int64_t>(1 + rng() % 100);
    tick.timestamp = tick_start + (step / static_cast<std::int64_t>(tick_products.size())) * 100'000'000LL;
    ++step;
    return tick;
  }
};

// ---- the run ---------------------------------------------------------------------------------------

std::atomic<std::uint64_t> next_id{1};  // message ids over the whole process: never a duplicate

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct engine_rig {
  optaro::system_clock time;
  counting_store store;
  optaro::in_memory_sink sink{optaro::in_memory_sink::options{.retain = false}};
  optaro::in_memory_cache cache{time};
  optaro::in_memory_idempotency_store idempotency{time};
  optaro::in_memory_dead_letter_queue dead_letters;
  optaro::enricher engine;

  explicit engine_rig(optaro::enricher_config config)
      : engine(optaro::enricher_ports{.sink = &sink, .store = &store, .cache = &cache, .idempotency = &idempotency,
                                      .dead_letters = &dead_letters, .time = &time},
               std::move(config)) {
    engine.start();
  }
};

optaro::enricher_config engine_config(std::size_t workers, bool fit_surfaces) {
  optaro::enricher_config config;
  config.workers = workers;
  config.random_seed = 20250117;
  config.chains.rate = rate;
  config.chains.dividend_yield = dividend;
  config.fit_surfaces = fit_surfaces;
  // Done keys are remembered for 2 s instead of an hour, so that the idempotency store reaches its
  // steady state (as many keys expire as are added) within a run, at a bounded size: at 200k ticks/s an
  // hour's keys would take tens of GB. The cost per message is that of the steady state at any TTL.
  config.processed_ttl = seconds{2};
  return config;
}

/// Runs the timed loop: `prepare` fills the batch (timer paused), then submit + wait_quiescent.
template <class Prepare>
void run(benchmark::State& state, engine_rig& rig, std::size_t batch_size, optaro::message_kind kind,
         Prepare prepare) {
  std::vector<optaro::delivery> batch(batch_size);
  const std::string channel = kind == optaro::message_kind::underlying ? "market:underlying" : "market:option_chain";
  std::uint64_t submitted = 0;
  double cpu = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (optaro::delivery& d : batch) {
      d.kind = kind;
      d.channel = channel;
    }
    prepare(batch);
    state.ResumeTiming();
    const double cpu_start = process_cpu_seconds();
    for (optaro::delivery& d : batch) {
      if (!rig.engine.submit(std::move(d))) {
        state.SkipWithError("submit refused");
        return;
      }
    }
    if (!rig.engine.wait_quiescent(minutes{1})) {
      state.SkipWithError("engine not quiescent after a minute");
      return;
    }
    cpu += process_cpu_seconds() - cpu_start;
    submitted += batch_size;
  }
  const optaro::enricher_stats s = rig.engine.stats();
  if (s.enriched != submitted || s.received != submitted || s.dead_lettered != 0 || s.duplicates != 0 ||
      s.retries != 0 || s.late_ticks != 0 || rig.dead_letters.size() != 0 || rig.store.inserts() != submitted ||
      rig.sink.total() != submitted) {
    const std::string why = "submitted " + std::to_string(submitted) + ", enriched " + std::to_string(s.enriched) +
                            ", dead-lettered " + std::to_string(s.dead_lettered) + " (queue " +
                            std::to_string(rig.dead_letters.size()) + "), duplicates " +
                            std::to_string(s.duplicates) + ", retries " + std::to_string(s.retries) + ", late " +
                            std::to_string(s.late_ticks) + ", stored " + std::to_string(rig.store.inserts()) +
                            ", published " + std::to_string(rig.sink.total());
    state.SkipWithError(why.c_str());
    return;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(submitted));
  state.counters["cpu_us_per_item"] = submitted ? cpu * 1e6 / static_cast<double>(submitted) : 0.0;
  state.counters["enriched_bytes"] =
      submitted ? static_cast<double>(rig.store.bytes()) / static_cast<double>(submitted) : 0.0;
}

void BM_engine_chains(benchmark::State& state) {
  const auto workers = static_cast<std::size_t>(state.range(0));
  const bool fit = state.range(1) != 0;
  const chain_inputs& in = chains();
  engine_rig rig(engine_config(workers, fit));
  std::size_t cursor = 0;  // position in the streams' snapshot cycle
  run(state, rig, chains_per_iteration, optaro::message_kind::option_chain, [&](std::vector<optaro::delivery>& batch) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const std::size_t stream = i % in.streams.size();
      const chain_template& t = in.streams[stream][(cursor + i / in.streams.size()) % snapshots];
      batch[i].payload = t.message;
      patch_number(batch[i].payload, t.id_at, next_id.fetch_add(1));
    }
    cursor += chains_per_iteration / in.streams.size();
  });
  state.counters["busiest_worker_share"] = busiest_share(in.routes, workers);
}

void BM_engine_ticks(benchmark::State& state) {
  const auto workers = static_cast<std::size_t>(state.range(0));
  engine_rig rig(engine_config(workers, true));
  tick_feed feed;
  run(state, rig, ticks_per_iteration, optaro::message_kind::underlying, [&](std::vector<optaro::delivery>& batch) {
    for (optaro::delivery& d : batch) {
      d.payload.clear();
      optaro::encode(d.payload, feed.next(static_cast<std::int64_t>(next_id.fetch_add(1))));
    }
  });
  std::vector<std::size_t> routes;
  for (const char* p : tick_products) routes.push_back(route_of(p, {}, false));
  state.counters["busiest_worker_share"] = busiest_share(routes, workers);
}

}  // namespace

BENCHMARK(BM_engine_chains)
    ->ArgNames({"workers", "fit_surfaces"})
    ->ArgsProduct({{1, 2}, {1, 0}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_engine_ticks)->ArgName("workers")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();

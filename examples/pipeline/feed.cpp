// The reference pipeline's feed generator (feed.hpp).
//
// Determinism: every random number comes from one std::mt19937_64 (its output sequence is fixed by the
// standard) turned into fractions and normals here, never by <random>'s distributions, whose
// algorithms each standard library chooses. Smile shapes and the stable part of open interest come
// from a hash of the seed, product and expiry, so they do not depend on when an expiry was listed.
//
// Conventions the messages rely on: prices are whole ticks of 0.05, computed as an integer over 20 so
// that they print as short decimals ("180.55"); strikes are integer multiples of the product's step;
// time is ACT/365 from event time (seconds / 31,536,000), like optaro::time_to_expiry.
#include "pipeline/feed.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <optaro/chain.hpp>
#include <optaro/codec.hpp>
#include <optaro/pricing.hpp>

namespace optaro::pipeline {

namespace {

using std::chrono::days;
using std::chrono::sys_days;
using std::chrono::year_month_day;

constexpr double ns_per_second = 1e9;
constexpr double seconds_per_year = 31'536'000.0;
constexpr double seconds_per_day = 86'400.0;
constexpr double ticks_per_unit = 20.0;  // the price tick is 0.05
constexpr double price_tick = 1.0 / ticks_per_unit;
constexpr std::chrono::seconds expiry_time_utc{10 * 3600};  // 15:30 Asia/Kolkata
constexpr timestamp_ns never = std::numeric_limits<timestamp_ns>::max();

// Spreads: half-spread = tick (1 + 4|k| / 0.1), at least 0.1% of the price (deep in-the-money options
// are quoted wider in price terms).
constexpr double spread_per_log_moneyness = 4.0 / 0.1;
constexpr double spread_relative = 0.001;
// Open interest: per side, a Gaussian in k = ln(K/S), centred a little out of the money, times a
// factor of 1 on the side where the option is out of the money (calls at and above the ATM strike,
// puts at and below) and in_the_money_oi below it; a noise stable per strike times a small jitter.
constexpr double oi_lots_at_peak = 100'000;
constexpr double oi_centre_offset = 0.3;  // in widths
constexpr double in_the_money_oi = 0.4;
constexpr double volume_per_oi = 0.05;

[[noreturn]] void invalid(const std::string& field, const std::string& reason) {
  throw std::invalid_argument("feed_config." + field + ": " + reason);
}

std::string number_text(double x) {
  std::array<char, 32> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), x);
  return ec == std::errc{} ? std::string(buffer.data(), end) : std::string("?");
}

bool finite_positive(double x) { return std::isfinite(x) && x > 0; }
bool finite_non_negative(double x) { return std::isfinite(x) && x >= 0; }

bool valid_product_name(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
  });
}

// ---- randomness ------------------------------------------------------------------------------------

std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

double hash_fraction(std::uint64_t key) noexcept { return static_cast<double>(splitmix64(key) >> 11) * 0x1.0p-53; }

std::uint64_t fnv1a(std::string_view text) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

class random_source {
 public:
  explicit random_source(std::uint64_t seed) : engine_(seed) {}

  // [0, 1) from the top 53 bits of one draw (as src/retry.cpp does).
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double low, double high) { return low + uniform() * (high - low); }
  // An index in [0, n), n > 0.
  std::size_t index(std::size_t n) {
    const auto i = static_cast<std::size_t>(uniform() * static_cast<double>(n));
    return std::min(i, n - 1);
  }
  // Standard normal: Marsaglia's polar method, the second value of each pair kept for the next call.
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u = 0, v = 0, s = 0;
    do {
      u = 2 * uniform() - 1;
      v = 2 * uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s == 0);
    const double f = std::sqrt(-2 * std::log(s) / s);
    spare_ = v * f;
    has_spare_ = true;
    return u * f;
  }
  // Poisson with mean mu (small here: a fraction of a jump per tick), by inversion.
  int poisson(double mu) {
    const double u = uniform();
    double p = std::exp(-mu), cumulative = p;
    int n = 0;
    while (u > cumulative && n < 64) {
      ++n;
      p *= mu / n;
      cumulative += p;
    }
    return n;
  }

 private:
  std::mt19937_64 engine_;
  double spare_ = 0;
  bool has_spare_ = false;
};

// ---- dates -------------------------------------------------------------------------------------------

sys_days day_of(timestamp_ns t) {
  const auto ns = std::chrono::sys_time<std::chrono::nanoseconds>(std::chrono::nanoseconds{t});
  return std::chrono::floor<days>(ns);
}

sys_days last_thursday(std::chrono::year_month ym) {
  return sys_days{std::chrono::year_month_weekday_last{ym.year(), ym.month(), std::chrono::Thursday[std::chrono::last]}};
}

// The listed expiries after reference date d (feed.hpp, expiries()).
std::vector<sys_days> expiry_dates(sys_days d, int weekly, int monthly) {
  std::vector<sys_days> out;
  sys_days thursday = d + days{1};
  while (std::chrono::weekday{thursday} != std::chrono::Thursday) thursday += days{1};
  for (int i = 0; i < weekly; ++i) out.push_back(thursday + days{7 * i});
  const std::size_t weeklies = out.size();
  const year_month_day ymd{d};
  std::chrono::year_month ym{ymd.year(), ymd.month()};
  for (int found = 0; found < monthly; ym += std::chrono::months{1}) {
    const sys_days last = last_thursday(ym);
    if (last <= d) continue;
    ++found;
    if (std::find(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(weeklies), last) ==
        out.begin() + static_cast<std::ptrdiff_t>(weeklies)) {
      out.push_back(last);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

void append_digits(std::string& out, long long value, int width) {
  std::array<char, 24> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  const auto n = static_cast<int>(end - buffer.data());
  if (ec == std::errc{}) {
    for (int i = n; i < width; ++i) out.push_back('0');
    out.append(buffer.data(), end);
  }
}

// ---- smiles -------------------------------------------------------------------------------------------

// A smile's shape in units of the ATM standard deviation l = atm_vol sqrt(T): b = beta l, sigma = s l,
// m = mu l, and a such that w(0) = l^2. Scaling with l keeps the smile the same in standardised
// moneyness k / l at every T (a wing slope b (1 +- rho) well inside Lee's bound of 2), so the
// 25-delta risk reversal is about beta rho 1.35 atm_vol / 2 (-2.5 vol points at 13%) and the butterfly
// is a fraction of a vol point at any expiry.
struct smile_shape {
  double rho = -0.4, beta = 0.7, s = 1.2, mu = 0.05;
};

smile_shape shape_for(std::uint64_t key) {
  smile_shape sh;
  sh.rho = -0.3 - 0.2 * hash_fraction(key ^ 0x1);
  sh.beta = 0.6 + 0.2 * hash_fraction(key ^ 0x2);
  sh.s = 1.0 + 0.5 * hash_fraction(key ^ 0x3);
  sh.mu = 0.1 * hash_fraction(key ^ 0x4);
  return sh;
}

svi_params smile_at(const smile_shape& sh, double atm_vol, double T) {
  const double l = atm_vol * std::sqrt(T);
  svi_params p;
  p.rho = sh.rho;
  p.b = sh.beta * l;
  p.sigma = sh.s * l;
  p.m = sh.mu * l;
  p.a = l * l - p.b * (-p.rho * p.m + std::sqrt(p.m * p.m + p.sigma * p.sigma));
  return p;
}

// Month codes of NSE weekly option symbols: 1-9 for January to September, then O, N, D.
constexpr std::array<char, 12> weekly_month_code{'1', '2', '3', '4', '5', '6', '7', '8', '9', 'O', 'N', 'D'};
constexpr std::array<std::string_view, 12> month_names{"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};

}  // namespace

// ---- configuration ----------------------------------------------------------------------------------

void feed_config::validate() const {
  if (products.empty()) invalid("products", "empty");
  for (std::size_t i = 0; i < products.size(); ++i) {
    const product_spec& p = products[i];
    const std::string at = "products[" + std::to_string(i) + "].";
    if (!valid_product_name(p.name)) invalid(at + "name", "must match [A-Za-z0-9_.-]{1,32} (\"" + p.name + "\")");
    for (std::size_t j = 0; j < i; ++j) {
      if (products[j].name == p.name) invalid(at + "name", "duplicate (\"" + p.name + "\")");
    }
    if (!finite_positive(p.spot)) invalid(at + "spot", "must be positive and finite (" + number_text(p.spot) + ")");
    if (!finite_positive(p.strike_step)) {
      invalid(at + "strike_step", "must be positive and finite (" + number_text(p.strike_step) + ")");
    }
    if (p.strikes_each_side < 0 || p.strikes_each_side > 2499) {
      invalid(at + "strikes_each_side", "must be in 0..2499 (" + std::to_string(p.strikes_each_side) + ")");
    }
    if (!finite_positive(p.atm_vol) || p.atm_vol > 5) {
      invalid(at + "atm_vol", "must be in (0, 5] (" + number_text(p.atm_vol) + ")");
    }
    if (!finite_positive(p.lot_size)) {
      invalid(at + "lot_size", "must be positive and finite (" + number_text(p.lot_size) + ")");
    }
  }
  // Dates must stay printable (years 1970..9999) for any run of event time.
  if (start < 0 || start > 7'258'118'400'000'000'000) invalid("start", "must be in 1970..2199 (" + std::to_string(start) + ")");
  if (!finite_non_negative(ticks_per_second)) invalid("ticks_per_second", "must be >= 0 and finite");
  if (!finite_non_negative(chains_per_second)) invalid("chains_per_second", "must be >= 0 and finite");
  if (!finite_non_negative(quotes_per_second)) invalid("quotes_per_second", "must be >= 0 and finite");
  if (ticks_per_second == 0 && chains_per_second == 0 && quotes_per_second == 0) {
    invalid("ticks_per_second", "all of ticks_per_second, chains_per_second and quotes_per_second are 0");
  }
  if (weekly_expiries < 0) invalid("weekly_expiries", "negative (" + std::to_string(weekly_expiries) + ")");
  if (monthly_expiries < 0) invalid("monthly_expiries", "negative (" + std::to_string(monthly_expiries) + ")");
  if (weekly_expiries > 520 || monthly_expiries > 120) invalid("weekly_expiries", "too many expiries");
  if (weekly_expiries + monthly_expiries == 0 && (chains_per_second > 0 || quotes_per_second > 0)) {
    invalid("weekly_expiries", "no expiries listed but chains or quotes requested");
  }
  if (!std::isfinite(drift)) invalid("drift", "not finite");
  if (!finite_non_negative(jumps_per_day)) invalid("jumps_per_day", "must be >= 0 and finite");
  if (!finite_non_negative(jump_size)) invalid("jump_size", "must be >= 0 and finite");
  if (!std::isfinite(rate)) invalid("rate", "not finite");
  if (!std::isfinite(dividend_yield)) invalid("dividend_yield", "not finite");
}

// ---- the generator ------------------------------------------------------------------------------------

namespace {

// One evenly spaced stream of events: event n at start + round(n * period).
struct event_stream {
  double period_ns = 0;  // 0: the stream is off
  std::uint64_t count = 0;
  [[nodiscard]] timestamp_ns next_time(timestamp_ns start) const {
    if (period_ns == 0) return never;
    return start + static_cast<timestamp_ns>(std::llround(static_cast<double>(count) * period_ns));
  }
};

struct product_state {
  product_spec spec;
  std::uint64_t key = 0;        // hash of the seed and the name
  double exact_spot = 0;        // the GBM's state
  std::int64_t spot_ticks = 0;  // the published price in ticks of 0.05
  double published = 0;
  timestamp_ns last_move = 0;
  underlying_tick tick;  // reused: product set once
  option_chain chain;    // reused: buffers keep their capacity
  option_quote quote;
};

struct expiry_state {
  year_month_day date{};
  sys_days day{};
  timestamp_ns expires_at = 0;
};

// One product's options of one expiry.
struct listing {
  smile_shape shape;
  std::int64_t chains = 0;
  std::string chain_id_prefix;  // "NIFTY-20250130-"
  std::string symbol_prefix;    // "NIFTY25JAN" (monthly) or "NIFTY25116" (weekly, NSE style)
  std::uint64_t key = 0;
};

// Everything that is the same for every quote of one chain (or one single quote).
struct pricing_context {
  double S = 0, T = 0, r = 0, q = 0, F = 0, log_f_over_s = 0;
  double spot_discounted = 0, rate_discount = 0;  // S e^{-qT}, e^{-rT}
  svi_params smile{};
  double oi_width = 0, oi_base = 0, lot = 1;
  long long atm_index = 0;
  std::uint64_t key = 0;
};

struct option_values {
  double bid = 0, ask = 0, last = 0;
  std::int64_t volume = 0, open_interest = 0;
};

std::int64_t whole_lots(double x, double lot) {
  const double lots = std::floor(x / lot + 0.5);
  return static_cast<std::int64_t>(std::llround(lots * lot));
}

}  // namespace

struct feed_generator::impl {
  feed_config config;
  random_source random;
  std::vector<product_state> products;
  event_stream ticks, chains, quotes;
  std::array<std::uint64_t, 3> produced{};
  sys_days reference{};
  std::vector<expiry_state> expiries;
  std::vector<listing> listings;  // [product * expiries.size() + expiry]
  std::unordered_map<std::string, std::int64_t> quote_ids;
  std::string symbol;  // scratch

  explicit impl(feed_config c) : config(std::move(c)), random(config.seed) {
    config.validate();
    const std::uint64_t seed_key = splitmix64(config.seed);
    for (const product_spec& spec : config.products) {
      product_state p;
      p.spec = spec;
      p.key = splitmix64(seed_key ^ fnv1a(spec.name));
      p.exact_spot = spec.spot;
      publish(p);
      p.last_move = config.start;
      p.tick.product = spec.name;
      p.chain.product = spec.name;
      p.quote.product = spec.name;
      products.push_back(std::move(p));
    }
    const auto period = [](double rate) { return rate > 0 ? ns_per_second / rate : 0.0; };
    ticks.period_ns = period(config.ticks_per_second);
    chains.period_ns = period(config.chains_per_second);
    quotes.period_ns = period(config.quotes_per_second);
    reference = day_of(config.start);
    list_expiries();
  }

  static void publish(product_state& p) {
    p.spot_ticks = std::max<std::int64_t>(1, std::llround(p.exact_spot * ticks_per_unit));
    p.published = static_cast<double>(p.spot_ticks) / ticks_per_unit;
  }

  // (Re)builds the expiries after the reference date and their listings, keeping the chain counters
  // of expiries that stay listed.
  void list_expiries() {
    const std::vector<sys_days> dates = expiry_dates(reference, config.weekly_expiries, config.monthly_expiries);
    std::vector<expiry_state> next_expiries;
    for (const sys_days d : dates) {
      expiry_state e;
      e.day = d;
      e.date = year_month_day{d};
      e.expires_at = std::chrono::duration_cast<std::chrono::nanoseconds>((d + expiry_time_utc).time_since_epoch()).count();
      next_expiries.push_back(e);
    }
    std::vector<listing> next_listings;
    next_listings.reserve(products.size() * next_expiries.size());
    for (std::size_t p = 0; p < products.size(); ++p) {
      for (const expiry_state& e : next_expiries) {
        listing l;
        const auto serial = static_cast<std::uint64_t>(e.day.time_since_epoch().count());
        l.key = splitmix64(products[p].key ^ (serial * 0x9e3779b97f4a7c15ULL));
        l.shape = shape_for(l.key);
        for (std::size_t old = 0; old < expiries.size(); ++old) {
          if (expiries[old].day == e.day) l.chains = listings[p * expiries.size() + old].chains;
        }
        const int y = static_cast<int>(e.date.year());
        const auto m = static_cast<unsigned>(e.date.month());
        const auto d = static_cast<unsigned>(e.date.day());
        const std::string& name = products[p].spec.name;
        l.chain_id_prefix = name + '-';
        append_digits(l.chain_id_prefix, y, 4);
        append_digits(l.chain_id_prefix, m, 2);
        append_digits(l.chain_id_prefix, d, 2);
        l.chain_id_prefix += '-';
        l.symbol_prefix = name;
        append_digits(l.symbol_prefix, y % 100, 2);
        const bool monthly = e.day == last_thursday(std::chrono::year_month{e.date.year(), e.date.month()});
        if (monthly) {
          l.symbol_prefix += month_names[m - 1];
        } else {
          l.symbol_prefix += weekly_month_code[m - 1];
          append_digits(l.symbol_prefix, d, 2);
        }
        next_listings.push_back(std::move(l));
      }
    }
    expiries = std::move(next_expiries);
    listings = std::move(next_listings);
  }

  void roll_expiries(timestamp_ns t) {
    while (!expiries.empty() && expiries.front().expires_at <= t) {
      reference = expiries.front().day;
      list_expiries();
    }
  }

  [[nodiscard]] const product_state* find(std::string_view name) const {
    for (const product_state& p : products) {
      if (p.spec.name == name) return &p;
    }
    return nullptr;
  }

  // ---- underlying ----

  void move_spot(product_state& p, timestamp_ns t) {
    if (t <= p.last_move) return;
    const double dt = static_cast<double>(t - p.last_move) / ns_per_second / seconds_per_year;
    p.last_move = t;
    const double vol = p.spec.atm_vol;
    double step = (config.drift - 0.5 * vol * vol) * dt + vol * std::sqrt(dt) * random.normal();
    if (config.jumps_per_day > 0) {
      const int jumps = random.poisson(config.jumps_per_day * dt * seconds_per_year / seconds_per_day);
      if (jumps > 0) step += config.jump_size * std::sqrt(static_cast<double>(jumps)) * random.normal();
    }
    p.exact_spot *= std::exp(step);
    publish(p);
  }

  void make_tick(std::size_t index, timestamp_ns t, feed_message& out) {
    product_state& p = products[index];
    move_spot(p, t);
    p.tick.tick_id += 1;
    p.tick.price = p.published;
    p.tick.volume = 1 + static_cast<std::int64_t>(random.index(500));
    p.tick.timestamp = t;
    out.kind = message_kind::underlying;
    out.payload.reserve(128);
    encode(out.payload, p.tick);
    out.product = p.spec.name;
  }

  // ---- options ----

  [[nodiscard]] pricing_context context(const product_state& p, const listing& l, const expiry_state& e,
                                        timestamp_ns t) const {
    pricing_context c;
    c.S = p.published;
    c.T = time_to_expiry(e.date, expiry_time_utc, t);
    c.r = config.rate;
    c.q = config.dividend_yield;
    c.log_f_over_s = (c.r - c.q) * c.T;
    c.F = c.S * std::exp(c.log_f_over_s);
    c.spot_discounted = c.S * std::exp(-c.q * c.T);
    c.rate_discount = std::exp(-c.r * c.T);
    c.smile = smile_at(l.shape, p.spec.atm_vol, c.T);
    const double l_std = p.spec.atm_vol * std::sqrt(c.T);
    c.oi_width = std::max(1.5 * l_std, 4 * p.spec.strike_step / c.S);
    c.oi_base = oi_lots_at_peak * p.spec.lot_size / (1 + 20 * c.T);  // building up toward expiry
    c.lot = p.spec.lot_size;
    c.atm_index = std::llround(c.S / p.spec.strike_step);
    c.key = l.key;
    return c;
  }

  // Bid, ask, last, volume and open interest of one option of model price `model` at strike index i.
  option_values quote_values(const pricing_context& c, long long i, double k, double model, bool is_call) {
    option_values v;
    const double half = std::max(price_tick * (1 + spread_per_log_moneyness * std::abs(k)), spread_relative * model);
    const double bid_ticks = std::floor((model - half) * ticks_per_unit);
    const double ask_ticks = std::max(std::ceil((model + half) * ticks_per_unit), std::max(bid_ticks, 0.0) + 1);
    const double bid = bid_ticks >= 1 ? bid_ticks : 0;
    v.bid = bid / ticks_per_unit;
    v.ask = ask_ticks / ticks_per_unit;
    const double low = std::max(bid, 1.0);
    const double last_ticks = std::min(ask_ticks, low + std::floor(random.uniform() * (ask_ticks - low + 1)));
    v.last = last_ticks / ticks_per_unit;

    const double ks = k + c.log_f_over_s;  // ln(K / S)
    const double centre = (is_call ? oi_centre_offset : -oi_centre_offset) * c.oi_width;
    const double z = (ks - centre) / c.oi_width;
    const bool out_of_the_money_side = is_call ? i >= c.atm_index : i <= c.atm_index;
    const auto strike_key = static_cast<std::uint64_t>(i) * 2 + (is_call ? 1 : 0);
    const double stable = 0.8 + 0.4 * hash_fraction(c.key ^ splitmix64(strike_key));
    const double jitter = random.uniform(0.98, 1.02);
    const double oi = c.oi_base * std::exp(-0.5 * z * z) * (out_of_the_money_side ? 1.0 : in_the_money_oi) * stable * jitter;
    v.open_interest = whole_lots(oi, c.lot);
    v.volume = whole_lots(static_cast<double>(v.open_interest) * volume_per_oi * random.uniform(0.5, 1.5), c.lot);
    return v;
  }

  void make_chain(timestamp_ns t, feed_message& out) {
    roll_expiries(t);
    const std::size_t per_product = expiries.size();
    const std::size_t slot = static_cast<std::size_t>(chains.count % (products.size() * per_product));
    const std::size_t pi = slot % products.size(), ei = slot / products.size();
    product_state& p = products[pi];
    listing& l = listings[pi * per_product + ei];
    const expiry_state& e = expiries[ei];
    const pricing_context c = context(p, l, e, t);

    option_chain& chain = p.chain;
    chain.expiry = e.date;
    chain.chain_id = l.chain_id_prefix;
    append_digits(chain.chain_id, ++l.chains, 6);
    chain.timestamp = t;
    chain.underlying_price = c.S;
    chain.rate = config.rate;
    chain.dividend_yield = config.dividend_yield;
    const auto n = static_cast<std::size_t>(2 * p.spec.strikes_each_side + 1);
    for (chain_side* side : {&chain.calls, &chain.puts}) {
      for (auto* column : {&side->strike, &side->bid, &side->ask, &side->last}) column->clear();
      side->volume.clear();
      side->open_interest.clear();
      side->reserve(n);
    }
    const long long each = p.spec.strikes_each_side;
    for (long long i = std::max(c.atm_index - each, 1LL); i <= c.atm_index + each; ++i) {
      const double K = static_cast<double>(i) * p.spec.strike_step;
      const double k = std::log(K / c.F);
      const double vol = std::sqrt(svi_total_variance(c.smile, k) / c.T);
      // The out-of-the-money side from the model, the other by put-call parity (no cancellation: it
      // adds a positive amount), which halves the pricing work.
      const double carry = c.spot_discounted - K * c.rate_discount;  // C - P
      const bool calls_out = K >= c.F;
      const double otm = bs_price(c.S, K, c.T, c.r, c.q, vol, calls_out);
      const double call = calls_out ? otm : std::max(otm + carry, 0.0);
      const double put = calls_out ? std::max(otm - carry, 0.0) : otm;
      const option_values cv = quote_values(c, i, k, call, true);
      const option_values pv = quote_values(c, i, k, put, false);
      chain.calls.push_back(K, cv.bid, cv.ask, cv.last, cv.volume, cv.open_interest);
      chain.puts.push_back(K, pv.bid, pv.ask, pv.last, pv.volume, pv.open_interest);
    }
    out.kind = message_kind::option_chain;
    encode(out.payload, chain);
    out.product = p.spec.name;
  }

  void make_quote(timestamp_ns t, feed_message& out) {
    roll_expiries(t);
    const std::size_t pi = random.index(products.size());
    const std::size_t ei = random.index(expiries.size());
    product_state& p = products[pi];
    const listing& l = listings[pi * expiries.size() + ei];
    const expiry_state& e = expiries[ei];
    const pricing_context c = context(p, l, e, t);
    const long long each = p.spec.strikes_each_side;
    const long long lowest = std::max(c.atm_index - each, 1LL);
    const long long i = lowest + static_cast<long long>(random.index(static_cast<std::size_t>(c.atm_index + each - lowest + 1)));
    const bool is_call = random.uniform() < 0.5;
    const double K = static_cast<double>(i) * p.spec.strike_step;
    const double k = std::log(K / c.F);
    const double vol = std::sqrt(svi_total_variance(c.smile, k) / c.T);
    const double model = bs_price(c.S, K, c.T, c.r, c.q, vol, is_call);
    const option_values v = quote_values(c, i, k, model, is_call);

    option_quote& q = p.quote;
    symbol = l.symbol_prefix;
    symbol += number_text(K);
    symbol += is_call ? "CE" : "PE";
    q.symbol = symbol;
    q.expiry = e.date;
    q.strike = K;
    q.is_call = is_call;
    q.bid = v.bid;
    q.ask = v.ask;
    q.last = v.last;
    q.volume = v.volume;
    q.open_interest = v.open_interest;
    q.underlying_price = c.S;
    q.quote_id = ++quote_ids[symbol];
    q.timestamp = t;
    out.kind = message_kind::option_quote;
    out.payload.reserve(320);
    encode(out.payload, q);
    out.product = p.spec.name;
  }

  void next(feed_message& out) {
    const timestamp_ns tt = ticks.next_time(config.start);
    const timestamp_ns tq = quotes.next_time(config.start);
    const timestamp_ns tc = chains.next_time(config.start);
    out.payload.clear();
    if (tt <= tq && tt <= tc) {
      out.event_time = tt;
      make_tick(static_cast<std::size_t>(ticks.count % products.size()), tt, out);
      ++ticks.count;
    } else if (tq <= tc) {
      out.event_time = tq;
      make_quote(tq, out);
      ++quotes.count;
    } else {
      out.event_time = tc;
      make_chain(tc, out);
      ++chains.count;
    }
    ++produced[static_cast<std::size_t>(out.kind)];
  }
};

feed_generator::feed_generator(feed_config config) : impl_(std::make_unique<impl>(std::move(config))) {}
feed_generator::~feed_generator() = default;

feed_message feed_generator::next() {
  feed_message out;
  impl_->next(out);
  return out;
}

void feed_generator::next(feed_message& out) { impl_->next(out); }

std::uint64_t feed_generator::produced(message_kind kind) const noexcept {
  const auto i = static_cast<std::size_t>(kind);
  return i < impl_->produced.size() ? impl_->produced[i] : 0;
}

double feed_generator::spot(std::string_view product) const noexcept {
  const product_state* p = impl_->find(product);
  return p != nullptr ? p->published : std::numeric_limits<double>::quiet_NaN();
}

const feed_config& feed_generator::config() const noexcept { return impl_->config; }

std::vector<std::chrono::year_month_day> feed_generator::expiries() const {
  std::vector<year_month_day> out;
  out.reserve(impl_->expiries.size());
  for (const expiry_state& e : impl_->expiries) out.push_back(e.date);
  return out;
}

std::optional<svi_params> feed_generator::smile(std::string_view product, std::chrono::year_month_day expiry,
                                                timestamp_ns at) const {
  const impl& g = *impl_;
  for (std::size_t pi = 0; pi < g.products.size(); ++pi) {
    if (g.products[pi].spec.name != product) continue;
    for (std::size_t ei = 0; ei < g.expiries.size(); ++ei) {
      if (g.expiries[ei].date != expiry) continue;
      const double T = time_to_expiry(expiry, expiry_time_utc, at);
      if (!(T > 0)) return std::nullopt;
      return smile_at(g.listings[pi * g.expiries.size() + ei].shape, g.products[pi].spec.atm_vol, T);
    }
  }
  return std::nullopt;
}

}  // namespace optaro::pipeline

// Chain analytics (issue 3, MESSAGES.md "Enrichment"): PCR, max pain, forward and ATM strike,
// per-quote implied volatility and Greeks, smile measures and positioning. Pure: no I/O, no clock,
// no globals. enrich_chain allocates its result, a per-strike scratch table and the list of IV
// problems once per chain, nothing per quote.
//
// Conventions decided here (documented for the message consumers):
// - Strikes are compared exactly (==): both sides and both snapshots are decoded from the same
//   decimal strings, so a strike listed on both sides is the same double.
// - Per-strike values over the union of strikes sum duplicates on one side (a side listing the same
//   strike twice is not expected, but is not an error here); the smile uses the first such quote.
// - Price used for a quote: mid = (bid+ask)/2 when bid > 0 and ask >= bid, else last when > 0,
//   else NaN (status no_price).
// - IV status: T <= 0 makes every quote "expired" (the price used is still reported). The core's
//   invalid_input (non-finite, S or K <= 0) has no name in the message and is reported as no_price:
//   the quote's price cannot be used with that underlying/strike.
// - Greeks (trader units) only for ok and zero_time_value quotes, at the quote's IV; NaN otherwise.
// - Forward by parity: over the strikes where both the call and the put have a price, the (up to)
//   three with the smallest |C - P| (equivalently, nearest the forward, since C - P = e^{-rT}(F - K))
//   give F_K = K + e^{rT}(C - P) each; the forward is their median (the mean of two, the one if only
//   one). Estimates that are not finite and positive are ignored. Carry S e^{(r-q)T} when no strike
//   qualifies or T <= 0.
// - Smile: only quotes with status ok (iv > 0) are points of the smile.
//   atm_iv: a quote at K == F (the call and put averaged if both), else linear interpolation in
//   k = ln(K/F) between the OTM put with the largest K < F and the OTM call with the smallest K > F.
//   sigma(25-delta call): the calls in ascending strike order whose spot deltas e^{-qT}Phi(d1) (each
//   at its own IV) bracket 0.25, the first adjacent pair with delta_i >= 0.25 >= delta_{i+1};
//   sigma = linear interpolation of the two IVs in delta. The put likewise at -0.25 (put deltas
//   decrease with the strike, so the pair has delta_i >= -0.25 >= delta_{i+1}). Null when no pair
//   brackets the target.
// - max_call_oi_strike / max_put_oi_strike: null when that side has no positive open interest.
// - OI change per strike: OI now - OI in the previous snapshot, a side absent from a snapshot at
//   that strike counting as OI 0 (a newly listed call with OI 500 has change +500).
// - Gamma exposure sign: the usual GEX convention that customers are net sellers of calls and net
//   buyers of puts, so dealers (the other side) are long the calls' gamma and short the puts':
//   GEX = sum_calls gamma*OI*lot*S^2/100 - sum_puts gamma*OI*lot*S^2/100 (raw gamma, per unit of the
//   underlying), the change of the dealers' delta notional (delta*S, currency units) for a 1% rise of
//   the underlying. Positive GEX: dealers re-hedge against the move (sell into rises, buy dips),
//   which dampens it; negative: they hedge with the move, which amplifies it. Under the opposite
//   assumption (dealers short calls, long puts) the dealers' exposure is -GEX.
// - Delta exposure: sum over both sides of delta*OI*lot*S with each option's own sign (put deltas
//   negative), i.e. the delta of the open interest as held by its owners; no dealer sign flip.
// - Quotes without Greeks (no IV) contribute nothing to GEX/DEX.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <optaro/chain.hpp>
#include <optaro/implied_vol.hpp>
#include <optaro/market.hpp>
#include <optaro/pricing.hpp>
#include <optaro/status.hpp>

#include "black_detail.hpp"

namespace optaro {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double seconds_per_year = 31'536'000.0;
constexpr std::int64_t ns_per_second = 1'000'000'000;

// The lowest index j of ascending unique strikes (per-strike call OI c, put OI p, both >= 0) that
// minimises f(s_j) = sum_i c_i max(0, s_j - K_i) + sum_i p_i max(0, K_i - s_j).
// f(s_{j+1}) - f(s_j) = (s_{j+1} - s_j) * D_j with D_j = sum_{i<=j} c_i - sum_{i>j} p_i, and D_j is
// nondecreasing in j (D_{j+1} - D_j = c_{j+1} + p_{j+1} >= 0): f is convex over the strikes, and the
// lowest minimiser is the first j with D_j >= 0 (the last strike if there is none). Only sums of
// open interest are compared, never products with strikes: for integer OI (exact in Acc) the
// decision, ties included, is exact.
template <class Acc, class CallOi, class PutOi>
std::size_t max_pain_index(std::size_t m, CallOi call_oi, PutOi put_oi) {
  Acc put_total = 0;
  for (std::size_t i = 0; i < m; ++i) put_total += static_cast<Acc>(put_oi(i));
  Acc calls_at_or_below = 0, puts_at_or_below = 0;
  for (std::size_t j = 0; j + 1 < m; ++j) {
    calls_at_or_below += static_cast<Acc>(call_oi(j));
    puts_at_or_below += static_cast<Acc>(put_oi(j));
    if (calls_at_or_below >= put_total - puts_at_or_below) return j;
  }
  return m - 1;
}

double price_used(double bid, double ask, double last) noexcept {
  if (bid > 0 && ask >= bid) return 0.5 * (bid + ask);
  if (last > 0) return last;
  return nan;
}

quote_iv_status from_core(status st) noexcept {
  switch (st) {
    case status::ok: return quote_iv_status::ok;
    case status::zero_time_value: return quote_iv_status::zero_time_value;
    case status::below_intrinsic: return quote_iv_status::below_intrinsic;
    case status::above_maximum: return quote_iv_status::above_maximum;
    case status::invalid_input: return quote_iv_status::no_price;
    case status::not_converged: return quote_iv_status::not_converged;
  }
  return quote_iv_status::not_converged;
}

void set_no_greeks(quote_analytics& a) noexcept { a.delta = a.gamma = a.vega = a.theta = a.rho = nan; }

// The price each quote of one side is valued at (MESSAGES.md: mid, else last, else none).
void price_side(const chain_side& side, std::vector<quote_analytics>& out) {
  out.resize(side.size());
  for (std::size_t i = 0; i < side.size(); ++i) out[i].price = price_used(side.bid[i], side.ask[i], side.last[i]);
}

// A quote whose volatility is being solved for: where its analytics go and what its Greeks need.
struct pending_quote {
  quote_analytics* out;
  double K, x;  // x = ln(F/K), shared by the inversion and the Greeks
  bool is_call;
};

// IVs and Greeks of a chain, in three passes: reduce every quote (status, or a normalised problem),
// solve all problems together (detail::solve_normalised interleaves them), then the Greeks. The chain's
// horizon (T, r, q and their exponentials) is computed once; per quote only what depends on the strike
// is, by the kernels behind bs_implied_vol and bs_greeks: the values equal theirs bit for bit.
class quote_solver {
 public:
  quote_solver(double S, const detail::bsm_horizon& h, std::size_t quotes) : S_(S), h_(h) {
    problems_.reserve(quotes);
    pending_.reserve(quotes);
  }

  // The prices price_side set; T <= 0 makes every quote expired.
  void reduce_side(const chain_side& side, bool is_call, std::vector<quote_analytics>& out) {
    for (std::size_t i = 0; i < side.size(); ++i) {
      quote_analytics& a = out[i];
      a.iv = nan;
      set_no_greeks(a);
      if (!(h_.T > 0)) {
        a.status = quote_iv_status::expired;
        continue;
      }
      if (std::isnan(a.price)) {
        a.status = quote_iv_status::no_price;
        continue;
      }
      const double K = side.strike[i];
      const double x = detail::forward_log_moneyness(S_, K, h_);
      const detail::iv_reduction red = detail::reduce_bs_implied_vol(a.price, S_, K, is_call, h_, x);
      if (red.problem) {
        problems_.push_back(*red.problem);
        pending_.push_back({&a, K, x, is_call});
      } else {
        finish(a, red.decided, K, x, is_call);
      }
    }
  }

  void solve() {
    std::vector<iv_result> solved(problems_.size());
    detail::solve_normalised(problems_, solved);
    for (std::size_t j = 0; j < pending_.size(); ++j) {
      const pending_quote& p = pending_[j];
      finish(*p.out, detail::from_normalised(solved[j], h_), p.K, p.x, p.is_call);
    }
  }

 private:
  // Status, IV and (trader-unit) Greeks at the quote's own IV, for ok and zero_time_value quotes.
  void finish(quote_analytics& a, iv_result iv, double K, double x, bool is_call) const noexcept {
    a.status = from_core(iv.st);
    if (a.status != quote_iv_status::ok && a.status != quote_iv_status::zero_time_value) return;
    a.iv = iv.sigma;
    detail::first_order_greeks g{};
    if (iv.sigma * h_.sqrt_t == 0) {
      const greeks limit = bs_greeks(S_, K, h_.T, h_.r, h_.q, iv.sigma, is_call);  // the sigma = 0 limit: rare
      g = {limit.delta, limit.gamma, limit.vega, limit.theta, limit.rho};
    } else {
      g = detail::first_order(detail::make_bsm_terms(x, iv.sigma, h_, is_call), S_, K, iv.sigma, h_);
    }
    g = detail::in_trader_units(g);
    a.delta = g.delta;
    a.gamma = g.gamma;
    a.vega = g.vega;
    a.theta = g.theta;
    a.rho = g.rho;
  }

  double S_;
  detail::bsm_horizon h_;
  std::vector<detail::normalised_problem> problems_;
  std::vector<pending_quote> pending_;
};

// The columns' lengths, and the counts' range: with at most max_counted_quotes quotes of at most
// max_count contracts each, every sum below (totals, windows, max pain) is exact in int64.
constexpr std::int64_t max_count = 100'000'000'000'000;  // 10^14, as the decoder's limit
constexpr std::size_t max_counted_quotes = 50'000;

void check_side(const chain_side& side, std::string_view name) {
  const std::size_t n = side.strike.size();
  if (side.bid.size() != n || side.ask.size() != n || side.last.size() != n || side.volume.size() != n ||
      side.open_interest.size() != n) {
    throw std::invalid_argument("enrich_chain: " + std::string(name) + ": columns of different lengths");
  }
  if (n > max_counted_quotes) {
    throw std::invalid_argument("enrich_chain: " + std::string(name) + ": more than " +
                                std::to_string(max_counted_quotes) + " quotes");
  }
  for (std::size_t i = 0; i < n; ++i) {
    for (const auto& [column, value] : {std::pair{"volume", side.volume[i]}, {"open_interest", side.open_interest[i]}}) {
      if (value < 0 || value > max_count) {
        throw std::invalid_argument("enrich_chain: " + std::string(name) + "[" + std::to_string(i) + "]." + column +
                                    ": outside [0, 10^14] (" + std::to_string(value) + ")");
      }
    }
  }
}

std::optional<double> ratio(std::int64_t puts, std::int64_t calls) noexcept {
  if (calls == 0) return std::nullopt;
  return static_cast<double>(puts) / static_cast<double>(calls);
}

constexpr std::int32_t absent = -1;

// Per strike of the union (ascending): sums of each side's OI and volume, and the index of the
// first quote of each side at that strike (absent if none).
struct strike_table {
  std::vector<std::int64_t> call_oi, put_oi, call_volume, put_volume;
  std::vector<std::int32_t> call_index, put_index;
};

// The listed strikes of both sides (NaN excluded), ascending and unique: each side sorted on its own
// (skipped when it is already, as sides usually are), then the two merged.
void union_of_strikes(const option_chain& chain, std::vector<double>& strikes) {
  strikes.reserve(chain.calls.size() + chain.puts.size());
  for (const double k : chain.calls.strike)
    if (!std::isnan(k)) strikes.push_back(k);
  const auto call_count = static_cast<std::ptrdiff_t>(strikes.size());
  for (const double k : chain.puts.strike)
    if (!std::isnan(k)) strikes.push_back(k);
  const auto calls_end = strikes.begin() + call_count;
  if (!std::is_sorted(strikes.begin(), calls_end)) std::sort(strikes.begin(), calls_end);
  if (!std::is_sorted(calls_end, strikes.end())) std::sort(calls_end, strikes.end());
  std::inplace_merge(strikes.begin(), calls_end, strikes.end());
  strikes.erase(std::unique(strikes.begin(), strikes.end()), strikes.end());
}

// The index of strike k in the ascending unique strikes, if listed. Sides usually list their strikes in
// ascending order, so `hint` (the slot after the previous quote's) is tried before a binary search.
std::optional<std::size_t> strike_slot(const std::vector<double>& strikes, double k, std::size_t hint) noexcept {
  if (hint < strikes.size() && strikes[hint] == k) return hint;
  const auto it = std::lower_bound(strikes.begin(), strikes.end(), k);
  if (it == strikes.end() || *it != k) return std::nullopt;  // NaN strike: not in the union
  return static_cast<std::size_t>(it - strikes.begin());
}

void fill_side(const std::vector<double>& strikes, const chain_side& side, std::vector<std::int64_t>& oi,
               std::vector<std::int64_t>& volume, std::vector<std::int32_t>& index) {
  std::size_t hint = 0;
  for (std::size_t i = 0; i < side.size(); ++i) {
    const std::optional<std::size_t> slot = strike_slot(strikes, side.strike[i], hint);
    if (!slot) continue;
    const std::size_t j = *slot;
    oi[j] += side.open_interest[i];
    volume[j] += side.volume[i];
    if (index[j] == absent) index[j] = static_cast<std::int32_t>(i);
    hint = j + 1;
  }
}

// Median of up to three values.
double median(std::span<const double> v) noexcept {
  if (v.size() == 1) return v[0];
  if (v.size() == 2) return 0.5 * (v[0] + v[1]);
  return std::max(std::min(v[0], v[1]), std::min(std::max(v[0], v[1]), v[2]));
}

double parity_forward(const std::vector<double>& strikes, const strike_table& t,
                      const std::vector<quote_analytics>& calls, const std::vector<quote_analytics>& puts, double T,
                      double r, double carry) noexcept {
  if (!(T > 0)) return carry;
  constexpr std::size_t keep = 3;
  std::array<double, keep> gap{}, estimate{};
  std::size_t found = 0;
  const double growth = std::exp(r * T);
  for (std::size_t j = 0; j < strikes.size(); ++j) {
    if (t.call_index[j] == absent || t.put_index[j] == absent) continue;
    const double c = calls[static_cast<std::size_t>(t.call_index[j])].price;
    const double p = puts[static_cast<std::size_t>(t.put_index[j])].price;
    if (std::isnan(c) || std::isnan(p)) continue;
    const double f = strikes[j] + growth * (c - p);
    if (!(std::isfinite(f) && f > 0)) continue;
    const double g = std::abs(c - p);
    // Insertion into the (sorted by gap) best `keep`; on equal gaps the lower strike stays first.
    std::size_t pos = std::min(found, keep);
    while (pos > 0 && gap[pos - 1] > g) --pos;
    if (pos >= keep) continue;
    for (std::size_t k = std::min(found, keep - 1); k > pos; --k) {
      gap[k] = gap[k - 1];
      estimate[k] = estimate[k - 1];
    }
    gap[pos] = g;
    estimate[pos] = f;
    found = std::min(found + 1, keep);
  }
  if (found == 0) return carry;
  return median(std::span<const double>(estimate.data(), found));
}

bool usable(const quote_analytics& a) noexcept { return a.status == quote_iv_status::ok && a.iv > 0; }

std::optional<double> smile_at_forward(const std::vector<double>& strikes, const strike_table& t,
                                       const std::vector<quote_analytics>& calls,
                                       const std::vector<quote_analytics>& puts, double F) noexcept {
  // Point at the forward itself.
  const auto at = std::lower_bound(strikes.begin(), strikes.end(), F);
  if (at != strikes.end() && *at == F) {
    const auto j = static_cast<std::size_t>(at - strikes.begin());
    double sum = 0;
    int count = 0;
    if (t.call_index[j] != absent && usable(calls[static_cast<std::size_t>(t.call_index[j])])) {
      sum += calls[static_cast<std::size_t>(t.call_index[j])].iv;
      ++count;
    }
    if (t.put_index[j] != absent && usable(puts[static_cast<std::size_t>(t.put_index[j])])) {
      sum += puts[static_cast<std::size_t>(t.put_index[j])].iv;
      ++count;
    }
    if (count > 0) return sum / count;
  }
  // OTM put below F: the largest strike < F with a usable put.
  std::optional<std::size_t> below, above;
  for (std::size_t j = static_cast<std::size_t>(at - strikes.begin()); j-- > 0;) {
    if (t.put_index[j] != absent && usable(puts[static_cast<std::size_t>(t.put_index[j])])) {
      below = j;
      break;
    }
  }
  for (auto j = static_cast<std::size_t>(std::upper_bound(strikes.begin(), strikes.end(), F) - strikes.begin());
       j < strikes.size(); ++j) {
    if (t.call_index[j] != absent && usable(calls[static_cast<std::size_t>(t.call_index[j])])) {
      above = j;
      break;
    }
  }
  if (!below || !above) return std::nullopt;
  const double k_lo = std::log(strikes[*below] / F), k_hi = std::log(strikes[*above] / F);
  const double v_lo = puts[static_cast<std::size_t>(t.put_index[*below])].iv;
  const double v_hi = calls[static_cast<std::size_t>(t.call_index[*above])].iv;
  const double w = -k_lo / (k_hi - k_lo);
  return v_lo + w * (v_hi - v_lo);
}

// The IV at spot delta `target` by linear interpolation in delta between the first adjacent pair (in
// ascending strike order, over quotes with usable IVs) whose deltas bracket it; deltas decrease
// with the strike on both sides.
std::optional<double> smile_at_delta(const std::vector<std::int32_t>& index, const std::vector<quote_analytics>& side,
                                     double target) noexcept {
  const quote_analytics* prev = nullptr;
  for (const std::int32_t i : index) {
    if (i == absent) continue;
    const quote_analytics& a = side[static_cast<std::size_t>(i)];
    if (!usable(a) || !std::isfinite(a.delta)) continue;
    if (prev != nullptr && prev->delta >= target && target >= a.delta) {
      if (prev->delta == a.delta) return 0.5 * (prev->iv + a.iv);
      const double w = (target - prev->delta) / (a.delta - prev->delta);
      return prev->iv + w * (a.iv - prev->iv);
    }
    prev = &a;
  }
  return std::nullopt;
}

// The strike with the largest positive OI, ties to the lower strike.
std::optional<double> max_oi_strike(const std::vector<double>& strikes, const std::vector<std::int64_t>& oi) noexcept {
  std::optional<double> best;
  std::int64_t best_oi = 0;
  for (std::size_t j = 0; j < strikes.size(); ++j) {
    if (oi[j] > best_oi) {
      best_oi = oi[j];
      best = strikes[j];
    }
  }
  return best;
}

void add_previous(const std::vector<double>& strikes, const chain_side& side, std::vector<std::int64_t>& change) {
  std::size_t hint = 0;
  for (std::size_t i = 0; i < side.size() && i < side.open_interest.size(); ++i) {
    const std::optional<std::size_t> slot = strike_slot(strikes, side.strike[i], hint);
    if (!slot) continue;  // strike no longer listed
    change[*slot] -= side.open_interest[i];
    hint = *slot + 1;
  }
}

}  // namespace

std::string_view to_string(quote_iv_status s) noexcept {
  switch (s) {
    case quote_iv_status::ok: return "ok";
    case quote_iv_status::zero_time_value: return "zero_time_value";
    case quote_iv_status::no_price: return "no_price";
    case quote_iv_status::below_intrinsic: return "below_intrinsic";
    case quote_iv_status::above_maximum: return "above_maximum";
    case quote_iv_status::expired: return "expired";
    case quote_iv_status::not_converged: return "not_converged";
  }
  return "unknown";
}

std::optional<double> pcr(std::span<const double> call_values, std::span<const double> put_values) noexcept {
  long double calls = 0, puts = 0;
  for (const double v : call_values) calls += v;
  for (const double v : put_values) puts += v;
  if (calls == 0) return std::nullopt;
  return static_cast<double>(puts / calls);
}

std::optional<double> max_pain(std::span<const double> call_strikes, std::span<const double> call_oi,
                               std::span<const double> put_strikes, std::span<const double> put_oi) {
  if (call_strikes.size() != call_oi.size()) {
    throw std::invalid_argument("max_pain: call_oi: length " + std::to_string(call_oi.size()) + ", expected " +
                                std::to_string(call_strikes.size()));
  }
  if (put_strikes.size() != put_oi.size()) {
    throw std::invalid_argument("max_pain: put_oi: length " + std::to_string(put_oi.size()) + ", expected " +
                                std::to_string(put_strikes.size()));
  }
  const auto check = [](std::span<const double> strikes, std::span<const double> oi, const char* side) {
    for (std::size_t i = 0; i < strikes.size(); ++i) {
      if (!std::isfinite(strikes[i])) {
        throw std::invalid_argument(std::string("max_pain: ") + side + "_strikes[" + std::to_string(i) +
                                    "]: not finite");
      }
      if (!(std::isfinite(oi[i]) && oi[i] >= 0)) {
        throw std::invalid_argument(std::string("max_pain: ") + side + "_oi[" + std::to_string(i) +
                                    "]: negative or not finite");
      }
    }
  };
  check(call_strikes, call_oi, "call");
  check(put_strikes, put_oi, "put");
  if (call_strikes.empty() && put_strikes.empty()) return std::nullopt;

  // Each side sorted by strike (skipped when already sorted, as chains usually are), then one merged
  // walk over the union of strikes: the first strike s_j with D_j >= 0 (see max_pain_index), OI summed
  // in long double (exact for integer OI below 2^64).
  struct point {
    double strike, oi;
  };
  const auto by_strike = [](const point& a, const point& b) { return a.strike < b.strike; };
  const auto sorted_side = [&](std::span<const double> strikes, std::span<const double> oi) {
    std::vector<point> v(strikes.size());
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = {strikes[i], oi[i]};
    if (!std::is_sorted(v.begin(), v.end(), by_strike)) std::sort(v.begin(), v.end(), by_strike);
    return v;
  };
  const std::vector<point> calls = sorted_side(call_strikes, call_oi);
  const std::vector<point> puts = sorted_side(put_strikes, put_oi);
  long double put_total = 0;
  for (const point& x : puts) put_total += x.oi;
  long double calls_at_or_below = 0, puts_at_or_below = 0;
  std::size_t i = 0, k = 0;
  for (;;) {
    double s = 0;
    if (i == calls.size()) {
      s = puts[k].strike;
    } else if (k == puts.size()) {
      s = calls[i].strike;
    } else {
      s = std::min(calls[i].strike, puts[k].strike);
    }
    for (; i < calls.size() && calls[i].strike == s; ++i) calls_at_or_below += calls[i].oi;
    for (; k < puts.size() && puts[k].strike == s; ++k) puts_at_or_below += puts[k].oi;
    if (i == calls.size() && k == puts.size()) return s;  // the highest strike
    if (calls_at_or_below >= put_total - puts_at_or_below) return s;
  }
}

double time_to_expiry(std::chrono::year_month_day expiry, std::chrono::seconds expiry_time_utc,
                      timestamp_ns now) noexcept {
  const std::chrono::sys_seconds at = std::chrono::sys_days(expiry) + expiry_time_utc;
  // expiry - now as whole seconds and the nanoseconds left over (both with the sign of the span), built
  // from seconds: an expiry in nanoseconds would leave int64 outside 1678-2261, and any date of years
  // 0000-9999 fits in seconds. Exact for any span.
  std::int64_t whole = static_cast<std::int64_t>(at.time_since_epoch().count()) - now / ns_per_second;
  std::int64_t frac = -(now % ns_per_second);
  if (whole > 0 && frac < 0) {
    --whole;
    frac += ns_per_second;
  } else if (whole < 0 && frac > 0) {
    ++whole;
    frac -= ns_per_second;
  }
  return (static_cast<double>(whole) + static_cast<double>(frac) * 1e-9) / seconds_per_year;
}

chain_analytics enrich_chain(const option_chain& chain, const chain_config& config, const option_chain* previous) {
  check_side(chain.calls, "calls");
  check_side(chain.puts, "puts");
  if (previous != nullptr) {
    check_side(previous->calls, "previous calls");
    check_side(previous->puts, "previous puts");
  }

  chain_analytics out;
  const double r = chain.rate.value_or(config.rate);
  const double q = chain.dividend_yield.value_or(config.dividend_yield);
  const double S = chain.underlying_price;
  const double T = time_to_expiry(chain.expiry, config.expiry_time_utc, chain.timestamp);
  out.rate = r;
  out.dividend_yield = q;
  out.time_to_expiry = T;

  std::vector<double>& strikes = out.strikes;
  union_of_strikes(chain, strikes);
  const std::size_t m = strikes.size();

  strike_table t;
  t.call_oi.assign(m, 0);
  t.put_oi.assign(m, 0);
  t.call_volume.assign(m, 0);
  t.put_volume.assign(m, 0);
  t.call_index.assign(m, absent);
  t.put_index.assign(m, absent);
  fill_side(strikes, chain.calls, t.call_oi, t.call_volume, t.call_index);
  fill_side(strikes, chain.puts, t.put_oi, t.put_volume, t.put_index);

  // Prices, the forward, then IVs and Greeks. An implied (parity) forward values every quote: the
  // dividend yield it implies, q = r - ln(F/S)/T, replaces the configured one, so that the IVs of calls
  // and puts agree with the forward the chain itself shows.
  price_side(chain.calls, out.calls);
  price_side(chain.puts, out.puts);
  const double carry = S * std::exp((r - q) * T);
  out.forward =
      config.forward == forward_method::parity ? parity_forward(strikes, t, out.calls, out.puts, T, r, carry) : carry;
  const double F = out.forward;
  const double q_used = out.forward != carry && T > 0 ? r - std::log(F / S) / T : q;
  out.dividend_yield = q_used;
  // The horizon's exponentials once per chain; with T <= 0 every quote is expired and they are not needed.
  const detail::bsm_horizon h = T > 0 ? detail::make_horizon(T, r, q_used) : detail::bsm_horizon{T, r, q_used};
  quote_solver solver(S, h, chain.calls.size() + chain.puts.size());
  solver.reduce_side(chain.calls, true, out.calls);
  solver.reduce_side(chain.puts, false, out.puts);
  solver.solve();

  // Totals and PCR.
  for (const std::int64_t v : chain.calls.open_interest) out.total_call_oi += v;
  for (const std::int64_t v : chain.puts.open_interest) out.total_put_oi += v;
  for (const std::int64_t v : chain.calls.volume) out.total_call_volume += v;
  for (const std::int64_t v : chain.puts.volume) out.total_put_volume += v;
  out.pcr_oi = ratio(out.total_put_oi, out.total_call_oi);
  out.pcr_volume = ratio(out.total_put_volume, out.total_call_volume);

  // ATM strike (nearest the forward, ties to the lower) and the windowed PCR around it.
  if (m > 0 && std::isfinite(F)) {
    const auto hi = static_cast<std::size_t>(std::lower_bound(strikes.begin(), strikes.end(), F) - strikes.begin());
    std::size_t atm = 0;
    if (hi == 0) {
      atm = 0;
    } else if (hi == m) {
      atm = m - 1;
    } else {
      atm = (strikes[hi] - F < F - strikes[hi - 1]) ? hi : hi - 1;
    }
    out.atm_strike = strikes[atm];
    const auto window = static_cast<std::size_t>(std::max(config.pcr_window, 0));
    const std::size_t first = atm >= window ? atm - window : 0;
    const std::size_t last = std::min(m - 1, atm + window);
    std::int64_t coi = 0, poi = 0, cvol = 0, pvol = 0;
    for (std::size_t j = first; j <= last; ++j) {
      coi += t.call_oi[j];
      poi += t.put_oi[j];
      cvol += t.call_volume[j];
      pvol += t.put_volume[j];
    }
    out.pcr_oi_window = ratio(poi, coi);
    out.pcr_volume_window = ratio(pvol, cvol);
  }

  // Per-strike PCR and OI changes.
  out.pcr_oi_by_strike.resize(m);
  for (std::size_t j = 0; j < m; ++j) out.pcr_oi_by_strike[j] = ratio(t.put_oi[j], t.call_oi[j]);
  if (previous != nullptr) {
    out.call_oi_change = t.call_oi;
    out.put_oi_change = t.put_oi;
    add_previous(strikes, previous->calls, out.call_oi_change);
    add_previous(strikes, previous->puts, out.put_oi_change);
  }

  // Max pain: the per-strike integer OI sums make the decision exact.
  if (m > 0) {
    const std::size_t j = max_pain_index<std::int64_t>(
        m, [&](std::size_t i) { return t.call_oi[i]; }, [&](std::size_t i) { return t.put_oi[i]; });
    out.max_pain = strikes[j];
  }

  // Smile measures.
  if (T > 0 && std::isfinite(F) && F > 0) {
    out.atm_iv = smile_at_forward(strikes, t, out.calls, out.puts, F);
    const std::optional<double> call25 = smile_at_delta(t.call_index, out.calls, 0.25);
    const std::optional<double> put25 = smile_at_delta(t.put_index, out.puts, -0.25);
    if (call25 && put25) {
      out.risk_reversal_25d = *call25 - *put25;
      if (out.atm_iv) out.butterfly_25d = 0.5 * (*call25 + *put25) - *out.atm_iv;
    }
    if (out.atm_iv) out.expected_move = F * *out.atm_iv * std::sqrt(T);
  }

  // Positioning.
  out.max_call_oi_strike = max_oi_strike(strikes, t.call_oi);
  out.max_put_oi_strike = max_oi_strike(strikes, t.put_oi);
  const double gamma_scale = config.lot_size * S * S / 100.0;
  const double delta_scale = config.lot_size * S;
  double gex = 0, dex = 0;
  for (std::size_t i = 0; i < out.calls.size(); ++i) {
    const quote_analytics& a = out.calls[i];
    if (std::isnan(a.gamma)) continue;
    const auto oi = static_cast<double>(chain.calls.open_interest[i]);
    gex += a.gamma * oi;
    dex += a.delta * oi;
  }
  for (std::size_t i = 0; i < out.puts.size(); ++i) {
    const quote_analytics& a = out.puts[i];
    if (std::isnan(a.gamma)) continue;
    const auto oi = static_cast<double>(chain.puts.open_interest[i]);
    gex -= a.gamma * oi;
    dex += a.delta * oi;
  }
  out.gamma_exposure = gex * gamma_scale;
  out.delta_exposure = dex * delta_scale;
  return out;
}

}  // namespace optaro

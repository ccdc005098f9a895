// Volatility surfaces: smiles per expiry, interpolation across expiries, calendar diagnostics, and the
// volatility_surface / iv_surface documents. Conventions in include/optaro/surface.hpp.
#include <optaro/surface.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "codec_detail.hpp"

namespace optaro {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr std::size_t min_smile_points = 5;

bool positive_finite(double x) noexcept { return std::isfinite(x) && x > 0; }

/// "slices[i].field: reason", as decode_surface reports it.
[[noreturn]] void bad_slice(std::size_t i, std::string_view field, std::string_view reason) {
  throw std::invalid_argument("slices[" + std::to_string(i) + "]." + std::string(field) + ": " + std::string(reason));
}

void check_slice(std::size_t i, const smile_slice& s) {
  if (!positive_finite(s.time_to_expiry)) bad_slice(i, "time_to_expiry", "must be finite and > 0");
  if (!positive_finite(s.forward)) bad_slice(i, "forward", "must be finite and > 0");
  if (!std::isfinite(s.k_min) || !std::isfinite(s.k_max) || s.k_min > s.k_max) {
    bad_slice(i, "k_min", "must be finite and <= k_max");
  }
  const svi_params& p = s.params;
  if (!std::isfinite(p.a) || !std::isfinite(p.m)) bad_slice(i, "svi", "a and m must be finite");
  if (!(p.b >= 0) || !std::isfinite(p.b)) bad_slice(i, "svi.b", "must be finite and >= 0");
  if (!(std::abs(p.rho) < 1)) bad_slice(i, "svi.rho", "must lie in (-1, 1)");
  if (!positive_finite(p.sigma)) bad_slice(i, "svi.sigma", "must be finite and > 0");
  // The smallest total variance of the smile, a + b sigma sqrt(1 - rho^2), may not be negative (a
  // relative 1e-12 of slack for parameters that went through text).
  const double floor = p.b * p.sigma * std::sqrt(1 - p.rho * p.rho);
  if (p.a + floor < -1e-12 * std::max(std::abs(p.a), floor)) bad_slice(i, "svi", "negative minimum variance");
}

/// n when a has length n, the broadcast length 1, else an error naming the argument.
void check_length(std::span<const double> a, std::size_t n, const char* name) {
  if (a.size() != n && a.size() != 1) {
    throw std::invalid_argument(std::string(name) + ": length " + std::to_string(a.size()) + ", expected " +
                                std::to_string(n) + " or 1");
  }
}

double at(std::span<const double> a, std::size_t i) noexcept { return a.size() == 1 ? a[0] : a[i]; }

}  // namespace

// ---- smiles --------------------------------------------------------------------------------------

std::optional<smile_slice> fit_smile(std::span<const double> strikes, std::span<const double> ivs,
                                     std::span<const double> weights, double forward, double time_to_expiry,
                                     const svi_params* previous) {
  if (ivs.size() != strikes.size()) {
    throw std::invalid_argument("fit_smile: ivs has length " + std::to_string(ivs.size()) + ", strikes " +
                                std::to_string(strikes.size()));
  }
  if (!weights.empty() && weights.size() != strikes.size()) {
    throw std::invalid_argument("fit_smile: weights has length " + std::to_string(weights.size()) + ", strikes " +
                                std::to_string(strikes.size()));
  }
  if (!positive_finite(forward)) throw std::invalid_argument("fit_smile: forward must be finite and > 0");
  if (!positive_finite(time_to_expiry)) throw std::invalid_argument("fit_smile: time_to_expiry must be finite and > 0");
  std::vector<double> k, w, wt;
  for (std::size_t i = 0; i < strikes.size(); ++i) {
    const double weight = weights.empty() ? 1.0 : weights[i];
    if (!positive_finite(strikes[i]) || !positive_finite(ivs[i]) || !positive_finite(weight)) continue;
    k.push_back(std::log(strikes[i] / forward));
    w.push_back(ivs[i] * ivs[i] * time_to_expiry);
    wt.push_back(weight);
  }
  if (k.size() < min_smile_points) return std::nullopt;
  const svi_fit_result fit = fit_svi(k, w, wt, previous);
  smile_slice s;
  s.time_to_expiry = time_to_expiry;
  s.forward = forward;
  s.params = fit.params;
  s.k_min = *std::min_element(k.begin(), k.end());
  s.k_max = *std::max_element(k.begin(), k.end());
  s.rmse = fit.rmse;
  s.points = k.size();
  return s;
}

std::optional<smile_slice> fit_smile(const option_chain& chain, const chain_analytics& analytics,
                                     const svi_params* previous) {
  const double forward = analytics.forward;
  const double t = analytics.time_to_expiry;
  if (!positive_finite(t) || !positive_finite(forward)) return std::nullopt;
  std::vector<double> strikes, ivs, vegas;
  auto take = [&](const chain_side& side, const std::vector<quote_analytics>& quotes, bool calls) {
    for (std::size_t i = 0; i < side.size() && i < quotes.size(); ++i) {
      const double k = side.strike[i];
      if ((k >= forward) != calls || quotes[i].status != quote_iv_status::ok) continue;
      strikes.push_back(k);
      ivs.push_back(quotes[i].iv);
      vegas.push_back(quotes[i].vega);
    }
  };
  take(chain.calls, analytics.calls, true);
  take(chain.puts, analytics.puts, false);
  auto slice = fit_smile(strikes, ivs, vegas, forward, t, previous);
  if (slice) slice->expiry = chain.expiry;
  return slice;
}

// ---- the surface ---------------------------------------------------------------------------------

vol_surface::vol_surface(std::vector<smile_slice> slices, std::optional<double> spot)
    : slices_(std::move(slices)), spot_(spot) {
  if (spot_ && !positive_finite(*spot_)) throw std::invalid_argument("spot: must be finite and > 0");
  for (std::size_t i = 0; i < slices_.size(); ++i) check_slice(i, slices_[i]);
  std::stable_sort(slices_.begin(), slices_.end(),
                   [](const smile_slice& a, const smile_slice& b) { return a.time_to_expiry < b.time_to_expiry; });
  for (std::size_t i = 1; i < slices_.size(); ++i) {
    if (slices_[i].time_to_expiry == slices_[i - 1].time_to_expiry) {
      throw std::invalid_argument("slices: two slices expire at time_to_expiry " +
                                  detail::number_text(slices_[i].time_to_expiry));
    }
  }
}

double vol_surface::slice_variance(std::size_t i, double k) const noexcept {
  const smile_slice& s = slices_[i];
  return svi_total_variance(s.params, std::clamp(k, s.k_min, s.k_max));
}

double vol_surface::total_variance(double k, double t) const noexcept {
  if (slices_.empty() || !std::isfinite(k) || !std::isfinite(t) || t < 0) return nan;
  if (t == 0) return 0;
  const auto after = std::lower_bound(slices_.begin(), slices_.end(), t, [](const smile_slice& s, double time) {
    return s.time_to_expiry < time;
  });
  const auto i = static_cast<std::size_t>(after - slices_.begin());
  if (i == slices_.size()) return slice_variance(i - 1, k) * (t / slices_.back().time_to_expiry);
  if (i == 0 || after->time_to_expiry == t) {
    return slice_variance(i, k) * (i == 0 ? t / after->time_to_expiry : 1.0);
  }
  const double t0 = slices_[i - 1].time_to_expiry, t1 = after->time_to_expiry;
  const double w0 = slice_variance(i - 1, k), w1 = slice_variance(i, k);
  return w0 + (w1 - w0) * ((t - t0) / (t1 - t0));
}

double vol_surface::forward(double t) const noexcept {
  if (slices_.empty() || !std::isfinite(t) || t < 0) return nan;
  // Nodes (time, forward): the spot at 0 when known, then the slices; ln F is linear between them.
  auto node = [&](std::size_t j) -> std::pair<double, double> {
    if (spot_) {
      if (j == 0) return {0.0, *spot_};
      --j;
    }
    return {slices_[j].time_to_expiry, slices_[j].forward};
  };
  const std::size_t nodes = slices_.size() + (spot_ ? 1 : 0);
  if (nodes == 1 || t <= node(0).first) return node(0).second;
  std::size_t j = 1;
  while (j + 1 < nodes && node(j).first < t) ++j;  // the interval [node j-1, node j] holds t, or the last one
  const auto [t0, f0] = node(j - 1);
  const auto [t1, f1] = node(j);
  if (t == t1) return f1;
  return f0 * std::exp(std::log(f1 / f0) * ((t - t0) / (t1 - t0)));
}

double vol_surface::iv(double strike, double t) const noexcept {
  if (!(strike > 0) || !(t > 0)) return nan;
  const double w = total_variance(std::log(strike / forward(t)), t);
  return std::sqrt(w / t);
}

void vol_surface::total_variance(std::span<const double> k, std::span<const double> t, std::span<double> out) const {
  check_length(k, out.size(), "k");
  check_length(t, out.size(), "t");
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = total_variance(at(k, i), at(t, i));
}

void vol_surface::iv(std::span<const double> strike, std::span<const double> t, std::span<double> out) const {
  check_length(strike, out.size(), "strike");
  check_length(t, out.size(), "t");
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = iv(at(strike, i), at(t, i));
}

std::vector<calendar_violation> vol_surface::calendar_violations(std::size_t grid_points) const {
  if (grid_points < 2) throw std::invalid_argument("grid_points: must be >= 2");
  std::vector<calendar_violation> found;
  if (slices_.size() < 2) return found;
  double lo = slices_.front().k_min, hi = slices_.front().k_max;
  for (const smile_slice& s : slices_) {
    lo = std::min(lo, s.k_min);
    hi = std::max(hi, s.k_max);
  }
  for (std::size_t j = 0; j < grid_points; ++j) {
    const double k = lo + (hi - lo) * static_cast<double>(j) / static_cast<double>(grid_points - 1);
    for (std::size_t i = 0; i + 1 < slices_.size(); ++i) {
      const double w1 = slice_variance(i, k), w2 = slice_variance(i + 1, k);
      if (w2 < w1 - 1e-12 * w1) {
        found.push_back({k, slices_[i].time_to_expiry, slices_[i + 1].time_to_expiry, w1, w2});
      }
    }
  }
  std::stable_sort(found.begin(), found.end(), [](const calendar_violation& a, const calendar_violation& b) {
    return a.t1 < b.t1;
  });
  return found;
}

// ---- documents -----------------------------------------------------------------------------------

namespace {

using ordered = nlohmann::ordered_json;

ordered number_or_null(double x) { return std::isfinite(x) ? ordered(x) : ordered(nullptr); }

/// Reads a document's fields, naming the first bad one.
struct reader {
  std::optional<decode_error> error;

  bool fail(std::string field, std::string reason) {
    if (!error) error = decode_error{std::move(field), std::move(reason)};
    return false;
  }
  bool number(const nlohmann::json& obj, const std::string& path, const char* key, double& out, bool optional) {
    const auto it = obj.find(key);
    const std::string field = path.empty() ? key : path + "." + key;
    if (it == obj.end() || it->is_null()) {
      if (optional) return true;
      return fail(field, it == obj.end() ? "missing" : "expected a number");
    }
    if (!it->is_number()) return fail(field, "expected a number");
    out = it->get<double>();
    return true;
  }
};

}  // namespace

std::string encode_surface(const vol_surface& surface, std::string_view product, timestamp_ns as_of) {
  ordered doc;
  doc["product"] = product;
  doc["timestamp"] = format_timestamp(as_of);
  doc["spot"] = surface.spot() ? ordered(*surface.spot()) : ordered(nullptr);
  ordered slices = ordered::array();
  for (const smile_slice& s : surface.slices()) {
    ordered js;
    js["expiry"] = s.expiry ? ordered(format_date(*s.expiry)) : ordered(nullptr);
    js["time_to_expiry"] = s.time_to_expiry;
    js["forward"] = s.forward;
    js["svi"] = {{"a", s.params.a}, {"b", s.params.b}, {"rho", s.params.rho}, {"m", s.params.m},
                 {"sigma", s.params.sigma}};
    js["k_min"] = s.k_min;
    js["k_max"] = s.k_max;
    js["rmse"] = number_or_null(s.rmse);
    js["points"] = s.points;
    js["atm_iv"] = number_or_null(std::sqrt(surface.total_variance(0, s.time_to_expiry) / s.time_to_expiry));
    slices.push_back(std::move(js));
  }
  doc["slices"] = std::move(slices);
  ordered violations = ordered::array();
  for (const calendar_violation& v : surface.calendar_violations()) {
    violations.push_back({{"k", v.k}, {"t1", v.t1}, {"t2", v.t2}, {"w1", v.w1}, {"w2", v.w2}});
  }
  doc["calendar_violations"] = std::move(violations);
  return doc.dump();
}

decode_result<vol_surface> decode_surface(std::string_view json) {
  decode_result<vol_surface> result;
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded()) {
    result.error = {"message", "not valid JSON"};
    return result;
  }
  if (!doc.is_object()) {
    result.error = {"message", "expected an object"};
    return result;
  }
  reader r;
  std::optional<double> spot;
  if (const auto it = doc.find("spot"); it != doc.end() && !it->is_null()) {
    double s = 0;
    if (r.number(doc, "", "spot", s, false)) spot = s;
  }
  std::vector<smile_slice> slices;
  const auto list = doc.find("slices");
  if (list == doc.end() || !list->is_array()) {
    r.fail("slices", list == doc.end() ? "missing" : "expected an array");
  } else {
    for (std::size_t i = 0; i < list->size() && !r.error; ++i) {
      const std::string path = "slices[" + std::to_string(i) + "]";
      const nlohmann::json& js = (*list)[i];
      if (!js.is_object()) {
        r.fail(path, "expected an object");
        break;
      }
      smile_slice s;
      double points = 0;
      r.number(js, path, "time_to_expiry", s.time_to_expiry, false);
      r.number(js, path, "forward", s.forward, false);
      const auto svi = js.find("svi");
      if (svi == js.end() || !svi->is_object()) {
        r.fail(path + ".svi", svi == js.end() ? "missing" : "expected an object");
      } else {
        r.number(*svi, path + ".svi", "a", s.params.a, false);
        r.number(*svi, path + ".svi", "b", s.params.b, false);
        r.number(*svi, path + ".svi", "rho", s.params.rho, false);
        r.number(*svi, path + ".svi", "m", s.params.m, false);
        r.number(*svi, path + ".svi", "sigma", s.params.sigma, false);
      }
      r.number(js, path, "k_min", s.k_min, false);
      r.number(js, path, "k_max", s.k_max, false);
      s.rmse = nan;
      r.number(js, path, "rmse", s.rmse, true);
      r.number(js, path, "points", points, true);
      s.points = points > 0 ? static_cast<std::size_t>(points) : 0;
      if (const auto e = js.find("expiry"); e != js.end() && !e->is_null()) {
        const auto d = e->is_string() ? parse_date(e->get<std::string>()) : std::nullopt;
        if (!d) r.fail(path + ".expiry", "not a valid date YYYY-MM-DD");
        s.expiry = d;
      }
      slices.push_back(s);
    }
  }
  if (r.error) {
    result.error = std::move(*r.error);
    return result;
  }
  try {
    result.value = vol_surface(std::move(slices), spot);
  } catch (const std::invalid_argument& e) {
    const std::string text = e.what();
    const auto colon = text.find(": ");
    result.error = {text.substr(0, colon), colon == std::string::npos ? "invalid" : text.substr(colon + 2)};
  }
  return result;
}

std::vector<iv_surface_member> iv_surface_members(const option_chain& chain, const chain_analytics& analytics) {
  std::vector<iv_surface_member> members;
  members.reserve(chain.calls.size() + chain.puts.size());
  auto add = [&](const chain_side& side, const std::vector<quote_analytics>& quotes, char type) {
    for (std::size_t i = 0; i < side.size(); ++i) {
      iv_surface_member m;
      m.member = detail::number_text(side.strike[i]) + ':' + type;
      m.score = side.strike[i];
      if (i < quotes.size() && std::isfinite(quotes[i].iv)) m.iv = quotes[i].iv;
      members.push_back(std::move(m));
    }
  };
  add(chain.calls, analytics.calls, 'C');
  add(chain.puts, analytics.puts, 'P');
  return members;
}

}  // namespace optaro

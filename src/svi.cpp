// Raw SVI smile: evaluation, Durrleman's g, and a robust weighted least-squares fit.
//
// The fit works in three stages, in units where the weighted mean of w is 1 and the weights sum to 1
// (so that tolerances do not depend on the expiry), on the quotes sorted by k:
// 1. Quasi-explicit reduction (Zeliade Systems, "Quasi-explicit calibration of Gatheral's SVI model",
//    2009): once the vertex (m, sigma) fixes y = (k - m) / sigma, the smile is linear in three numbers.
//    We use the wing coordinates u = b sigma (1 + rho), t = b sigma (1 - rho):
//      w = a + u p(y) + t q(y),   p = (sqrt(y^2 + 1) + y) / 2,   q = (sqrt(y^2 + 1) - y) / 2,
//    where u / sigma and t / sigma are the slopes of the right and left wings. b >= 0, |rho| <= 1 and the
//    bound on the slopes (Lee's 2, or less: see prepare) become a box 0 <= u, t <= bound * sigma, and a is
//    free, so the best (a, u, t) is a convex quadratic over a box, solved exactly: a eliminated (it is a
//    weighted mean), then the interior stationary point, else the best point of each edge. The minimum
//    variance a + b sigma sqrt(1 - rho^2) = a + sqrt(u t) >= 0 is then imposed by raising a, feasible
//    though not always optimal; the polish treats it exactly.
// 2. An outer search over the vertex (m, ln sigma) of that reduced cost: a coarse grid over the whole
//    admissible box, then Nelder-Mead from the best grid point. The reduced cost has far fewer local
//    minima than the five-parameter one, which is what keeps noisy fits from degenerating.
// 3. Levenberg-Marquardt on all five parameters (Eigen), in (a, left slope, right slope, m, sigma), where
//    all bounds but the minimum variance are a box, to reach full precision (Nelder-Mead converges only
//    linearly, and its cost comes from sums that cancel near an exact fit).
// A warm start replaces stage 2 by the reduced solution at the previous vertex.
//
// The vertex and the slopes are confined to what the quotes can determine (documented in svi.hpp and
// at prepare): a vertex narrower than the strike spacing, or a steep wing where nothing is quoted, is
// not determined by the quotes, and letting either through is what produces degenerate fits of noise.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include <optaro/svi.hpp>

namespace optaro {
namespace {

constexpr double max_abs_rho = 1 - 1e-9;  // |rho| < 1: a flat wing keeps a slope of 1e-9 of the other one
// Wing slopes stay within this multiple of the steepest chord of the quotes from their lowest variance.
constexpr double chord_multiple = 4;
constexpr int grid_m_points = 13;
constexpr int grid_sigma_points = 8;
constexpr int max_simplex_steps = 150;
constexpr double simplex_tolerance = 1e-4;  // in (m / width, ln sigma): Levenberg-Marquardt finishes the job
constexpr int max_lm_steps = 200;
// A warm start that has not converged in this many steps started in the wrong basin (the smile moved):
// the cold fit (grid and Nelder-Mead, ~50 steps in all) is cheaper than the rest of the 200.
constexpr int max_warm_lm_steps = 30;
constexpr double lm_step_tolerance = 1e-11;  // relative to each parameter's size
constexpr double lm_cost_tolerance = 1e-14;  // relative reduction of the cost by one step
constexpr double lm_gain_tolerance = 1e-12;  // relative gain of the cost a full Gauss-Newton step promises
constexpr double exact_fit_cost = 1e-30;     // scaled units: w is O(1)

std::string format_number(double x) {
  std::array<char, 32> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), x);
  return ec == std::errc{} ? std::string(buffer.data(), end) : std::string("?");
}

[[noreturn]] void reject(std::string_view function, std::string_view argument, std::string_view reason) {
  throw std::invalid_argument(std::string(function) + ": " + std::string(argument) + ": " + std::string(reason));
}

std::string indexed(std::string_view name, std::size_t i) { return std::string(name) + "[" + std::to_string(i) + "]"; }

void check_params(std::string_view function, std::string_view name, const svi_params& p) {
  const std::string prefix(name);
  const std::array<std::pair<const char*, double>, 5> fields{
      {{".a", p.a}, {".b", p.b}, {".rho", p.rho}, {".m", p.m}, {".sigma", p.sigma}}};
  for (const auto& [field, value] : fields) {
    if (!std::isfinite(value)) reject(function, prefix + field, "not finite (" + format_number(value) + ")");
  }
  if (p.b < 0) reject(function, prefix + ".b", "negative (" + format_number(p.b) + ")");
  if (!(std::fabs(p.rho) < 1)) reject(function, prefix + ".rho", "|rho| must be < 1 (" + format_number(p.rho) + ")");
  if (!(p.sigma > 0)) reject(function, prefix + ".sigma", "must be > 0 (" + format_number(p.sigma) + ")");
}

// The quotes with positive weight, scaled: weights summing to 1, w divided by its weighted mean.
struct smile_data {
  std::vector<double> k, v, weight;
  double scale = 1;       // original w = scale * v
  double mean_v = 0;      // sum weight v
  double variance_v = 0;  // sum weight (v - mean_v)^2
  double m_lo = 0, m_hi = 0, sigma_lo = 0, sigma_hi = 0;
  double width = 0;        // k_max - k_min
  double slope_bound = 2;  // on both wing slopes b (1 -+ rho): Lee's 2, or less (see prepare), scaled units
};

smile_data prepare(std::span<const double> k, std::span<const double> w, std::span<const double> weights) {
  constexpr std::string_view fn = "fit_svi";
  if (w.size() != k.size()) {
    reject(fn, "w",
           "length " + std::to_string(w.size()) + ", expected " + std::to_string(k.size()) + " (the length of k)");
  }
  if (!weights.empty() && weights.size() != k.size()) {
    reject(fn, "weights",
           "length " + std::to_string(weights.size()) + ", expected " + std::to_string(k.size()) +
               " (the length of k) or 0");
  }
  if (k.size() < 5) {
    reject(fn, "k", std::to_string(k.size()) + " points, at least 5 needed (SVI has 5 parameters)");
  }
  for (std::size_t i = 0; i < k.size(); ++i) {
    if (!std::isfinite(k[i])) reject(fn, indexed("k", i), "not finite (" + format_number(k[i]) + ")");
    if (!std::isfinite(w[i])) reject(fn, indexed("w", i), "not finite (" + format_number(w[i]) + ")");
    if (w[i] < 0) reject(fn, indexed("w", i), "negative total variance (" + format_number(w[i]) + ")");
    if (weights.empty()) continue;
    if (!std::isfinite(weights[i])) reject(fn, indexed("weights", i), "not finite (" + format_number(weights[i]) + ")");
    if (weights[i] < 0) reject(fn, indexed("weights", i), "negative (" + format_number(weights[i]) + ")");
  }

  // The quotes with positive weight, sorted by k (then w and weight, so that the order, and with it
  // every sum below, is the same however the caller ordered them). The vertex then splits the quotes
  // into two contiguous runs (see solve_reduced).
  struct quote {
    double k, w, weight;
  };
  std::vector<quote> quotes;
  quotes.reserve(k.size());
  for (std::size_t i = 0; i < k.size(); ++i) {
    const double weight = weights.empty() ? 1.0 : weights[i];
    if (weight > 0) quotes.push_back({k[i], w[i], weight});
  }
  if (quotes.empty()) reject(fn, "weights", "all zero");
  std::sort(quotes.begin(), quotes.end(),
            [](const quote& x, const quote& y) { return std::tie(x.k, x.w, x.weight) < std::tie(y.k, y.w, y.weight); });
  double total_weight = 0;
  for (const quote& q : quotes) total_weight += q.weight;
  if (!std::isfinite(total_weight)) reject(fn, "weights", "the sum overflows");

  smile_data d;
  d.k.reserve(quotes.size());
  d.v.reserve(quotes.size());
  d.weight.reserve(quotes.size());
  double weighted_w = 0;
  for (const quote& q : quotes) {
    d.k.push_back(q.k);
    d.v.push_back(q.w);
    d.weight.push_back(q.weight / total_weight);
    weighted_w += d.weight.back() * q.w;
  }

  std::vector<double> sorted = d.k;
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  if (sorted.size() < 5) {
    reject(fn, "k",
           std::to_string(sorted.size()) +
               " distinct values with positive weight, at least 5 needed (SVI has 5 parameters)");
  }
  std::vector<double> gaps(sorted.size() - 1);
  for (std::size_t i = 0; i + 1 < sorted.size(); ++i) gaps[i] = sorted[i + 1] - sorted[i];
  std::nth_element(gaps.begin(), gaps.begin() + static_cast<std::ptrdiff_t>(gaps.size() / 2), gaps.end());
  const double median_gap = gaps[gaps.size() / 2];

  d.width = sorted.back() - sorted.front();
  d.m_lo = sorted.front() - d.width;
  d.m_hi = sorted.back() + d.width;
  d.sigma_lo = 0.5 * median_gap;
  d.sigma_hi = 4 * d.width;
  if (!std::isfinite(d.m_lo) || !std::isfinite(d.m_hi) || !std::isfinite(d.sigma_hi)) {
    reject(fn, "k",
           "range too wide to fit ([" + format_number(sorted.front()) + ", " + format_number(sorted.back()) + "])");
  }

  // All-zero variances are a valid (flat) smile: keep scale 1 then.
  d.scale = weighted_w > 0 ? weighted_w : 1.0;
  for (double& v : d.v) v /= d.scale;
  // The slopes: Lee's bound b (1 + |rho|) <= 2, and no steeper than chord_multiple times the steepest
  // chord from the lowest quote to the quotes at least a quarter of the range away. Without the second
  // bound, quotes on one side of the money let the unquoted wing take Lee's slope of 2 to bend the
  // quoted one through the noise (the "b -> huge" degeneracy); with it the quotes still decide every
  // slope they can show, since a wing's slope is within a small multiple of such a chord unless the
  // quotes stay inside about sigma / 2 of the vertex.
  const auto lowest = static_cast<std::size_t>(std::min_element(d.v.begin(), d.v.end()) - d.v.begin());
  double chord = 0;
  for (std::size_t i = 0; i < d.k.size(); ++i) {
    const double run = std::fabs(d.k[i] - d.k[lowest]);
    if (run >= 0.25 * d.width) chord = std::max(chord, (d.v[i] - d.v[lowest]) / run);
  }
  d.slope_bound = std::min(2 / d.scale, chord_multiple * chord);
  for (std::size_t i = 0; i < d.v.size(); ++i) d.mean_v += d.weight[i] * d.v[i];
  for (std::size_t i = 0; i < d.v.size(); ++i) d.variance_v += d.weight[i] * (d.v[i] - d.mean_v) * (d.v[i] - d.mean_v);
  return d;
}

// ---- stage 1: the best (a, u, t) for a fixed vertex --------------------------------------------

struct reduced_fit {
  double a = 0, u = 0, t = 0;
  double cost = 0;  // sum weight (w - v)^2, scaled units
};

// Scratch for solve_reduced, one per fit: the basis at every quote.
struct reduced_workspace {
  Eigen::ArrayXd y, large, small, p, q, wp, wq;
  explicit reduced_workspace(std::size_t n)
      : y(static_cast<Eigen::Index>(n)),
        large(y.size()),
        small(y.size()),
        p(y.size()),
        q(y.size()),
        wp(y.size()),
        wq(y.size()) {}
};

reduced_fit solve_reduced(const smile_data& d, reduced_workspace& ws, double m, double sigma) noexcept {
  const auto n = static_cast<Eigen::Index>(d.k.size());
  const Eigen::Map<const Eigen::ArrayXd> k(d.k.data(), n), v(d.v.data(), n), weight(d.weight.data(), n);
  // p and q without cancellation: the larger of the two is (sqrt(y^2 + 1) + |y|) / 2 and, since p q = 1/4,
  // the smaller is 1/4 over it; p is the larger right of the vertex (y >= 0), where the sorted k end.
  // Whole-array expressions so that Eigen vectorises the square roots, divisions and sums: this is the
  // inner loop of the whole fit.
  const auto right_from = static_cast<Eigen::Index>(std::lower_bound(d.k.begin(), d.k.end(), m) - d.k.begin());
  const Eigen::Index right = n - right_from;
  ws.y = (k - m) * (1 / sigma);
  ws.large = 0.5 * ((ws.y.square() + 1).sqrt() + ws.y.abs());
  ws.small = 0.25 * ws.large.inverse();
  ws.p.head(right_from) = ws.small.head(right_from);
  ws.p.tail(right) = ws.large.tail(right);
  ws.q.head(right_from) = ws.large.head(right_from);
  ws.q.tail(right) = ws.small.tail(right);
  ws.wp = weight * ws.p;
  ws.wq = weight * ws.q;
  const double P = ws.wp.sum(), Q = ws.wq.sum();
  const double PP = (ws.wp * ws.p).sum(), QQ = (ws.wq * ws.q).sum();
  const double PV = (ws.wp * v).sum(), QV = (ws.wq * v).sum();
  // Centred normal equations (a eliminated, sums weighted):
  //   cost(u, t) = var(v) - 2 (u gp + t gq) + u^2 Hpp + 2 u t Hpq + t^2 Hqq,
  // with H the covariances of p and q, g their covariances with v, and sum weight p q = 1/4 exactly.
  const double V = d.mean_v;
  const double Hpp = std::max(PP - P * P, 0.0), Hqq = std::max(QQ - Q * Q, 0.0), Hpq = 0.25 - P * Q;
  const double gp = PV - P * V, gq = QV - Q * V;
  const double upper = d.slope_bound * sigma;
  const auto cost = [&](double u, double t) {
    return d.variance_v - 2 * (u * gp + t * gq) + u * u * Hpp + 2 * u * t * Hpq + t * t * Hqq;
  };
  // Minimiser over one coordinate with the other fixed, clamped to [0, upper] (exact: convex in 1-D).
  const auto best_along = [upper](double g, double cross, double other, double h) {
    const double slope = g - cross * other;  // cost = const - 2 x slope + x^2 h
    if (h > 0) return std::clamp(slope / h, 0.0, upper);
    return slope > 0 ? upper : 0.0;
  };

  double u = 0, t = 0, best = std::numeric_limits<double>::infinity();
  const double det = Hpp * Hqq - Hpq * Hpq;
  bool interior = false;
  if (det > 1e-14 * Hpp * Hqq && det > 0) {
    const double u0 = (gp * Hqq - gq * Hpq) / det, t0 = (gq * Hpp - gp * Hpq) / det;
    if (u0 >= 0 && u0 <= upper && t0 >= 0 && t0 <= upper) {
      u = u0;
      t = t0;
      best = cost(u, t);
      interior = true;
    }
  }
  if (!interior) {  // the minimum is on the boundary: the best point of each edge
    const std::array<double, 2> sides{0.0, upper};
    for (const double fixed : sides) {
      const double t1 = best_along(gq, Hpq, fixed, Hqq), c1 = cost(fixed, t1);
      if (c1 < best) {
        best = c1;
        u = fixed;
        t = t1;
      }
      const double u2 = best_along(gp, Hpq, fixed, Hpp), c2 = cost(u2, fixed);
      if (c2 < best) {
        best = c2;
        u = u2;
        t = fixed;
      }
    }
  }
  reduced_fit r{V - u * P - t * Q, u, t, best};
  const double lowest = -std::sqrt(u * t);  // a + sqrt(u t) is the minimum of w
  if (r.a < lowest) {
    r.cost += (lowest - r.a) * (lowest - r.a);  // the cost is quadratic in a with unit curvature
    r.a = lowest;
  }
  return r;
}

// ---- stage 2: the vertex --------------------------------------------------------------------------

struct vertex {
  double m = 0, log_sigma = 0;
};

struct vertex_search {
  const smile_data& d;
  reduced_workspace workspace{d.k.size()};

  [[nodiscard]] vertex clamp(vertex x) const noexcept {
    return {std::clamp(x.m, d.m_lo, d.m_hi), std::clamp(x.log_sigma, std::log(d.sigma_lo), std::log(d.sigma_hi))};
  }
  [[nodiscard]] double cost(vertex x) noexcept { return solve_reduced(d, workspace, x.m, std::exp(x.log_sigma)).cost; }
};

struct vertex_result {
  vertex x;
  int steps = 0;
};

vertex best_on_grid(vertex_search& search) {
  const smile_data& d = search.d;
  vertex best{0.5 * (d.m_lo + d.m_hi), std::log(d.sigma_lo)};
  double best_cost = std::numeric_limits<double>::infinity();
  const double log_lo = std::log(d.sigma_lo), log_hi = std::log(d.sigma_hi);
  for (int i = 0; i < grid_m_points; ++i) {
    const double m = d.m_lo + (d.m_hi - d.m_lo) * (i + 0.5) / grid_m_points;
    for (int j = 0; j < grid_sigma_points; ++j) {
      const vertex x{m, log_lo + (log_hi - log_lo) * (j + 0.5) / grid_sigma_points};
      const double c = search.cost(x);
      if (c < best_cost) {
        best_cost = c;
        best = x;
      }
    }
  }
  return best;
}

// Nelder-Mead (standard coefficients) in (m / width, ln sigma), trial points clamped to the box.
vertex_result nelder_mead(vertex_search& search, vertex start, vertex step) {
  const double width = search.d.width;
  std::array<vertex, 3> x{start, search.clamp({start.m + step.m, start.log_sigma}),
                          search.clamp({start.m, start.log_sigma + step.log_sigma})};
  if (x[1].m == start.m) x[1] = search.clamp({start.m - step.m, start.log_sigma});
  if (x[2].log_sigma == start.log_sigma) x[2] = search.clamp({start.m, start.log_sigma - step.log_sigma});
  std::array<double, 3> f{search.cost(x[0]), search.cost(x[1]), search.cost(x[2])};
  const auto along = [&](const vertex& from, const vertex& to, double s) {
    return search.clamp({from.m + s * (to.m - from.m), from.log_sigma + s * (to.log_sigma - from.log_sigma)});
  };
  int steps = 0;
  for (; steps < max_simplex_steps; ++steps) {
    std::array<int, 3> order{0, 1, 2};
    std::sort(order.begin(), order.end(),
              [&](int i, int j) { return f[static_cast<std::size_t>(i)] < f[static_cast<std::size_t>(j)]; });
    const auto lo = static_cast<std::size_t>(order[0]), mid = static_cast<std::size_t>(order[1]),
               hi = static_cast<std::size_t>(order[2]);
    double size = 0;
    for (const std::size_t i : {mid, hi}) {
      size = std::max({size, std::fabs(x[i].m - x[lo].m) / width, std::fabs(x[i].log_sigma - x[lo].log_sigma)});
    }
    if (size < simplex_tolerance) break;
    const vertex centre{0.5 * (x[lo].m + x[mid].m), 0.5 * (x[lo].log_sigma + x[mid].log_sigma)};
    const vertex reflected = along(x[hi], centre, 2.0);
    const double fr = search.cost(reflected);
    if (fr < f[lo]) {
      const vertex expanded = along(x[hi], centre, 3.0);
      const double fe = search.cost(expanded);
      if (fe < fr) {
        x[hi] = expanded;
        f[hi] = fe;
      } else {
        x[hi] = reflected;
        f[hi] = fr;
      }
    } else if (fr < f[mid]) {
      x[hi] = reflected;
      f[hi] = fr;
    } else {
      const bool outside = fr < f[hi];
      const vertex contracted = outside ? along(x[hi], centre, 1.5) : along(x[hi], centre, 0.5);
      const double fc = search.cost(contracted);
      if (fc < std::min(fr, f[hi])) {
        x[hi] = contracted;
        f[hi] = fc;
      } else {  // shrink towards the best point
        for (const std::size_t i : {mid, hi}) {
          x[i] = along(x[lo], x[i], 0.5);
          f[i] = search.cost(x[i]);
        }
      }
    }
  }
  const auto best = static_cast<std::size_t>(std::min_element(f.begin(), f.end()) - f.begin());
  return {x[best], steps};
}

// ---- stage 3: Levenberg-Marquardt on all five parameters ---------------------------------------------

// The parameters as the polish sees them: the wing slopes of w (left = b (1 - rho), right = b (1 + rho))
// instead of (b, rho), so that b >= 0, |rho| <= 1 and the slope bound are a box.
using vector5 = Eigen::Matrix<double, 5, 1>;
using matrix5 = Eigen::Matrix<double, 5, 5>;
enum : Eigen::Index { at_a, at_left, at_right, at_m, at_sigma };

vector5 from_reduced(const reduced_fit& r, double m, double sigma) { return {r.a, r.t / sigma, r.u / sigma, m, sigma}; }

// The box, and then the minimum variance by raising a: the nearest admissible point for the polish.
vector5 project(const smile_data& d, vector5 x) noexcept {
  x[at_left] = std::clamp(x[at_left], 0.0, d.slope_bound);
  x[at_right] = std::clamp(x[at_right], 0.0, d.slope_bound);
  x[at_m] = std::clamp(x[at_m], d.m_lo, d.m_hi);
  x[at_sigma] = std::clamp(x[at_sigma], d.sigma_lo, d.sigma_hi);
  x[at_a] = std::max(x[at_a], -x[at_sigma] * std::sqrt(x[at_left] * x[at_right]));
  return x;
}

struct linearisation {
  double cost = 0;
  matrix5 JtJ = matrix5::Zero();
  vector5 Jtr = vector5::Zero();
};

linearisation linearise(const smile_data& d, const vector5& x) noexcept {
  // The cost, J^T W r and the 15 distinct entries of J^T W J in one pass; plain accumulators are
  // several times faster than a generic rank-1 update of a 5x5 matrix per point.
  std::array<double, 15> jj{};
  std::array<double, 5> jr{};
  double cost = 0;
  const double inv_sigma = 1 / x[at_sigma], left = x[at_left], right = x[at_right];
  for (std::size_t i = 0; i < d.k.size(); ++i) {
    // w = a + sigma (right p(y) + left q(y)): the cancellation-free form of a + b (rho x + sqrt(x^2 + sigma^2)).
    // p, q and 1 / root from one division: with big = root + |y|, q (or p) = 1 / (2 big).
    const double y = (d.k[i] - x[at_m]) * inv_sigma;
    const double root = std::sqrt(y * y + 1), big = root + std::fabs(y);
    const double inverse = 1 / (root * big);
    const double small = 0.5 * root * inverse, inv_root = big * inverse;
    const double p = y >= 0 ? 0.5 * big : small, q = y >= 0 ? small : 0.5 * big;
    const double r = x[at_a] + x[at_sigma] * (right * p + left * q) - d.v[i];
    // dp/dy = p / root, dq/dy = -q / root; dy/dm = -1 / sigma; d sqrt(x^2 + sigma^2) / d sigma = 1 / root.
    const std::array<double, 5> row{1.0, x[at_sigma] * q, x[at_sigma] * p, -(right * p - left * q) * inv_root,
                                    0.5 * (left + right) * inv_root};
    const double wt = d.weight[i];
    std::size_t e = 0;
    for (std::size_t a = 0; a < 5; ++a) {
      const double wa = wt * row[a];
      for (std::size_t b = 0; b <= a; ++b) jj[e++] += wa * row[b];
      jr[a] += wa * r;
    }
    cost += wt * r * r;
  }
  linearisation n;
  n.cost = cost;
  std::size_t e = 0;
  for (Eigen::Index a = 0; a < 5; ++a) {
    for (Eigen::Index b = 0; b <= a; ++b) n.JtJ(a, b) = n.JtJ(b, a) = jj[e++];
    n.Jtr[a] = jr[static_cast<std::size_t>(a)];
  }
  return n;
}

struct polish_result {
  vector5 x;
  int steps = 0;
  bool converged = false;
};

// One damped Gauss-Newton step for Levenberg-Marquardt, in the directions the domain leaves free.
//
// Parameters held at a bound of the box by a gradient that points out of it do not move. The minimum
// variance a + sigma sqrt(left right) >= 0 is not a box bound: when a full step would cross it, the step
// is taken again with a on the floor's linearisation, a = floor + grad(floor) . (step of the others),
// which moves along the floor instead of zigzagging against it (projection absorbs its curvature).
// Returns the step and whether the point is stationary in those directions: whether even an undamped
// Gauss-Newton step would gain less than lm_gain_tolerance of the cost. (Tests on single columns, like
// MINPACK's gtol, cannot tell a minimum from rounding noise in the cost, and rejected steps in that
// noise cost as much as real ones.)
struct lm_step {
  vector5 delta = vector5::Zero();
  bool stationary = false;
};

lm_step damped_step(const smile_data& d, const vector5& x, const linearisation& at, const matrix5& A) {
  using directions = Eigen::Matrix<double, 5, Eigen::Dynamic, 0, 5, 5>;
  const double inf = std::numeric_limits<double>::infinity();
  const vector5 lower{-inf, 0.0, 0.0, d.m_lo, d.sigma_lo}, upper{inf, d.slope_bound, d.slope_bound, d.m_hi, d.sigma_hi};
  const auto floor_at = [](const vector5& p) { return -p[at_sigma] * std::sqrt(p[at_left] * p[at_right]); };

  // Solves for the step delta = offset + Z z, and tests stationarity along the columns of Z.
  const auto solve = [&](const directions& Z, const vector5& offset) {
    lm_step step;
    const Eigen::Matrix<double, Eigen::Dynamic, 1, 0, 5, 1> gradient = Z.transpose() * (at.Jtr + A * offset);
    const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, 0, 5, 5> reduced = Z.transpose() * A * Z;
    step.delta = offset - Z * reduced.ldlt().solve(gradient);
    if (offset.isZero()) {
      // The most that an undamped Gauss-Newton step could gain, relative to the cost.
      const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, 0, 5, 5> curvature = Z.transpose() * at.JtJ * Z;
      step.stationary = gradient.dot(curvature.ldlt().solve(gradient)) <= lm_gain_tolerance * at.cost;
    }
    return step;
  };
  const auto held = [&](Eigen::Index j, double slope) {
    return (x[j] <= lower[j] && slope > 0) || (x[j] >= upper[j] && slope < 0);
  };

  directions Z(5, 0);
  for (Eigen::Index j = 0; j < 5; ++j) {
    if (held(j, at.Jtr[j])) continue;
    Z.conservativeResize(Eigen::NoChange, Z.cols() + 1);
    Z.col(Z.cols() - 1) = vector5::Unit(j);
  }
  lm_step full = solve(Z, vector5::Zero());
  const vector5 landing = x + full.delta;
  if (landing[at_a] >= floor_at(landing)) return full;

  // d floor / d (left, right, sigma) where it exists (both wings sloped); with a flat wing the floor is 0.
  const double left = x[at_left], right = x[at_right], sigma = x[at_sigma];
  vector5 floor_gradient = vector5::Zero();
  if (left > 0 && right > 0) {
    floor_gradient[at_left] = -0.5 * sigma * std::sqrt(right / left);
    floor_gradient[at_right] = -0.5 * sigma * std::sqrt(left / right);
    floor_gradient[at_sigma] = -std::sqrt(left * right);
  }
  directions T(5, 0);
  for (Eigen::Index j = at_left; j <= at_sigma; ++j) {
    vector5 z = vector5::Unit(j);
    z[at_a] = floor_gradient[j];
    if (held(j, z.dot(at.Jtr))) continue;
    T.conservativeResize(Eigen::NoChange, T.cols() + 1);
    T.col(T.cols() - 1) = z;
  }
  vector5 to_floor = vector5::Zero();
  to_floor[at_a] = floor_at(x) - x[at_a];
  lm_step along = solve(T, to_floor);
  // On the floor to rounding: stationary if stationary along it.
  along.stationary = along.stationary || (std::fabs(to_floor[at_a]) <= 1e-15 * (1 + std::fabs(x[at_a])) &&
                                          solve(T, vector5::Zero()).stationary);
  return along;
}

// Levenberg-Marquardt with Marquardt's diagonal scaling, each trial point projected onto the domain.
polish_result levenberg_marquardt(const smile_data& d, const vector5& start, int max_steps = max_lm_steps) {
  polish_result out{project(d, start), 0, false};
  linearisation here = linearise(d, out.x);
  // Typical magnitudes: a is O(1) in scaled units, slopes O(1 / width), m and sigma O(width).
  const vector5 typical{1.0, 1.0 / d.width, 1.0 / d.width, d.width, d.width};
  vector5 scaling = here.JtJ.diagonal().cwiseMax(std::numeric_limits<double>::min());
  double lambda = 1e-3;
  for (; out.steps < max_steps; ++out.steps) {
    if (here.cost <= exact_fit_cost) {  // nothing left to reduce
      out.converged = true;
      break;
    }
    // MINPACK's scaling: the largest column norms seen so far, so that a parameter whose column
    // vanishes for a moment (both slopes -> 0) is still damped.
    scaling = scaling.cwiseMax(here.JtJ.diagonal());
    matrix5 A = here.JtJ;
    A.diagonal() += lambda * scaling;
    const lm_step step = damped_step(d, out.x, here, A);
    if (step.stationary) {
      out.converged = true;
      break;
    }
    const vector5 trial = project(d, out.x + step.delta);
    const bool tiny_step =
        ((trial - out.x).array().abs() <= lm_step_tolerance * (out.x.array().abs() + typical.array())).all();
    // Linearised straight away: most trial points are accepted, and one pass does both.
    const linearisation there = linearise(d, trial);
    if (there.cost < here.cost) {
      const double reduction = (here.cost - there.cost) / here.cost;
      out.x = trial;
      here = there;
      lambda = std::max(lambda / 3, 1e-12);
      if (tiny_step || reduction < lm_cost_tolerance) {
        out.converged = true;
        ++out.steps;
        break;
      }
    } else {
      if (tiny_step) {  // not even a tiny step goes down: a (constrained) minimum
        out.converged = true;
        ++out.steps;
        break;
      }
      lambda *= 4;
    }
  }
  return out;
}

// Back to raw SVI in the caller's units. A flat wing (rho = +-1) is tilted by 1e-9 of the other wing's
// slope to keep |rho| < 1: far below any quote's precision.
svi_params to_raw(const smile_data& d, const vector5& x) noexcept {
  const double left = x[at_left], right = x[at_right];
  svi_params p{x[at_a] * d.scale, 0.5 * (left + right) * d.scale, 0, x[at_m], x[at_sigma]};
  if (left + right > 0) {
    p.rho = std::clamp((right - left) / (left + right), -max_abs_rho, max_abs_rho);
    p.b = std::max(left, right) * d.scale / (1 + std::fabs(p.rho));  // the steeper wing exactly as fitted
  }
  return p;
}

double rmse_of(const smile_data& d, const svi_params& p) noexcept {
  double c = 0;
  for (std::size_t i = 0; i < d.k.size(); ++i) {
    const double r = svi_total_variance(p, d.k[i]) - d.v[i] * d.scale;
    c += d.weight[i] * r * r;
  }
  return std::sqrt(c);
}

svi_fit_result finish(const smile_data& d, const polish_result& polished, int outer_steps) {
  svi_fit_result r;
  r.params = to_raw(d, polished.x);
  r.rmse = rmse_of(d, r.params);
  r.iterations = outer_steps + polished.steps;
  r.converged = polished.converged;
  return r;
}

svi_fit_result fit_cold(const smile_data& d, int steps_so_far) {
  vertex_search search{d};
  const vertex start = best_on_grid(search);
  // The first simplex spans about one grid cell.
  const vertex cell{(d.m_hi - d.m_lo) / grid_m_points,
                    (std::log(d.sigma_hi) - std::log(d.sigma_lo)) / grid_sigma_points};
  const vertex_result found = nelder_mead(search, start, cell);
  const double sigma = std::exp(found.x.log_sigma);
  const vector5 seed = from_reduced(solve_reduced(d, search.workspace, found.x.m, sigma), found.x.m, sigma);
  return finish(d, levenberg_marquardt(d, seed), steps_so_far + found.steps);
}

}  // namespace

double svi_total_variance(const svi_params& p, double k) noexcept {
  const double x = k - p.m;
  return p.a + p.b * (p.rho * x + std::sqrt(x * x + p.sigma * p.sigma));
}

double svi_durrleman_g(const svi_params& p, double k) noexcept {
  const double x = k - p.m;
  const double s = std::sqrt(x * x + p.sigma * p.sigma);
  const double w = p.a + p.b * (p.rho * x + s);
  if (w <= 0) return -std::numeric_limits<double>::infinity();
  const double inv_sw = 1 / (s * w), inv_s = w * inv_sw, inv_w = s * inv_sw;  // one division for both
  const double w1 = p.b * (p.rho + x * inv_s);                                // w'(k)
  const double w2 = p.b * p.sigma * p.sigma * inv_s * inv_s * inv_s;          // w''(k)
  const double h = 1 - 0.5 * k * w1 * inv_w;
  return h * h - 0.25 * w1 * w1 * (inv_w + 0.25) + 0.5 * w2;
}

svi_fit_result fit_svi(std::span<const double> k, std::span<const double> w, std::span<const double> weights,
                       const svi_params* previous) {
  if (previous != nullptr) check_params("fit_svi", "previous", *previous);
  const smile_data d = prepare(k, w, weights);
  if (previous == nullptr) return fit_cold(d, 0);

  const double m = std::clamp(previous->m, d.m_lo, d.m_hi);
  const double sigma = std::clamp(previous->sigma, d.sigma_lo, d.sigma_hi);
  reduced_workspace workspace(d.k.size());
  const polish_result warm =
      levenberg_marquardt(d, from_reduced(solve_reduced(d, workspace, m, sigma), m, sigma), max_warm_lm_steps);
  if (warm.converged) return finish(d, warm, 0);
  return fit_cold(d, warm.steps);
}

std::vector<double> svi_butterfly_violations(const svi_params& p, std::span<const double> k) {
  check_params("svi_butterfly_violations", "p", p);
  for (std::size_t i = 0; i < k.size(); ++i) {
    if (!std::isfinite(k[i])) {
      reject("svi_butterfly_violations", indexed("k", i), "not finite (" + format_number(k[i]) + ")");
    }
  }
  // svi_durrleman_g over blocks of the grid as whole-array expressions, so that Eigen vectorises the
  // square roots and divisions; the same operations in the same order, so the same g bit for bit.
  constexpr Eigen::Index block = 128;
  using block_array = Eigen::Array<double, Eigen::Dynamic, 1, 0, block, 1>;  // on the stack
  block_array x, s, inv_s, w, inv_w, w1, h, g;
  std::vector<double> out;
  for (std::size_t start = 0; start < k.size(); start += block) {
    const auto n = static_cast<Eigen::Index>(std::min<std::size_t>(block, k.size() - start));
    const Eigen::Map<const Eigen::ArrayXd> kk(k.data() + start, n);
    x = kk - p.m;
    s = (x * x + p.sigma * p.sigma).sqrt();
    w = p.a + p.b * (p.rho * x + s);
    inv_w = 1 / (s * w);  // 1 / (s w) for now
    inv_s = w * inv_w;
    inv_w *= s;
    w1 = p.b * (p.rho + x * inv_s);
    h = 1 - 0.5 * kk * w1 * inv_w;
    g = h * h - 0.25 * w1 * w1 * (inv_w + 0.25) + 0.5 * (p.b * p.sigma * p.sigma * inv_s * inv_s * inv_s);
    for (Eigen::Index i = 0; i < n; ++i) {
      if (w[i] <= 0 || g[i] < 0) out.push_back(kk[i]);  // w <= 0: no valid smile, g = -infinity
    }
  }
  return out;
}

}  // namespace optaro

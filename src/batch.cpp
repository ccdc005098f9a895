// Batch kernels: a loop of the scalar functions over broadcastable spans. The scalar functions are
// noexcept and total (NaN or a status for bad rows), so a loop body can never fail.
#include <algorithm>
#include <array>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

#include <optaro/batch.hpp>
#include <optaro/implied_vol.hpp>
#include <optaro/pricing.hpp>

namespace optaro {
namespace {

struct named_length {
  std::string_view name;
  std::size_t length;
};

// Rows = the longest input; every input has that length or 1, every output exactly that length.
std::size_t batch_rows(std::initializer_list<named_length> inputs, std::initializer_list<named_length> outputs) {
  std::size_t n = 0;
  for (const auto& in : inputs) n = std::max(n, in.length);
  for (const auto& in : inputs) {
    if (in.length != n && in.length != 1) {
      throw std::invalid_argument(std::string(in.name) + ": length " + std::to_string(in.length) + ", expected " +
                                  std::to_string(n) + " or 1");
    }
  }
  for (const auto& out : outputs) {
    if (out.length != n) {
      throw std::invalid_argument(std::string(out.name) + ": length " + std::to_string(out.length) + ", expected " +
                                  std::to_string(n));
    }
  }
  return n;
}

// Element i of a broadcastable input: a span of length 1 stands for every row.
template <class T>
inline T at(std::span<const T> s, std::size_t i) noexcept {
  return s.size() == 1 ? s[0] : s[i];
}

void write_greeks(const greeks_columns& out, std::size_t i, const greeks& g) noexcept {
  const auto put = [i](std::span<double> column, double value) {
    if (!column.empty()) column[i] = value;
  };
  put(out.price, g.price);
  put(out.delta, g.delta);
  put(out.gamma, g.gamma);
  put(out.vega, g.vega);
  put(out.theta, g.theta);
  put(out.rho, g.rho);
  put(out.vanna, g.vanna);
  put(out.volga, g.volga);
  put(out.charm, g.charm);
  put(out.speed, g.speed);
  put(out.zomma, g.zomma);
  put(out.color, g.color);
  put(out.veta, g.veta);
}

// Rows of a greeks batch, checking only the columns that are wanted.
std::size_t greeks_rows(std::initializer_list<named_length> inputs, const greeks_columns& out) {
  const std::size_t n = batch_rows(inputs, {});
  const std::array<named_length, 13> columns = {{{"price", out.price.size()},
                                                 {"delta", out.delta.size()},
                                                 {"gamma", out.gamma.size()},
                                                 {"vega", out.vega.size()},
                                                 {"theta", out.theta.size()},
                                                 {"rho", out.rho.size()},
                                                 {"vanna", out.vanna.size()},
                                                 {"volga", out.volga.size()},
                                                 {"charm", out.charm.size()},
                                                 {"speed", out.speed.size()},
                                                 {"zomma", out.zomma.size()},
                                                 {"color", out.color.size()},
                                                 {"veta", out.veta.size()}}};
  for (const auto& c : columns) {
    if (c.length != 0 && c.length != n) {
      throw std::invalid_argument(std::string(c.name) + ": length " + std::to_string(c.length) + ", expected " +
                                  std::to_string(n));
    }
  }
  return n;
}

}  // namespace

std::size_t bs_price_batch(const bsm_batch& in, std::span<double> price) {
  const std::size_t n = batch_rows({{"S", in.S.size()},
                                    {"K", in.K.size()},
                                    {"T", in.T.size()},
                                    {"r", in.r.size()},
                                    {"q", in.q.size()},
                                    {"sigma", in.sigma.size()},
                                    {"is_call", in.is_call.size()}},
                                   {{"price", price.size()}});
  for (std::size_t i = 0; i < n; ++i) {
    price[i] = bs_price(at(in.S, i), at(in.K, i), at(in.T, i), at(in.r, i), at(in.q, i), at(in.sigma, i),
                        at(in.is_call, i) != 0);
  }
  return n;
}

std::size_t bs_greeks_batch(const bsm_batch& in, const greeks_columns& out, bool trader_units) {
  const std::size_t n = greeks_rows({{"S", in.S.size()},
                                     {"K", in.K.size()},
                                     {"T", in.T.size()},
                                     {"r", in.r.size()},
                                     {"q", in.q.size()},
                                     {"sigma", in.sigma.size()},
                                     {"is_call", in.is_call.size()}},
                                    out);
  for (std::size_t i = 0; i < n; ++i) {
    const greeks g = bs_greeks(at(in.S, i), at(in.K, i), at(in.T, i), at(in.r, i), at(in.q, i), at(in.sigma, i),
                               at(in.is_call, i) != 0);
    write_greeks(out, i, trader_units ? to_trader_units(g) : g);
  }
  return n;
}

std::size_t black76_price_batch(const black76_batch& in, std::span<double> price) {
  const std::size_t n = batch_rows({{"F", in.F.size()},
                                    {"K", in.K.size()},
                                    {"T", in.T.size()},
                                    {"r", in.r.size()},
                                    {"sigma", in.sigma.size()},
                                    {"is_call", in.is_call.size()}},
                                   {{"price", price.size()}});
  for (std::size_t i = 0; i < n; ++i) {
    price[i] =
        black76_price(at(in.F, i), at(in.K, i), at(in.T, i), at(in.r, i), at(in.sigma, i), at(in.is_call, i) != 0);
  }
  return n;
}

std::size_t black76_greeks_batch(const black76_batch& in, const greeks_columns& out, bool trader_units) {
  const std::size_t n = greeks_rows({{"F", in.F.size()},
                                     {"K", in.K.size()},
                                     {"T", in.T.size()},
                                     {"r", in.r.size()},
                                     {"sigma", in.sigma.size()},
                                     {"is_call", in.is_call.size()}},
                                    out);
  for (std::size_t i = 0; i < n; ++i) {
    const greeks g =
        black76_greeks(at(in.F, i), at(in.K, i), at(in.T, i), at(in.r, i), at(in.sigma, i), at(in.is_call, i) != 0);
    write_greeks(out, i, trader_units ? to_trader_units(g) : g);
  }
  return n;
}

std::size_t implied_vol_batch(const iv_batch& in, std::span<double> sigma, std::span<status> st) {
  const std::size_t n = batch_rows({{"price", in.price.size()},
                                    {"S", in.S.size()},
                                    {"K", in.K.size()},
                                    {"T", in.T.size()},
                                    {"r", in.r.size()},
                                    {"q", in.q.size()},
                                    {"is_call", in.is_call.size()}},
                                   {{"sigma", sigma.size()}});
  if (!st.empty() && st.size() != n) {
    throw std::invalid_argument("status: length " + std::to_string(st.size()) + ", expected " + std::to_string(n));
  }
  for (std::size_t i = 0; i < n; ++i) {
    const iv_result res = bs_implied_vol(at(in.price, i), at(in.S, i), at(in.K, i), at(in.T, i), at(in.r, i),
                                         at(in.q, i), at(in.is_call, i) != 0);
    sigma[i] = res.sigma;
    if (!st.empty()) st[i] = res.st;
  }
  return n;
}

}  // namespace optaro

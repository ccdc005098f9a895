// Prices and Greeks: the scalar C++ functions and the batch kernels of <optaro/batch.hpp>.
#include <array>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optaro/batch.hpp>
#include <optaro/pricing.hpp>

#include "buffers.hpp"
#include "register.hpp"

namespace optaro_python {
namespace {

// The Greeks of a batch, in the row order of its (len(greek_names()), n) output; price is left out (it
// has functions of its own). One table, so the names Python sees and the columns C++ fills agree.
struct greek_row {
  const char* name;
  std::span<double> optaro::greeks_columns::*column;
};
constexpr std::array<greek_row, 12> greek_rows{{
    {"delta", &optaro::greeks_columns::delta},
    {"gamma", &optaro::greeks_columns::gamma},
    {"vega", &optaro::greeks_columns::vega},
    {"theta", &optaro::greeks_columns::theta},
    {"rho", &optaro::greeks_columns::rho},
    {"vanna", &optaro::greeks_columns::vanna},
    {"volga", &optaro::greeks_columns::volga},
    {"charm", &optaro::greeks_columns::charm},
    {"speed", &optaro::greeks_columns::speed},
    {"zomma", &optaro::greeks_columns::zomma},
    {"color", &optaro::greeks_columns::color},
    {"veta", &optaro::greeks_columns::veta},
}};
constexpr auto greek_count = static_cast<py::ssize_t>(greek_rows.size());

// Rows of a 2-D (greek_count, n) output as the columns of a greeks batch.
optaro::greeks_columns greek_columns(out_array& out) {
  if (out.ndim() != 2 || out.shape(0) != greek_count) {
    throw std::invalid_argument("out: expected a 2-D array of shape (" + std::to_string(greek_count) + ", n)");
  }
  const auto n = static_cast<std::size_t>(out.shape(1));
  double* base = out.mutable_data();
  optaro::greeks_columns columns;
  for (std::size_t k = 0; k < greek_rows.size(); ++k) columns.*(greek_rows[k].column) = {base + k * n, n};
  return columns;
}

void register_greeks_class(py::module_& m) {
  py::class_<optaro::greeks>(m, "Greeks",
                             "Price and Greeks of one option (optaro::greeks), raw units unless converted.")
      .def_readonly("price", &optaro::greeks::price)
      .def_readonly("delta", &optaro::greeks::delta)
      .def_readonly("gamma", &optaro::greeks::gamma)
      .def_readonly("vega", &optaro::greeks::vega)
      .def_readonly("theta", &optaro::greeks::theta)
      .def_readonly("rho", &optaro::greeks::rho)
      .def_readonly("vanna", &optaro::greeks::vanna)
      .def_readonly("volga", &optaro::greeks::volga)
      .def_readonly("charm", &optaro::greeks::charm)
      .def_readonly("speed", &optaro::greeks::speed)
      .def_readonly("zomma", &optaro::greeks::zomma)
      .def_readonly("color", &optaro::greeks::color)
      .def_readonly("veta", &optaro::greeks::veta);
}

void register_scalars(py::module_& m) {
  m.def("bs_price", &optaro::bs_price, "optaro::bs_price for one option.", py::arg("S"), py::arg("K"), py::arg("T"),
        py::arg("r"), py::arg("q"), py::arg("sigma"), py::arg("is_call"));
  m.def("bs_greeks", &optaro::bs_greeks, "optaro::bs_greeks for one option (raw units).", py::arg("S"), py::arg("K"),
        py::arg("T"), py::arg("r"), py::arg("q"), py::arg("sigma"), py::arg("is_call"));
  m.def("black76_price", &optaro::black76_price, "optaro::black76_price for one option.", py::arg("F"), py::arg("K"),
        py::arg("T"), py::arg("r"), py::arg("sigma"), py::arg("is_call"));
  m.def("black76_greeks", &optaro::black76_greeks, "optaro::black76_greeks for one option (raw units).", py::arg("F"),
        py::arg("K"), py::arg("T"), py::arg("r"), py::arg("sigma"), py::arg("is_call"));
  m.def("to_trader_units", &optaro::to_trader_units, "optaro::to_trader_units: vol/rate points, calendar days.",
        py::arg("raw"));
  m.def("normalised_black", &optaro::normalised_black, "optaro::normalised_black(x, s, is_call).", py::arg("x"),
        py::arg("s"), py::arg("is_call"));
}

void register_batches(py::module_& m) {
  m.def(
      "greek_names",
      [] {
        std::vector<std::string> names;
        names.reserve(greek_rows.size());
        for (const auto& row : greek_rows) names.emplace_back(row.name);
        return names;
      },
      "The Greeks a batch writes, in the row order of its output.");

  m.def(
      "bs_price_batch",
      [](const in_array& S, const in_array& K, const in_array& T, const in_array& r, const in_array& q,
         const in_array& sigma, const flag_array& is_call, out_array out) {
        const optaro::bsm_batch in{view(S), view(K), view(T), view(r), view(q), view(sigma), view(is_call)};
        const std::span<double> price = view_out(out);
        py::gil_scoped_release unlocked;
        optaro::bs_price_batch(in, price);
      },
      "Writes BSM prices into out; inputs flat, of length n or 1.", py::arg("S"), py::arg("K"), py::arg("T"),
      py::arg("r"), py::arg("q"), py::arg("sigma"), py::arg("is_call"), py::arg("out").noconvert());

  m.def(
      "bs_greeks_batch",
      [](const in_array& S, const in_array& K, const in_array& T, const in_array& r, const in_array& q,
         const in_array& sigma, const flag_array& is_call, out_array out, bool trader_units) {
        const optaro::bsm_batch in{view(S), view(K), view(T), view(r), view(q), view(sigma), view(is_call)};
        const optaro::greeks_columns columns = greek_columns(out);
        py::gil_scoped_release unlocked;
        optaro::bs_greeks_batch(in, columns, trader_units);
      },
      "Writes BSM Greeks into the rows of out, shape (len(greek_names()), n), in greek_names() order.", py::arg("S"),
      py::arg("K"), py::arg("T"), py::arg("r"), py::arg("q"), py::arg("sigma"), py::arg("is_call"),
      py::arg("out").noconvert(), py::arg("trader_units"));

  m.def(
      "black76_price_batch",
      [](const in_array& F, const in_array& K, const in_array& T, const in_array& r, const in_array& sigma,
         const flag_array& is_call, out_array out) {
        const optaro::black76_batch in{view(F), view(K), view(T), view(r), view(sigma), view(is_call)};
        const std::span<double> price = view_out(out);
        py::gil_scoped_release unlocked;
        optaro::black76_price_batch(in, price);
      },
      "Writes Black-76 prices into out; inputs flat, of length n or 1.", py::arg("F"), py::arg("K"), py::arg("T"),
      py::arg("r"), py::arg("sigma"), py::arg("is_call"), py::arg("out").noconvert());

  m.def(
      "black76_greeks_batch",
      [](const in_array& F, const in_array& K, const in_array& T, const in_array& r, const in_array& sigma,
         const flag_array& is_call, out_array out, bool trader_units) {
        const optaro::black76_batch in{view(F), view(K), view(T), view(r), view(sigma), view(is_call)};
        const optaro::greeks_columns columns = greek_columns(out);
        py::gil_scoped_release unlocked;
        optaro::black76_greeks_batch(in, columns, trader_units);
      },
      "Writes Black-76 Greeks into the rows of out, shape (len(greek_names()), n), in greek_names() order.",
      py::arg("F"), py::arg("K"), py::arg("T"), py::arg("r"), py::arg("sigma"), py::arg("is_call"),
      py::arg("out").noconvert(), py::arg("trader_units"));
}

}  // namespace

void register_pricing(py::module_& m) {
  register_greeks_class(m);
  register_scalars(m);
  register_batches(m);
}

}  // namespace optaro_python

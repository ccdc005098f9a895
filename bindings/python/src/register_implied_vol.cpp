// Implied volatility: the status enum, the scalar C++ functions and the batch kernel.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optaro/batch.hpp>
#include <optaro/implied_vol.hpp>
#include <optaro/status.hpp>

#include "buffers.hpp"
#include "register.hpp"

namespace optaro_python {
namespace {

using sigma_and_status = std::pair<double, optaro::status>;

sigma_and_status unpack(const optaro::iv_result& res) { return {res.sigma, res.st}; }

void register_status(py::module_& m) {
  py::enum_<optaro::status> st(m, "status", "optaro::status: the outcome of one implied-volatility inversion.");
  // Names come from optaro::to_string, the one list C++ messages use too.
  for (const optaro::status s : optaro::all_statuses) {
    const std::string name(optaro::to_string(s));
    st.value(name.c_str(), s);
  }
}

void register_scalars(py::module_& m) {
  m.def(
      "bs_implied_vol",
      [](double price, double S, double K, double T, double r, double q, bool is_call) {
        return unpack(optaro::bs_implied_vol(price, S, K, T, r, q, is_call));
      },
      "optaro::bs_implied_vol for one option: (sigma, status).", py::arg("price"), py::arg("S"), py::arg("K"),
      py::arg("T"), py::arg("r"), py::arg("q"), py::arg("is_call"));
  m.def(
      "black76_implied_vol",
      [](double price, double F, double K, double T, double r, bool is_call) {
        return unpack(optaro::black76_implied_vol(price, F, K, T, r, is_call));
      },
      "optaro::black76_implied_vol for one option: (sigma, status).", py::arg("price"), py::arg("F"), py::arg("K"),
      py::arg("T"), py::arg("r"), py::arg("is_call"));
  m.def("implied_vol", &optaro::implied_vol, "optaro::implied_vol for one option: sigma, NaN if unattainable.",
        py::arg("price"), py::arg("S"), py::arg("K"), py::arg("T"), py::arg("r"), py::arg("q"), py::arg("is_call"));
  m.def(
      "normalised_implied_vol",
      [](double beta, double x, bool is_call) { return unpack(optaro::normalised_implied_vol(beta, x, is_call)); },
      "optaro::normalised_implied_vol: (s = sigma*sqrt(T), status) for a normalised price beta.", py::arg("beta"),
      py::arg("x"), py::arg("is_call"));
}

// Runs the batch with the GIL released; the status column is optional.
void run_iv_batch(const optaro::iv_batch& in, out_array& sigma, std::optional<status_array>& st) {
  const std::span<double> sigma_out = view_out(sigma);
  const std::span<optaro::status> st_out = st ? view_status(*st) : std::span<optaro::status>{};
  py::gil_scoped_release unlocked;
  optaro::implied_vol_batch(in, sigma_out, st_out);
}

void register_batches(py::module_& m) {
  m.def(
      "implied_vol_batch",
      [](const in_array& price, const in_array& S, const in_array& K, const in_array& T, const in_array& r,
         const in_array& q, const flag_array& is_call, out_array sigma, std::optional<status_array> st) {
        run_iv_batch({view(price), view(S), view(K), view(T), view(r), view(q), view(is_call)}, sigma, st);
      },
      "Writes BSM implied vols into sigma (NaN unless ok, 0.0 for zero_time_value) and, if given, a status "
      "code "
      "per row into status (uint8); inputs flat, of length n or 1.",
      py::arg("price"), py::arg("S"), py::arg("K"), py::arg("T"), py::arg("r"), py::arg("q"), py::arg("is_call"),
      py::arg("sigma").noconvert(), py::arg("status").noconvert() = py::none());

  // <optaro/batch.hpp> has one implied-vol batch, BSM's; Black-76 is BSM with S = F and q = r
  // (CONVENTIONS.md), so r is passed as q too. Tests hold this to the scalar black76_implied_vol.
  m.def(
      "black76_implied_vol_batch",
      [](const in_array& price, const in_array& F, const in_array& K, const in_array& T, const in_array& r,
         const flag_array& is_call, out_array sigma, std::optional<status_array> st) {
        run_iv_batch({view(price), view(F), view(K), view(T), view(r), view(r), view(is_call)}, sigma, st);
      },
      "Writes Black-76 implied vols into sigma and, if given, a status code per row into status (uint8).",
      py::arg("price"), py::arg("F"), py::arg("K"), py::arg("T"), py::arg("r"), py::arg("is_call"),
      py::arg("sigma").noconvert(), py::arg("status").noconvert() = py::none());
}

}  // namespace

void register_implied_vol(py::module_& m) {
  register_status(m);
  register_scalars(m);
  register_batches(m);
}

}  // namespace optaro_python

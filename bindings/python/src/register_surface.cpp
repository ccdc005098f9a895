// SVI smiles and volatility surfaces. Parameters cross as (a, b, rho, m, sigma) tuples and slices as
// tuples too; the Python package turns them into mappings and classes.
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optaro/codec.hpp>
#include <optaro/surface.hpp>
#include <optaro/svi.hpp>

#include "buffers.hpp"
#include "register.hpp"

namespace optaro_python {
namespace {

using params_tuple = std::tuple<double, double, double, double, double>;
/// (expiry "YYYY-MM-DD" or None, time_to_expiry, forward, params, k_min, k_max, rmse, points)
using slice_tuple =
    std::tuple<std::optional<std::string>, double, double, params_tuple, double, double, double, std::size_t>;

optaro::svi_params params(const params_tuple& p) {
  return {std::get<0>(p), std::get<1>(p), std::get<2>(p), std::get<3>(p), std::get<4>(p)};
}
params_tuple to_tuple(const optaro::svi_params& p) { return {p.a, p.b, p.rho, p.m, p.sigma}; }

slice_tuple to_tuple(const optaro::smile_slice& s) {
  return {s.expiry ? std::optional<std::string>(optaro::format_date(*s.expiry)) : std::nullopt,
          s.time_to_expiry,
          s.forward,
          to_tuple(s.params),
          s.k_min,
          s.k_max,
          s.rmse,
          s.points};
}

optaro::smile_slice to_slice(const slice_tuple& t, std::size_t index) {
  optaro::smile_slice s;
  if (const auto& expiry = std::get<0>(t)) {
    s.expiry = optaro::parse_date(*expiry);
    if (!s.expiry) {
      throw std::invalid_argument("slices[" + std::to_string(index) + "].expiry: not a valid date YYYY-MM-DD");
    }
  }
  s.time_to_expiry = std::get<1>(t);
  s.forward = std::get<2>(t);
  s.params = params(std::get<3>(t));
  s.k_min = std::get<4>(t);
  s.k_max = std::get<5>(t);
  s.rmse = std::get<6>(t);
  s.points = std::get<7>(t);
  return s;
}

/// f(params, k) for every k, into out.
template <double (*f)(const optaro::svi_params&, double) noexcept>
void over_k(const params_tuple& p, const in_array& k, out_array& out) {
  const optaro::svi_params q = params(p);
  const auto kv = view(k);
  const auto o = view_out(out);
  if (kv.size() != o.size()) throw std::invalid_argument("out: length differs from k");
  for (std::size_t i = 0; i < o.size(); ++i) o[i] = f(q, kv[i]);
}

void register_functions(py::module_& m) {
  m.def(
      "fit_svi",
      [](const in_array& k, const in_array& w, const in_array& weights, const std::optional<params_tuple>& previous) {
        optaro::svi_fit_result fit;
        const optaro::svi_params start = previous ? params(*previous) : optaro::svi_params{};
        {
          py::gil_scoped_release unlocked;
          fit = optaro::fit_svi(view(k), view(w), view(weights), previous ? &start : nullptr);
        }
        return std::make_tuple(to_tuple(fit.params), fit.rmse, fit.iterations, fit.converged);
      },
      "optaro::fit_svi -> ((a, b, rho, m, sigma), rmse, iterations, converged); weights may be empty.",
      py::arg("k"), py::arg("w"), py::arg("weights"), py::arg("previous"));
  m.def("svi_total_variance", over_k<optaro::svi_total_variance>,
        "optaro::svi_total_variance over k into out (same length).", py::arg("params"), py::arg("k"),
        py::arg("out").noconvert());
  m.def("svi_durrleman_g", over_k<optaro::svi_durrleman_g>, "optaro::svi_durrleman_g over k into out (same length).",
        py::arg("params"), py::arg("k"), py::arg("out").noconvert());
  m.def(
      "svi_butterfly_violations",
      [](const params_tuple& p, const in_array& k) { return optaro::svi_butterfly_violations(params(p), view(k)); },
      "optaro::svi_butterfly_violations: the k of the grid where g(k) < 0.", py::arg("params"), py::arg("k"));
  m.def(
      "fit_smile",
      [](const in_array& strikes, const in_array& ivs, const in_array& weights, double forward, double t,
         const std::optional<params_tuple>& previous) -> std::optional<slice_tuple> {
        const optaro::svi_params start = previous ? params(*previous) : optaro::svi_params{};
        std::optional<optaro::smile_slice> s;
        {
          py::gil_scoped_release unlocked;
          s = optaro::fit_smile(view(strikes), view(ivs), view(weights), forward, t, previous ? &start : nullptr);
        }
        if (!s) return std::nullopt;
        return to_tuple(*s);
      },
      "optaro::fit_smile (from strikes and IVs) -> a slice tuple, or None with fewer than 5 usable rows.",
      py::arg("strikes"), py::arg("ivs"), py::arg("weights"), py::arg("forward"), py::arg("time_to_expiry"),
      py::arg("previous"));
}

void register_surface_class(py::module_& m) {
  py::class_<optaro::vol_surface>(m, "Surface", "optaro::vol_surface")
      .def(py::init([](const std::vector<slice_tuple>& slices, std::optional<double> spot) {
             std::vector<optaro::smile_slice> s;
             s.reserve(slices.size());
             for (std::size_t i = 0; i < slices.size(); ++i) s.push_back(to_slice(slices[i], i));
             return optaro::vol_surface(std::move(s), spot);
           }),
           py::arg("slices"), py::arg("spot"))
      .def("slices",
           [](const optaro::vol_surface& s) {
             std::vector<slice_tuple> out;
             for (const auto& slice : s.slices()) out.push_back(to_tuple(slice));
             return out;
           })
      .def("spot", &optaro::vol_surface::spot)
      .def(
          "total_variance",
          [](const optaro::vol_surface& s, const in_array& k, const in_array& t, out_array& out) {
            const auto o = view_out(out);
            py::gil_scoped_release unlocked;
            s.total_variance(view(k), view(t), o);
          },
          py::arg("k"), py::arg("t"), py::arg("out").noconvert())
      .def(
          "iv",
          [](const optaro::vol_surface& s, const in_array& strike, const in_array& t, out_array& out) {
            const auto o = view_out(out);
            py::gil_scoped_release unlocked;
            s.iv(view(strike), view(t), o);
          },
          py::arg("strike"), py::arg("t"), py::arg("out").noconvert())
      .def(
          "forward",
          [](const optaro::vol_surface& s, const in_array& t, out_array& out) {
            const auto tv = view(t);
            const auto o = view_out(out);
            if (tv.size() != o.size() && tv.size() != 1) throw std::invalid_argument("t: length differs from out");
            for (std::size_t i = 0; i < o.size(); ++i) o[i] = s.forward(tv.size() == 1 ? tv[0] : tv[i]);
          },
          py::arg("t"), py::arg("out").noconvert())
      .def(
          "calendar_violations",
          [](const optaro::vol_surface& s, std::size_t grid_points) {
            std::vector<std::tuple<double, double, double, double, double>> out;
            for (const auto& v : s.calendar_violations(grid_points)) out.emplace_back(v.k, v.t1, v.t2, v.w1, v.w2);
            return out;
          },
          py::arg("grid_points"))
      .def(
          "to_json",
          [](const optaro::vol_surface& s, const std::string& product, optaro::timestamp_ns as_of) {
            return optaro::encode_surface(s, product, as_of);
          },
          py::arg("product"), py::arg("as_of_ns"))
      .def_static(
          "from_json",
          [](const std::string& text) {
            auto r = optaro::decode_surface(text);
            if (!r) throw std::invalid_argument(r.error.message());
            return std::move(*r.value);
          },
          py::arg("text"));
}

}  // namespace

void register_surface(py::module_& m) {
  register_functions(m);
  register_surface_class(m);
}

}  // namespace optaro_python

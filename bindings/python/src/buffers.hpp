#pragma once
// Flat numpy buffers <-> the spans of the C++ batch API, for optaro._core.
//
// The pure-Python package does the numpy work (argument parsing, broadcasting, allocation) and hands
// this module flat C-contiguous buffers: inputs of the batch length n or of length 1 (the C++ batch
// broadcasts those), outputs of length n. Outputs are created by the Python side on purpose: pybind11
// before 2.12 reads the numpy 1.x layout of PyArray_Descr when it creates an array, and under
// numpy 2 gets an item size of 0 (every stride 0). Viewing arrays it is given is layout-independent.
#include <cstddef>
#include <cstdint>
#include <span>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <optaro/status.hpp>

namespace optaro_python {

namespace py = pybind11;

/// An input column: anything numpy can cast to float64, flattened in C order.
using in_array = py::array_t<double, py::array::c_style | py::array::forcecast>;
/// The option type column: nonzero for a call (the Python side has parsed bools, 0/1 and 'c'/'p').
using flag_array = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>;
/// Outputs must be the caller's own float64 / uint8 buffers: bound with noconvert(), so no silent
/// copy can swallow the results.
using out_array = py::array_t<double, py::array::c_style>;
using status_array = py::array_t<std::uint8_t, py::array::c_style>;

inline std::size_t length(const py::array& a) { return static_cast<std::size_t>(a.size()); }

inline std::span<const double> view(const in_array& a) { return {a.data(), length(a)}; }
inline std::span<const std::uint8_t> view(const flag_array& a) { return {a.data(), length(a)}; }

/// mutable_data() throws std::domain_error (ValueError in Python) for a read-only array.
inline std::span<double> view_out(out_array& a) { return {a.mutable_data(), length(a)}; }

/// optaro::status is an enum with underlying type uint8_t, so a uint8 buffer holds a status per byte
/// (C++20 creates the enum objects implicitly in storage numpy allocated).
inline std::span<optaro::status> view_status(status_array& a) {
  return {reinterpret_cast<optaro::status*>(a.mutable_data()), length(a)};  // NOLINT(*-reinterpret-cast)
}

}  // namespace optaro_python

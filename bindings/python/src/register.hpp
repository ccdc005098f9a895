#pragma once
// One registration function per area of optaro._core, called from module.cpp.
#include <pybind11/pybind11.h>

namespace optaro_python {

void register_pricing(pybind11::module_& m);
void register_implied_vol(pybind11::module_& m);
void register_chain(pybind11::module_& m);
void register_surface(pybind11::module_& m);
void register_ohlc(pybind11::module_& m);
void register_engine(pybind11::module_& m);

}  // namespace optaro_python

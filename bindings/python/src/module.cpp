// optaro._core: the private compiled module under the public `optaro` package. It binds the C++ batch
// kernels over flat buffers (the GIL released while they run), the enrichment engine on in-memory ports
// with Python callbacks and, for tests that compare Python with C++ to the last bit, the scalar
// functions. Broadcasting, argument parsing and docs live in Python.
#include <string>

#include <pybind11/pybind11.h>

#include <optaro/version.hpp>

#include "register.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "Private compiled core of optaro; use the public functions of the optaro package.";
  // A function, not an attribute: the committed stub (_core.pyi) then does not change with the version.
  m.def(
      "version", [] { return std::string(optaro::version()); },
      "optaro::version(): the version of the C++ library this module was built with.");
  optaro_python::register_pricing(m);
  optaro_python::register_implied_vol(m);
  optaro_python::register_chain(m);
  optaro_python::register_surface(m);
  optaro_python::register_ohlc(m);
  optaro_python::register_engine(m);
}

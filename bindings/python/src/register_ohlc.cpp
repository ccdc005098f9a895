// OHLC candles over time windows. The Python side allocates the output columns at the number of ticks
// (an upper bound on the number of candles; see buffers.hpp for why outputs come from Python) and
// keeps the first n, n being what the function returns.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <optaro/ohlc.hpp>

#include "buffers.hpp"
#include "register.hpp"

namespace optaro_python {
namespace {

using time_array = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
using time_out_array = py::array_t<std::int64_t, py::array::c_style>;

std::span<std::int64_t> column_out(time_out_array& a, const char* name, std::size_t needed) {
  if (length(a) < needed) throw std::invalid_argument(std::string(name) + ": shorter than timestamps_ns");
  return {a.mutable_data(), length(a)};
}

std::span<double> column_out(out_array& a, const char* name, std::size_t needed) {
  if (length(a) < needed) throw std::invalid_argument(std::string(name) + ": shorter than timestamps_ns");
  return {a.mutable_data(), length(a)};
}

std::size_t ohlc_columns(const time_array& timestamps, const in_array& prices, const in_array& volumes,
                         std::int64_t window_seconds, std::int64_t anchor_seconds, time_out_array& start_ns,
                         out_array& open, out_array& high, out_array& low, out_array& close, out_array& volume,
                         out_array& vwap, time_out_array& ticks) {
  const std::size_t n = length(timestamps);
  const auto starts = column_out(start_ns, "start_ns", n);
  const auto opens = column_out(open, "open", n), highs = column_out(high, "high", n), lows = column_out(low, "low", n);
  const auto closes = column_out(close, "close", n), volumes_out = column_out(volume, "volume", n);
  const auto vwaps = column_out(vwap, "vwap", n);
  const auto counts = column_out(ticks, "ticks", n);
  const std::span<const std::int64_t> times{timestamps.data(), n};
  py::gil_scoped_release unlocked;
  const std::vector<optaro::candle> candles = optaro::ohlc(
      times, view(prices), view(volumes), std::chrono::seconds{window_seconds}, std::chrono::seconds{anchor_seconds});
  for (std::size_t i = 0; i < candles.size(); ++i) {
    starts[i] = candles[i].start_ns;
    opens[i] = candles[i].open;
    highs[i] = candles[i].high;
    lows[i] = candles[i].low;
    closes[i] = candles[i].close;
    volumes_out[i] = candles[i].volume;
    vwaps[i] = candles[i].vwap;
    counts[i] = candles[i].ticks;
  }
  return candles.size();
}

}  // namespace

void register_ohlc(py::module_& m) {
  m.def("ohlc", &ohlc_columns,
        "optaro::ohlc into caller columns of the ticks' length; returns the number of candles written.",
        py::arg("timestamps_ns"), py::arg("prices"), py::arg("volumes"), py::arg("window_seconds"),
        py::arg("anchor_seconds"), py::arg("start_ns").noconvert(), py::arg("open").noconvert(),
        py::arg("high").noconvert(), py::arg("low").noconvert(), py::arg("close").noconvert(),
        py::arg("volume").noconvert(), py::arg("vwap").noconvert(), py::arg("ticks").noconvert());
}

}  // namespace optaro_python

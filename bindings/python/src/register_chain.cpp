// Chain analytics: put-call ratio, max pain and the JSON-in / JSON-out chain enrichment.
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optaro/chain.hpp>
#include <optaro/codec.hpp>

#include "buffers.hpp"
#include "register.hpp"

namespace optaro_python {
namespace {

optaro::forward_method parse_forward(const std::string& name) {
  if (name == "carry") return optaro::forward_method::carry;
  if (name == "parity") return optaro::forward_method::parity;
  throw std::invalid_argument("forward: expected 'carry' or 'parity', got '" + name + "'");
}

// Message bytes (str is encoded to UTF-8 by pybind11) -> an owned string the GIL-free code can read.
std::string message_text(const py::object& message) {
  if (py::isinstance<py::bytes>(message)) return message.cast<std::string>();
  if (py::isinstance<py::str>(message)) return message.cast<std::string>();
  throw std::invalid_argument("message: expected str or bytes");
}

void register_functions(py::module_& m) {
  m.def(
      "pcr", [](const in_array& calls, const in_array& puts) { return optaro::pcr(view(calls), view(puts)); },
      "optaro::pcr: sum of puts / sum of calls, None when the calls sum to 0.", py::arg("call_values"),
      py::arg("put_values"));
  m.def(
      "max_pain",
      [](const in_array& call_strikes, const in_array& call_oi, const in_array& put_strikes, const in_array& put_oi) {
        if (call_strikes.size() != call_oi.size()) throw std::invalid_argument("call_oi: length differs from strikes");
        if (put_strikes.size() != put_oi.size()) throw std::invalid_argument("put_oi: length differs from strikes");
        return optaro::max_pain(view(call_strikes), view(call_oi), view(put_strikes), view(put_oi));
      },
      "optaro::max_pain over the union of both sides' strikes; None for an empty chain.", py::arg("call_strikes"),
      py::arg("call_oi"), py::arg("put_strikes"), py::arg("put_oi"));
  m.def(
      "enrich_chain_json",
      [](const py::object& message, double rate, double dividend_yield, std::int64_t expiry_time_utc_seconds,
         const std::string& forward, int pcr_window, double lot_size, const std::optional<py::object>& previous,
         std::int64_t enriched_at_ns) {
        optaro::chain_config config;
        config.rate = rate;
        config.dividend_yield = dividend_yield;
        config.expiry_time_utc = std::chrono::seconds(expiry_time_utc_seconds);
        config.forward = parse_forward(forward);
        config.pcr_window = pcr_window;
        config.lot_size = lot_size;
        const std::string text = message_text(message);
        std::optional<std::string> previous_text;
        if (previous && !previous->is_none()) previous_text = message_text(*previous);
        optaro::decode_result<std::string> out;
        {
          py::gil_scoped_release unlocked;
          optaro::message_decoder decoder;
          std::optional<optaro::option_chain> previous_chain;
          if (previous_text) {
            auto decoded = decoder.decode_chain(*previous_text);
            if (!decoded) {
              out.error = {"previous." + decoded.error.field, decoded.error.reason};
            } else {
              previous_chain = std::move(decoded.value);
            }
          }
          if (!previous_text || previous_chain) {
            out = optaro::enrich_chain_json(decoder, text, config, enriched_at_ns,
                                            previous_chain ? &*previous_chain : nullptr);
          }
        }
        if (!out) throw std::invalid_argument(out.error.message());
        return py::bytes(*out.value);
      },
      "optaro::enrich_chain_json: a market:option_chain message (str or bytes) to the enriched:option_chain "
      "message (bytes); ValueError naming the field when the message is invalid.",
      py::arg("message"), py::arg("rate"), py::arg("dividend_yield"), py::arg("expiry_time_utc_seconds"),
      py::arg("forward"), py::arg("pcr_window"), py::arg("lot_size"), py::arg("previous"), py::arg("enriched_at_ns"));
}

}  // namespace

void register_chain(py::module_& m) { register_functions(m); }

}  // namespace optaro_python

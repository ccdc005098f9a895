#include <optaro/event_log.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <ostream>
#include <system_error>
#include <type_traits>

#include <optaro/codec.hpp>

namespace optaro {

std::string_view to_string(log_level level) noexcept {
  switch (level) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warning: return "warning";
    case log_level::error: return "error";
  }
  return "unknown";
}

// ---- sinks -----------------------------------------------------------------------------------------

stream_event_sink::stream_event_sink(std::ostream& out) : out_{&out} {}

void stream_event_sink::write(std::string_view json_line) {
  const std::lock_guard lock(mutex_);
  out_->write(json_line.data(), static_cast<std::streamsize>(json_line.size()));
  out_->put('\n');
  out_->flush();
}

void memory_event_sink::write(std::string_view json_line) {
  const std::lock_guard lock(mutex_);
  lines_.emplace_back(json_line);
}

std::vector<std::string> memory_event_sink::lines() const {
  const std::lock_guard lock(mutex_);
  return lines_;
}

void memory_event_sink::clear() {
  const std::lock_guard lock(mutex_);
  lines_.clear();
}

// ---- formatting ------------------------------------------------------------------------------------

void append_json_string(std::string& out, std::string_view s) {
  static constexpr std::string_view hex = "0123456789abcdef";
  out += '"';
  // Copy runs of plain bytes at once; only the few escapes go byte by byte.
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        const std::array<char, 6> u{'\\', 'u', '0', '0', hex[c >> 4U], hex[c & 0xFU]};
        out.append(u.data(), u.size());
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

namespace {

template <class T>
void append_number(std::string& out, T v) {
  std::array<char, 32> buf{};
  const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), res.ptr);
}

void append_value(std::string& out, const log_field& field) {
  std::visit(
      [&out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::nullptr_t>) {
          out += "null";
        } else if constexpr (std::is_same_v<T, std::string_view>) {
          append_json_string(out, v);
        } else if constexpr (std::is_same_v<T, bool>) {
          out += v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          if (std::isfinite(v)) {
            append_number(out, v);
          } else {
            out += "null";
          }
        } else {
          append_number(out, v);
        }
      },
      field.value);
}

}  // namespace

event_logger::event_logger(event_sink* sink, const clock& time, log_level minimum) noexcept
    : sink_{sink}, clock_{&time}, minimum_{minimum} {}

void event_logger::log(log_level level, std::string_view event, std::initializer_list<log_field> fields) const {
  if (!enabled(level)) return;
  const std::string ts = format_timestamp(clock_->now().time_since_epoch().count());
  // A fair guess at the final size, so that a typical line allocates once.
  std::size_t estimate = 48 + ts.size() + event.size();
  for (const log_field& f : fields) {
    estimate += f.key.size() + 8;
    if (const auto* s = std::get_if<std::string_view>(&f.value)) {
      estimate += s->size() + 2;
    } else {
      estimate += 24;
    }
  }
  std::string line;
  line.reserve(estimate);
  line += "{\"ts\":\"";
  line += ts;  // digits, '-', ':', '.', 'T', 'Z': nothing to escape
  line += "\",\"level\":\"";
  line += to_string(level);
  line += "\",\"event\":";
  append_json_string(line, event);
  for (const log_field& f : fields) {
    line += ',';
    append_json_string(line, f.key);
    line += ':';
    append_value(line, f);
  }
  line += '}';
  sink_->write(line);
}

}  // namespace optaro

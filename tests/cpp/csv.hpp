#pragma once
// A small reader of the reference tables in tests/data (comma-separated, one header line, no quoting).
// Numbers are parsed with strtod / strtold, which read "inf" and "nan" too; the 17-digit doubles of the
// files round-trip exactly. Columns are fetched by name, so a file may grow columns without breaking
// the tests that read it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#ifndef OPTARO_TEST_DATA_DIR
#error "OPTARO_TEST_DATA_DIR must name the absolute path of tests/data (set by tests/CMakeLists.txt)"
#endif

namespace optaro_test {

class csv_table {
 public:
  /// Reads tests/data/<name>; throws std::runtime_error when the file is missing or malformed.
  static csv_table read(const std::string& name) {
    const std::string path = std::string(OPTARO_TEST_DATA_DIR) + "/" + name;
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    csv_table t;
    t.name_ = name;
    std::string line;
    if (!std::getline(in, line)) throw std::runtime_error(path + ": empty");
    t.header_ = split(line);
    std::size_t lineno = 1;
    while (std::getline(in, line)) {
      ++lineno;
      if (line.empty() || line == "\r") continue;
      auto cells = split(line);
      if (cells.size() != t.header_.size()) {
        throw std::runtime_error(path + ":" + std::to_string(lineno) + ": " + std::to_string(cells.size()) +
                                 " cells, header has " + std::to_string(t.header_.size()));
      }
      t.cells_.push_back(std::move(cells));
    }
    return t;
  }

  [[nodiscard]] std::size_t rows() const noexcept { return cells_.size(); }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] bool has(std::string_view column) const noexcept { return index_of(column) != npos; }

  /// A column as doubles.
  [[nodiscard]] std::vector<double> col(std::string_view column) const {
    const std::size_t j = checked_index(column);
    std::vector<double> v;
    v.reserve(rows());
    for (const auto& r : cells_) v.push_back(std::strtod(r[j].c_str(), nullptr));
    return v;
  }
  /// A column as long doubles: the 25-digit implied vols keep more than double precision.
  [[nodiscard]] std::vector<long double> col_ld(std::string_view column) const {
    const std::size_t j = checked_index(column);
    std::vector<long double> v;
    v.reserve(rows());
    for (const auto& r : cells_) v.push_back(std::strtold(r[j].c_str(), nullptr));
    return v;
  }
  /// A 0/1 column as the uint8 flags of the batch API.
  [[nodiscard]] std::vector<std::uint8_t> col_flag(std::string_view column) const {
    std::vector<std::uint8_t> v;
    for (double d : col(column)) v.push_back(d != 0 ? std::uint8_t{1} : std::uint8_t{0});
    return v;
  }
  /// A column as text.
  [[nodiscard]] std::vector<std::string> col_str(std::string_view column) const {
    const std::size_t j = checked_index(column);
    std::vector<std::string> v;
    v.reserve(rows());
    for (const auto& r : cells_) v.push_back(r[j]);
    return v;
  }

 private:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  static std::vector<std::string> split(const std::string& line) {
    std::vector<std::string> out;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) {
      if (!cell.empty() && cell.back() == '\r') cell.pop_back();
      out.push_back(cell);
    }
    if (!line.empty() && line.back() == ',') out.emplace_back();
    return out;
  }
  [[nodiscard]] std::size_t index_of(std::string_view column) const noexcept {
    for (std::size_t j = 0; j < header_.size(); ++j) {
      if (header_[j] == column) return j;
    }
    return npos;
  }
  [[nodiscard]] std::size_t checked_index(std::string_view column) const {
    const std::size_t j = index_of(column);
    if (j == npos) throw std::runtime_error(name_ + ": no column '" + std::string(column) + "'");
    return j;
  }

  std::string name_;
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> cells_;
};

}  // namespace optaro_test

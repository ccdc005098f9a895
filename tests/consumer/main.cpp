// A downstream program: prices options with the installed optaro, inverts the prices back to the
// volatility, and checks that what it linked is the package CMake found. Exit status 0 means the
// package works from the outside; every failed check is printed.
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include <optaro/optaro.hpp>

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  std::printf("%s  %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

bool rel_close(double a, double b, double rel) { return std::fabs(a - b) <= rel * std::fabs(b); }

}  // namespace

int main() {
  // The library that was linked, the headers that were included and the package CMake found must
  // all be the same version.
  check(optaro::version() == OPTARO_VERSION_STRING, "optaro::version() matches <optaro/version.hpp>");
  check(optaro::version() == std::string_view{OPTARO_PACKAGE_VERSION},
        "optaro::version() matches the version find_package(optaro) reported");
  std::printf("      linked optaro %.*s, package %s\n", static_cast<int>(optaro::version().size()),
              optaro::version().data(), OPTARO_PACKAGE_VERSION);

  // Price -> implied vol -> price, for a call and a put (S, K, T, r, q, sigma).
  const double S = 100.0, K = 105.0, T = 0.5, r = 0.03, q = 0.01, sigma = 0.25;
  for (const bool is_call : {true, false}) {
    const double price = optaro::bs_price(S, K, T, r, q, sigma, is_call);
    const optaro::iv_result iv = optaro::bs_implied_vol(price, S, K, T, r, q, is_call);
    std::printf("      %s: price %.12f  implied vol %.15f  status %s\n", is_call ? "call" : "put ", price, iv.sigma,
                std::string(optaro::to_string(iv.st)).c_str());
    check(price > 0.0 && std::isfinite(price), "bs_price gives a positive finite price");
    check(iv.st == optaro::status::ok, "bs_implied_vol status is ok");
    check(rel_close(iv.sigma, sigma, 1e-12), "implied vol recovers sigma to 1e-12 relative");
    check(rel_close(optaro::implied_vol(price, S, K, T, r, q, is_call), sigma, 1e-12),
          "implied_vol (scalar convenience) agrees");
    check(rel_close(optaro::bs_price(S, K, T, r, q, iv.sigma, is_call), price, 1e-12),
          "repricing at the implied vol gives the price back");
  }

  // Trader units are an explicit scaling of the raw Greeks.
  const optaro::greeks raw = optaro::bs_greeks(S, K, T, r, q, sigma, true);
  const optaro::greeks trader = optaro::to_trader_units(raw);
  check(rel_close(trader.vega, raw.vega / 100.0, 1e-15) && rel_close(trader.theta, raw.theta / 365.0, 1e-15),
        "to_trader_units: vega per vol point, theta per calendar day");

  // A batch with a T = 0 row: that row gets a status, the others their volatility.
  const std::array<double, 3> price{optaro::bs_price(S, 90.0, T, r, q, sigma, true), 10.0,
                                    optaro::bs_price(S, 110.0, T, r, q, sigma, true)};
  const std::array<double, 3> strike{90.0, 100.0, 110.0};
  const std::array<double, 3> expiry{T, 0.0, T};
  const std::array<double, 1> spot{S}, rate{r}, carry{q};
  const std::array<std::uint8_t, 1> call{1};
  std::array<double, 3> vol{};
  std::array<optaro::status, 3> st{};
  const std::size_t rows = optaro::implied_vol_batch({price, spot, strike, expiry, rate, carry, call}, vol, st);
  check(rows == 3, "implied_vol_batch broadcasts length-1 inputs to 3 rows");
  check(st[0] == optaro::status::ok && st[2] == optaro::status::ok && rel_close(vol[0], sigma, 1e-12) &&
            rel_close(vol[2], sigma, 1e-12),
        "implied_vol_batch: good rows recover sigma");
  check(st[1] == optaro::status::invalid_input && std::isnan(vol[1]),
        "implied_vol_batch: the T = 0 row is invalid_input with NaN, and fails nothing else");

  std::printf("%s: %d failure(s)\n", failures == 0 ? "PASS" : "FAIL", failures);
  return failures == 0 ? 0 : 1;
}

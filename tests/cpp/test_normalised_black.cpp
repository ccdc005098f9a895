// The normalised Black function against 60-digit references (tests/refgen/gen_normalised_black.py),
// scored against what double precision allows: |b^ - b| / b <= 4 eps (1 + kappa_x + kappa_s), with
// kappa the relative condition numbers of b in x and s. A textbook Phi-difference fails this by up to
// 1e6 far out of the money; so would any region of the implementation that cancels.
#include <cmath>
#include <cstdio>
#include <limits>
#include <numbers>

#include <gtest/gtest.h>

#include <optaro/pricing.hpp>

#include "csv.hpp"
#include "normal.hpp"

namespace {

constexpr double eps = std::numeric_limits<double>::epsilon();

TEST(NormalisedBlack, WithinFourTimesItsConditioning) {
  const auto t = optaro_test::csv_table::read("normalised_black_ref.csv");
  const auto x = t.col("x"), s = t.col("s"), b = t.col("b"), kx = t.col("kappa_x"), ks = t.col("kappa_s");
  const auto call = t.col_flag("is_call");
  ASSERT_GT(t.rows(), 3000u);
  int failures = 0;
  double worst = 0;
  for (std::size_t i = 0; i < t.rows(); ++i) {
    const double got = optaro::normalised_black(x[i], s[i], call[i] != 0);
    const double ratio = std::fabs(got - b[i]) / b[i] / (eps * (1 + kx[i] + ks[i]));
    worst = std::fmax(worst, ratio);
    if (!(ratio <= 4)) {
      if (++failures <= 10) {
        ADD_FAILURE() << "x=" << x[i] << " s=" << s[i] << " call=" << int(call[i]) << " got " << got << " want " << b[i]
                      << " (" << ratio << "x the attainable error)";
      }
    }
  }
  EXPECT_EQ(failures, 0);
  std::printf("normalised_black: worst %.2fx of eps*(1+kappa_x+kappa_s) over %zu rows\n", worst, t.rows());
}

TEST(NormalisedBlack, SymmetriesHoldExactly) {
  // b(x, s, put) = b(-x, s, call) by construction; parity b_call - b_put = e^{x/2} - e^{-x/2}.
  for (double x : {-3.0, -0.2, 0.0, 0.7, 5.0}) {
    for (double s : {1e-3, 0.3, 2.0, 9.0}) {
      EXPECT_EQ(optaro::normalised_black(x, s, false), optaro::normalised_black(-x, s, true));
      const double parity = optaro::normalised_black(x, s, true) - optaro::normalised_black(x, s, false);
      EXPECT_NEAR(parity, 2 * std::sinh(0.5 * x), 4 * eps * std::cosh(0.5 * x) * (1 + std::fabs(x)));
    }
  }
}

TEST(NormalisedBlack, LimitsAndBadInput) {
  EXPECT_EQ(optaro::normalised_black(-1.0, 0.0, true), 0.0);                       // no time value, out of the money
  EXPECT_DOUBLE_EQ(optaro::normalised_black(1.0, 0.0, true), 2 * std::sinh(0.5));  // intrinsic
  EXPECT_DOUBLE_EQ(optaro::normalised_black(-1.0, std::numeric_limits<double>::infinity(), true),
                   std::exp(-0.5));  // the maximum e^{-|x|/2}
  EXPECT_TRUE(std::isnan(optaro::normalised_black(std::nan(""), 1.0, true)));
  EXPECT_TRUE(std::isnan(optaro::normalised_black(0.1, -1.0, true)));
}

TEST(Erfcx, AgreesWithExpTimesErfcWhereThatIsExact) {
  // Where exp(x^2) erfc(x) loses nothing (small |x|), the two agree to a few ulps; far out, erfcx keeps
  // the asymptote 1/(x sqrt(pi)) to full precision.
  for (double x : {-3.0, -1.0, -0.3, 0.0, 0.2, 0.46875, 0.5, 1.0, 2.0, 3.9, 4.0, 4.1}) {
    const double direct = std::exp(x * x) * std::erfc(x);
    EXPECT_NEAR(optaro::detail::erfcx(x), direct, 32 * eps * direct) << x;
  }
  const double big = 1e8;
  EXPECT_NEAR(optaro::detail::erfcx(big), 1 / (big * std::sqrt(std::numbers::pi)),
              2 * eps / (big * std::sqrt(std::numbers::pi)));
}

}  // namespace

// Retry schedules (src/retry.cpp): the original system's default schedule exactly, the bounds of each
// jitter over many seeds, determinism for a seed, caps, and argument checks.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <optaro/retry.hpp>

namespace {

using namespace std::chrono_literals;
using optaro::retry_jitter;
using optaro::retry_policy;
using std::chrono::nanoseconds;

constexpr int seeds = 2000;

retry_policy with_jitter(retry_jitter jitter) {
  retry_policy policy;
  policy.max_retries = 8;  // long enough to reach the 60 s cap: 5, 10, 20, 40, 60, 60, ...
  policy.jitter = jitter;
  return policy;
}

// The un-jittered backoff of retry n under the default growth and cap.
nanoseconds default_backoff(int retry) {
  nanoseconds d = 5s;
  for (int i = 1; i < retry; ++i) d = std::min<nanoseconds>(d * 2, 60s);
  return d;
}

TEST(RetryPolicy, DefaultScheduleIsTheOriginalSystems) {
  const retry_policy policy;
  EXPECT_EQ(policy.max_retries, 3);
  EXPECT_EQ(policy.jitter, retry_jitter::none);
  EXPECT_EQ(policy.delays(), (std::vector<nanoseconds>{5s, 10s, 20s}));
}

TEST(RetryPolicy, NoJitterIsCappedAtMaxDelay) {
  const auto schedule = with_jitter(retry_jitter::none).delays();
  EXPECT_EQ(schedule, (std::vector<nanoseconds>{5s, 10s, 20s, 40s, 60s, 60s, 60s, 60s}));
  // A retry number far beyond the schedule neither overflows nor exceeds the cap.
  std::mt19937_64 random{1};
  EXPECT_EQ(retry_policy{}.delay(10'000, random), 60s);
  retry_policy huge_cap;
  huge_cap.max_delay = nanoseconds::max();
  EXPECT_EQ(huge_cap.delay(10'000, random), nanoseconds::max());
}

TEST(RetryPolicy, NonIntegerMultiplier) {
  retry_policy policy;
  policy.base_delay = 100ms;
  policy.multiplier = 1.5;
  policy.max_delay = 1s;
  policy.max_retries = 7;
  EXPECT_EQ(policy.delays(), (std::vector<nanoseconds>{100ms, 150ms, 225ms, 337500us, 506250us, 759375us, 1s}));
}

TEST(RetryPolicy, FullJitterIsWithinZeroAndTheBackoff) {
  const auto policy = with_jitter(retry_jitter::full);
  nanoseconds smallest_first = 5s;
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    const auto schedule = policy.delays(seed);
    ASSERT_EQ(schedule.size(), 8U);
    for (int n = 1; n <= 8; ++n) {
      const nanoseconds d = schedule[static_cast<std::size_t>(n - 1)];
      EXPECT_GE(d, 0ns) << "seed " << seed << " retry " << n;
      EXPECT_LE(d, default_backoff(n)) << "seed " << seed << " retry " << n;
    }
    smallest_first = std::min(smallest_first, schedule[0]);
  }
  // Uniform over [0, 5 s]: 2000 draws reach well into the lower half.
  EXPECT_LT(smallest_first, 100ms);
}

TEST(RetryPolicy, EqualJitterIsWithinHalfAndAllOfTheBackoff) {
  const auto policy = with_jitter(retry_jitter::equal);
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    const auto schedule = policy.delays(seed);
    for (int n = 1; n <= 8; ++n) {
      const nanoseconds d = schedule[static_cast<std::size_t>(n - 1)];
      EXPECT_GE(d, default_backoff(n) / 2) << "seed " << seed << " retry " << n;
      EXPECT_LE(d, default_backoff(n)) << "seed " << seed << " retry " << n;
    }
  }
}

TEST(RetryPolicy, DecorrelatedJitterIsWithinBaseAndThreeTimesThePrevious) {
  const auto policy = with_jitter(retry_jitter::decorrelated);
  bool reached_cap = false;
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    const auto schedule = policy.delays(seed);
    nanoseconds previous = policy.base_delay;  // the first retry draws from [base, 3 base]
    for (const nanoseconds d : schedule) {
      EXPECT_GE(d, policy.base_delay) << "seed " << seed;
      EXPECT_LE(d, std::min<nanoseconds>(policy.max_delay, 3 * previous)) << "seed " << seed;
      reached_cap = reached_cap || d == policy.max_delay;
      previous = d;
    }
  }
  EXPECT_TRUE(reached_cap);
  // delay() on its own: a zero previous delay counts as base.
  std::mt19937_64 random{7};
  for (int i = 0; i < seeds; ++i) {
    const nanoseconds d = policy.delay(1, random);
    EXPECT_GE(d, 5s);
    EXPECT_LE(d, 15s);
  }
}

TEST(RetryPolicy, SameSeedSameScheduleAndSeedsDiffer) {
  for (const retry_jitter jitter : {retry_jitter::full, retry_jitter::equal, retry_jitter::decorrelated}) {
    const auto policy = with_jitter(jitter);
    EXPECT_EQ(policy.delays(42), policy.delays(42)) << to_string(jitter);
    EXPECT_NE(policy.delays(42), policy.delays(43)) << to_string(jitter);
    // delays(generator) draws the same numbers as delays(seed).
    std::mt19937_64 random{42};
    EXPECT_EQ(policy.delays(random), policy.delays(42)) << to_string(jitter);
  }
}

TEST(RetryPolicy, FixedSeedGivesAFixedScheduleOnEveryPlatform) {
  // Values from the mt19937_64 output sequence (fixed by the standard) and IEEE arithmetic only: a
  // change here means the formula or the bit-to-fraction mapping changed.
  std::mt19937_64 random{2025};
  const std::uint64_t first_draw = random();
  const double fraction = static_cast<double>(first_draw >> 11) * 0x1.0p-53;
  const auto expected = nanoseconds{std::llround(fraction * 5e9)};
  EXPECT_EQ(with_jitter(retry_jitter::full).delays(2025)[0], expected);
}

TEST(RetryPolicy, ZeroRetriesIsAnEmptySchedule) {
  retry_policy policy;
  policy.max_retries = 0;
  EXPECT_TRUE(policy.delays().empty());
}

TEST(RetryPolicy, JitterNamesRoundTrip) {
  for (const retry_jitter jitter :
       {retry_jitter::none, retry_jitter::full, retry_jitter::equal, retry_jitter::decorrelated}) {
    EXPECT_EQ(optaro::parse_retry_jitter(to_string(jitter)), jitter);
  }
  EXPECT_THROW((void)optaro::parse_retry_jitter("Full"), std::invalid_argument);
}

void expect_invalid(const retry_policy& policy, const char* field) {
  try {
    policy.validate();
    ADD_FAILURE() << "no exception for a bad " << field;
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find(field), std::string::npos) << error.what();
  }
  EXPECT_THROW((void)policy.delays(), std::invalid_argument);
}

TEST(RetryPolicy, ValidationNamesTheField) {
  retry_policy p;
  p.max_retries = -1;
  expect_invalid(p, "max_retries");
  p = {};
  p.base_delay = -1ns;
  expect_invalid(p, "base_delay");
  p = {};
  p.multiplier = 0.5;
  expect_invalid(p, "multiplier");
  p.multiplier = std::numeric_limits<double>::quiet_NaN();
  expect_invalid(p, "multiplier");
  p.multiplier = std::numeric_limits<double>::infinity();
  expect_invalid(p, "multiplier");
  p = {};
  p.max_delay = 1s;
  expect_invalid(p, "max_delay");
  p = {};
  p.jitter = static_cast<retry_jitter>(9);
  expect_invalid(p, "jitter");

  std::mt19937_64 random{1};
  EXPECT_THROW((void)retry_policy{}.delay(0, random), std::invalid_argument);
}

}  // namespace

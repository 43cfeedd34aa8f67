#include "hdeploy/bench/statistics.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace hdeploy::bench {
namespace {

// Uniform in (0, 1) from the top 53 bits: the same stream on every standard library.
class Uniform {
 public:
  explicit Uniform(std::uint64_t seed) : engine_(seed) {}
  double operator()() { return (static_cast<double>(engine_() >> 11) + 0.5) * 0x1.0p-53; }
  double exponential(double mean) { return -mean * std::log((*this)()); }

 private:
  std::mt19937_64 engine_;
};

std::vector<double> exponential_samples(Uniform& uniform, std::size_t n, double mean) {
  std::vector<double> samples(n);
  for (double& x : samples) x = uniform.exponential(mean);
  return samples;
}

// The Binomial(n, q) probabilities, each from log Γ (slow and obvious).
std::vector<double> binomial_pmf(std::size_t n, double q) {
  std::vector<double> pmf(n + 1);
  const auto nd = static_cast<double>(n);
  for (std::size_t k = 0; k <= n; ++k) {
    const auto kd = static_cast<double>(k);
    pmf[k] = std::exp(std::lgamma(nd + 1.0) - std::lgamma(kd + 1.0) - std::lgamma(nd - kd + 1.0) +
                      kd * std::log(q) + (nd - kd) * std::log1p(-q));
  }
  return pmf;
}

// P(l < B <= u), summed term by term.
double coverage_of(const std::vector<double>& pmf, std::size_t l, std::size_t u) {
  double sum = 0.0;
  for (std::size_t k = l + 1; k <= u; ++k) sum += pmf[k];
  return sum;
}

TEST(PercentileOfSorted, InterpolatesLikeNumpy) {
  const std::vector<double> x{1.0, 2.0, 3.0, 4.0};
  EXPECT_DOUBLE_EQ(percentile_of_sorted(x, 50.0), 2.5);
  EXPECT_DOUBLE_EQ(percentile_of_sorted(x, 25.0), 1.75);
  EXPECT_DOUBLE_EQ(percentile_of_sorted(x, 90.0), 3.7);
  EXPECT_EQ(percentile_of_sorted(x, 0.0), 1.0);
  EXPECT_EQ(percentile_of_sorted(x, 100.0), 4.0);
  const std::vector<double> two{0.0, 10.0};
  EXPECT_EQ(percentile_of_sorted(two, 75.0), 7.5);
  EXPECT_EQ(percentile_of_sorted(two, 99.9), 9.990000000000002);  // as numpy: 10 - 10 * 0.001
  const std::vector<double> one{5.0};
  EXPECT_EQ(percentile_of_sorted(one, 0.0), 5.0);
  EXPECT_EQ(percentile_of_sorted(one, 99.9), 5.0);
  const std::vector<double> equal(7, 2.5);
  EXPECT_EQ(percentile_of_sorted(equal, 33.0), 2.5);
}

TEST(MinSamples, LoadGenEarlyStoppingMinimums) {
  EXPECT_EQ(min_samples_for_percentile(50.0), 11u);
  EXPECT_EQ(min_samples_for_percentile(90.0), 64u);
  EXPECT_EQ(min_samples_for_percentile(95.0), 130u);
  EXPECT_EQ(min_samples_for_percentile(99.0), 662u);
  EXPECT_EQ(min_samples_for_percentile(99.9), 6636u);
  EXPECT_EQ(min_samples_for_percentile(99.99), 66381u);
  EXPECT_EQ(min_samples_for_percentile(1e-9), 2u);
  EXPECT_EQ(min_samples_for_percentile(0.0), 2u);
  EXPECT_EQ(min_samples_for_percentile(100.0), std::numeric_limits<std::size_t>::max());
  EXPECT_EQ(min_samples_for_percentile(std::nan("")), std::numeric_limits<std::size_t>::max());
}

TEST(MinSamples, IsTheLeastPassingCountAndGrowsWithThePercentile) {
  std::size_t previous = 0;
  for (int half_percent = 2; half_percent < 200; ++half_percent) {
    const double p = 0.5 * half_percent;
    const std::size_t n = min_samples_for_percentile(p);
    EXPECT_GE(n, previous) << p;
    previous = n;
    // P(at most one of n samples above the percentile) < 0.01, not so for n - 1.
    const double q = p / 100.0;
    const auto pass_odds = [&](double m) {
      return std::pow(q, m) + m * std::pow(q, m - 1) * (1 - q);
    };
    EXPECT_LT(pass_odds(static_cast<double>(n)), 0.01) << p;
    if (n > 2) {
      EXPECT_GE(pass_odds(static_cast<double>(n - 1)), 0.01) << p;
    }
  }
}

TEST(ConfidenceRanks, MedianOfTenIsSecondToNinth) {
  // The textbook interval: X(2)..X(9) (1-based) covers 1 - 2 * 11/1024.
  const OrderStatisticInterval r = percentile_confidence_ranks(10, 50.0, 0.95);
  ASSERT_TRUE(r.exists);
  EXPECT_EQ(r.lower, 1u);
  EXPECT_EQ(r.upper, 8u);
  EXPECT_NEAR(r.achieved_confidence, 1.0 - 22.0 / 1024.0, 1e-15);
}

TEST(ConfidenceRanks, TooFewSamples) {
  EXPECT_FALSE(percentile_confidence_ranks(0, 50.0).exists);
  const OrderStatisticInterval one = percentile_confidence_ranks(1, 50.0);
  EXPECT_FALSE(one.exists);
  EXPECT_EQ(one.achieved_confidence, 0.0);
  const OrderStatisticInterval five = percentile_confidence_ranks(5, 50.0, 0.95);
  EXPECT_FALSE(five.exists);
  EXPECT_NEAR(five.achieved_confidence, 1.0 - 2.0 / 32.0, 1e-15);
  EXPECT_EQ(five.lower, 0u);
  EXPECT_EQ(five.upper, 4u);
  const OrderStatisticInterval six = percentile_confidence_ranks(6, 50.0, 0.95);
  ASSERT_TRUE(six.exists);
  EXPECT_EQ(six.lower, 0u);
  EXPECT_EQ(six.upper, 5u);
  EXPECT_NEAR(six.achieved_confidence, 1.0 - 2.0 / 64.0, 1e-15);
  // p99 with 662 samples: [0, n-1] misses with 0.99^662 + 0.01^662, too much for 99.9 %.
  EXPECT_FALSE(percentile_confidence_ranks(662, 99.0, 0.999).exists);
  EXPECT_FALSE(percentile_confidence_ranks(100, 0.0).exists);
  EXPECT_FALSE(percentile_confidence_ranks(100, 100.0).exists);
}

TEST(ConfidenceRanks, NarrowestAgainstBruteForce) {
  for (const std::size_t n : {2u, 3u, 7u, 11u, 20u, 33u, 64u, 100u, 131u}) {
    for (const double p : {10.0, 50.0, 75.0, 90.0, 95.0, 99.0}) {
      for (const double confidence : {0.8, 0.9, 0.95, 0.99}) {
        const std::vector<double> pmf = binomial_pmf(n, p / 100.0);
        std::size_t best_width = n;  // n means "none"
        for (std::size_t l = 0; l + 1 < n; ++l) {
          for (std::size_t u = l + 1; u < n; ++u) {
            if (coverage_of(pmf, l, u) >= confidence + 1e-12) {
              best_width = std::min(best_width, u - l);
              break;
            }
          }
        }
        const OrderStatisticInterval r = percentile_confidence_ranks(n, p, confidence);
        SCOPED_TRACE(::testing::Message() << "n=" << n << " p=" << p << " c=" << confidence);
        const double full = coverage_of(pmf, 0, n - 1);
        if (full < confidence - 1e-12) {
          EXPECT_FALSE(r.exists);
          EXPECT_NEAR(r.achieved_confidence, full, 1e-12);
          continue;
        }
        ASSERT_TRUE(r.exists);
        const double coverage = coverage_of(pmf, r.lower, r.upper);
        EXPECT_NEAR(r.achieved_confidence, coverage, 1e-12);
        EXPECT_GE(coverage, confidence - 1e-12);
        EXPECT_LE(r.upper - r.lower, best_width);
        // Among the narrowest, the tails are as equal as they can be.
        if (r.upper - r.lower == best_width) {
          const double asymmetry = std::fabs(coverage_of(pmf, 0, r.lower) + pmf[0] -
                                             (1.0 - coverage_of(pmf, 0, r.upper) - pmf[0]));
          for (std::size_t l = 0; l + best_width < n; ++l) {
            const std::size_t u = l + best_width;
            const double below = coverage_of(pmf, 0, l) + pmf[0];
            const double above = 1.0 - coverage_of(pmf, 0, u) - pmf[0];
            if (below + above <= 1.0 - confidence - 1e-12) {
              EXPECT_LE(asymmetry, std::fabs(below - above) + 1e-12) << l;
            }
          }
        }
      }
    }
  }
}

TEST(ConfidenceRanks, MillionSamplesIsFastAndNormalLike) {
  const auto start = std::chrono::steady_clock::now();
  for (const double p : kDefaultPercentiles) {
    const std::size_t n = 1'000'000;
    const OrderStatisticInterval r = percentile_confidence_ranks(n, p, 0.95);
    ASSERT_TRUE(r.exists);
    EXPECT_GE(r.achieved_confidence, 0.95);
    EXPECT_LT(r.achieved_confidence, 0.951);
    // About n q ± 1.96 sqrt(n q (1 - q)), 0-based (B counts samples below).
    const double q = p / 100.0;
    const double sd = std::sqrt(1e6 * q * (1 - q));
    EXPECT_NEAR(static_cast<double>(r.upper - r.lower), 2 * 1.959964 * sd, 3.0) << p;
    EXPECT_NEAR(0.5 * static_cast<double>(r.upper + r.lower), 1e6 * q, 3.0) << p;
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(std::chrono::duration<double>(elapsed).count(), 1.0);
}

TEST(Summarize, Empty) {
  const SampleSummary s = summarize({});
  EXPECT_EQ(s.count, 0u);
  ASSERT_EQ(s.percentiles.size(), kDefaultPercentiles.size());
  for (const PercentileEstimate& e : s.percentiles) {
    EXPECT_FALSE(e.supported);
    EXPECT_EQ(e.why, "not measured: no samples");
  }
}

TEST(Summarize, OneSample) {
  const std::vector<double> x{3.0};
  const SampleSummary s = summarize(x);
  EXPECT_EQ(s.count, 1u);
  EXPECT_EQ(s.min, 3.0);
  EXPECT_EQ(s.mean, 3.0);
  EXPECT_EQ(s.max, 3.0);
  EXPECT_EQ(s.stddev, 0.0);
  EXPECT_EQ(s.cv_percent, 0.0);
  EXPECT_EQ(s.percentiles[0].min_samples, 11u);
  EXPECT_EQ(s.percentiles[0].why, "not measured: needs ≥ 11 samples, have 1");
}

TEST(Summarize, HandChecked) {
  const std::vector<double> x{4.0, 1.0, 3.0, 2.0};
  const std::vector<double> p50{50.0};
  const SampleSummary s = summarize(x, p50);
  EXPECT_EQ(s.mean, 2.5);
  EXPECT_DOUBLE_EQ(s.stddev, std::sqrt(5.0 / 3.0));
  EXPECT_DOUBLE_EQ(s.cv_percent, 100.0 * std::sqrt(5.0 / 3.0) / 2.5);

  // 1..11 shuffled (p50 needs 11): median 6. The narrowest 95 % intervals are X(2)..X(9)
  // and X(3)..X(10) (1-based), equally lopsided; the lower one wins.
  const std::vector<double> eleven{7, 3, 10, 1, 11, 5, 9, 2, 8, 4, 6};
  const SampleSummary t = summarize(eleven, p50);
  ASSERT_TRUE(t.percentiles[0].supported);
  EXPECT_EQ(t.percentiles[0].value, 6.0);
  EXPECT_EQ(t.percentiles[0].ci_low, 2.0);
  EXPECT_EQ(t.percentiles[0].ci_high, 9.0);
  EXPECT_TRUE(t.percentiles[0].why.empty());
  const std::vector<double> ten(eleven.begin(), eleven.end() - 1);
  EXPECT_EQ(summarize(ten, p50).percentiles[0].why, "not measured: needs ≥ 11 samples, have 10");
}

TEST(Summarize, AllEqual) {
  const std::vector<double> x(1000, 2.5);
  const SampleSummary s = summarize(x);
  EXPECT_EQ(s.stddev, 0.0);
  EXPECT_EQ(s.cv_percent, 0.0);
  for (const PercentileEstimate& e : s.percentiles) {
    if (e.percentile == 99.9) {
      EXPECT_FALSE(e.supported);
      EXPECT_EQ(e.why, "not measured: needs ≥ 6636 samples, have 1000");
      continue;
    }
    ASSERT_TRUE(e.supported) << e.percentile;
    EXPECT_EQ(e.value, 2.5);
    EXPECT_EQ(e.ci_low, 2.5);
    EXPECT_EQ(e.ci_high, 2.5);
  }
}

TEST(Summarize, UnsupportedPercentiles) {
  Uniform uniform(1);
  const std::vector<double> x = exponential_samples(uniform, 100, 1.0);
  const SampleSummary s = summarize(x);
  EXPECT_TRUE(s.percentiles[0].supported);  // p50 needs 11
  EXPECT_TRUE(s.percentiles[1].supported);  // p90 needs 64
  EXPECT_FALSE(s.percentiles[2].supported);
  EXPECT_EQ(s.percentiles[2].why, "not measured: needs ≥ 130 samples, have 100");
  EXPECT_EQ(s.percentiles[3].why, "not measured: needs ≥ 662 samples, have 100");

  const std::vector<double> first662(662, 1.0);
  const std::vector<double> p99{99.0};
  const SampleSummary strict = summarize(first662, p99, 0.999);
  EXPECT_FALSE(strict.percentiles[0].supported);
  EXPECT_EQ(strict.percentiles[0].why,
            "not measured: no interval reaches 99.9% confidence with 662 samples");
}

TEST(StudentT, KnownQuantiles) {
  // References from mpmath at 30 digits.
  EXPECT_NEAR(student_t_quantile(0.975, 1), 12.706204736174693, 1e-12 * 12.7);
  EXPECT_NEAR(student_t_quantile(0.975, 10), 2.2281388519862742, 1e-14);
  EXPECT_NEAR(student_t_quantile(0.975, 19), 2.0930240544083093, 1e-14);
  EXPECT_NEAR(student_t_quantile(0.995, 2), 9.9248432009182886, 1e-13);
  EXPECT_NEAR(student_t_quantile(0.95, 30), 1.6972608865939574, 1e-14);
  EXPECT_NEAR(student_t_quantile(0.9, 1000), 1.2823987214609246, 1e-14);
  EXPECT_NEAR(student_t_quantile(0.025, 5), -2.5705818356363155, 1e-14);
  EXPECT_NEAR(student_t_quantile(0.999, 3), 10.214531852407383, 1e-12);
  const double z = 1.9599639845400539;  // the normal quantile
  EXPECT_NEAR(student_t_quantile(0.975, std::numeric_limits<double>::infinity()), z, 1e-15);
  EXPECT_NEAR(student_t_quantile(0.975, 1e12), z + (z * z * z + z) / 4e12, 1e-15);
  EXPECT_EQ(student_t_quantile(0.5, 7), 0.0);
  EXPECT_TRUE(std::isnan(student_t_quantile(0.0, 7)));
  EXPECT_TRUE(std::isnan(student_t_quantile(0.5, 0)));
}

TEST(StudentT, ClosedFormsForOneAndTwoDegrees) {
  for (const double p : {1e-12, 1e-6, 0.01, 0.2, 0.4999, 0.5001, 0.7, 0.99, 1 - 1e-9}) {
    const double cauchy = p > 0.5 ? 1.0 / std::tan(std::numbers::pi * (1.0 - p))
                                  : -1.0 / std::tan(std::numbers::pi * p);
    EXPECT_NEAR(student_t_quantile(p, 1), cauchy, 1e-12 * std::fabs(cauchy)) << p;
    const double two = (2 * p - 1) / std::sqrt(2 * p * (1 - p));
    EXPECT_NEAR(student_t_quantile(p, 2), two, 1e-12 * std::fabs(two)) << p;
    if (1.0 - (1.0 - p) == p) {
      EXPECT_EQ(student_t_quantile(p, 5), -student_t_quantile(1 - p, 5)) << p;
    }
  }
}

TEST(Throughput, HandChecked) {
  // 10 completions per second, evenly spaced, over [0, 10] in 5 batches of 2 s.
  std::vector<double> times;
  times.reserve(100);
  for (int i = 0; i < 100; ++i) times.push_back(0.05 + 0.1 * i);
  const ThroughputEstimate e = throughput_batch_means(times, 0.0, 10.0, 5);
  ASSERT_TRUE(e.ci_valid) << e.why;
  EXPECT_DOUBLE_EQ(e.fps, 10.0);
  EXPECT_DOUBLE_EQ(e.batch_s, 2.0);
  EXPECT_DOUBLE_EQ(e.ci_low, 10.0);
  EXPECT_DOUBLE_EQ(e.ci_high, 10.0);

  // Batches of 3, 1 completions in [0, 2]: rates 3 and 1, mean 2, sd sqrt(2).
  const std::vector<double> uneven{0.1, 0.2, 0.3, 1.5, 7.0};
  const ThroughputEstimate u = throughput_batch_means(uneven, 0.0, 2.0, 2, 0.95);
  ASSERT_TRUE(u.ci_valid);
  EXPECT_DOUBLE_EQ(u.fps, 2.0);
  const double half = 12.706204736174693 * std::sqrt(2.0) / std::sqrt(2.0);
  EXPECT_NEAR(u.ci_low, 2.0 - half, 1e-10);
  EXPECT_NEAR(u.ci_high, 2.0 + half, 1e-10);

  // A completion exactly at the end belongs to the last batch.
  const std::vector<double> at_end{0.5, 1.5, 1.5, 2.0};
  const ThroughputEstimate last = throughput_batch_means(at_end, 0.0, 2.0, 2);
  ASSERT_TRUE(last.ci_valid);
  EXPECT_DOUBLE_EQ(last.fps, 2.0);
  EXPECT_GT(last.ci_high, last.ci_low);  // rates 1 and 3
}

TEST(Throughput, WithoutInterval) {
  const std::vector<double> times{0.5, 1.5, 2.5};
  const ThroughputEstimate few = throughput_batch_means(times, 0.0, 3.0, 2);
  EXPECT_FALSE(few.ci_valid);
  EXPECT_DOUBLE_EQ(few.fps, 1.0);
  EXPECT_EQ(few.why, "not measured: needs ≥ 4 completions for 2 batches, have 3");
  const ThroughputEstimate one = throughput_batch_means(times, 0.0, 3.0, 1);
  EXPECT_FALSE(one.ci_valid);
  EXPECT_EQ(one.why, "not measured: needs ≥ 2 batches, have 1");
  const ThroughputEstimate none = throughput_batch_means(times, 0.0, 3.0, 0);
  EXPECT_FALSE(none.ci_valid);
  EXPECT_DOUBLE_EQ(none.fps, 1.0);
  const ThroughputEstimate empty = throughput_batch_means(times, 2.0, 2.0);
  EXPECT_FALSE(empty.ci_valid);
  EXPECT_EQ(empty.fps, 0.0);
  EXPECT_EQ(empty.why, "not measured: empty window");
}

TEST(HodgesLehmann, HandChecked) {
  const std::vector<double> a{1.0, 2.0, 3.0};
  const std::vector<double> b{2.0, 4.0, 6.0};
  // Differences b - a sorted: -1 0 1 1 2 3 3 4 5; U of b = 7 wins + 1 tie / 2.
  const ShiftEstimate s = hodges_lehmann_shift(a, b);
  EXPECT_EQ(s.shift, 2.0);
  EXPECT_EQ(s.u_statistic, 7.5);
  EXPECT_NEAR(s.p_value, 0.26828588367711736, 1e-12);  // scipy.stats.mannwhitneyu(b, a)
  // Too few pairs for 95 %: the interval is all differences.
  EXPECT_EQ(s.ci_low, -1.0);
  EXPECT_EQ(s.ci_high, 5.0);
  EXPECT_EQ(s.n_a, 3u);
  EXPECT_EQ(s.n_b, 3u);
  EXPECT_FALSE(s.thinned);

  // Even number of differences: the mean of the middle two.
  const std::vector<double> a2{0.0, 1.0};
  const std::vector<double> b2{10.0};
  EXPECT_EQ(hodges_lehmann_shift(a2, b2).shift, 9.5);
}

TEST(HodgesLehmann, EdgeCases) {
  const std::vector<double> some{1.0, 2.0};
  const ShiftEstimate empty = hodges_lehmann_shift({}, some);
  EXPECT_EQ(empty.shift, 0.0);
  EXPECT_EQ(empty.p_value, 1.0);
  EXPECT_EQ(empty.n_a, 0u);
  EXPECT_EQ(empty.n_b, 2u);

  const std::vector<double> same(50, 4.0);
  const ShiftEstimate equal = hodges_lehmann_shift(same, same);
  EXPECT_EQ(equal.shift, 0.0);
  EXPECT_EQ(equal.ci_low, 0.0);
  EXPECT_EQ(equal.ci_high, 0.0);
  EXPECT_EQ(equal.p_value, 1.0);

  // Far apart: every difference positive, tiny p.
  const std::vector<double> low{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  const std::vector<double> high{101, 102, 103, 104, 105, 106, 107, 108, 109, 110};
  const ShiftEstimate apart = hodges_lehmann_shift(low, high);
  EXPECT_EQ(apart.shift, 100.0);
  EXPECT_EQ(apart.u_statistic, 100.0);
  EXPECT_LT(apart.p_value, 1e-3);
  EXPECT_GT(apart.ci_low, 90.0);
  EXPECT_LT(apart.ci_high, 110.0);
}

TEST(HodgesLehmann, ThinsAboveTheLimit) {
  Uniform uniform(5);
  const std::vector<double> a = exponential_samples(uniform, 2100, 1.0);
  std::vector<double> b = exponential_samples(uniform, 2200, 1.0);
  for (double& x : b) x += 0.1;
  const ShiftEstimate s = hodges_lehmann_shift(a, b);
  EXPECT_TRUE(s.thinned);
  EXPECT_EQ(s.n_a, 2100u);
  EXPECT_EQ(s.n_b, 2200u);
  EXPECT_NEAR(s.shift, 0.1, 0.05);
  EXPECT_LT(s.ci_low, s.shift);
  EXPECT_GT(s.ci_high, s.shift);

  // The full estimate, by brute force over all 4.6 million differences.
  std::vector<double> all;
  all.reserve(a.size() * b.size());
  for (const double y : b) {
    for (const double x : a) all.push_back(y - x);
  }
  const std::size_t mid = all.size() / 2;
  std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(mid), all.end());
  const double upper = all[mid];
  const double lower =
      *std::max_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(mid));
  EXPECT_NEAR(s.shift, 0.5 * (lower + upper), 0.1 * (s.ci_high - s.ci_low));
}

// Coverage on simulated data with known truth: each interval must contain it in 94-99 % of
// 2000 repetitions (the nominal 95 % plus the discreteness of order statistics).
constexpr int kRepetitions = 2000;

void expect_coverage(int covered, const char* what) {
  const auto rate = static_cast<double>(covered) / kRepetitions;
  ::testing::Test::RecordProperty(what, std::to_string(rate));  // in --gtest_output=xml
  EXPECT_GE(rate, 0.94) << what;
  EXPECT_LE(rate, 0.99) << what;
}

TEST(Coverage, PercentileIntervalOfExponentialSamples) {
  Uniform uniform(20240611);
  const double true_p90 = std::log(10.0);  // exponential with mean 1
  const double true_p50 = std::log(2.0);
  const std::vector<double> percentiles{50.0, 90.0};
  int covered_p90 = 0;
  int covered_p50 = 0;
  for (int rep = 0; rep < kRepetitions; ++rep) {
    const std::vector<double> x = exponential_samples(uniform, 300, 1.0);
    const SampleSummary s = summarize(x, percentiles);
    ASSERT_TRUE(s.percentiles[0].supported && s.percentiles[1].supported);
    covered_p50 += s.percentiles[0].ci_low <= true_p50 && true_p50 <= s.percentiles[0].ci_high;
    covered_p90 += s.percentiles[1].ci_low <= true_p90 && true_p90 <= s.percentiles[1].ci_high;
  }
  expect_coverage(covered_p90, "p90");
  expect_coverage(covered_p50, "p50");
}

TEST(Coverage, HodgesLehmannIntervalOfShiftedSamples) {
  Uniform uniform(7);
  const double shift = 0.3;
  int covered = 0;
  int rejected = 0;
  for (int rep = 0; rep < kRepetitions; ++rep) {
    const std::vector<double> a = exponential_samples(uniform, 60, 1.0);
    std::vector<double> b = exponential_samples(uniform, 80, 1.0);
    for (double& x : b) x += shift;
    const ShiftEstimate s = hodges_lehmann_shift(a, b);
    covered += s.ci_low <= shift && shift <= s.ci_high;
    rejected += s.p_value < 0.05;
  }
  expect_coverage(covered, "Hodges-Lehmann");
  EXPECT_GT(rejected, kRepetitions / 2);  // the test has power against a 0.3 shift
}

TEST(Coverage, MannWhitneyLevelUnderTheNull) {
  Uniform uniform(8);
  int rejected = 0;
  for (int rep = 0; rep < kRepetitions; ++rep) {
    const std::vector<double> a = exponential_samples(uniform, 40, 1.0);
    const std::vector<double> b = exponential_samples(uniform, 50, 1.0);
    rejected += hodges_lehmann_shift(a, b).p_value < 0.05;
  }
  const auto rate = static_cast<double>(rejected) / kRepetitions;
  EXPECT_GE(rate, 0.01);
  EXPECT_LE(rate, 0.06);
}

TEST(Coverage, BatchMeansOfPoissonProcess) {
  Uniform uniform(9);
  const double rate = 200.0;
  const double duration = 10.0;
  int covered = 0;
  for (int rep = 0; rep < kRepetitions; ++rep) {
    std::vector<double> times;
    double t = uniform.exponential(1.0 / rate);
    while (t < duration) {
      times.push_back(t);
      t += uniform.exponential(1.0 / rate);
    }
    const ThroughputEstimate e = throughput_batch_means(times, 0.0, duration, 20);
    ASSERT_TRUE(e.ci_valid) << e.why;
    covered += e.ci_low <= rate && rate <= e.ci_high;
  }
  expect_coverage(covered, "batch means");
}

TEST(PercentileShift, ShiftedSamples) {
  std::vector<double> a(1000);
  std::iota(a.begin(), a.end(), 1.0);
  std::vector<double> b = a;
  for (double& x : b) x += 5.0;
  const auto shift = percentile_shift(a, b, 50.0);
  ASSERT_TRUE(shift.has_value());
  EXPECT_DOUBLE_EQ(shift->shift, 5.0);
  EXPECT_LT(shift->ci_low, 5.0);
  EXPECT_GT(shift->ci_high, 5.0);
  EXPECT_EQ(shift->confidence, 0.95);
  // Each sample's interval at sqrt(0.95): wider than its own 95 % interval.
  const std::vector<double> p50{50.0};
  const PercentileEstimate own = summarize(a, p50).percentiles[0];
  EXPECT_LE(shift->ci_low, own.ci_low + 5.0 - own.ci_high);

  EXPECT_FALSE(percentile_shift(a, std::vector<double>(100, 1.0), 99.0).has_value());
  EXPECT_FALSE(percentile_shift({}, b, 50.0).has_value());
}

}  // namespace
}  // namespace hdeploy::bench

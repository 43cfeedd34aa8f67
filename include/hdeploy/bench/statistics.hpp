#pragma once
// Statistics of benchmark samples: summaries with distribution-free percentile confidence
// intervals, throughput by batch means, and the two-sample comparison `report` uses
// (Hodges-Lehmann shift with a Mann-Whitney test). Pure functions, no I/O, thread-safe.

#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace hdeploy::bench {

inline constexpr std::array<double, 5> kDefaultPercentiles{50.0, 90.0, 95.0, 99.0, 99.9};
inline constexpr double kDefaultConfidence = 0.95;
// trtexec warns when the coefficient of variation of its timings exceeds this (percent).
inline constexpr double kUnstableCvPercent = 1.0;

// The percentile p (0 < p < 100) of ascending samples, numpy's default ("linear"):
// position (n - 1) * p / 100, interpolated between the two neighbouring order statistics.
// Precondition: sorted is non-empty and ascending.
double percentile_of_sorted(std::span<const double> sorted, double p);

// LoadGen's early-stopping minimum: the fewest samples for which a run with no sample above
// the percentile would already pass its test; 64 for p90, 662 for p99 (as MLPerf LoadGen).
std::size_t min_samples_for_percentile(double p);

// A distribution-free confidence interval for the p-th percentile from n samples: 0-based
// ranks [lower, upper] into the sorted samples such that
// P(X(lower) <= true percentile <= X(upper)) >= confidence under Binomial(n, p/100), as
// narrow and as symmetric as possible. `exists` is false when even [0, n-1] covers less than
// `confidence` (n too small); then achieved_confidence is what [0, n-1] gives.
struct OrderStatisticInterval {
  bool exists = false;
  std::size_t lower = 0;
  std::size_t upper = 0;
  double achieved_confidence = 0.0;
};
OrderStatisticInterval percentile_confidence_ranks(std::size_t n, double p,
                                                   double confidence = kDefaultConfidence);

struct PercentileEstimate {
  double percentile = 0.0;      // e.g. 99.9
  std::size_t min_samples = 0;  // min_samples_for_percentile(percentile)
  bool supported = false;       // count >= min_samples and the interval exists
  double value = 0.0;           // percentile_of_sorted (valid when supported)
  double ci_low = 0.0;          // X(lower) of percentile_confidence_ranks
  double ci_high = 0.0;         // X(upper)
  std::string why;              // when !supported: "not measured: needs ≥ 662 samples, have 100"
};

struct SampleSummary {
  std::size_t count = 0;
  double min = 0.0;
  double mean = 0.0;
  double max = 0.0;
  double stddev = 0.0;      // sample standard deviation (n - 1); 0 for one sample
  double cv_percent = 0.0;  // 100 * stddev / mean (0 when mean is 0)
  double confidence = kDefaultConfidence;
  std::vector<PercentileEstimate> percentiles;
};

// Summary of samples in any order (copied and sorted inside). An empty span gives count 0
// and every percentile unsupported with why "not measured: no samples".
SampleSummary summarize(std::span<const double> samples,
                        std::span<const double> percentiles = kDefaultPercentiles,
                        double confidence = kDefaultConfidence);

// Two-sided Student t quantile: t such that P(T <= t) = p for dof degrees of freedom
// (0 < p < 1, dof >= 1).
double student_t_quantile(double p, double dof);

// Throughput with a confidence interval by batch means: the window [start_s, end_s] is cut
// into `batches` equal batches, each batch's rate is completions in it / its length, and the
// interval is mean ± t(confidence, batches - 1) * sd / sqrt(batches). fps is completions in
// the window / its length. ci_valid is false (and why says so) with fewer than 2 batches or
// fewer than 2 * batches completions; fps is still given.
struct ThroughputEstimate {
  double fps = 0.0;
  double ci_low = 0.0;
  double ci_high = 0.0;
  double confidence = kDefaultConfidence;
  std::size_t batches = 0;
  double batch_s = 0.0;
  bool ci_valid = false;
  std::string why;
};
ThroughputEstimate throughput_batch_means(std::span<const double> completion_times_s,
                                          double start_s, double end_s, std::size_t batches = 20,
                                          double confidence = kDefaultConfidence);

// Two-sample location shift of b relative to a (b - a; positive means b is slower when the
// samples are latencies): the Hodges-Lehmann estimate (median of all pairwise differences),
// its distribution-free confidence interval (Moses: order statistics of the differences at
// the Mann-Whitney critical value, normal approximation with tie correction), and the
// two-sided Mann-Whitney U test's p-value (normal approximation, tie and continuity
// corrected). Above kMaxPairs pairwise differences, each sample is thinned to evenly spaced
// order statistics first (deterministic) and `thinned` says so; the interval then reflects the
// smaller samples (wider, never narrower).
inline constexpr std::size_t kMaxShiftPairs = 4'000'000;
struct ShiftEstimate {
  double shift = 0.0;
  double ci_low = 0.0;
  double ci_high = 0.0;
  double confidence = kDefaultConfidence;
  double p_value = 1.0;
  double u_statistic = 0.0;  // U of sample b
  std::size_t n_a = 0;
  std::size_t n_b = 0;
  bool thinned = false;
};
// Errors are not possible; empty a or b give shift 0, p_value 1 and n_a/n_b 0.
ShiftEstimate hodges_lehmann_shift(std::span<const double> a, std::span<const double> b,
                                   double confidence = kDefaultConfidence);

// The shift of one percentile (b - a) with a conservative distribution-free interval from
// the two samples' own intervals: [b.ci_low - a.ci_high, b.ci_high - a.ci_low]. Each interval
// at sqrt(confidence) so the joint coverage is at least `confidence`. nullopt when either
// sample does not support the percentile.
struct PercentileShift {
  double shift = 0.0;
  double ci_low = 0.0;
  double ci_high = 0.0;
  double confidence = kDefaultConfidence;
};
std::optional<PercentileShift> percentile_shift(std::span<const double> a,
                                                std::span<const double> b, double p,
                                                double confidence = kDefaultConfidence);

}  // namespace hdeploy::bench

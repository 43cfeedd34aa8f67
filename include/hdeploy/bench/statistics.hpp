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

// The percentile p (0 <= p <= 100) of ascending samples, numpy's default ("linear"):
// position (n - 1) * p / 100, interpolated between the two neighbouring order statistics with
// numpy's arithmetic, so the result equals np.percentile bit for bit.
// Precondition: sorted is non-empty and ascending.
double percentile_of_sorted(std::span<const double> sorted, double p);

// LoadGen's early-stopping minimum: the fewest samples for which a run with no sample above
// the percentile would already pass its test; 64 for p90, 662 for p99 (as MLPerf LoadGen).
// That is LoadGen's h_min + 1 (mlcommons/inference loadgen/results.cc, EarlyStopping, with
// MinPassingQueriesFinder of loadgen/early_stopping.cc at t = 1, tolerance 0, confidence
// 0.99): the smallest n with P(Binomial(n, 1 - p/100) <= 1) < 0.01. 11 for p50, 130 for p95,
// 6636 for p99.9. p <= 0 gives 2; p >= 100 (or NaN) gives SIZE_MAX (never supported).
std::size_t min_samples_for_percentile(double p);

// A distribution-free confidence interval for the p-th percentile from n samples: 0-based
// ranks [lower, upper] into the sorted samples such that
// P(X(lower) <= true percentile <= X(upper)) >= confidence under Binomial(n, p/100), as
// narrow and as symmetric as possible. `exists` is false when even [0, n-1] covers less than
// `confidence` (n too small); then achieved_confidence is what [0, n-1] gives (and lower,
// upper are 0, n-1). Among the narrowest intervals the one with the most equal tail
// probabilities wins. Exact binomial probabilities, O(sqrt(n)) time and memory.
// Preconditions: 0 < p < 100 and 0 < confidence < 1, else exists is false.
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
  // When !supported: "not measured: needs ≥ 662 samples, have 100", "not measured: no
  // samples" or "not measured: no interval reaches 99.9% confidence with 662 samples".
  std::string why;
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

// The Student t quantile (inverse CDF, scipy.stats.t.ppf): t such that P(T <= t) = p for
// dof degrees of freedom (0 < p < 1, dof > 0, not necessarily an integer). A two-sided
// interval at confidence c uses student_t_quantile((1 + c) / 2, dof). Relative error below
// 1e-12 (checked against mpmath) for min(p, 1 - p) >= 1e-300; ±inf where |t| exceeds the
// double range (dof < 1 far in the tail); NaN outside the domain.
double student_t_quantile(double p, double dof);

// Throughput with a confidence interval by batch means: the window [start_s, end_s] is cut
// into `batches` equal batches, each batch's rate is completions in it / its length, and the
// interval is mean ± t(confidence, batches - 1) * sd / sqrt(batches), with the two-sided
// t quantile student_t_quantile((1 + confidence) / 2, batches - 1) and the sample sd (n - 1)
// of the batch rates. A completion at time t is in the window when start_s <= t <= end_s,
// in batch min(batches - 1, floor((t - start_s) / batch_s)); times need not be sorted.
// fps is completions in the window / its length. ci_valid is false (and why says so) with
// fewer than 2 batches or fewer than 2 * batches completions; fps is still given (0 with
// why "not measured: empty window" when end_s <= start_s).
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
// corrected; scipy.stats.mannwhitneyu(b, a, method="asymptotic")). The interval is
// [D(k), D(N + 1 - k)] of the N sorted differences (1-based), k = floor(N/2 + 1/2 - z * s_U),
// z the normal quantile at (1 + confidence) / 2 and s_U the tie-corrected sd of U; k is kept
// in [1, (N + 1) / 2]. Above kMaxShiftPairs pairwise differences, each sample is thinned to
// evenly spaced order statistics first (deterministic: the sorted sample's elements
// floor((i + 1/2) * n / n') for i < n'; the smaller sample keeps min(n, 2000) elements, the
// larger kMaxShiftPairs / that) and `thinned` says so; shift and interval then reflect the
// smaller samples (wider, never narrower). The test (u_statistic, p_value) always uses all
// samples: it needs only ranks.
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
// Errors are not possible; empty a or b give shift 0, interval [0, 0], u_statistic 0 and
// p_value 1 (n_a, n_b are always the input sizes). Precondition: 0 < confidence < 1.
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

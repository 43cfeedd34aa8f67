// Estimators from benchmark samples: percentiles with confidence intervals, summaries,
// throughput by batch means, and the two-sample Hodges-Lehmann shift with its Mann-Whitney test.

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "distributions.hpp"
#include "hdeploy/bench/statistics.hpp"

namespace hdeploy::bench {
namespace {

// Neumaier's compensated sum: the mean and variance of a million samples stay within an ulp
// or two of numpy's pairwise sums, whatever their order.
class CompensatedSum {
 public:
  void add(double x) {
    const double t = sum_ + x;
    if (std::fabs(sum_) >= std::fabs(x)) {
      compensation_ += (sum_ - t) + x;
    } else {
      compensation_ += (x - t) + sum_;
    }
    sum_ = t;
  }
  double value() const { return sum_ + compensation_; }

 private:
  double sum_ = 0.0;
  double compensation_ = 0.0;
};

std::string format_confidence(double confidence) {
  return fmt::format("{:g}%", 100.0 * confidence);
}

PercentileEstimate estimate_percentile(std::span<const double> sorted, double p,
                                       double confidence) {
  PercentileEstimate estimate;
  estimate.percentile = p;
  estimate.min_samples = min_samples_for_percentile(p);
  if (!(p > 0.0 && p < 100.0)) {
    estimate.why = fmt::format("not measured: percentile {:g} is not in (0, 100)", p);
    return estimate;
  }
  const std::size_t n = sorted.size();
  if (n == 0) {
    estimate.why = "not measured: no samples";
    return estimate;
  }
  if (n < estimate.min_samples) {
    estimate.why =
        fmt::format("not measured: needs ≥ {} samples, have {}", estimate.min_samples, n);
    return estimate;
  }
  const OrderStatisticInterval ranks = percentile_confidence_ranks(n, p, confidence);
  if (!ranks.exists) {
    estimate.why = fmt::format("not measured: no interval reaches {} confidence with {} samples",
                               format_confidence(confidence), n);
    return estimate;
  }
  estimate.supported = true;
  estimate.value = percentile_of_sorted(sorted, p);
  estimate.ci_low = sorted[ranks.lower];
  estimate.ci_high = sorted[ranks.upper];
  return estimate;
}

std::vector<double> sorted_copy(std::span<const double> values) {
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  return sorted;
}

// Rank statistics of two sorted samples pooled: the sum of the (average) ranks of `second`
// and the tie term sum(t³ - t) over groups of equal values.
struct PooledRanks {
  double rank_sum_second = 0.0;
  double tie_term = 0.0;
};
PooledRanks pooled_ranks(std::span<const double> first, std::span<const double> second) {
  PooledRanks out;
  std::size_t i = 0;
  std::size_t j = 0;
  double rank_before = 0.0;  // ranks are 1-based: a group of t after r values has ranks r+1..r+t
  while (i < first.size() || j < second.size()) {
    double value = 0.0;
    if (j == second.size() || (i < first.size() && first[i] <= second[j])) {
      value = first[i];
    } else {
      value = second[j];
    }
    std::size_t in_first = 0;
    std::size_t in_second = 0;
    while (i < first.size() && first[i] == value) {
      ++i;
      ++in_first;
    }
    while (j < second.size() && second[j] == value) {
      ++j;
      ++in_second;
    }
    const auto group = static_cast<double>(in_first + in_second);
    out.rank_sum_second += static_cast<double>(in_second) * (rank_before + 0.5 * (group + 1.0));
    out.tie_term += group * group * group - group;
    rank_before += group;
  }
  return out;
}

// The standard deviation of the Mann-Whitney U under the null hypothesis, tie corrected.
double mann_whitney_sd(double n1, double n2, double tie_term) {
  const double n = n1 + n2;
  const double variance = n1 * n2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
  return variance > 0.0 ? std::sqrt(variance) : 0.0;
}

// `count` evenly spaced order statistics of a sorted sample: elements floor((i + 1/2) n / count).
std::vector<double> thin_sorted(std::span<const double> sorted, std::size_t count) {
  std::vector<double> thinned(count);
  const std::uint64_t n = sorted.size();
  for (std::size_t i = 0; i < count; ++i) {
    thinned[i] = sorted[(2 * static_cast<std::uint64_t>(i) + 1) * n / (2 * count)];
  }
  return thinned;
}

}  // namespace

double percentile_of_sorted(std::span<const double> sorted, double p) {
  // numpy 1.24 np.percentile(method="linear"): q = p / 100, index = (n - 1) * q, and _lerp,
  // which interpolates from the nearer neighbour.
  const std::size_t n = sorted.size();
  const double q = p / 100.0;
  const auto index = static_cast<double>(n - 1) * q;
  if (!(index < static_cast<double>(n - 1))) return sorted[n - 1];
  if (index < 0.0) return sorted[0];
  const double below = std::floor(index);
  const double gamma = index - below;
  const auto i = static_cast<std::size_t>(below);
  const double a = sorted[i];
  const double b = sorted[i + 1];
  const double diff = b - a;
  return gamma >= 0.5 ? b - diff * (1.0 - gamma) : a + diff * gamma;
}

SampleSummary summarize(std::span<const double> samples, std::span<const double> percentiles,
                        double confidence) {
  SampleSummary summary;
  summary.confidence = confidence;
  const std::vector<double> sorted = sorted_copy(samples);
  summary.count = sorted.size();
  summary.percentiles.reserve(percentiles.size());
  for (const double p : percentiles) {
    summary.percentiles.push_back(estimate_percentile(sorted, p, confidence));
  }
  if (sorted.empty()) return summary;
  const auto n = static_cast<double>(sorted.size());
  summary.min = sorted.front();
  summary.max = sorted.back();
  CompensatedSum sum;
  for (const double x : samples) sum.add(x);
  summary.mean = sum.value() / n;
  if (sorted.size() > 1) {
    CompensatedSum squares;
    for (const double x : samples) squares.add((x - summary.mean) * (x - summary.mean));
    summary.stddev = std::sqrt(squares.value() / (n - 1.0));
  }
  summary.cv_percent = summary.mean != 0.0 ? 100.0 * summary.stddev / summary.mean : 0.0;
  return summary;
}

ThroughputEstimate throughput_batch_means(std::span<const double> completion_times_s,
                                          double start_s, double end_s, std::size_t batches,
                                          double confidence) {
  ThroughputEstimate out;
  out.confidence = confidence;
  out.batches = batches;
  const double window = end_s - start_s;
  if (!(window > 0.0)) {
    out.why = "not measured: empty window";
    return out;
  }
  out.batch_s = batches > 0 ? window / static_cast<double>(batches) : 0.0;
  std::vector<std::size_t> counts(batches, 0);
  std::size_t completions = 0;
  for (const double t : completion_times_s) {
    if (!(t >= start_s && t <= end_s)) continue;
    ++completions;
    if (batches == 0) continue;
    const double position = std::floor((t - start_s) / out.batch_s);
    const auto batch =
        position < static_cast<double>(batches) ? static_cast<std::size_t>(position) : batches - 1;
    ++counts[batch];
  }
  out.fps = static_cast<double>(completions) / window;
  if (batches < 2) {
    out.why = fmt::format("not measured: needs ≥ 2 batches, have {}", batches);
    return out;
  }
  if (completions < 2 * batches) {
    out.why = fmt::format("not measured: needs ≥ {} completions for {} batches, have {}",
                          2 * batches, batches, completions);
    return out;
  }
  const auto k = static_cast<double>(batches);
  CompensatedSum sum;
  for (const std::size_t c : counts) sum.add(static_cast<double>(c) / out.batch_s);
  const double mean = sum.value() / k;
  CompensatedSum squares;
  for (const std::size_t c : counts) {
    const auto deviation = static_cast<double>(c) / out.batch_s - mean;
    squares.add(deviation * deviation);
  }
  const double sd = std::sqrt(squares.value() / (k - 1.0));
  const double half_width =
      student_t_quantile(0.5 * (1.0 + confidence), k - 1.0) * sd / std::sqrt(k);
  out.ci_low = mean - half_width;
  out.ci_high = mean + half_width;
  out.ci_valid = true;
  return out;
}

ShiftEstimate hodges_lehmann_shift(std::span<const double> a, std::span<const double> b,
                                   double confidence) {
  ShiftEstimate out;
  out.confidence = confidence;
  out.n_a = a.size();
  out.n_b = b.size();
  if (a.empty() || b.empty()) return out;
  const std::vector<double> sorted_a = sorted_copy(a);
  const std::vector<double> sorted_b = sorted_copy(b);

  // Mann-Whitney U of b on all samples, as scipy.stats.mannwhitneyu(b, a): U_b = R_b -
  // n_b (n_b + 1) / 2, two-sided p = 2 P(Z > (max(U_b, U_a) - n_a n_b / 2 - 1/2) / s_U).
  const auto na = static_cast<double>(a.size());
  const auto nb = static_cast<double>(b.size());
  const PooledRanks ranks = pooled_ranks(sorted_a, sorted_b);
  out.u_statistic = ranks.rank_sum_second - nb * (nb + 1.0) / 2.0;
  const double u_max = std::max(out.u_statistic, na * nb - out.u_statistic);
  const double sd = mann_whitney_sd(nb, na, ranks.tie_term);
  out.p_value =
      sd > 0.0 ? std::min(1.0, 2.0 * normal_upper_tail((u_max - na * nb / 2.0 - 0.5) / sd)) : 1.0;

  // Thin to at most kMaxShiftPairs differences, keeping the two samples as balanced as
  // possible (the estimate's variance goes with 1/n_a + 1/n_b).
  std::span<const double> use_a = sorted_a;
  std::span<const double> use_b = sorted_b;
  std::vector<double> thinned_a;
  std::vector<double> thinned_b;
  if (a.size() > kMaxShiftPairs / b.size()) {
    const auto balanced = static_cast<std::size_t>(std::sqrt(static_cast<double>(kMaxShiftPairs)));
    const std::size_t smaller = std::min(std::min(a.size(), b.size()), balanced);
    const std::size_t larger = kMaxShiftPairs / smaller;
    const bool a_smaller = a.size() <= b.size();
    thinned_a = thin_sorted(sorted_a, std::min(a.size(), a_smaller ? smaller : larger));
    thinned_b = thin_sorted(sorted_b, std::min(b.size(), a_smaller ? larger : smaller));
    use_a = thinned_a;
    use_b = thinned_b;
    out.thinned = true;
  }

  const std::size_t pairs = use_a.size() * use_b.size();
  std::vector<double> differences(pairs);
  std::size_t next = 0;
  for (const double y : use_b) {
    for (const double x : use_a) differences[next++] = y - x;
  }
  // Moses: k = floor(N/2 + 1/2 - z s_U), from the continuity-corrected normal approximation
  // of P(U <= k - 1) <= (1 - confidence) / 2.
  const auto n_pairs = static_cast<double>(pairs);
  const double used_sd = out.thinned ? mann_whitney_sd(static_cast<double>(use_b.size()),
                                                       static_cast<double>(use_a.size()),
                                                       pooled_ranks(use_a, use_b).tie_term)
                                     : sd;
  const double z = normal_quantile(0.5 * (1.0 + confidence));
  const double k_real = std::floor(n_pairs / 2.0 + 0.5 - z * used_sd);
  const std::size_t k_max = (pairs + 1) / 2;
  const std::size_t k =
      k_real < 1.0 ? 1 : std::min(k_max, static_cast<std::size_t>(std::min(k_real, n_pairs)));

  // Order statistics by selection: the median first, then each bound within its half.
  const auto begin = differences.begin();
  const std::size_t mid = pairs / 2;
  std::nth_element(begin, begin + static_cast<std::ptrdiff_t>(mid), differences.end());
  const double upper_median = differences[mid];
  const auto select = [&](std::size_t index) {
    if (index == mid) return upper_median;
    if (index < mid) {
      std::nth_element(begin, begin + static_cast<std::ptrdiff_t>(index),
                       begin + static_cast<std::ptrdiff_t>(mid));
    } else {
      std::nth_element(begin + static_cast<std::ptrdiff_t>(mid) + 1,
                       begin + static_cast<std::ptrdiff_t>(index), differences.end());
    }
    return differences[index];
  };
  if (pairs % 2 == 0) {
    const double lower_median = *std::max_element(begin, begin + static_cast<std::ptrdiff_t>(mid));
    out.shift = (lower_median + upper_median) / 2.0;
  } else {
    out.shift = upper_median;
  }
  out.ci_low = select(k - 1);
  out.ci_high = select(pairs - k);
  return out;
}

std::optional<PercentileShift> percentile_shift(std::span<const double> a,
                                                std::span<const double> b, double p,
                                                double confidence) {
  const double each = std::sqrt(confidence);
  const PercentileEstimate in_a = estimate_percentile(sorted_copy(a), p, each);
  if (!in_a.supported) return std::nullopt;
  const PercentileEstimate in_b = estimate_percentile(sorted_copy(b), p, each);
  if (!in_b.supported) return std::nullopt;
  PercentileShift shift;
  shift.shift = in_b.value - in_a.value;
  shift.ci_low = in_b.ci_low - in_a.ci_high;
  shift.ci_high = in_b.ci_high - in_a.ci_low;
  shift.confidence = confidence;
  return shift;
}

}  // namespace hdeploy::bench

// Comparing a run with the baseline from the frames columns.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <type_traits>

#include "format.hpp"
#include "hdeploy/report/report.hpp"

namespace hdeploy::report {

namespace {

double median_of(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  return bench::percentile_of_sorted(samples, 50.0);
}

double percentile_of(std::vector<double> samples, double p) {
  std::sort(samples.begin(), samples.end());
  return bench::percentile_of_sorted(samples, p);
}

void judge(MetricChange& m, double threshold_percent) {
  m.change_percent = m.baseline != 0.0 ? 100.0 * m.change / m.baseline : 0.0;
  m.worse = m.lower_is_better ? m.change > 0.0 : m.change < 0.0;
  m.significant = m.ci_low > 0.0 || m.ci_high < 0.0;
  const double worse_percent = m.lower_is_better ? m.change_percent : -m.change_percent;
  m.regression = m.significant && m.worse && worse_percent > threshold_percent;
}

MetricChange median_shift(const std::vector<double>& a, const std::vector<double>& b,
                          double confidence, double threshold) {
  MetricChange m;
  m.metric = "median end-to-end latency";
  m.unit = "ms";
  m.confidence = confidence;
  m.method = "Hodges-Lehmann shift with Moses interval; two-sided Mann-Whitney U test";
  if (a.empty() || b.empty()) {
    m.why = "not measured: a run has no measured frames";
    return m;
  }
  const bench::ShiftEstimate s = bench::hodges_lehmann_shift(a, b, confidence);
  m.measured = true;
  m.baseline = median_of(a);
  m.candidate = median_of(b);
  m.change = s.shift;
  m.ci_low = s.ci_low;
  m.ci_high = s.ci_high;
  m.p_value = s.p_value;
  if (s.thinned) m.method += " (samples thinned to evenly spaced order statistics)";
  judge(m, threshold);
  return m;
}

MetricChange p99_shift(const std::vector<double>& a, const std::vector<double>& b,
                       double confidence, double threshold) {
  MetricChange m;
  m.metric = "p99 end-to-end latency";
  m.unit = "ms";
  m.confidence = confidence;
  m.method = "difference of the order-statistic intervals, each at sqrt(confidence)";
  const std::optional<bench::PercentileShift> s =
      a.empty() || b.empty() ? std::nullopt : bench::percentile_shift(a, b, 99.0, confidence);
  if (!s) {
    m.why = fmt::format("not measured: p99 needs ≥ {} measured frames in each run (have {} and {})",
                        bench::min_samples_for_percentile(99.0), a.size(), b.size());
    return m;
  }
  m.measured = true;
  m.baseline = percentile_of(a, 99.0);
  m.candidate = percentile_of(b, 99.0);
  m.change = s->shift;
  m.ci_low = s->ci_low;
  m.ci_high = s->ci_high;
  judge(m, threshold);
  return m;
}

MetricChange throughput_change(const FrameColumns& a, const FrameColumns& b, double confidence,
                               double threshold) {
  MetricChange m;
  m.metric = "throughput";
  m.unit = "FPS";
  m.lower_is_better = false;
  m.confidence = confidence;
  m.method =
      "batch means (20 batches) per run; change interval from both intervals at "
      "sqrt(confidence)";
  const bench::ThroughputEstimate ta = frame_throughput(a, confidence);
  const bench::ThroughputEstimate tb = frame_throughput(b, confidence);
  const double joint = std::sqrt(confidence);
  const bench::ThroughputEstimate ja = frame_throughput(a, joint);
  const bench::ThroughputEstimate jb = frame_throughput(b, joint);
  if (!ja.ci_valid || !jb.ci_valid) {
    m.why = fmt::format("not measured: {}", !ja.ci_valid ? ja.why : jb.why);
    if (m.why.starts_with("not measured: not measured")) m.why = m.why.substr(14);
    return m;
  }
  m.measured = true;
  m.baseline = ta.fps;
  m.candidate = tb.fps;
  m.baseline_ci_low = ta.ci_low;
  m.baseline_ci_high = ta.ci_high;
  m.candidate_ci_low = tb.ci_low;
  m.candidate_ci_high = tb.ci_high;
  m.change = tb.fps - ta.fps;
  m.ci_low = jb.ci_low - ja.ci_high;
  m.ci_high = jb.ci_high - ja.ci_low;
  judge(m, threshold);
  return m;
}

template <class T>
std::string text_of(const std::optional<T>& v) {
  if (!v) return "-";
  if constexpr (std::is_same_v<T, std::string>) {
    return *v;
  } else {
    return fmt::format("{}", *v);
  }
}

}  // namespace

bool RunComparison::has_regression() const {
  return std::any_of(changes.begin(), changes.end(),
                     [](const MetricChange& m) { return m.regression; });
}

RunComparison compare_runs(const RunRecord& baseline, const RunRecord& candidate,
                           const CompareOptions& options) {
  RunComparison c;
  c.baseline_name = baseline.name;
  c.candidate_name = candidate.name;
  c.threshold_percent = options.regression_threshold_percent;
  const std::optional<double> conf = baseline.config.confidence;
  c.confidence = conf && *conf > 0.0 && *conf < 1.0 ? *conf : bench::kDefaultConfidence;
  const std::vector<double> a = end_to_end_latencies_ms(baseline);
  const std::vector<double> b = end_to_end_latencies_ms(candidate);
  c.baseline_frames = a.size();
  c.candidate_frames = b.size();
  c.changes.push_back(median_shift(a, b, c.confidence, c.threshold_percent));
  c.changes.push_back(p99_shift(a, b, c.confidence, c.threshold_percent));
  c.changes.push_back(
      throughput_change(baseline.frames, candidate.frames, c.confidence, c.threshold_percent));

  // Differences that may explain a change besides the one under test.
  const auto differ = [&c](const char* label, const std::string& x, const std::string& y) {
    if (x != y) c.differences.push_back(fmt::format("{}: {} → {}", label, x, y));
  };
  differ("host", text_of(baseline.context.host), text_of(candidate.context.host));
  differ("backend", text_of(baseline.context.backend), text_of(candidate.context.backend));
  differ("model sha256", text_of(baseline.context.model.sha256),
         text_of(candidate.context.model.sha256));
  differ("scenario", text_of(baseline.config.scenario), text_of(candidate.config.scenario));
  differ("in_flight", text_of(baseline.config.in_flight), text_of(candidate.config.in_flight));
  differ("input", text_of(baseline.config.input), text_of(candidate.config.input));
  differ("preprocess_threads", text_of(baseline.config.preprocess_threads),
         text_of(candidate.config.preprocess_threads));
  return c;
}

std::vector<std::string> regression_lines(std::span<const RunComparison> comparisons) {
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < comparisons.size(); ++i) {
    const RunComparison& c = comparisons[i];
    for (const MetricChange& m : c.changes) {
      if (!m.regression) continue;
      lines.push_back(fmt::format("#{} {} vs #1 {}: {} {} > {}% ({})", i + 2, c.candidate_name,
                                  c.baseline_name, m.metric,
                                  detail::signed_percent(m.change_percent),
                                  detail::number(c.threshold_percent, 3), detail::change_text(m)));
    }
  }
  return lines;
}

}  // namespace hdeploy::report

#pragma once
// hdeploy report: reads bench run records (docs/run-record.md, format "hdeploy.bench.run"
// version 1), compares every run with the first one (the baseline) from the per-frame
// columns, and renders one record set three ways: report.md (text), report.html (one
// self-contained file with Chart.js inlined) and trace.csv (one row per frame).
//
// A record is untrusted input: every accessor tolerates missing keys and wrong types, and
// every string from a record is escaped where it lands (HTML, script, CSV, Markdown). Nothing
// throws across this API; fallible functions return Result/Status. Functions are pure (no
// global state) and thread-safe except where they write files.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hdeploy/bench/run_record.hpp"
#include "hdeploy/bench/statistics.hpp"
#include "hdeploy/core/file.hpp"
#include "hdeploy/core/result.hpp"

namespace hdeploy::report {

// The record's format, frame flags, columns and stage-time formulas are the bench module's
// (run_record.hpp), defined once; the report reads them from there.
using bench::FrameColumns;
using bench::is_measured_frame;
using bench::kFrameDeadlineMissed;
using bench::kFrameDropped;
using bench::kFrameFailed;
using bench::kFrameWarmup;
using bench::kRunRecordFormat;
using bench::kRunRecordVersion;
using bench::Stage;
using bench::stage_name;
using bench::stage_time_ms;
using bench::stage_times_ms;

// One loaded record: the typed record and where it came from.
struct RunRecord : bench::RunRecord {
  std::filesystem::path path;
  std::string name;  // the folder name for DIR/run.json, else the file's stem
};

// Reads and validates a record file. Errors, each naming the file: kNotFound (missing),
// kInvalidFormat (not JSON, not an object, another `format`, malformed frames columns),
// kUnsupported (a `version` newer than kRunRecordVersion: update hdeploy), kIo.
Result<RunRecord> load_run(const std::filesystem::path& path);
// The same checks on an already parsed record; `path` names it in messages and `name`.
Result<RunRecord> parse_run(nlohmann::json record, const std::filesystem::path& path);

// End-to-end latencies of the measured frames, computed from the columns.
std::vector<double> end_to_end_latencies_ms(const RunRecord& run);
// Throughput of the measured frames by batch means over the measured window (first measured
// frame's scheduled time to the last measured completion), from the columns.
bench::ThroughputEstimate frame_throughput(const FrameColumns& frames,
                                           double confidence = bench::kDefaultConfidence);

// The numbers a reader looks at first. Values come from the record's results (what bench
// measured); when the record lacks them they are computed from the frames. nullopt: not
// measured.
struct RunKeyNumbers {
  std::string name;
  std::filesystem::path path;
  bool complete = true;
  std::string partial_reason;
  std::string scenario;
  std::string backend;
  std::size_t measured_frames = 0;  // counted in the frames columns
  std::optional<double> fps;
  std::optional<double> fps_ci_low;
  std::optional<double> fps_ci_high;
  std::optional<double> p50_ms;
  std::optional<double> p99_ms;
  std::optional<double> mean_ms;
  std::optional<double> device_mean_ms;
  std::optional<double> host_ms_per_frame;
  std::optional<double> cpu_percent_of_one_core;
  std::optional<double> peak_rss_bytes;
};
RunKeyNumbers key_numbers(const RunRecord& run);

// "5%" or "5" (percent, 0 <= x <= 1000) -> 5.0. kInvalidArgument otherwise.
Result<double> parse_threshold_percent(std::string_view text);

inline constexpr double kDefaultRegressionThresholdPercent = 5.0;
struct CompareOptions {
  // A significant change worse than this share of the baseline value is a regression.
  double regression_threshold_percent = kDefaultRegressionThresholdPercent;
};

// One compared quantity of candidate vs baseline. change = candidate - baseline with a
// confidence interval; significant when the interval excludes 0; regression when significant
// and worse (higher latency, lower throughput) by more than the threshold relative to the
// baseline value.
struct MetricChange {
  std::string metric;  // "median end-to-end latency", "p99 end-to-end latency", "throughput"
  std::string unit;    // "ms" or "FPS"
  bool lower_is_better = true;
  bool measured = false;
  std::string why;  // when !measured: "not measured: ..."
  std::string method;
  double baseline = 0.0;
  double candidate = 0.0;
  // Throughput: each run's own interval at `confidence` (0/0 for the latency metrics).
  double baseline_ci_low = 0.0;
  double baseline_ci_high = 0.0;
  double candidate_ci_low = 0.0;
  double candidate_ci_high = 0.0;
  double change = 0.0;
  double ci_low = 0.0;
  double ci_high = 0.0;
  double confidence = bench::kDefaultConfidence;
  std::optional<double> p_value;  // the Mann-Whitney test's, for the median shift
  double change_percent = 0.0;    // 100 * change / baseline
  bool worse = false;             // the estimate points the bad way
  bool significant = false;
  bool regression = false;
};

struct RunComparison {
  std::string baseline_name;
  std::string candidate_name;
  double threshold_percent = kDefaultRegressionThresholdPercent;
  double confidence = bench::kDefaultConfidence;
  std::size_t baseline_frames = 0;
  std::size_t candidate_frames = 0;
  std::vector<MetricChange> changes;  // median, p99, throughput
  // Context or config keys whose values differ ("backend: sim -> hailo"), for a caution.
  std::vector<std::string> differences;
  bool has_regression() const;
};

// Compares candidate with baseline from their frames columns: the Hodges-Lehmann shift of
// end-to-end latency (Moses interval, Mann-Whitney p), the p99 shift (percentile_shift) and
// the throughput change (batch-means intervals at sqrt(confidence) each, combined
// conservatively). Confidence: the baseline's config.confidence, else 0.95.
RunComparison compare_runs(const RunRecord& baseline, const RunRecord& candidate,
                           const CompareOptions& options = {});
// One line per regression: "#2 b vs #1 a: median end-to-end latency +10.1% (...) > 5%".
std::vector<std::string> regression_lines(std::span<const RunComparison> comparisons);

// Renderings. runs[0] is the baseline; comparisons[i] compares runs[i + 1] with it (pass an
// empty span for a single run).
std::string render_markdown(std::span<const RunRecord> runs,
                            std::span<const RunComparison> comparisons);
// One self-contained HTML page; `chartjs` is Chart.js's UMD build (chart.min.js), inlined.
std::string render_html(std::span<const RunRecord> runs, std::span<const RunComparison> comparisons,
                        std::string_view chartjs);
// Header plus one row per frame of every run; blanks for -1 timestamps and stages that cannot
// be computed.
std::string render_trace_csv(std::span<const RunRecord> runs);
// What `report --json` prints: files, per-run key numbers, comparisons.
nlohmann::json summary_json(std::span<const RunRecord> runs,
                            std::span<const RunComparison> comparisons);
// The short text `report` prints on stdout (without the list of files).
std::string summary_text(std::span<const RunRecord> runs,
                         std::span<const RunComparison> comparisons);

// Debian's libjs-chart.js, found at configure time (else its usual path).
std::filesystem::path default_chartjs_path();
// Reads Chart.js. kNotFound "install libjs-chart.js or pass --chartjs" when missing.
Result<std::string> load_chartjs(const std::filesystem::path& path);

// The three outputs in `dir`.
struct ReportFiles {
  std::filesystem::path markdown;
  std::filesystem::path html;
  std::filesystem::path trace_csv;
};
ReportFiles report_files(const std::filesystem::path& dir);
// Checks all three outputs first (kAlreadyExists naming the first existing one, unless
// overwrite allows), then writes each atomically (temporary name, rename); creates `dir`.
Status write_report_files(const ReportFiles& files, std::string_view markdown,
                          std::string_view html, std::string_view trace_csv, Overwrite overwrite);

}  // namespace hdeploy::report

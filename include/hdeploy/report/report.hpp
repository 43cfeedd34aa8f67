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

#include "hdeploy/bench/statistics.hpp"
#include "hdeploy/core/file.hpp"
#include "hdeploy/core/result.hpp"

namespace hdeploy::report {

inline constexpr std::string_view kRunRecordFormat = "hdeploy.bench.run";
inline constexpr int kRunRecordVersion = 1;  // the newest version this reader understands

// `flags` bits of a frame (docs/run-record.md, frames).
inline constexpr std::int64_t kFlagWarmup = 1;
inline constexpr std::int64_t kFlagDropped = 2;
inline constexpr std::int64_t kFlagFailed = 4;
inline constexpr std::int64_t kFlagDeadlineMissed = 8;

// The `frames` object, columnar: one entry per scheduled frame, -1 where a frame never
// reached a timestamp (and where a record lacks the column).
struct FrameColumns {
  std::vector<std::int64_t> sequence;
  std::vector<std::int64_t> flags;
  std::vector<std::int64_t> source_index;
  std::vector<std::int64_t> queue_depth;
  std::vector<std::int64_t> scheduled_ns;
  std::vector<std::int64_t> preprocess_start_ns;
  std::vector<std::int64_t> preprocess_end_ns;
  std::vector<std::int64_t> submit_ns;
  std::vector<std::int64_t> complete_ns;
  std::vector<std::int64_t> postprocess_start_ns;
  std::vector<std::int64_t> postprocess_end_ns;
  std::size_t size() const { return flags.size(); }
};

// One loaded record. `record` is the whole JSON object except `frames`, which is parsed into
// `frames` (and dropped from `record` to halve the memory of big runs). (The NOLINT: clang-tidy
// follows nlohmann::json's noexcept move into an assertion helper it thinks may throw.)
struct RunRecord {  // NOLINT(bugprone-exception-escape)
  std::filesystem::path path;
  std::string name;  // the folder name for DIR/run.json, else the file's stem
  nlohmann::json record;
  FrameColumns frames;
};

// Reads and validates a record file. Errors, each naming the file: kNotFound (missing),
// kInvalidFormat (not JSON, not an object, another `format`, malformed frames columns),
// kUnsupported (a `version` newer than kRunRecordVersion: update hdeploy), kIo.
Result<RunRecord> load_run(const std::filesystem::path& path);
// The same checks on an already parsed record; `path` names it in messages and `name`.
Result<RunRecord> parse_run(nlohmann::json record, const std::filesystem::path& path);

// Per-frame stage times (docs/run-record.md): preprocess = preprocess_end - preprocess_start;
// queue wait = submit - max(scheduled, preprocess_end); device = complete - submit;
// host wait = postprocess_start - complete (a completed frame waiting for the host);
// post-process = postprocess_end - postprocess_start; end-to-end = postprocess_end - scheduled.
enum class Stage { kPreprocess, kQueueWait, kDevice, kHostWait, kPostprocess, kEndToEnd };
std::string_view stage_name(Stage stage);  // "preprocess", "queue_wait", ... "end_to_end"
// Milliseconds, or nullopt when a timestamp it needs is -1 (or i is out of range).
std::optional<double> stage_time_ms(const FrameColumns& frames, std::size_t i, Stage stage);
// A frame that counts in the statistics: not warm-up, not dropped, not failed, and completed
// (scheduled and postprocess_end present).
bool is_measured_frame(const FrameColumns& frames, std::size_t i);
// The stage times of the measured frames, in frame order (frames lacking the stage skipped).
std::vector<double> stage_times_ms(const FrameColumns& frames, Stage stage);
// End-to-end latencies of the measured frames, computed from the columns.
std::vector<double> end_to_end_latencies_ms(const RunRecord& run);
// Throughput of the measured frames by batch means over the measured window (first measured
// frame's scheduled time to the last measured completion), from the columns.
bench::ThroughputEstimate frame_throughput(const FrameColumns& frames,
                                           double confidence = bench::kDefaultConfidence);

// The numbers a reader looks at first. Values come from the record's `results` (what bench
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

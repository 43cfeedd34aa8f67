// The command's outputs besides the renderings: summaries for stdout, Chart.js, the files.

#include <fmt/format.h>

#include <cmath>

#include "document.hpp"
#include "format.hpp"
#include "hdeploy/report/report.hpp"
#include "json_access.hpp"

#ifndef HDEPLOY_CHARTJS_PATH
#define HDEPLOY_CHARTJS_PATH "/usr/share/javascript/chart.js/chart.min.js"
#endif

namespace hdeploy::report {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json optional_json(const std::optional<double>& v) {
  return v && std::isfinite(*v) ? json(*v) : json(nullptr);
}

json finite(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json change_json(const MetricChange& m) {
  json j = {{"metric", m.metric},
            {"unit", m.unit},
            {"measured", m.measured},
            {"lower_is_better", m.lower_is_better}};
  if (!m.measured) {
    j["why"] = m.why;
    return j;
  }
  j["baseline"] = finite(m.baseline);
  j["candidate"] = finite(m.candidate);
  if (m.unit == "FPS") {
    j["baseline_ci"] = {finite(m.baseline_ci_low), finite(m.baseline_ci_high)};
    j["candidate_ci"] = {finite(m.candidate_ci_low), finite(m.candidate_ci_high)};
  }
  j["change"] = finite(m.change);
  j["change_percent"] = finite(m.change_percent);
  j["ci_low"] = finite(m.ci_low);
  j["ci_high"] = finite(m.ci_high);
  j["confidence"] = m.confidence;
  j["p_value"] = m.p_value ? finite(*m.p_value) : json(nullptr);
  j["worse"] = m.worse;
  j["significant"] = m.significant;
  j["regression"] = m.regression;
  j["method"] = m.method;
  return j;
}

}  // namespace

json summary_json(std::span<const RunRecord> runs, std::span<const RunComparison> comparisons) {
  json out = {{"runs", json::array()}, {"comparisons", json::array()}};
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunKeyNumbers k = key_numbers(runs[i]);
    out["runs"].push_back({{"index", i + 1},
                           {"name", k.name},
                           {"path", k.path.string()},
                           {"baseline", i == 0},
                           {"complete", k.complete},
                           {"partial_reason", k.complete ? json(nullptr) : json(k.partial_reason)},
                           {"scenario", k.scenario},
                           {"backend", k.backend},
                           {"measured_frames", k.measured_frames},
                           {"fps", optional_json(k.fps)},
                           {"fps_ci_low", optional_json(k.fps_ci_low)},
                           {"fps_ci_high", optional_json(k.fps_ci_high)},
                           {"p50_ms", optional_json(k.p50_ms)},
                           {"p99_ms", optional_json(k.p99_ms)},
                           {"mean_ms", optional_json(k.mean_ms)},
                           {"device_mean_ms", optional_json(k.device_mean_ms)},
                           {"host_ms_per_frame", optional_json(k.host_ms_per_frame)},
                           {"cpu_percent_of_one_core", optional_json(k.cpu_percent_of_one_core)},
                           {"peak_rss_bytes", optional_json(k.peak_rss_bytes)}});
  }
  for (std::size_t i = 0; i < comparisons.size(); ++i) {
    const RunComparison& c = comparisons[i];
    json changes = json::array();
    for (const MetricChange& m : c.changes) changes.push_back(change_json(m));
    out["comparisons"].push_back({{"baseline", {{"index", 1}, {"name", c.baseline_name}}},
                                  {"candidate", {{"index", i + 2}, {"name", c.candidate_name}}},
                                  {"threshold_percent", c.threshold_percent},
                                  {"confidence", c.confidence},
                                  {"baseline_frames", c.baseline_frames},
                                  {"candidate_frames", c.candidate_frames},
                                  {"changes", std::move(changes)},
                                  {"differences", c.differences},
                                  {"regression", c.has_regression()}});
  }
  out["regressions"] = regression_lines(comparisons);
  return out;
}

std::string summary_text(std::span<const RunRecord> runs,
                         std::span<const RunComparison> comparisons) {
  std::string out;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const RunKeyNumbers k = key_numbers(runs[i]);
    std::string fps = k.fps ? detail::fixed(*k.fps, 2) + " FPS" : "FPS not measured";
    if (k.fps_ci_low && k.fps_ci_high) {
      fps += fmt::format(" [{}, {}]", detail::fixed(*k.fps_ci_low, 2),
                         detail::fixed(*k.fps_ci_high, 2));
    }
    out += fmt::format("{}{}: {}, p50 {}, p99 {}, {} measured frames{}\n",
                       detail::run_label(runs, i), i == 0 && runs.size() > 1 ? " (baseline)" : "",
                       fps, detail::optional_ms(k.p50_ms), detail::optional_ms(k.p99_ms),
                       k.measured_frames, k.complete ? "" : " — PARTIAL: " + k.partial_reason);
  }
  for (std::size_t i = 0; i < comparisons.size(); ++i) {
    const RunComparison& c = comparisons[i];
    const std::string head =
        fmt::format("{} vs {}: ", detail::run_label(runs, i + 1), detail::run_label(runs, 0));
    for (std::size_t m = 0; m < c.changes.size(); ++m) {
      const MetricChange& change = c.changes[m];
      out += m == 0 ? head : std::string(head.size(), ' ');
      out += fmt::format("{} {}", change.metric, detail::change_text(change));
      if (change.measured) {
        out += fmt::format(" ({}): {}", detail::signed_percent(change.change_percent),
                           detail::verdict_text(change, c.threshold_percent));
      }
      out += '\n';
    }
  }
  return out;
}

fs::path default_chartjs_path() { return HDEPLOY_CHARTJS_PATH; }

Result<std::string> load_chartjs(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return fail(ErrorCode::kNotFound,
                "Chart.js not found at {}: install libjs-chart.js or pass --chartjs PATH",
                path.string());
  }
  auto text = read_text_file(path);
  if (!text) {
    return fail(ErrorCode::kNotFound, "{} (install libjs-chart.js or pass --chartjs PATH)",
                text.error().message);
  }
  if (text->find("Chart") == std::string::npos) {
    return fail(ErrorCode::kInvalidFormat,
                "{}: does not look like Chart.js (chart.min.js from libjs-chart.js)",
                path.string());
  }
  return std::move(text).value();
}

ReportFiles report_files(const fs::path& dir) {
  return {dir / "report.md", dir / "report.html", dir / "trace.csv"};
}

Status write_report_files(const ReportFiles& files, std::string_view markdown,
                          std::string_view html, std::string_view trace_csv, Overwrite overwrite) {
  for (const fs::path& p : {files.markdown, files.html, files.trace_csv}) {
    HDEPLOY_TRY(check_writable_output(p, overwrite));
  }
  HDEPLOY_TRY(write_text_file_atomic(files.markdown, markdown, overwrite));
  HDEPLOY_TRY(write_text_file_atomic(files.html, html, overwrite));
  HDEPLOY_TRY(write_text_file_atomic(files.trace_csv, trace_csv, overwrite));
  return {};
}

}  // namespace hdeploy::report

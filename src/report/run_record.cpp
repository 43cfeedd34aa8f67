// Loading run records (bench::parse_run_record) and the key numbers read from them.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "hdeploy/report/report.hpp"

namespace hdeploy::report {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A parse error message on one line (nlohmann's are, but be sure).
std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\r', ' ');
  return text;
}

std::string run_name_for(const fs::path& path) {
  if (path.filename() == "run.json") {
    std::error_code ec;
    const fs::path parent = fs::absolute(path, ec).lexically_normal().parent_path();
    if (!ec && !parent.filename().empty()) return parent.filename().string();
  }
  return path.stem().string();
}

}  // namespace

Result<RunRecord> parse_run(json record, const fs::path& path) {
  HDEPLOY_ASSIGN_OR_RETURN(bench::RunRecord typed, bench::parse_run_record(record, path.string()));
  RunRecord run;
  static_cast<bench::RunRecord&>(run) = std::move(typed);
  run.path = path;
  run.name = run_name_for(path);
  return run;
}

Result<RunRecord> load_run(const fs::path& path) {
  HDEPLOY_ASSIGN_OR_RETURN(std::string text, read_text_file(path));
  json record;
  try {
    record = json::parse(text);
  } catch (const json::exception& e) {
    return fail(ErrorCode::kInvalidFormat, "{}: not JSON ({})", path.string(), one_line(e.what()));
  } catch (const std::exception& e) {
    return fail(ErrorCode::kIo, "{}: cannot be read: {}", path.string(), one_line(e.what()));
  }
  text.clear();
  text.shrink_to_fit();
  try {
    return parse_run(std::move(record), path);
  } catch (const std::exception& e) {  // e.g. bad_alloc on a huge record
    return fail(ErrorCode::kIo, "{}: cannot be loaded: {}", path.string(), one_line(e.what()));
  }
}

std::vector<double> end_to_end_latencies_ms(const RunRecord& run) {
  return stage_times_ms(run.frames, Stage::kEndToEnd);
}

bench::ThroughputEstimate frame_throughput(const FrameColumns& frames, double confidence) {
  std::vector<double> completions_s;
  completions_s.reserve(frames.size());
  std::int64_t start = std::numeric_limits<std::int64_t>::max();
  std::int64_t end = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    if (!is_measured_frame(frames, i)) continue;
    start = std::min(start, frames.scheduled_ns[i]);
    end = std::max(end, frames.postprocess_end_ns[i]);
    completions_s.push_back(static_cast<double>(frames.postprocess_end_ns[i]) / 1e9);
  }
  if (completions_s.empty() || end <= start) {
    bench::ThroughputEstimate none;
    none.confidence = confidence;
    none.why = completions_s.empty() ? "not measured: no measured frames"
                                     : "not measured: the measured window is empty";
    return none;
  }
  return bench::throughput_batch_means(completions_s, static_cast<double>(start) / 1e9,
                                       static_cast<double>(end) / 1e9, 20, confidence);
}

RunKeyNumbers key_numbers(const RunRecord& run) {
  const bench::RunResults& r = run.results;
  RunKeyNumbers k;
  k.name = run.name;
  k.path = run.path;
  k.complete = run.status.complete;
  k.partial_reason = run.status.partial_reason;
  k.scenario = run.config.scenario.value_or("");
  k.backend = run.context.backend.value_or("");
  const std::vector<double> latencies = end_to_end_latencies_ms(run);
  k.measured_frames = latencies.size();

  k.fps = r.throughput.fps;
  k.fps_ci_low = r.throughput.ci_low;
  k.fps_ci_high = r.throughput.ci_high;
  if (!k.fps && !latencies.empty()) {
    const bench::ThroughputEstimate t = frame_throughput(run.frames);
    if (t.fps > 0) k.fps = t.fps;
    if (t.ci_valid) {
      k.fps_ci_low = t.ci_low;
      k.fps_ci_high = t.ci_high;
    }
  }
  if (r.latency) {
    if (const auto* p = r.latency->find(50.0)) k.p50_ms = p->value;
    if (const auto* p = r.latency->find(99.0)) k.p99_ms = p->value;
    k.mean_ms = r.latency->mean;
  }
  if (!latencies.empty() && (!k.p50_ms || !k.mean_ms)) {
    const bench::SampleSummary s = bench::summarize(latencies);
    for (const auto& p : s.percentiles) {
      if (!p.supported) continue;
      if (p.percentile == 50.0 && !k.p50_ms) k.p50_ms = p.value;
      if (p.percentile == 99.0 && !k.p99_ms) k.p99_ms = p.value;
    }
    if (!k.mean_ms) k.mean_ms = s.mean;
  }
  if (r.stages.device.value) k.device_mean_ms = r.stages.device.value->mean;
  k.host_ms_per_frame = r.verdict.host_ms_per_frame;
  if (run.system) {
    k.cpu_percent_of_one_core = run.system->cpu_percent_of_one_core;
    if (run.system->unavailable.count("peak_rss_bytes") == 0) {
      k.peak_rss_bytes = static_cast<double>(run.system->peak_rss_bytes);
    }
  }
  return k;
}

Result<double> parse_threshold_percent(std::string_view text) {
  std::string s(text);
  while (!s.empty() && s.back() == ' ') s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(s.begin());
  if (!s.empty() && s.back() == '%') s.pop_back();
  double value = 0.0;
  std::size_t used = 0;
  bool ok = !s.empty() && (std::isdigit(static_cast<unsigned char>(s.front())) || s[0] == '.');
  if (ok) {
    try {
      value = std::stod(s, &used);
    } catch (const std::exception&) {
      ok = false;
    }
  }
  if (!ok || used != s.size() || !std::isfinite(value) || value < 0.0 || value > 1000.0) {
    return fail(ErrorCode::kInvalidArgument,
                "--fail-on-regression {}: expected a percentage such as 5% or 5 (0 to 1000)", text);
  }
  return value;
}

}  // namespace hdeploy::report

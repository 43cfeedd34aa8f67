// Loading run records and computing per-frame quantities from their columns.

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "hdeploy/report/report.hpp"
#include "json_access.hpp"

namespace hdeploy::report {
namespace fs = std::filesystem;
using detail::find;
using detail::number_at;
using detail::string_at;
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

struct ColumnSlot {
  const char* name;
  std::vector<std::int64_t> FrameColumns::*column;
};
constexpr std::array<ColumnSlot, 11> kColumns{{
    {"sequence", &FrameColumns::sequence},
    {"flags", &FrameColumns::flags},
    {"source_index", &FrameColumns::source_index},
    {"queue_depth", &FrameColumns::queue_depth},
    {"scheduled_ns", &FrameColumns::scheduled_ns},
    {"preprocess_start_ns", &FrameColumns::preprocess_start_ns},
    {"preprocess_end_ns", &FrameColumns::preprocess_end_ns},
    {"submit_ns", &FrameColumns::submit_ns},
    {"complete_ns", &FrameColumns::complete_ns},
    {"postprocess_start_ns", &FrameColumns::postprocess_start_ns},
    {"postprocess_end_ns", &FrameColumns::postprocess_end_ns},
}};

Result<FrameColumns> parse_frames(const json& frames, const fs::path& path) {
  FrameColumns out;
  if (frames.is_null()) return out;
  if (!frames.is_object()) {
    return fail(ErrorCode::kInvalidFormat, "{}: `frames` is not an object (docs/run-record.md)",
                path.string());
  }
  std::optional<std::size_t> length;
  std::string length_from;
  for (const ColumnSlot& slot : kColumns) {
    auto it = frames.find(slot.name);
    if (it == frames.end() || it->is_null()) continue;
    if (!it->is_array()) {
      return fail(ErrorCode::kInvalidFormat, "{}: frames.{} is not an array", path.string(),
                  slot.name);
    }
    if (length && *length != it->size()) {
      return fail(ErrorCode::kInvalidFormat,
                  "{}: frames.{} has {} entries but frames.{} has {}; the columns must be of "
                  "one length",
                  path.string(), slot.name, it->size(), length_from, *length);
    }
    length = it->size();
    length_from = slot.name;
    std::vector<std::int64_t>& column = out.*slot.column;
    column.reserve(it->size());
    for (std::size_t i = 0; i < it->size(); ++i) {
      const json& v = (*it)[i];
      if (v.is_number_integer()) {
        column.push_back(v.get<std::int64_t>());
      } else if (v.is_number_float()) {
        const double d = v.get<double>();
        if (!std::isfinite(d) || std::fabs(d) > 9.2e18) {
          return fail(ErrorCode::kInvalidFormat, "{}: frames.{}[{}] is out of range", path.string(),
                      slot.name, i);
        }
        column.push_back(std::llround(d));
      } else if (v.is_null()) {
        column.push_back(-1);
      } else {
        return fail(ErrorCode::kInvalidFormat, "{}: frames.{}[{}] is not a number", path.string(),
                    slot.name, i);
      }
    }
  }
  const std::size_t n = length.value_or(0);
  for (const ColumnSlot& slot : kColumns) {
    std::vector<std::int64_t>& column = out.*slot.column;
    if (column.size() == n) continue;
    // An absent column: sequence counts, flags are clear, timestamps were never reached.
    column.resize(n, -1);
    if (slot.column == &FrameColumns::flags) std::fill(column.begin(), column.end(), 0);
    if (slot.column == &FrameColumns::sequence) {
      for (std::size_t i = 0; i < n; ++i) column[i] = static_cast<std::int64_t>(i);
    }
  }
  return out;
}

double ns_to_ms(std::int64_t ns) { return static_cast<double>(ns) / 1e6; }

}  // namespace

Result<RunRecord> parse_run(json record, const fs::path& path) {
  if (!record.is_object()) {
    return fail(ErrorCode::kInvalidFormat,
                R"({}: not a run record: expected a JSON object with "format": "{}")",
                path.string(), kRunRecordFormat);
  }
  const std::optional<std::string> format = string_at(record, {"format"});
  if (!format) {
    return fail(ErrorCode::kInvalidFormat,
                R"({}: not a run record: no "format" (expected "{}", written by hdeploy bench))",
                path.string(), kRunRecordFormat);
  }
  if (*format != kRunRecordFormat) {
    return fail(ErrorCode::kInvalidFormat, R"({}: not a run record: format is "{}", expected "{}")",
                path.string(), *format, kRunRecordFormat);
  }
  const json* version = find(record, {"version"});
  if (version == nullptr || !version->is_number_integer()) {
    return fail(ErrorCode::kInvalidFormat, "{}: run record without an integer \"version\"",
                path.string());
  }
  const auto v = version->get<std::int64_t>();
  if (v > kRunRecordVersion) {
    return fail(ErrorCode::kUnsupported,
                "{}: run record version {} is newer than this hdeploy reads (version {}); "
                "update hdeploy",
                path.string(), v, kRunRecordVersion);
  }
  if (v < 1) {
    return fail(ErrorCode::kInvalidFormat, "{}: run record version {} does not exist",
                path.string(), v);
  }
  RunRecord run;
  run.path = path;
  run.name = run_name_for(path);
  if (auto it = record.find("frames"); it != record.end()) {
    HDEPLOY_ASSIGN_OR_RETURN(run.frames, parse_frames(*it, path));
    record.erase(it);
  }
  run.record = std::move(record);
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

std::string_view stage_name(Stage stage) {
  switch (stage) {
    case Stage::kPreprocess:
      return "preprocess";
    case Stage::kQueueWait:
      return "queue_wait";
    case Stage::kDevice:
      return "device";
    case Stage::kHostWait:
      return "host_wait";
    case Stage::kPostprocess:
      return "postprocess";
    case Stage::kEndToEnd:
      return "end_to_end";
  }
  return "unknown";
}

std::optional<double> stage_time_ms(const FrameColumns& f, std::size_t i, Stage stage) {
  if (i >= f.size()) return std::nullopt;
  auto diff = [](std::int64_t end, std::int64_t start) -> std::optional<double> {
    if (end < 0 || start < 0) return std::nullopt;
    return ns_to_ms(end - start);
  };
  switch (stage) {
    case Stage::kPreprocess:
      return diff(f.preprocess_end_ns[i], f.preprocess_start_ns[i]);
    case Stage::kQueueWait: {
      if (f.scheduled_ns[i] < 0) return std::nullopt;
      // A fixed input has no preprocess stage: the frame waits from its scheduled time.
      const std::int64_t ready = std::max(f.scheduled_ns[i], f.preprocess_end_ns[i]);
      return diff(f.submit_ns[i], ready);
    }
    case Stage::kDevice:
      return diff(f.complete_ns[i], f.submit_ns[i]);
    case Stage::kHostWait:
      return diff(f.postprocess_start_ns[i], f.complete_ns[i]);
    case Stage::kPostprocess:
      return diff(f.postprocess_end_ns[i], f.postprocess_start_ns[i]);
    case Stage::kEndToEnd:
      return diff(f.postprocess_end_ns[i], f.scheduled_ns[i]);
  }
  return std::nullopt;
}

bool is_measured_frame(const FrameColumns& f, std::size_t i) {
  if (i >= f.size()) return false;
  if ((f.flags[i] & (kFlagWarmup | kFlagDropped | kFlagFailed)) != 0) return false;
  return f.scheduled_ns[i] >= 0 && f.postprocess_end_ns[i] >= 0;
}

std::vector<double> stage_times_ms(const FrameColumns& frames, Stage stage) {
  std::vector<double> out;
  out.reserve(frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i) {
    if (!is_measured_frame(frames, i)) continue;
    if (auto t = stage_time_ms(frames, i, stage)) out.push_back(*t);
  }
  return out;
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
  const json& r = run.record;
  RunKeyNumbers k;
  k.name = run.name;
  k.path = run.path;
  k.complete = detail::bool_at(r, {"status", "complete"}).value_or(true);
  k.partial_reason = string_at(r, {"status", "partial_reason"}).value_or("");
  k.scenario = string_at(r, {"config", "scenario"}).value_or("");
  k.backend = string_at(r, {"context", "backend"}).value_or("");
  const std::vector<double> latencies = end_to_end_latencies_ms(run);
  k.measured_frames = latencies.size();

  k.fps = number_at(r, {"results", "throughput", "fps"});
  k.fps_ci_low = number_at(r, {"results", "throughput", "ci_low"});
  k.fps_ci_high = number_at(r, {"results", "throughput", "ci_high"});
  if (!k.fps && !latencies.empty()) {
    const bench::ThroughputEstimate t = frame_throughput(run.frames);
    if (t.fps > 0) k.fps = t.fps;
    if (t.ci_valid) {
      k.fps_ci_low = t.ci_low;
      k.fps_ci_high = t.ci_high;
    }
  }
  k.p50_ms = number_at(r, {"results", "latency", "percentiles", "50", "value"});
  k.p99_ms = number_at(r, {"results", "latency", "percentiles", "99", "value"});
  k.mean_ms = number_at(r, {"results", "latency", "mean"});
  if (!latencies.empty() && (!k.p50_ms || !k.mean_ms)) {
    const bench::SampleSummary s = bench::summarize(latencies);
    for (const auto& p : s.percentiles) {
      if (!p.supported) continue;
      if (p.percentile == 50.0 && !k.p50_ms) k.p50_ms = p.value;
      if (p.percentile == 99.0 && !k.p99_ms) k.p99_ms = p.value;
    }
    if (!k.mean_ms) k.mean_ms = s.mean;
  }
  k.device_mean_ms = number_at(r, {"results", "stages", "device", "mean"});
  k.host_ms_per_frame = number_at(r, {"results", "verdict", "host_ms_per_frame"});
  k.cpu_percent_of_one_core = number_at(r, {"system", "process", "cpu_percent_of_one_core"});
  k.peak_rss_bytes = number_at(r, {"system", "process", "peak_rss_bytes"});
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

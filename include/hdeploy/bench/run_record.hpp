#pragma once
// The bench run record (docs/run-record.md, format "hdeploy.bench.run" version 1) as a type.
// `bench` fills one and writes it (run_record_text: the one writer), `report` and `pipeline`
// read it back (parse_run_record: the one reader) and print it. The frame columns, the frame
// flags and the stage-time formulas are defined here, once, for the analysis, the reports
// and the CSV trace.
//
// A record read from a file is untrusted: the reader tolerates missing keys and values of the
// wrong type (they read as absent, never as 0) and keeps keys it does not know (a newer
// writer's) in `other` for display. Values that could not be measured are empty optionals or
// Measured<T> with the reason. Nothing here throws; functions are pure and thread-safe.

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hdeploy/bench/system_sampler.hpp"
#include "hdeploy/core/result.hpp"

namespace hdeploy::bench {

inline constexpr std::string_view kRunRecordFormat = "hdeploy.bench.run";
inline constexpr int kRunRecordVersion = 1;  // the newest version this reader understands

// `flags` bits of a frame.
inline constexpr std::uint32_t kFrameWarmup = 1;
inline constexpr std::uint32_t kFrameDropped = 2;
inline constexpr std::uint32_t kFrameFailed = 4;
inline constexpr std::uint32_t kFrameDeadlineMissed = 8;

// A value with the reason it is missing: written as the value, or as null with a sibling
// "<key>_why" (the record's convention for "not measured: <why>").
template <class T>
struct Measured {
  std::optional<T> value;
  std::string why;  // set when !value
  static Measured missing(std::string reason) { return {std::nullopt, std::move(reason)}; }
};

// ---- frames ---------------------------------------------------------------------------------

// The `frames` object, columnar: one entry per scheduled frame, -1 where a frame never reached
// a timestamp (and where a record lacks the column).
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

// The columns in record order ("fields"), by name.
struct FrameColumn {
  std::string_view name;
  std::vector<std::int64_t> FrameColumns::*values;
};
inline constexpr std::array<FrameColumn, 11> kFrameColumns{{
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

// Per-frame stage times: preprocess = preprocess_end - preprocess_start;
// queue wait = submit - max(scheduled, preprocess_end) (a fixed input has no preprocess: the
// frame waits from its scheduled time); device = complete - submit; host wait =
// postprocess_start - complete (a completed frame waiting for the host); post-process =
// postprocess_end - postprocess_start; end-to-end = postprocess_end - scheduled.
enum class Stage { kPreprocess, kQueueWait, kDevice, kHostWait, kPostprocess, kEndToEnd };
inline constexpr std::array<Stage, 6> kStages{Stage::kPreprocess,  Stage::kQueueWait,
                                              Stage::kDevice,      Stage::kHostWait,
                                              Stage::kPostprocess, Stage::kEndToEnd};
std::string_view stage_name(Stage stage);  // "preprocess", "queue_wait", ... "end_to_end"
// Nanoseconds, or nullopt when a timestamp it needs is -1 (or i is out of range).
std::optional<std::int64_t> stage_time_ns(const FrameColumns& frames, std::size_t i, Stage stage);
// The same in milliseconds.
std::optional<double> stage_time_ms(const FrameColumns& frames, std::size_t i, Stage stage);
// A frame that counts in the statistics: not warm-up, not dropped, not failed, and completed
// (scheduled and postprocess_end present).
bool is_measured_frame(const FrameColumns& frames, std::size_t i);
// The stage times of the measured frames, in frame order (frames lacking the stage skipped).
std::vector<double> stage_times_ms(const FrameColumns& frames, Stage stage);

// ---- results --------------------------------------------------------------------------------

struct PercentileResult {
  double percentile = 0.0;      // e.g. 99.9
  std::optional<double> value;  // ms; empty when there are too few samples (see why)
  std::optional<double> ci_low;
  std::optional<double> ci_high;
  std::uint64_t min_samples = 0;  // LoadGen's early-stopping minimum for this percentile
  std::string why;
};

// A SUMMARY of docs/run-record.md: one stage's times over the measured frames, ms.
struct Distribution {
  std::uint64_t count = 0;
  std::optional<double> min, mean, max, stddev, cv_percent;
  double confidence = 0.95;
  std::vector<PercentileResult> percentiles;              // ascending
  std::string why;                                        // when count == 0
  const PercentileResult* find(double percentile) const;  // nullptr when not reported
};

// `results.stages`: each stage a Distribution or missing with why.
struct StageResults {
  Measured<Distribution> preprocess, queue_wait, device, postprocess;
  // The stage's entry; nullptr for the stages without one (host wait, end-to-end).
  const Measured<Distribution>* find(Stage stage) const;
};

struct ThroughputResult {
  std::optional<double> fps;  // completions per second in the measured window
  std::optional<double> ci_low, ci_high;
  double confidence = 0.95;
  std::optional<std::string> method;  // "batch means, 20 batches of 0.75 s"
  std::optional<std::string> why;     // why fps or its interval is missing
};

struct StabilityResult {
  std::optional<double> cv_percent;  // of the device stage
  std::optional<bool> unstable;      // cv_percent > 1 %
  std::optional<std::string> warning;
  std::optional<std::string> why;
};

struct VerdictResult {
  std::optional<std::string> bound;  // "device", "host" or "load"
  std::optional<std::string> text;
  std::optional<double> device_occupancy;  // share of the window with a frame in the device
  std::optional<double> host_ms_per_frame;
  std::optional<double> device_interval_ms;  // measured window / completions in it
  std::optional<std::string> why;
};

struct StreamResult {
  double fps = 0.0;
  std::uint64_t arrivals = 0, processed = 0, dropped = 0, deadline_misses = 0;
  double deadline_ms = 0.0;
  std::optional<double> queue_depth_mean;
  std::uint64_t queue_depth_max = 0;
};

struct PoissonResult {
  double qps = 0.0;
  Measured<double> achieved_qps;
  Measured<double> latency_bound_ms;
  Measured<double> p99_ms;
  Measured<bool> p99_within_bound;
};

struct WarmupResult {
  std::optional<std::uint64_t> frames;
  std::optional<double> duration_s;
};

struct RunResults {
  std::optional<std::uint64_t> frames;  // measured frames completed (warm-up excluded)
  WarmupResult warmup;
  std::optional<std::uint64_t> failed_frames;
  std::vector<std::string> errors;   // first distinct error messages
  std::optional<double> duration_s;  // measured window
  ThroughputResult throughput;
  std::optional<Distribution> latency;  // end-to-end
  StageResults stages;
  StabilityResult stability;
  VerdictResult verdict;
  std::optional<StreamResult> stream;
  std::optional<PoissonResult> poisson;
};

// ---- context, config, status ----------------------------------------------------------------

struct ModelRef {
  std::optional<std::string> path, kind, sha256, hef_arch, compiler_version;
};
struct FileRef {
  std::optional<std::string> path, sha256;
};

// Where and with what the run ran. Host fields come from collect_host_context().
struct RunContext {
  std::optional<std::string> date, host;
  Measured<std::string> cpu_model;
  std::optional<std::int64_t> cpu_count;
  Measured<std::string> governor;
  std::optional<std::string> kernel, arch;
  Measured<std::string> os;
  std::optional<std::int64_t> page_size;
  Measured<double> memory_total_bytes;
  Measured<std::string> raspberry_pi_model;
  std::optional<std::string> hdeploy_version, hdeploy_commit, build_type;
  std::map<std::string, Measured<std::string>> libraries;  // name -> version
  std::optional<std::string> backend, backend_description;
  ModelRef model;
  std::optional<FileRef> onnx;  // the ONNX the sim/cpu computed with, or none
  Measured<double> power;
  std::map<std::string, nlohmann::json> other;  // keys this reader does not know
};

// What was asked for.
struct RunConfig {
  std::optional<std::string> scenario;
  std::optional<double> duration_s, warmup_s;
  std::optional<std::uint64_t> warmup_frames, min_frames_requested, min_frames;
  std::optional<std::uint64_t> in_flight, preprocess_threads;
  std::optional<std::string> input, input_description;  // "images" or "random"
  std::optional<std::string> images_dir;
  std::optional<std::uint64_t> image_count;
  std::optional<double> fps, deadline_ms;  // stream
  std::optional<std::uint64_t> stream_queue;
  std::optional<double> qps;  // poisson
  Measured<double> latency_bound_ms;
  std::vector<double> percentiles;
  std::optional<double> confidence;
  std::optional<std::uint64_t> seed;
  std::optional<std::int64_t> top_k, sample_interval_ms;
  std::optional<double> sim_fps, sim_latency_ms;
  std::optional<std::int64_t> sim_queue;
  std::vector<std::string> argv;
  std::map<std::string, nlohmann::json> other;  // keys this reader does not know
};

struct RunStatus {
  bool complete = true;
  std::string partial_reason;  // when !complete: "interrupted (SIGINT) after 4.2 s"
};

struct RunRecord {
  RunContext context;
  RunConfig config;
  RunStatus status;
  RunResults results;
  std::optional<SystemReport> system;  // empty when a record has none
  FrameColumns frames;
};

// ---- writing and reading --------------------------------------------------------------------

// The record as JSON text, `context` first (as google/benchmark's reports open), then config,
// status, results, system and, when with_frames, frames. Never throws on non-UTF-8 text
// (json_text escapes it).
std::string run_record_text(const RunRecord& record, bool with_frames = true);

// One section as JSON (what run_record_text writes for it).
nlohmann::json to_json(const RunContext& context);
nlohmann::json to_json(const RunConfig& config);
nlohmann::json to_json(const RunStatus& status);
nlohmann::json to_json(const RunResults& results);
nlohmann::json to_json(const Distribution& distribution);
nlohmann::json to_json(const FrameColumns& frames);
// The `system` object.
nlohmann::json to_json(const SystemReport& report);

// Sections read from JSON, tolerantly (see the top of this file).
RunContext context_from_json(const nlohmann::json& j);
RunConfig config_from_json(const nlohmann::json& j);
RunResults results_from_json(const nlohmann::json& j);
SystemReport system_from_json(const nlohmann::json& j);

// Checks `format` and `version` and reads every section. `source` names the record in
// messages (a file name). Errors: kInvalidFormat (not an object, another format, no integer
// version, malformed frames columns), kUnsupported (a version newer than kRunRecordVersion:
// update hdeploy).
Result<RunRecord> parse_run_record(const nlohmann::json& j, std::string_view source);
// Reads a record's frames columns (columns absent from `j` are filled: sequence counts, flags
// are 0, timestamps -1). kInvalidFormat on columns of different lengths or non-numbers.
Result<FrameColumns> frames_from_json(const nlohmann::json& j, std::string_view source);

}  // namespace hdeploy::bench

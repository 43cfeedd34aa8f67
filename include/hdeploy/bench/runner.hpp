#pragma once
// Load scenarios over an Engine: latency (one frame at a time), throughput (the in-flight
// window kept full), stream (a fixed-rate camera that drops frames when the pipeline is
// full, with deadlines) and poisson (MLPerf LoadGen's Server scenario: Poisson arrivals,
// unbounded queue). Every frame gets its stage timestamps; analyze() turns them into the
// run record's results and frame_columns() into its frames (run_record.hpp).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "hdeploy/bench/run_record.hpp"
#include "hdeploy/core/result.hpp"
#include "hdeploy/core/tensor.hpp"
#include "hdeploy/preprocess/preprocessor.hpp"
#include "hdeploy/runtime/engine.hpp"

namespace hdeploy::bench {

enum class Scenario { kLatency, kThroughput, kStream, kPoisson };
std::string scenario_name(Scenario scenario);              // "latency", ...
Result<Scenario> parse_scenario(const std::string& name);  // kInvalidArgument naming the choices

// Where a frame's input comes from. fill() runs on the preprocessing workers, several at
// once: it must be thread-safe and must not allocate per call in steady state beyond what
// decoding needs.
class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // True when fill() does measured work (decode + preprocess); false for a fixed tensor,
  // whose preprocess stage is then reported as not measured.
  virtual bool measured() const = 0;
  // "24 images from DIR, decoded and preprocessed per frame" / "one random tensor (seed 0)".
  virtual std::string describe() const = 0;
  // Number of distinct inputs (images); frame n uses input n % count().
  virtual std::size_t count() const = 0;
  // Writes input `index % count()` into the frame's input buffer(s).
  virtual Status fill(std::size_t index, runtime::EngineFrame& frame) const = 0;
};

// Images from files, read into memory once (disk is not measured), decoded and preprocessed
// on every fill() into the backend's input: float32 NCHW (Preprocessor::to_cpu_input) or
// uint8 NHWC (to_hailo_input, quantized with the input qp when it is not identity). Files are
// taken in name order. Errors: kNotFound (no file), kInvalidArgument (an image that cannot be
// decoded, naming it; an input spec that is neither layout), kInvalidArgument for no images.
Result<std::unique_ptr<FrameSource>> make_image_source(std::vector<std::filesystem::path> files,
                                                       const preprocess::Preprocessor& preprocessor,
                                                       const TensorSpec& input);
// One fixed input, generated once from `seed`: uniform bytes 0-255 for uint8 inputs,
// normalised values of uniform pixels for float32. fill() is a copy.
Result<std::unique_ptr<FrameSource>> make_random_source(const TensorSpec& input,
                                                        std::uint64_t seed);

// Host post-processing of one completed frame (runs on the runner's completion thread).
using PostProcess = std::function<Status(const runtime::EngineFrame&)>;
// Classification post-processing: dequantize (or read float) + softmax + top-k, results
// discarded (what a real application does per frame).
PostProcess make_classification_postprocess(const TensorSpec& output, std::size_t k = 5);

// What run_scenario reports to RunOptions::on_progress.
struct Progress {
  double elapsed_s = 0.0;
  bool warming_up = false;
  std::uint64_t frames = 0;  // measured frames completed
  double fps = 0.0;          // measured frames / measured time
  double p50_ms = 0.0;       // end-to-end so far (0 with no frames)
  double p99_ms = 0.0;
};

struct RunOptions {
  Scenario scenario = Scenario::kThroughput;
  // Measured part: runs until both are met (and stop is not set).
  std::chrono::nanoseconds duration = std::chrono::seconds(15);
  std::uint64_t min_frames = 0;
  // Warm-up before measuring: by count when warmup_frames > 0, else by time.
  std::chrono::nanoseconds warmup = std::chrono::seconds(2);
  std::uint64_t warmup_frames = 0;
  // Frames in the backend at once (throughput, stream, poisson); 0: the engine's limit.
  // latency always uses 1. Create the Engine with this in_flight (and required_pool_frames);
  // when the engine's window is wider, the runner keeps its own narrower one.
  std::size_t in_flight = 0;
  // Preprocessing workers for a measured source; 0: one per core. Fixed sources use one.
  std::size_t preprocess_threads = 0;
  // stream: camera frames per second on a fixed timetable; a frame arriving while
  // `stream_queue` (>= 1) frames already wait for a worker is dropped; deadline per frame
  // (0: one frame period). At the end (not on stop) the frames still waiting are run.
  double stream_fps = 30.0;
  std::size_t stream_queue = 2;
  double deadline_ms = 0.0;
  // poisson: mean arrivals per second, exponential gaps from `seed` (std::mt19937_64), an
  // unbounded queue whose backlog is run at the end (not on stop).
  double poisson_qps = 100.0;
  std::uint64_t seed = 0;
  // Polled; when it becomes true the run stops at once (no new frames), drains what is in
  // flight, and RunResult::interrupted is set. May be null.
  const std::atomic<bool>* stop = nullptr;
  // Called about every progress_interval on the calling thread of run_scenario.
  std::function<void(const Progress&)> on_progress;
  std::chrono::milliseconds progress_interval{1000};
};

// Per-frame timestamps, nanoseconds since RunResult::origin; -1 when never reached.
struct FrameTrace {
  // The record's frame flags (run_record.hpp).
  static constexpr std::uint8_t kWarmup = kFrameWarmup;
  static constexpr std::uint8_t kDropped = kFrameDropped;
  static constexpr std::uint8_t kFailed = kFrameFailed;
  static constexpr std::uint8_t kDeadlineMiss = kFrameDeadlineMissed;
  std::uint64_t sequence = 0;  // order of scheduling, from 0
  std::uint8_t flags = 0;
  std::uint32_t source_index = 0;  // which input (FrameSource index % count)
  std::uint32_t queue_depth = 0;   // frames waiting + in flight when this one was scheduled
  // Arrival (stream/poisson: its place on the timetable) or when a worker started on it.
  std::int64_t scheduled_ns = -1;
  std::int64_t preprocess_start_ns = -1;
  std::int64_t preprocess_end_ns = -1;
  std::int64_t submit_ns = -1;    // EngineFrame::submitted_at
  std::int64_t complete_ns = -1;  // EngineFrame::completed_at
  std::int64_t postprocess_start_ns = -1;
  std::int64_t postprocess_end_ns = -1;
};

struct RunResult {
  std::chrono::steady_clock::time_point origin;  // t = 0 of every timestamp
  std::vector<FrameTrace> frames;                // warm-up and measured, by sequence
  std::int64_t measure_start_ns = 0;  // end of warm-up: frames scheduled from here are measured
  std::int64_t measure_end_ns = 0;    // last measured completion
  double warmup_s = 0.0;
  std::size_t in_flight = 0;           // the limit used
  std::size_t preprocess_threads = 0;  // workers used
  bool interrupted = false;
  std::string stop_reason;  // "" or "interrupted after 4.2 s"
  std::uint64_t failed_frames = 0;
  std::vector<std::string> errors;  // first distinct error messages (at most 10)
};

// Runs a scenario on the calling thread's behalf (it watches the clock, the stop flag and
// reports progress) and returns once every frame it started has completed and been
// post-processed, leaving the engine idle. The engine must be idle (nothing acquired or in
// flight) and its pool at least in_flight + preprocess_threads + 2 frames (see
// required_pool_frames). Threads are named "hd-preproc-<i>", "hd-complete", "hd-arrivals".
// Errors: kInvalidArgument (bad options: fps/qps not positive, stream_queue 0, pool too small,
// an engine with frames in flight), kFailed when every frame fails (the first error; a run
// whose first 100 frames all fail stops there), the engine's error when it cannot hand out
// buffers; never for an interrupt (that is RunResult::interrupted).
Result<RunResult> run_scenario(runtime::Engine& engine, const FrameSource& source,
                               const PostProcess& postprocess, const RunOptions& options);

// The pool an Engine needs for run_scenario with these options and this backend limit:
// in flight + preprocessing workers (those of a measured source: an upper bound for a fixed
// one) + 2. An Engine's pool must also hold its own in_flight.
std::size_t required_pool_frames(const RunOptions& options, std::size_t backend_max_in_flight);

// The minimum frame count that supports every percentile in `required` (the largest
// min_samples_for_percentile), or `requested` when that is larger.
std::uint64_t raised_min_frames(std::uint64_t requested, std::span<const double> required);

struct AnalyzeOptions {
  std::vector<double> percentiles{50.0, 90.0, 95.0, 99.0, 99.9};
  double confidence = 0.95;
  double latency_bound_ms = 0.0;  // poisson: 0 = no bound given
  bool source_measured = true;    // false: preprocess stage "not measured: fixed tensor input"
};

// The record's results (statistics, stages, throughput, stability, verdict, stream/poisson
// blocks) from a run; stage times use the record's formulas (stage_time_ms).
RunResults analyze(const RunResult& run, const RunOptions& options,
                   const AnalyzeOptions& analyze_options);
// The same from the run's frame columns when the caller already has them (frame_columns(run)),
// so a long run's frames are converted once.
RunResults analyze(const RunResult& run, const FrameColumns& frames, const RunOptions& options,
                   const AnalyzeOptions& analyze_options);
// The record's frames columns of a run.
FrameColumns frame_columns(const RunResult& run);

}  // namespace hdeploy::bench

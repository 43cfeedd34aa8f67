// hdeploy bench MODEL: load scenarios (latency, throughput, stream, poisson) on the cpu, sim or
// hailo backend, with per-stage timing, statistics with confidence intervals, a verdict on
// where the time goes, and what the machine did meanwhile (bench module). Writes the run
// record (docs/run-record.md) to DIR/run.json and prints a summary; `hdeploy report` turns
// records into report.md/report.html and compares runs.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <opencv2/core/version.hpp>
#include <optional>
#include <sstream>
#include <utility>

#include "command.hpp"
#include "hdeploy/bench/run_record.hpp"
#include "hdeploy/bench/runner.hpp"
#include "hdeploy/bench/statistics.hpp"
#include "hdeploy/bench/system_sampler.hpp"
#include "hdeploy/core/file.hpp"
#include "hdeploy/core/json_text.hpp"
#include "hdeploy/core/model_spec.hpp"
#include "hdeploy/core/process.hpp"
#include "hdeploy/core/sha256.hpp"
#include "hdeploy/core/utc_time.hpp"
#include "hdeploy/preprocess/image_files.hpp"
#include "hdeploy/preprocess/preprocessor.hpp"
#include "hdeploy/runtime/cpu_backend.hpp"
#include "hdeploy/runtime/engine.hpp"
#include "hdeploy/runtime/registry.hpp"
#include "hdeploy/runtime/sim_backend.hpp"
#include "hdeploy/version.hpp"
#include "hdeploy_git_commit.hpp"
#include "model_setup.hpp"

#ifndef HDEPLOY_BUILD_TYPE
#define HDEPLOY_BUILD_TYPE "unknown"
#endif

namespace hdeploy::cli {

using preprocess::DecodeOptions;
using preprocess::list_image_files;
using preprocess::Preprocessor;
using runtime::Backend;
using runtime::BackendRequest;
using runtime::Engine;
using runtime::EngineOptions;
using runtime::hailort_version;
using runtime::kDefaultDevice;
using runtime::open_backend;
using runtime::OpenedBackend;

namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// "15s", "500ms", "2m", "1.5" (seconds) -> nanoseconds; nullopt when not a duration >= 0.
std::optional<std::chrono::nanoseconds> parse_duration(const std::string& text) {
  std::size_t used = 0;
  double value = 0.0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  const std::string unit = text.substr(used);
  double seconds = 0.0;
  if (unit.empty() || unit == "s") {
    seconds = value;
  } else if (unit == "ms") {
    seconds = value / 1000.0;
  } else if (unit == "m" || unit == "min") {
    seconds = value * 60.0;
  } else {
    return std::nullopt;
  }
  if (!std::isfinite(seconds) || seconds < 0.0 || seconds > 86400.0 * 7) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(seconds * 1e9)));
}

CLI::Validator duration_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (!parse_duration(text)) {
          return fmt::format("must be a duration such as 15s, 500ms or 2m, not '{}'", text);
        }
        return {};
      },
      "DURATION", "DURATION");
}

// "50,90,99.9" -> {50, 90, 99.9}; each in (0, 100).
std::optional<std::vector<double>> parse_percentiles(const std::string& text) {
  std::vector<double> values;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::size_t used = 0;
    double value = 0.0;
    try {
      value = std::stod(item, &used);
    } catch (const std::exception&) {
      return std::nullopt;
    }
    if (used != item.size() || !(value > 0.0 && value < 100.0)) return std::nullopt;
    values.push_back(value);
  }
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return values;
}

// "2.451 ms  [2.449, 2.452]", or why the percentile is missing.
std::string percentile_text(const bench::Distribution& d, double p) {
  const bench::PercentileResult* e = d.find(p);
  if (e == nullptr) return "not reported";
  if (!e->value) return e->why;
  if (!e->ci_low || !e->ci_high) return fmt::format("{:.3f} ms", *e->value);
  return fmt::format("{:.3f} ms  [{:.3f}, {:.3f}]", *e->value, *e->ci_low, *e->ci_high);
}
std::string p50_text(const bench::Distribution& d) { return percentile_text(d, 50.0); }

class BenchCommand : public Command {
 public:
  BenchCommand(CLI::App& root, const CliContext& ctx) : ctx_(ctx) {
    app_ = root.add_subcommand(
        "bench",
        "Benchmark a model: load scenarios, per-stage timing, statistics with confidence "
        "intervals, CPU/clock/temperature sampling; writes DIR/run.json for `hdeploy report`");
    app_->add_option("MODEL", model_path_, "ONNX model (.onnx) or Hailo compiled model (.hef)")
        ->required();
    app_->add_option("--backend", backend_name_,
                     "auto: hailo when this build has HailoRT and a device answers, else cpu for "
                     "an .onnx, sim for a .hef; cpu: OpenCV DNN; sim: emulated Hailo device; "
                     "hailo: HailoRT")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "cpu", "sim", "hailo"}));
    app_->add_option("--scenario", scenario_name_,
                     "latency: one frame at a time; throughput: the in-flight window kept full; "
                     "stream: a fixed-rate camera (--fps) with drops and deadlines; poisson: "
                     "Poisson arrivals at --qps (MLPerf LoadGen's Server)")
        ->capture_default_str()
        ->check(CLI::IsMember({"latency", "throughput", "stream", "poisson"}));
    app_->add_option("--duration", duration_text_,
                     "measured time (s, ms or m); the run lasts until this and --min-frames are "
                     "both met")
        ->capture_default_str()
        ->check(duration_validator());
    app_->add_option("--min-frames", min_frames_,
                     "minimum measured frames; raised so every reported percentile is supported "
                     "(64 for p90, 662 for p99, as MLPerf LoadGen)")
        ->capture_default_str();
    app_->add_option("--warmup", warmup_text_, "warm-up time before measuring (s, ms or m)")
        ->capture_default_str()
        ->check(duration_validator());
    app_->add_option("--warmup-frames", warmup_frames_,
                     "warm up by frame count instead of time (0: use --warmup)")
        ->capture_default_str();
    app_->add_option("--in-flight", in_flight_,
                     "frames in the backend at once (throughput, stream, poisson); 0: as many as "
                     "the backend allows")
        ->capture_default_str();
    auto* images = app_->add_option(
        "--images", images_dir_,
        "folder of JPEG/PNG images, decoded and preprocessed per frame (a measured stage)");
    auto* random = app_->add_flag(
        "--random-input", random_input_,
        "one fixed random tensor, the device path only (the default when --images is not given)");
    images->excludes(random);
    random->excludes(images);
    app_->add_option("--preprocess-threads", preprocess_threads_,
                     "preprocessing workers for --images (0: one per core)")
        ->capture_default_str();
    app_->add_option("--fps", stream_fps_, "stream: camera frames per second")
        ->capture_default_str()
        ->check(positive_number());
    app_->add_option("--deadline-ms", deadline_ms_,
                     "stream: deadline per frame in ms [default: one frame period]")
        ->check(positive_number());
    app_->add_option("--stream-queue", stream_queue_,
                     "stream: frames that may wait before the camera drops one")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app_->add_option("--qps", qps_, "poisson: mean arrivals per second (required for poisson)")
        ->check(positive_number());
    app_->add_option("--latency-bound", latency_bound_text_,
                     "poisson: the p99 end-to-end latency the run must stay under (e.g. 10ms)")
        ->check(duration_validator());
    app_->add_option("--seed", seed_, "poisson arrivals and random input")->capture_default_str();
    app_->add_option("--percentiles", percentiles_text_,
                     "percentiles to report, comma-separated (add 99.9 for p99.9: 6636 frames)")
        ->capture_default_str();
    app_->add_option("--confidence", confidence_, "confidence level of every interval")
        ->capture_default_str()
        ->check(CLI::Range(0.5, 0.999));
    app_->add_option("--out", out_dir_,
                     "folder for run.json [default: hdeploy-runs/<UTC time>-<model>-<backend>-"
                     "<scenario>]");
    app_->add_flag("--force", force_, "overwrite DIR/run.json");
    app_->add_flag("--json", json_, "print the record (without per-frame data) as JSON");
    app_->add_option("--sample-interval-ms", sample_interval_ms_,
                     "system sampling interval (CPU, clocks, temperatures), ms")
        ->capture_default_str()
        ->check(CLI::Range(10, 10000));
    app_->add_option("--model", spec_name_,
                     "model spec for --images preprocessing: a shipped name or a .toml path "
                     "[default: the spec in export.json beside the model]");
    app_->add_option("--onnx", onnx_path_,
                     "sim: compute real outputs with this ONNX on the CPU (then the CPU limits "
                     "the sim's speed) [default: timing-only]");
    app_->add_option("--threads", threads_, "OpenCV threads for the cpu backend (0: all cores)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    app_->add_option("--top-k", top_k_, "classes post-processed per frame (softmax + top-k)")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000));
    app_->add_option(
        "--device", device_,
        fmt::format("target Hailo device a HEF must run on (sim) [default: {}]", kDefaultDevice));
    sim_flags_.add_to(*app_);
  }

  Status run() override {
    HDEPLOY_ASSIGN_OR_RETURN(
        BackendRequest request,
        backend_request(backend_name_, model_path_, onnx_path_, device_, threads_, sim_flags_));
    HDEPLOY_ASSIGN_OR_RETURN(options_, run_options());
    if (!onnx_path_.empty()) HDEPLOY_TRY(check_readable_file(onnx_path_));
    if (!images_dir_.empty()) {
      HDEPLOY_ASSIGN_OR_RETURN(image_files_, list_images(images_dir_));
    }

    request.spec = [this] { return spec_for_model(); };
    HDEPLOY_ASSIGN_OR_RETURN(OpenedBackend opened, open_backend(request));
    hef_info_ = std::move(opened.hef);
    const std::string backend_kind = opened.kind;
    std::unique_ptr<Backend> backend = std::move(opened.backend);

    if (out_dir_.empty()) {
      out_dir_ = fs::path("hdeploy-runs") / fmt::format("{}-{}-{}-{}", utc_now_compact(),
                                                        model_path_.stem().string(), backend_kind,
                                                        scenario_name_);
    }
    const fs::path record_path = out_dir_ / "run.json";
    HDEPLOY_TRY(
        check_writable_output(record_path, force_ ? Overwrite::kAllow : Overwrite::kRefuse));

    HDEPLOY_ASSIGN_OR_RETURN(std::unique_ptr<bench::FrameSource> source, make_source(*backend));
    log_info(fmt::format("bench: {} on {}; scenario {}; input: {}", model_path_.string(),
                         backend->description(), scenario_name_, source->describe()));

    const std::size_t pool = bench::required_pool_frames(options_, backend->max_in_flight());
    EngineOptions engine_options;
    engine_options.in_flight = options_.scenario == bench::Scenario::kLatency ? 1 : in_flight_;
    engine_options.pool_frames = pool;
    HDEPLOY_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine,
                             Engine::create(*backend, engine_options));
    const bench::PostProcess postprocess = bench::make_classification_postprocess(
        backend->outputs().at(0), static_cast<std::size_t>(top_k_));

    bench::SystemSamplerOptions sampler_options;
    sampler_options.interval = std::chrono::milliseconds(sample_interval_ms_);
    if (backend_kind == "hailo") {
      Backend* device = backend.get();
      sampler_options.chip_temperature = [device]() -> std::optional<double> {
        auto t = device->chip_temperature_c();
        return t ? std::optional<double>(*t) : std::nullopt;
      };
    } else {
      sampler_options.chip_temperature_why =
          fmt::format("not measured: backend {} has no chip sensor", backend_kind);
    }

    // Ctrl-C: the runner polls `stop`, set from the progress callback.
    InterruptGuard interrupts;
    std::atomic<bool> stop{false};
    options_.stop = &stop;
    options_.progress_interval = std::chrono::milliseconds(100);
    const bool tty = isatty(STDERR_FILENO) != 0;
    auto last_print = Clock::now();
    options_.on_progress = [&](const bench::Progress& p) {
      if (InterruptGuard::interrupted()) stop = true;
      if (Clock::now() - last_print < std::chrono::seconds(1)) return;
      last_print = Clock::now();
      std::string line =
          p.warming_up
              ? fmt::format("bench: {:.1f} s  warming up", p.elapsed_s)
              : fmt::format("bench: {:.1f} s  {} frames  {:.1f} FPS  p50 {:.3f} ms  p99 {:.3f} ms",
                            p.elapsed_s, p.frames, p.fps, p.p50_ms, p.p99_ms);
      std::cerr << (tty ? "\r" : "") << line << (tty ? "\033[K" : "\n") << std::flush;
    };

    sampler_options.origin = Clock::now();
    HDEPLOY_ASSIGN_OR_RETURN(std::unique_ptr<bench::SystemSampler> sampler,
                             bench::SystemSampler::start(sampler_options));
    auto ran = bench::run_scenario(*engine, *source, postprocess, options_);
    bench::SystemReport system = sampler->stop();
    if (tty) std::cerr << '\n';
    if (!ran) return unexpected(ran.error());
    const bench::RunResult& run = *ran;

    // Sample times are relative to the sampler's origin; frames to the run's.
    const double shift_s =
        std::chrono::duration<double>(run.origin - sampler_options.origin).count();
    for (auto& sample : system.samples) sample.t_s -= shift_s;
    for (auto& event : system.events) event.t_s -= shift_s;

    bench::AnalyzeOptions analyze_options;
    analyze_options.percentiles = percentiles_;
    analyze_options.confidence = confidence_;
    analyze_options.latency_bound_ms = latency_bound_ms_;
    analyze_options.source_measured = source->measured();
    bench::RunRecord record;
    record.context = make_context(*backend, backend_kind);
    record.config = make_config(run, *source);
    record.status = {!run.interrupted, run.interrupted ? run.stop_reason : std::string()};
    record.frames = bench::frame_columns(run);
    record.results = bench::analyze(run, record.frames, options_, analyze_options);
    record.system = std::move(system);

    HDEPLOY_TRY(write_text_file_atomic(record_path, bench::run_record_text(record, true),
                                       force_ ? Overwrite::kAllow : Overwrite::kRefuse));
    if (json_) {
      std::cout << bench::run_record_text(record, false);
    } else {
      print_summary(record, record_path);
    }
    log_info(fmt::format("record written to {} (hdeploy report {})", record_path.string(),
                         record_path.string()));
    if (run.interrupted) {
      return fail(ErrorCode::kFailed, "{}: partial record written to {}", run.stop_reason,
                  record_path.string());
    }
    return {};
  }

 private:
  Result<bench::RunOptions> run_options() {
    bench::RunOptions o;
    HDEPLOY_ASSIGN_OR_RETURN(o.scenario, bench::parse_scenario(scenario_name_));
    o.duration = *parse_duration(duration_text_);
    o.warmup = *parse_duration(warmup_text_);
    o.warmup_frames = warmup_frames_;
    o.in_flight = in_flight_;
    o.preprocess_threads = preprocess_threads_;
    o.stream_fps = stream_fps_;
    o.stream_queue = stream_queue_;
    o.deadline_ms = deadline_ms_.value_or(0.0);
    o.seed = seed_;
    auto percentiles = parse_percentiles(percentiles_text_);
    if (!percentiles) {
      return fail(ErrorCode::kUsage,
                  "--percentiles: expected numbers between 0 and 100 separated by commas, not "
                  "'{}'",
                  percentiles_text_);
    }
    percentiles_ = *percentiles;
    o.min_frames = bench::raised_min_frames(min_frames_, percentiles_);
    if (o.min_frames > min_frames_) {
      log_info(fmt::format("bench: --min-frames raised from {} to {} so p{} is supported",
                           min_frames_, o.min_frames, percentiles_.back()));
    }
    const bool stream = o.scenario == bench::Scenario::kStream;
    const bool poisson = o.scenario == bench::Scenario::kPoisson;
    if (!stream &&
        (deadline_ms_ || app_->count("--fps") > 0 || app_->count("--stream-queue") > 0)) {
      return fail(ErrorCode::kUsage,
                  "--fps, --deadline-ms and --stream-queue apply to --scenario stream only");
    }
    if (poisson && !qps_) {
      return fail(ErrorCode::kUsage, "--scenario poisson needs --qps (mean arrivals per second)");
    }
    if (!poisson && (qps_ || !latency_bound_text_.empty())) {
      return fail(ErrorCode::kUsage, "--qps and --latency-bound apply to --scenario poisson only");
    }
    if (qps_) o.poisson_qps = *qps_;
    if (!latency_bound_text_.empty()) {
      latency_bound_ms_ =
          std::chrono::duration<double, std::milli>(*parse_duration(latency_bound_text_)).count();
    }
    return o;
  }

  static Result<std::vector<fs::path>> list_images(const fs::path& dir) {
    HDEPLOY_ASSIGN_OR_RETURN(std::vector<fs::path> files, list_image_files(dir, false));
    if (files.empty()) {
      return fail(ErrorCode::kNotFound, "{}: no .jpg, .jpeg or .png files", dir.string());
    }
    return files;
  }

  Result<ModelSpec> spec_for_model() {
    if (!spec_) {
      std::vector<fs::path> dirs{model_path_.parent_path()};
      if (!onnx_path_.empty()) dirs.push_back(onnx_path_.parent_path());
      HDEPLOY_ASSIGN_OR_RETURN(ModelSpec spec,
                               find_model_spec(spec_name_, dirs, model_path_, ctx_.models_dir()));
      spec_ = std::move(spec);
    }
    return *spec_;
  }

  Result<std::unique_ptr<bench::FrameSource>> make_source(const Backend& backend) {
    const TensorSpec& input = backend.inputs().at(0);
    if (image_files_.empty()) {
      return bench::make_random_source(input, seed_);
    }
    HDEPLOY_ASSIGN_OR_RETURN(ModelSpec spec, spec_for_model());
    DecodeOptions decode;
    decode.apply_exif_orientation = spec.preprocess.exif_orientation;
    preprocessor_.emplace(spec, decode);
    return bench::make_image_source(image_files_, *preprocessor_, input);
  }

  bench::RunContext make_context(const Backend& backend, const std::string& kind) const {
    bench::RunContext context = bench::context_from_json(bench::collect_host_context());
    context.hdeploy_version = HDEPLOY_VERSION;
    context.hdeploy_commit = HDEPLOY_GIT_COMMIT;
    context.build_type = HDEPLOY_BUILD_TYPE;
    auto& libraries = context.libraries;
    libraries["opencv"].value = CV_VERSION;
    libraries["fmt"].value =
        fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100);
    libraries["nlohmann_json"].value =
        fmt::format("{}.{}.{}", NLOHMANN_JSON_VERSION_MAJOR, NLOHMANN_JSON_VERSION_MINOR,
                    NLOHMANN_JSON_VERSION_PATCH);
    if (kind != "hailo") {
      // The hailo plugin (and so libhailort) is loaded only when a run asks for it.
      libraries["hailort"] = bench::Measured<std::string>::missing(
          fmt::format("not loaded: the run used the {} backend", kind));
    } else if (auto hailort = hailort_version()) {
      libraries["hailort"].value = *hailort;
    } else {
      libraries["hailort"] =
          bench::Measured<std::string>::missing("not measured: " + hailort.error().message);
    }
    context.backend = kind;
    context.backend_description = backend.description();
    context.model.path = model_path_.string();
    context.model.kind = model_path_.extension() == ".hef" ? "hef" : "onnx";
    if (auto digest = sha256_file_hex(model_path_)) context.model.sha256 = *digest;
    if (hef_info_) {
      context.model.hef_arch = hef_info_->proto_header.arch;
      context.model.compiler_version = hef_info_->proto_header.compiler_version;
    }
    if (!onnx_path_.empty()) {
      bench::FileRef onnx;
      onnx.path = onnx_path_.string();
      if (auto digest = sha256_file_hex(onnx_path_)) onnx.sha256 = *digest;
      context.onnx = onnx;
    }
    context.power = bench::Measured<double>::missing(
        "not measured: no power sensor hdeploy can read on this machine");
    return context;
  }

  bench::RunConfig make_config(const bench::RunResult& run,
                               const bench::FrameSource& source) const {
    bench::RunConfig c;
    c.scenario = scenario_name_;
    c.duration_s = std::chrono::duration<double>(options_.duration).count();
    c.warmup_s = std::chrono::duration<double>(options_.warmup).count();
    c.warmup_frames = options_.warmup_frames;
    c.min_frames_requested = min_frames_;
    c.min_frames = options_.min_frames;
    c.in_flight = run.in_flight;
    c.preprocess_threads = run.preprocess_threads;
    c.input = image_files_.empty() ? "random" : "images";
    c.input_description = source.describe();
    c.percentiles = percentiles_;
    c.confidence = confidence_;
    c.seed = seed_;
    c.top_k = top_k_;
    c.sample_interval_ms = sample_interval_ms_;
    c.argv = ctx_.argv;
    if (!image_files_.empty()) {
      c.images_dir = images_dir_.string();
      c.image_count = image_files_.size();
    }
    if (options_.scenario == bench::Scenario::kStream) {
      c.fps = stream_fps_;
      c.deadline_ms = deadline_ms_ ? *deadline_ms_ : 1000.0 / stream_fps_;
      c.stream_queue = stream_queue_;
    }
    if (options_.scenario == bench::Scenario::kPoisson) {
      c.qps = options_.poisson_qps;
      c.latency_bound_ms = latency_bound_ms_ > 0.0
                               ? bench::Measured<double>{latency_bound_ms_, {}}
                               : bench::Measured<double>::missing("no latency bound given");
    }
    if (sim_flags_.fps) c.sim_fps = *sim_flags_.fps;
    if (sim_flags_.latency_ms) c.sim_latency_ms = *sim_flags_.latency_ms;
    if (sim_flags_.queue) c.sim_queue = *sim_flags_.queue;
    return c;
  }

  void print_summary(const bench::RunRecord& record, const fs::path& path) const {
    const bench::RunResults& results = record.results;
    const bench::SystemReport& system = *record.system;
    auto stage_p50 = [&](bench::Stage stage) {
      const bench::Measured<bench::Distribution>* s = results.stages.find(stage);
      if (s == nullptr || !s->value)
        return s == nullptr || s->why.empty() ? "not measured" : s->why;
      return p50_text(*s->value);
    };
    const bench::ThroughputResult& tp = results.throughput;
    std::string fps = tp.why.value_or("not measured");
    if (tp.fps) {
      fps = fmt::format("{:.1f}", *tp.fps);
      if (tp.ci_low && tp.ci_high) {
        fps += fmt::format("  [{:.1f}, {:.1f}]", *tp.ci_low, *tp.ci_high);
      } else if (tp.why) {
        fps += fmt::format("  (no interval: {})", *tp.why);
      }
    }
    auto latency = [&](double p) {
      return results.latency ? percentile_text(*results.latency, p) : std::string("not measured");
    };
    fmt::print("{} on {}, scenario {}: {} measured frames in {:.2f} s\n", model_path_.string(),
               record.context.backend_description.value_or("?"), scenario_name_,
               results.frames.value_or(0), results.duration_s.value_or(0.0));
    fmt::print("=======\nSummary\n=======\n");
    fmt::print("FPS (end-to-end)                 = {}\n", fps);
    fmt::print("Latency p50 (end-to-end)         = {}\n", latency(50.0));
    fmt::print("Latency p99 (end-to-end)         = {}\n", latency(99.0));
    fmt::print("Device p50 (submit → completion) = {}\n", stage_p50(bench::Stage::kDevice));
    fmt::print("Preprocess p50                   = {}\n", stage_p50(bench::Stage::kPreprocess));
    fmt::print("Queue wait p50                   = {}\n", stage_p50(bench::Stage::kQueueWait));
    fmt::print("Post-process p50                 = {}\n", stage_p50(bench::Stage::kPostprocess));
    fmt::print("CPU (hdeploy process)            = {:.1f}% of one core, {:.1f}% of {} cores\n",
               system.cpu_percent_of_one_core, system.cpu_percent_of_all_cores, system.cores);
    fmt::print("Peak RSS                         = {:.1f} MiB\n",
               static_cast<double>(system.peak_rss_bytes) / (1024.0 * 1024.0));
    double hottest = -1000.0;
    for (const auto& s : system.samples) {
      for (const auto& [zone, c] : s.temperatures_c) hottest = std::max(hottest, c);
    }
    auto unavailable = [&](const std::string& key) {
      auto it = system.unavailable.find(key);
      return it == system.unavailable.end() ? std::string("not measured") : it->second;
    };
    fmt::print("Temperature (hottest zone)       = {}\n", hottest > -1000.0
                                                              ? fmt::format("{:.1f} °C", hottest)
                                                              : unavailable("temperatures_c"));
    std::string throttling = system.throttled_during_run ? "YES (see events)" : "none seen";
    if (system.unavailable.count("throttled") > 0 && !system.throttled_during_run) {
      throttling = "none seen in clocks; flags " + unavailable("throttled");
    }
    fmt::print("Throttling                       = {}\n", throttling);
    for (const auto& e : system.events) {
      fmt::print("  at {:.2f} s: {}: {}\n", e.t_s, e.kind, e.detail);
    }
    if (results.verdict.text) fmt::print("Verdict: {}\n", *results.verdict.text);
    if (results.stability.warning) fmt::print("Warning: {}\n", *results.stability.warning);
    if (results.stream || results.poisson) {
      const nlohmann::json written = bench::to_json(results);
      for (const char* block : {"stream", "poisson"}) {
        if (!written.at(block).is_null())
          fmt::print("{}: {}\n", block, json_text(written.at(block)));
      }
    }
    fmt::print("Record: {}\n", path.string());
  }

  const CliContext& ctx_;
  fs::path model_path_;
  std::string backend_name_ = "auto";
  std::string scenario_name_ = "throughput";
  std::string duration_text_ = "15s";
  std::uint64_t min_frames_ = 0;
  std::string warmup_text_ = "2s";
  std::uint64_t warmup_frames_ = 0;
  std::size_t in_flight_ = 0;
  fs::path images_dir_;
  bool random_input_ = false;
  std::size_t preprocess_threads_ = 0;
  double stream_fps_ = 30.0;
  std::optional<double> deadline_ms_;
  std::size_t stream_queue_ = 2;
  std::optional<double> qps_;
  std::string latency_bound_text_;
  double latency_bound_ms_ = 0.0;
  std::uint64_t seed_ = 0;
  std::string percentiles_text_ = "50,90,95,99";
  std::vector<double> percentiles_;
  double confidence_ = bench::kDefaultConfidence;
  fs::path out_dir_;
  bool force_ = false;
  bool json_ = false;
  int sample_interval_ms_ = 250;
  std::string spec_name_;
  fs::path onnx_path_;
  int threads_ = 0;
  int top_k_ = 5;
  std::string device_;
  SimTimingFlags sim_flags_;

  std::vector<fs::path> image_files_;
  std::optional<ModelSpec> spec_;
  std::optional<Preprocessor> preprocessor_;
  std::optional<hef::HefInfo> hef_info_;
  bench::RunOptions options_;
};

}  // namespace

std::unique_ptr<Command> make_bench_command(CLI::App& root, const CliContext& ctx) {
  return std::make_unique<BenchCommand>(root, ctx);
}

}  // namespace hdeploy::cli

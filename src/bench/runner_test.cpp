#include "hdeploy/bench/runner.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "hdeploy/runtime/sim_backend.hpp"
#include "testing/temp_dir.hpp"
#include "testing/test_images.hpp"

namespace hdeploy::bench {

using preprocess::DecodeOptions;
using preprocess::Preprocessor;
using runtime::Backend;
using runtime::Completion;
using runtime::create_sim_backend;
using runtime::Engine;
using runtime::EngineFrame;
using runtime::EngineOptions;
using runtime::FrameBuffers;
using runtime::SimBackend;
using runtime::SimDeviceSpec;

namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

SimDeviceSpec sim_spec(double fps, double latency_ms, std::size_t depth, std::int64_t h = 4,
                       std::int64_t w = 4) {
  SimDeviceSpec spec;
  spec.input.name = "tiny/input_layer1";
  spec.input.dtype = DType::kUint8;
  spec.input.layout = Layout::kNHWC;
  spec.input.shape = {1, h, w, 3};
  spec.output.name = "tiny/output_layer1";
  spec.output.dtype = DType::kUint8;
  spec.output.layout = Layout::kNC;
  spec.output.shape = {1, 10};
  spec.output.quantization = Quantization{0.1F, 5.0F};
  spec.fps = fps;
  spec.latency_ms = latency_ms;
  spec.queue_depth = depth;
  spec.source = "runner_test";
  return spec;
}

// A timing-only sim, an engine sized for `options`, and a post-process that checks the output
// (the sim echoes the input's first bytes) belongs to the frame's input.
struct Rig {
  std::unique_ptr<SimBackend> sim;
  std::unique_ptr<Engine> engine;
};

Rig make_rig(double fps, double latency_ms, std::size_t depth, const RunOptions& options,
             std::size_t engine_in_flight = 0) {
  Rig rig;
  auto sim = create_sim_backend(sim_spec(fps, latency_ms, depth));
  EXPECT_TRUE(sim) << sim.error().message;
  rig.sim = std::move(sim).value();
  // The engine's own window may be wider than the scenario's (the runner then keeps its own).
  const std::size_t engine_window = engine_in_flight == 0 ? depth : engine_in_flight;
  const std::size_t pool =
      std::max(required_pool_frames(options, rig.sim->max_in_flight()), engine_window);
  auto engine = Engine::create(*rig.sim, EngineOptions{engine_in_flight, pool});
  EXPECT_TRUE(engine) << engine.error().message;
  rig.engine = std::move(engine).value();
  return rig;
}

// Writes the frame index into the input (the timing-only sim echoes it to the output). Fails
// the frames `fail_if` selects, with the message `message_for` gives.
class IndexSource final : public FrameSource {
 public:
  explicit IndexSource(bool measured = false, std::chrono::microseconds work = {})
      : measured_(measured), work_(work) {}
  bool measured() const override { return measured_; }
  std::string describe() const override { return "frame indices"; }
  std::size_t count() const override { return 7; }
  Status fill(std::size_t index, EngineFrame& frame) const override {
    if (fail_if && fail_if(index)) return fail(ErrorCode::kFailed, "{}", message_for(index));
    if (work_.count() > 0) {
      const auto until = Clock::now() + work_;
      while (Clock::now() < until) {
      }
    }
    const std::uint64_t id = index;
    std::memcpy(frame.input().data(), &id, sizeof id);
    return {};
  }
  std::function<bool(std::size_t)> fail_if;
  std::function<std::string(std::size_t)> message_for = [](std::size_t) { return "bad frame"; };

 private:
  bool measured_;
  std::chrono::microseconds work_;
};

std::uint64_t output_id(const EngineFrame& frame) {
  std::uint64_t id = 0;
  std::memcpy(&id, frame.output().data(), sizeof id);
  return id;
}

// Checks that the output echoes the frame's own input, and counts calls per frame.
struct CheckingPostProcess {
  std::mutex mutex;
  std::map<std::uint64_t, int> calls;
  std::atomic<int> mismatches{0};
  PostProcess function() {
    return [this](const EngineFrame& frame) -> Status {
      if (output_id(frame) != frame.tag) mismatches.fetch_add(1);
      std::lock_guard lock(mutex);
      ++calls[frame.tag];
      return {};
    };
  }
};

PostProcess no_postprocess() {
  return [](const EngineFrame&) -> Status { return {}; };
}

double ms(std::int64_t ns) { return static_cast<double>(ns) / 1e6; }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

bool done(const FrameTrace& t) {
  return (t.flags & (FrameTrace::kDropped | FrameTrace::kFailed)) == 0 && t.postprocess_end_ns >= 0;
}

// Every frame's timestamps in stage order; a frame that was submitted also completed.
void expect_consistent(const RunResult& run) {
  for (std::size_t i = 0; i < run.frames.size(); ++i) {
    const FrameTrace& t = run.frames[i];
    ASSERT_EQ(t.sequence, i);
    ASSERT_GE(t.scheduled_ns, 0) << i;
    if (i > 0) {
      EXPECT_GE(t.scheduled_ns, run.frames[i - 1].scheduled_ns) << i;
    }
    if (t.submit_ns >= 0) {
      EXPECT_GE(t.complete_ns, t.submit_ns) << i;
    }
    if (!done(t)) continue;
    EXPECT_LE(t.scheduled_ns, t.preprocess_start_ns + 1000) << i;
    EXPECT_LE(t.preprocess_start_ns, t.preprocess_end_ns) << i;
    EXPECT_LE(t.preprocess_end_ns, t.submit_ns) << i;
    EXPECT_LE(t.complete_ns, t.postprocess_start_ns) << i;
    EXPECT_LE(t.postprocess_start_ns, t.postprocess_end_ns) << i;
  }
}

TEST(Scenario, NamesRoundTrip) {
  for (Scenario s :
       {Scenario::kLatency, Scenario::kThroughput, Scenario::kStream, Scenario::kPoisson}) {
    auto parsed = parse_scenario(scenario_name(s));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, s);
  }
  auto bad = parse_scenario("offline");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("latency, throughput, stream or poisson"), std::string::npos);
}

TEST(Runner, RequiredPoolAndMinFrames) {
  RunOptions options;
  options.scenario = Scenario::kThroughput;
  options.preprocess_threads = 3;
  EXPECT_EQ(required_pool_frames(options, 4), 4U + 3U + 2U);
  options.in_flight = 2;
  EXPECT_EQ(required_pool_frames(options, 4), 2U + 3U + 2U);
  options.in_flight = 16;  // clamped to the backend's limit
  EXPECT_EQ(required_pool_frames(options, 4), 4U + 3U + 2U);
  options.scenario = Scenario::kLatency;  // one frame, one worker
  EXPECT_EQ(required_pool_frames(options, 4), 1U + 1U + 2U);

  const double p50_99[] = {50.0, 99.0};
  EXPECT_EQ(raised_min_frames(100, p50_99), 662U);
  EXPECT_EQ(raised_min_frames(5000, p50_99), 5000U);
  EXPECT_EQ(raised_min_frames(7, {}), 7U);
}

TEST(Runner, RejectsBadOptions) {
  RunOptions options;
  options.scenario = Scenario::kStream;
  options.stream_fps = 0.0;
  Rig rig = make_rig(1000, 1, 4, options);
  IndexSource source;
  auto run = run_scenario(*rig.engine, source, no_postprocess(), options);
  ASSERT_FALSE(run);
  EXPECT_EQ(run.error().code, ErrorCode::kInvalidArgument);

  options.scenario = Scenario::kPoisson;
  options.poisson_qps = -1.0;
  run = run_scenario(*rig.engine, source, no_postprocess(), options);
  ASSERT_FALSE(run);
  EXPECT_EQ(run.error().code, ErrorCode::kInvalidArgument);

  // A pool without room for the workers and the completion thread.
  options.scenario = Scenario::kThroughput;
  auto small = Engine::create(*rig.sim, EngineOptions{4, 4});
  ASSERT_TRUE(small);
  run = run_scenario(**small, source, no_postprocess(), options);
  ASSERT_FALSE(run);
  EXPECT_EQ(run.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(run.error().message.find("required_pool_frames"), std::string::npos);
}

TEST(Runner, LatencyKeepsOneFrameInTheSystem) {
  RunOptions options;
  options.scenario = Scenario::kLatency;
  options.duration = milliseconds(600);
  options.warmup = milliseconds(50);
  Rig rig = make_rig(1000, 5.0, 4, options);
  IndexSource source;
  CheckingPostProcess post;
  auto run = run_scenario(*rig.engine, source, post.function(), options);
  ASSERT_TRUE(run) << run.error().message;
  expect_consistent(*run);
  EXPECT_EQ(post.mismatches.load(), 0);
  EXPECT_EQ(run->in_flight, 1U);
  EXPECT_EQ(run->preprocess_threads, 1U);

  std::vector<double> e2e;
  std::vector<double> device;
  for (const FrameTrace& t : run->frames) {
    if ((t.flags & FrameTrace::kWarmup) != 0 || !done(t)) continue;
    e2e.push_back(ms(t.postprocess_end_ns - t.scheduled_ns));
    device.push_back(ms(t.complete_ns - t.submit_ns));
  }
  ASSERT_GE(e2e.size(), 50U);
  EXPECT_GE(median(e2e), 5.0);
  EXPECT_LE(median(e2e), 7.0);
  EXPECT_GE(median(device), 5.0);
  EXPECT_LE(median(device), 6.5);
  // Exactly one frame at a time: each starts after the previous one was post-processed, so no
  // two [submit, complete] intervals overlap.
  for (std::size_t i = 1; i < run->frames.size(); ++i) {
    const FrameTrace& prev = run->frames[i - 1];
    const FrameTrace& t = run->frames[i];
    if (t.submit_ns < 0) continue;
    EXPECT_GT(t.submit_ns, prev.complete_ns) << i;
    EXPECT_GE(t.scheduled_ns, prev.postprocess_end_ns) << i;
  }

  const nlohmann::json results = to_json(analyze(*run, options, AnalyzeOptions{}));
  const double p50 = results["latency"]["percentiles"]["50"]["value"].get<double>();
  EXPECT_GE(p50, 5.0);
  EXPECT_LE(p50, 7.0);
  const double device_p50 = results["stages"]["device"]["percentiles"]["50"]["value"].get<double>();
  EXPECT_NEAR(device_p50, 5.0, 1.5);
  EXPECT_EQ(results["verdict"]["bound"], "device");
}

TEST(Runner, ThroughputReachesTheDeviceCeiling) {
  RunOptions options;
  options.scenario = Scenario::kThroughput;
  options.duration = milliseconds(1000);
  options.warmup = milliseconds(150);
  Rig rig = make_rig(500, 4.0, 4, options);
  IndexSource source;
  CheckingPostProcess post;
  auto run = run_scenario(*rig.engine, source, post.function(), options);
  ASSERT_TRUE(run) << run.error().message;
  expect_consistent(*run);
  EXPECT_EQ(post.mismatches.load(), 0);
  EXPECT_EQ(run->in_flight, 4U);
  AnalyzeOptions analyze_options;
  analyze_options.source_measured = false;
  const nlohmann::json results = to_json(analyze(*run, options, analyze_options));
  const double fps = results["throughput"]["fps"].get<double>();
  EXPECT_NEAR(fps, 500.0, 50.0) << results.dump();
  EXPECT_EQ(results["verdict"]["bound"], "device") << results["verdict"].dump();
  EXPECT_GT(results["verdict"]["device_occupancy"].get<double>(), 0.9);
  EXPECT_TRUE(results["stages"]["preprocess"].is_null());
  EXPECT_EQ(results["stages"]["preprocess_why"],
            "not measured: fixed tensor input (--random-input)");
}

TEST(Runner, NarrowerWindowThanTheEngineIsHonoured) {
  RunOptions options;
  options.scenario = Scenario::kThroughput;
  options.duration = milliseconds(300);
  options.warmup = milliseconds(0);
  options.in_flight = 2;
  Rig rig = make_rig(2000, 2.0, 8, options);  // engine allows 8
  IndexSource source;
  auto run = run_scenario(*rig.engine, source, no_postprocess(), options);
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(run->in_flight, 2U);
  // At no submit time were more than 2 frames between submit and complete.
  std::vector<std::pair<std::int64_t, int>> events;
  for (const FrameTrace& t : run->frames) {
    if (t.submit_ns < 0) continue;
    events.emplace_back(t.submit_ns, +1);
    events.emplace_back(t.complete_ns, -1);
  }
  std::sort(events.begin(), events.end());  // a completion before a submit at the same time
  int in_device = 0;
  int most = 0;
  for (auto [time, delta] : events) {
    in_device += delta;
    most = std::max(most, in_device);
  }
  EXPECT_LE(most, 2);
  EXPECT_EQ(most, 2);
}

TEST(Runner, StreamDropsWhatTheDeviceCannotTake) {
  RunOptions options;
  options.scenario = Scenario::kStream;
  options.stream_fps = 30.0;
  options.duration = milliseconds(1500);
  options.warmup = milliseconds(0);
  Rig rig = make_rig(20.0, 10.0, 1, options, 1);
  IndexSource source;
  CheckingPostProcess post;
  auto run = run_scenario(*rig.engine, source, post.function(), options);
  ASSERT_TRUE(run) << run.error().message;
  expect_consistent(*run);
  EXPECT_EQ(post.mismatches.load(), 0);
  const nlohmann::json results = to_json(analyze(*run, options, AnalyzeOptions{}));
  const nlohmann::json& stream = results["stream"];
  ASSERT_TRUE(stream.is_object()) << results.dump();
  const auto arrivals = stream["arrivals"].get<double>();
  const auto processed = stream["processed"].get<double>();
  const auto dropped = stream["dropped"].get<double>();
  const auto misses = stream["deadline_misses"].get<double>();
  const double window_s = results["duration_s"].get<double>();
  EXPECT_NEAR(arrivals, 30.0 * 1.5, 3.0);
  EXPECT_LE(processed, 20.0 * window_s + 2.0) << stream.dump();
  EXPECT_GE(dropped + misses, arrivals - 20.0 * window_s - 3.0) << stream.dump();
  EXPECT_GT(dropped, 0.0);
  EXPECT_NEAR(stream["deadline_ms"].get<double>(), 1000.0 / 30.0, 1e-9);
  EXPECT_LE(stream["queue_depth_max"].get<int>(), 2 + 1 + 1);  // waiting + worker + device
  EXPECT_NE(results["verdict"]["bound"], "load") << results["verdict"].dump();
  // Dropped frames carry only their arrival.
  for (const FrameTrace& t : run->frames) {
    if ((t.flags & FrameTrace::kDropped) == 0) continue;
    EXPECT_EQ(t.preprocess_start_ns, -1);
    EXPECT_EQ(t.submit_ns, -1);
  }
  // The camera's timetable: frame k arrives at k / 30 s.
  for (const FrameTrace& t : run->frames) {
    EXPECT_NEAR(static_cast<double>(t.scheduled_ns), static_cast<double>(t.sequence) * 1e9 / 30.0,
                1.0);
  }
}

TEST(Runner, StreamWithinCapacityNeitherDropsNorMisses) {
  RunOptions options;
  options.scenario = Scenario::kStream;
  options.stream_fps = 30.0;
  options.duration = milliseconds(1000);
  options.warmup = milliseconds(0);
  // Frames take ~2 ms; room for a loaded machine's scheduling stalls, not for a slow pipeline.
  options.deadline_ms = 100.0;
  options.stream_queue = 4;
  Rig rig = make_rig(200.0, 2.0, 4, options);
  IndexSource source;
  auto run = run_scenario(*rig.engine, source, no_postprocess(), options);
  ASSERT_TRUE(run) << run.error().message;
  expect_consistent(*run);
  const nlohmann::json results = to_json(analyze(*run, options, AnalyzeOptions{}));
  const nlohmann::json& stream = results["stream"];
  EXPECT_EQ(stream["dropped"], 0) << stream.dump();
  EXPECT_EQ(stream["deadline_misses"], 0) << stream.dump();
  EXPECT_EQ(stream["processed"], stream["arrivals"]);
  EXPECT_EQ(results["verdict"]["bound"], "load") << results["verdict"].dump();
}

// D of a Kolmogorov-Smirnov test of `samples` against the exponential with rate `rate`.
double ks_exponential(std::vector<double> samples, double rate) {
  std::sort(samples.begin(), samples.end());
  const auto n = static_cast<double>(samples.size());
  double d = 0.0;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const double cdf = 1.0 - std::exp(-rate * samples[i]);
    d = std::max({d, static_cast<double>(i + 1) / n - cdf, cdf - static_cast<double>(i) / n});
  }
  return d;
}

TEST(Runner, PoissonArrivalsAreExponentialAndRepeatable) {
  RunOptions options;
  options.scenario = Scenario::kPoisson;
  options.poisson_qps = 400.0;
  options.seed = 7;
  options.duration = milliseconds(1000);
  options.warmup = milliseconds(0);
  Rig rig = make_rig(10000.0, 0.2, 4, options);
  IndexSource source;
  auto run = run_scenario(*rig.engine, source, no_postprocess(), options);
  ASSERT_TRUE(run) << run.error().message;
  expect_consistent(*run);
  std::vector<double> gaps_s;
  double previous = 0.0;
  std::vector<double> e2e;
  for (const FrameTrace& t : run->frames) {
    const double at = static_cast<double>(t.scheduled_ns) / 1e9;
    gaps_s.push_back(at - previous);
    previous = at;
    if (done(t)) e2e.push_back(ms(t.postprocess_end_ns - t.scheduled_ns));
  }
  ASSERT_GE(gaps_s.size(), 300U);
  double mean = 0.0;
  for (double g : gaps_s) mean += g;
  mean /= static_cast<double>(gaps_s.size());
  EXPECT_NEAR(mean, 1.0 / 400.0, 0.15 / 400.0);
  const double d = ks_exponential(gaps_s, 400.0);
  EXPECT_LT(d, 1.63 / std::sqrt(static_cast<double>(gaps_s.size())));
  // Every arrival was served (unbounded queue), soon after it arrived.
  EXPECT_EQ(e2e.size(), run->frames.size());
  EXPECT_LT(median(e2e), 5.0);

  AnalyzeOptions analyze_options;
  analyze_options.latency_bound_ms = 50.0;
  const nlohmann::json results = to_json(analyze(*run, options, analyze_options));
  const nlohmann::json& poisson = results["poisson"];
  EXPECT_NEAR(poisson["achieved_qps"].get<double>(), 400.0, 80.0) << poisson.dump();
  EXPECT_EQ(results["verdict"]["bound"], "load") << results["verdict"].dump();

  // The same seed gives the same timetable; another seed another.
  RunOptions again = options;
  again.duration = milliseconds(300);
  auto second = run_scenario(*rig.engine, source, no_postprocess(), again);
  ASSERT_TRUE(second) << second.error().message;
  ASSERT_GE(second->frames.size(), 50U);
  const std::size_t common = std::min(second->frames.size(), run->frames.size());
  for (std::size_t i = 0; i < common; ++i) {
    ASSERT_EQ(second->frames[i].scheduled_ns, run->frames[i].scheduled_ns) << i;
  }
  again.seed = 8;
  auto other = run_scenario(*rig.engine, source, no_postprocess(), again);
  ASSERT_TRUE(other);
  EXPECT_NE(other->frames.at(0).scheduled_ns, run->frames.at(0).scheduled_ns);
}

TEST(Runner, OverloadedPoissonServesItsBacklog) {
  RunOptions options;
  options.scenario = Scenario::kPoisson;
  options.poisson_qps = 400.0;
  options.duration = milliseconds(400);
  options.warmup = milliseconds(0);
  Rig rig = make_rig(200.0, 2.0, 4, options);  // half the offered rate
  IndexSource source;
  auto run = run_scenario(*rig.engine, source, no_postprocess(), options);
  ASSERT_TRUE(run) << run.error().message;
  expect_consistent(*run);
  // Nothing dropped or left: the backlog was served after the arrivals stopped.
  for (const FrameTrace& t : run->frames) ASSERT_TRUE(done(t)) << t.sequence;
  const FrameTrace& last = run->frames.back();
  EXPECT_GT(ms(last.postprocess_end_ns - last.scheduled_ns), 100.0);  // it waited its turn
  const nlohmann::json results = to_json(analyze(*run, options, AnalyzeOptions{}));
  EXPECT_NEAR(results["poisson"]["achieved_qps"].get<double>(), 200.0, 40.0)
      << results["poisson"].dump();
  EXPECT_EQ(results["verdict"]["bound"], "device") << results["verdict"].dump();
}

TEST(Runner, WarmupByCountIsExcluded) {
  RunOptions options;
  options.scenario = Scenario::kLatency;
  options.warmup_frames = 25;
  options.warmup = std::chrono::seconds(100);  // ignored: counting
  options.duration = milliseconds(150);
  Rig rig = make_rig(10000.0, 0.2, 4, options);
  IndexSource source;
  auto run = run_scenario(*rig.engine, source, no_postprocess(), options);
  ASSERT_TRUE(run) << run.error().message;
  ASSERT_GT(run->frames.size(), 30U);
  for (const FrameTrace& t : run->frames) {
    EXPECT_EQ((t.flags & FrameTrace::kWarmup) != 0, t.sequence < 25) << t.sequence;
  }
  EXPECT_EQ(run->measure_start_ns, run->frames[25].scheduled_ns);
  EXPECT_DOUBLE_EQ(run->warmup_s, static_cast<double>(run->measure_start_ns) / 1e9);
  const nlohmann::json results = to_json(analyze(*run, options, AnalyzeOptions{}));
  EXPECT_EQ(results["warmup"]["frames"], 25);
  EXPECT_EQ(results["frames"].get<std::size_t>(), run->frames.size() - 25);
  EXPECT_EQ(results["latency"]["count"].get<std::size_t>(), run->frames.size() - 25);
}

TEST(Runner, WarmupByTimeIsExcluded) {
  RunOptions options;
  options.scenario = Scenario::kThroughput;
  options.warmup = milliseconds(150);
  options.duration = milliseconds(200);
  Rig rig = make_rig(5000.0, 0.5, 4, options);
  IndexSource source;
  auto run = run_scenario(*rig.engine, source, no_postprocess(), options);
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(run->measure_start_ns, 150'000'000);
  std::size_t warm = 0;
  for (const FrameTrace& t : run->frames) {
    const bool warmup = (t.flags & FrameTrace::kWarmup) != 0;
    EXPECT_EQ(warmup, t.scheduled_ns < 150'000'000) << t.sequence;
    warm += warmup ? 1 : 0;
  }
  EXPECT_GT(warm, 10U);
  EXPECT_LT(warm, run->frames.size());
  const nlohmann::json results = to_json(analyze(*run, options, AnalyzeOptions{}));
  EXPECT_EQ(results["warmup"]["frames"].get<std::size_t>(), warm);
  EXPECT_NEAR(results["warmup"]["duration_s"].get<double>(), 0.15, 1e-12);
  EXPECT_GE(results["duration_s"].get<double>(), 0.2);
}

TEST(Runner, MinFramesExtendsTheRun) {
  RunOptions options;
  options.scenario = Scenario::kLatency;
  options.warmup = milliseconds(0);
  options.duration = milliseconds(10);
  options.min_frames = 150;
  Rig rig = make_rig(2000.0, 1.0, 4, options);
  IndexSource source;
  auto run = run_scenario(*rig.engine, source, no_postprocess(), options);
  ASSERT_TRUE(run) << run.error().message;
  std::size_t measured = 0;
  for (const FrameTrace& t : run->frames) measured += done(t) ? 1 : 0;
  EXPECT_GE(measured, 150U);
  EXPECT_GE(run->measure_end_ns - run->measure_start_ns, 150'000'000);  // 150 frames of 1 ms
}

TEST(Runner, StopFlagInterruptsWithAPartialResult) {
  RunOptions options;
  options.scenario = Scenario::kThroughput;
  options.warmup = milliseconds(0);
  options.duration = std::chrono::seconds(30);
  std::atomic<bool> stop{false};
  options.stop = &stop;
  std::vector<Progress> progress;
  options.progress_interval = milliseconds(50);
  options.on_progress = [&](const Progress& p) {
    progress.push_back(p);
    if (p.elapsed_s >= 0.25) stop = true;
  };
  Rig rig = make_rig(2000.0, 2.0, 4, options);
  IndexSource source;
  CheckingPostProcess post;
  const auto t0 = Clock::now();
  auto run = run_scenario(*rig.engine, source, post.function(), options);
  const double wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_LT(wall_s, 5.0);
  EXPECT_TRUE(run->interrupted);
  EXPECT_EQ(run->stop_reason.rfind("interrupted after ", 0), 0U) << run->stop_reason;
  EXPECT_GT(run->frames.size(), 50U);
  // Drained: every submitted frame completed and was post-processed exactly once.
  for (const FrameTrace& t : run->frames) {
    EXPECT_GE(t.submit_ns, 0);
    EXPECT_GE(t.postprocess_end_ns, 0);
    EXPECT_EQ(post.calls[t.sequence], 1);
  }
  EXPECT_EQ(rig.engine->in_flight(), 0U);
  // Progress: about every 50 ms, frames and time growing, percentiles once frames completed.
  ASSERT_GE(progress.size(), 3U);
  for (std::size_t i = 1; i < progress.size(); ++i) {
    EXPECT_GT(progress[i].elapsed_s, progress[i - 1].elapsed_s);
    EXPECT_GE(progress[i].frames, progress[i - 1].frames);
  }
  EXPECT_FALSE(progress.back().warming_up);
  EXPECT_GT(progress.back().frames, 0U);
  EXPECT_GT(progress.back().fps, 100.0);
  EXPECT_GE(progress.back().p50_ms, 2.0);
  EXPECT_GE(progress.back().p99_ms, progress.back().p50_ms);
  // The engine is idle again and can run another scenario.
  stop = false;
  options.on_progress = nullptr;
  options.duration = milliseconds(50);
  auto again = run_scenario(*rig.engine, source, no_postprocess(), options);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(again->interrupted);
}

TEST(Runner, FailingSourceFramesAreCounted) {
  RunOptions options;
  options.scenario = Scenario::kThroughput;
  options.warmup = milliseconds(0);
  options.duration = milliseconds(200);
  Rig rig = make_rig(5000.0, 0.5, 4, options);
  IndexSource source;
  source.fail_if = [](std::size_t i) { return i % 3 == 1; };
  source.message_for = [](std::size_t i) { return fmt::format("bad frame {}", i % 45); };
  auto run = run_scenario(*rig.engine, source, no_postprocess(), options);
  ASSERT_TRUE(run) << run.error().message;
  std::uint64_t failed = 0;
  for (const FrameTrace& t : run->frames) {
    const bool is_failed = (t.flags & FrameTrace::kFailed) != 0;
    EXPECT_EQ(is_failed, t.sequence % 3 == 1) << t.sequence;
    if (is_failed) {
      ++failed;
      EXPECT_EQ(t.submit_ns, -1);
      EXPECT_GE(t.preprocess_end_ns, 0);
    }
  }
  EXPECT_EQ(run->failed_frames, failed);
  ASSERT_EQ(run->errors.size(), 10U);  // 15 distinct messages, the first 10 kept
  EXPECT_EQ(run->errors[0], "bad frame 1");
  EXPECT_EQ(run->errors[1], "bad frame 4");
  const nlohmann::json results = to_json(analyze(*run, options, AnalyzeOptions{}));
  EXPECT_EQ(results["failed_frames"].get<std::uint64_t>(), failed);
  EXPECT_EQ(results["errors"].size(), 10U);
}

TEST(Runner, EveryFrameFailingIsAnError) {
  RunOptions options;
  options.scenario = Scenario::kThroughput;
  options.warmup = milliseconds(0);
  options.duration = std::chrono::seconds(20);
  Rig rig = make_rig(5000.0, 0.5, 4, options);
  IndexSource source;
  source.fail_if = [](std::size_t) { return true; };
  source.message_for = [](std::size_t) { return "camera unplugged"; };
  const auto t0 = Clock::now();
  auto run = run_scenario(*rig.engine, source, no_postprocess(), options);
  ASSERT_FALSE(run);
  EXPECT_EQ(run.error().code, ErrorCode::kFailed);
  EXPECT_NE(run.error().message.find("camera unplugged"), std::string::npos);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 5.0);  // fails fast
}

TEST(Runner, FailingPostprocessFramesAreCounted) {
  RunOptions options;
  options.scenario = Scenario::kThroughput;
  options.warmup = milliseconds(0);
  options.duration = milliseconds(200);
  Rig rig = make_rig(5000.0, 0.5, 4, options);
  IndexSource source;
  PostProcess post = [](const EngineFrame& frame) -> Status {
    if (frame.tag % 4 == 0) return fail(ErrorCode::kFailed, "no class above threshold");
    return {};
  };
  auto run = run_scenario(*rig.engine, source, post, options);
  ASSERT_TRUE(run) << run.error().message;
  std::uint64_t failed = 0;
  for (const FrameTrace& t : run->frames) {
    const bool is_failed = (t.flags & FrameTrace::kFailed) != 0;
    EXPECT_EQ(is_failed, t.sequence % 4 == 0) << t.sequence;
    failed += is_failed ? 1 : 0;
    if (is_failed) {
      EXPECT_GE(t.postprocess_end_ns, 0);  // it ran, and said no
    }
  }
  EXPECT_EQ(run->failed_frames, failed);
  EXPECT_EQ(run->errors, std::vector<std::string>{"no class above threshold"});
  const nlohmann::json results = to_json(analyze(*run, options, AnalyzeOptions{}));
  EXPECT_EQ(results["frames"].get<std::uint64_t>() + failed, run->frames.size());
}

TEST(Runner, ManyWorkersCompleteEveryFrameOnce) {
  RunOptions options;
  options.scenario = Scenario::kThroughput;
  options.warmup = milliseconds(50);
  options.duration = milliseconds(300);
  options.preprocess_threads = 3;
  Rig rig = make_rig(4000.0, 1.0, 4, options);
  IndexSource source(true, std::chrono::microseconds(100));
  CheckingPostProcess post;
  auto run = run_scenario(*rig.engine, source, post.function(), options);
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_EQ(run->preprocess_threads, 3U);
  expect_consistent(*run);
  EXPECT_EQ(post.mismatches.load(), 0);
  EXPECT_EQ(post.calls.size(), run->frames.size());
  for (const FrameTrace& t : run->frames) {
    EXPECT_EQ(post.calls[t.sequence], 1) << t.sequence;
    EXPECT_EQ(t.source_index, t.sequence % 7);
  }
  const nlohmann::json results = to_json(analyze(*run, options, AnalyzeOptions{}));
  EXPECT_TRUE(results["stages"]["preprocess"].is_object());
  EXPECT_GE(results["stages"]["preprocess"]["min"].get<double>(), 0.1);
}

// ---- frame sources ----

// An 8-bit RGB PNG (libpng, through the preprocess tests' encoder).
std::vector<std::uint8_t> png_rgb(int width, int height, unsigned seed) {
  std::vector<std::vector<std::uint8_t>> rows;
  for (int y = 0; y < height; ++y) {
    std::vector<std::uint8_t>& row = rows.emplace_back();
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < 3; ++c) {
        row.push_back(static_cast<std::uint8_t>(
            ((x * 3 + c) * 37 + y * 11 + static_cast<int>(seed) * 97) & 0xFF));
      }
    }
  }
  return hdeploy::testing::encode_png(width, height, 8, /*color_type=RGB*/ 2, rows);
}

void write_bytes(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

using hdeploy::testing::TempDir;

ModelSpec small_spec() {
  ModelSpec spec;
  spec.name = "small";
  spec.input_height = 8;
  spec.input_width = 8;
  spec.preprocess.resize = 10;
  spec.preprocess.crop_height = 8;
  spec.preprocess.crop_width = 8;
  return spec;
}

// Only hands out buffers: a backend with a float32 NCHW input, whose frames never run.
class BufferBackend final : public Backend {
 public:
  explicit BufferBackend(TensorSpec input) : inputs_{std::move(input)} {
    TensorSpec out;
    out.name = "out";
    out.dtype = DType::kFloat32;
    out.layout = Layout::kNC;
    out.shape = {1, 10};
    outputs_.push_back(out);
  }
  std::string name() const override { return "buffers"; }
  std::string description() const override { return "buffers only"; }
  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }
  std::size_t max_in_flight() const override { return 1; }
  Status submit(const FrameBuffers&, Completion) override {
    return fail(ErrorCode::kUnsupported, "buffers only");
  }

 private:
  std::vector<TensorSpec> inputs_;
  std::vector<TensorSpec> outputs_;
};

TEST(ImageSource, DecodesAndPreprocessesEveryFrameFromMemory) {
  TempDir dir;
  std::vector<fs::path> files = {dir.path() / "b.png", dir.path() / "a.png", dir.path() / "c.png"};
  const std::pair<int, int> sizes[] = {{16, 12}, {12, 20}, {10, 10}};
  for (std::size_t i = 0; i < files.size(); ++i) {
    write_bytes(files[i], png_rgb(sizes[i].first, sizes[i].second, static_cast<unsigned>(i)));
  }
  const Preprocessor preprocessor(small_spec(), DecodeOptions{});
  std::vector<std::vector<std::uint8_t>> expected;  // in name order: a, b, c
  for (const char* name : {"a.png", "b.png", "c.png"}) {
    auto prepared = preprocessor.prepare(dir.path() / name);
    ASSERT_TRUE(prepared) << prepared.error().message;
    std::vector<std::uint8_t> bytes(std::size_t{8} * 8 * 3);
    preprocessor.to_hailo_input(*prepared, bytes);
    expected.push_back(bytes);
  }

  auto sim = create_sim_backend(sim_spec(1000, 1, 2, 8, 8)).value();
  auto engine = Engine::create(*sim).value();
  auto source = make_image_source(files, preprocessor, sim->inputs()[0]);
  ASSERT_TRUE(source) << source.error().message;
  EXPECT_TRUE((*source)->measured());
  EXPECT_EQ((*source)->count(), 3U);
  EXPECT_NE((*source)->describe().find("3 images"), std::string::npos) << (*source)->describe();
  // Read once: the files may go away.
  for (const fs::path& f : files) fs::remove(f);
  EngineFrame* frame = engine->acquire().value();
  for (std::size_t index : {0U, 1U, 2U, 3U, 5U}) {
    ASSERT_TRUE((*source)->fill(index, *frame));
    const auto input = frame->input();
    EXPECT_EQ(std::vector<std::uint8_t>(input.begin(), input.end()), expected[index % 3]) << index;
  }
  engine->release(*frame);

  // A quantized uint8 input: round(v / scale + zero_point), clipped.
  TensorSpec quantized = sim->inputs()[0];
  quantized.quantization = Quantization{0.5F, 20.0F};
  write_bytes(files[1], png_rgb(12, 20, 1));  // a.png again
  auto q_source = make_image_source({files[1]}, preprocessor, quantized);
  ASSERT_TRUE(q_source) << q_source.error().message;
  frame = engine->acquire().value();
  ASSERT_TRUE((*q_source)->fill(0, *frame));
  for (std::size_t i = 0; i < expected[0].size(); ++i) {
    const int want = std::min(
        255, static_cast<int>(std::nearbyint(static_cast<float>(expected[0][i]) / 0.5F + 20.0F)));
    ASSERT_EQ(frame->input()[i], want) << i;
  }
  engine->release(*frame);
}

TEST(ImageSource, FloatNchwInput) {
  TempDir dir;
  const fs::path file = dir.path() / "one.png";
  write_bytes(file, png_rgb(20, 14, 3));
  const Preprocessor preprocessor(small_spec(), DecodeOptions{});
  TensorSpec input;
  input.name = "input";
  input.dtype = DType::kFloat32;
  input.layout = Layout::kNCHW;
  input.shape = {1, 3, 8, 8};
  BufferBackend backend(input);
  auto engine = Engine::create(backend).value();
  auto source = make_image_source({file}, preprocessor, input);
  ASSERT_TRUE(source) << source.error().message;
  std::vector<float> expected(std::size_t{3} * 8 * 8);
  preprocessor.to_cpu_input(preprocessor.prepare(file).value(), expected);
  EngineFrame* frame = engine->acquire().value();
  ASSERT_TRUE((*source)->fill(0, *frame));
  EXPECT_EQ(std::memcmp(frame->input().data(), expected.data(), expected.size() * 4), 0);
  engine->release(*frame);

  // A size the preprocessing does not produce, and a layout it does not write.
  TensorSpec wrong = input;
  wrong.shape = {1, 3, 9, 8};
  auto bad = make_image_source({file}, preprocessor, wrong);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  wrong.shape = {1, 8, 8, 3};
  wrong.layout = Layout::kNHWC;  // float NHWC
  bad = make_image_source({file}, preprocessor, wrong);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

TEST(ImageSource, ErrorsNameTheFile) {
  TempDir dir;
  const fs::path good = dir.path() / "good.png";
  const fs::path broken = dir.path() / "broken.png";
  write_bytes(good, png_rgb(12, 12, 1));
  write_bytes(broken, {'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'});
  const Preprocessor preprocessor(small_spec(), DecodeOptions{});
  const TensorSpec input = sim_spec(1000, 1, 2, 8, 8).input;
  auto bad = make_image_source({good, broken}, preprocessor, input);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("broken.png"), std::string::npos) << bad.error().message;

  auto missing = make_image_source({dir.path() / "nope.png"}, preprocessor, input);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("nope.png"), std::string::npos);

  auto none = make_image_source({}, preprocessor, input);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::kInvalidArgument);
}

TEST(RandomSource, FixedTensorFromTheSeed) {
  const TensorSpec input = sim_spec(1000, 1, 2).input;
  auto sim = create_sim_backend(sim_spec(1000, 1, 2)).value();
  auto engine = Engine::create(*sim).value();
  auto a = make_random_source(input, 3).value();
  auto b = make_random_source(input, 3).value();
  auto c = make_random_source(input, 4).value();
  EXPECT_FALSE(a->measured());
  EXPECT_EQ(a->count(), 1U);
  EXPECT_NE(a->describe().find("seed 3"), std::string::npos);
  EngineFrame* frame = engine->acquire().value();
  const auto bytes_of = [&](const FrameSource& s, std::size_t index) {
    EXPECT_TRUE(s.fill(index, *frame));
    return std::vector<std::uint8_t>(frame->input().begin(), frame->input().end());
  };
  const auto first = bytes_of(*a, 0);
  EXPECT_EQ(first, bytes_of(*a, 17));
  EXPECT_EQ(first, bytes_of(*b, 0));
  EXPECT_NE(first, bytes_of(*c, 0));
  engine->release(*frame);

  TensorSpec floats;
  floats.name = "x";
  floats.dtype = DType::kFloat32;
  floats.layout = Layout::kNCHW;
  floats.shape = {1, 3, 16, 16};
  BufferBackend backend(floats);
  auto float_engine = Engine::create(backend).value();
  auto f = make_random_source(floats, 1).value();
  frame = float_engine->acquire().value();
  ASSERT_TRUE(f->fill(0, *frame));
  const auto* values = reinterpret_cast<const float*>(frame->input().data());
  const PreprocessSpec imagenet;
  for (std::size_t i = 0; i < std::size_t{3} * 256; ++i) {
    const std::size_t ch = i / 256;
    EXPECT_GE(values[i], (0.0F - imagenet.mean[ch]) / imagenet.std[ch] - 1e-6F) << i;
    EXPECT_LE(values[i], (1.0F - imagenet.mean[ch]) / imagenet.std[ch] + 1e-6F) << i;
  }
  float_engine->release(*frame);
}

TEST(ClassificationPostProcess, DequantizesAndRanks) {
  auto sim = create_sim_backend(sim_spec(1000, 1, 2)).value();
  auto engine = Engine::create(*sim).value();
  EngineFrame* frame = engine->acquire().value();
  ASSERT_TRUE(engine->run(*frame));
  EXPECT_TRUE(make_classification_postprocess(sim->outputs()[0])(*frame));
  TensorSpec wrong = sim->outputs()[0];
  wrong.shape = {1, 11};
  EXPECT_FALSE(make_classification_postprocess(wrong)(*frame));
  engine->release(*frame);
}

}  // namespace
}  // namespace hdeploy::bench

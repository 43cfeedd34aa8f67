// What the bench harness itself costs per frame: run_scenario (latency and throughput) against a
// sim that takes no time (1e9 FPS, 1 ns latency) with a fixed random input and an empty
// post-process, next to the bare engine loop (acquire, copy the input, submit, next_completed,
// release) on the same sim. The difference is the runner's overhead: its threads, hand-offs,
// locks and per-frame timestamps. Counters: ns_per_frame (wall time over frames completed) and
// cpu_ns_per_frame (the whole process's user + system time over the same frames) and
// switches_per_frame (voluntary context switches: threads blocking on a hand-off).
//
//   runner_bench [--seconds 2] [benchmark flags]

#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <chrono>
#include <string>

#include "hdeploy/bench/runner.hpp"
#include "hdeploy/runtime/engine.hpp"
#include "hdeploy/runtime/sim_backend.hpp"
#include "seconds_flag_main.hpp"

namespace {

using hdeploy::DType;
using hdeploy::Layout;
using Clock = std::chrono::steady_clock;

double g_seconds = 2.0;
constexpr std::size_t kQueueDepth = 4;

// Voluntary context switches of the process (a thread blocking: a hand-off between threads).
double process_context_switches() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_nvcsw);
}

double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// A device that takes no time, with a tiny input so copying it costs nothing either.
hdeploy::runtime::SimDeviceSpec instant_sim() {
  hdeploy::runtime::SimDeviceSpec spec;
  spec.input.name = "instant/input_layer1";
  spec.input.dtype = DType::kUint8;
  spec.input.layout = Layout::kNHWC;
  spec.input.shape = {1, 4, 4, 3};
  spec.output.name = "instant/output_layer1";
  spec.output.dtype = DType::kUint8;
  spec.output.layout = Layout::kNC;
  spec.output.shape = {1, 10};
  spec.output.quantization = hdeploy::Quantization{0.1F, 128.0F};
  spec.fps = 1e9;
  spec.latency_ms = 1e-6;
  spec.queue_depth = kQueueDepth;
  spec.source = "runner_bench";
  return spec;
}

void report(benchmark::State& state, std::uint64_t frames, double seconds, double cpu_s,
            double switches) {
  state.counters["switches_per_frame"] = switches / static_cast<double>(frames);
  state.counters["frames"] = static_cast<double>(frames);
  state.counters["fps"] = static_cast<double>(frames) / seconds;
  state.counters["ns_per_frame"] = 1e9 * seconds / static_cast<double>(frames);
  state.counters["cpu_ns_per_frame"] = 1e9 * cpu_s / static_cast<double>(frames);
}

// run_scenario: arg 0 latency, 1 throughput.
void BM_RunScenario(benchmark::State& state) {
  hdeploy::bench::RunOptions options;
  options.scenario = state.range(0) == 0 ? hdeploy::bench::Scenario::kLatency
                                         : hdeploy::bench::Scenario::kThroughput;
  options.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(g_seconds));
  options.warmup = std::chrono::milliseconds(200);
  state.SetLabel(hdeploy::bench::scenario_name(options.scenario));
  auto sim = hdeploy::runtime::create_sim_backend(instant_sim());
  if (!sim) {
    state.SkipWithError(sim.error().message.c_str());
    return;
  }
  const std::size_t pool = hdeploy::bench::required_pool_frames(options, kQueueDepth);
  auto engine = hdeploy::runtime::Engine::create(**sim, hdeploy::runtime::EngineOptions{0, pool});
  auto source = hdeploy::bench::make_random_source((*sim)->inputs()[0], 0);
  if (!engine || !source) {
    state.SkipWithError("cannot create the engine or the source");
    return;
  }
  const hdeploy::bench::PostProcess nothing =
      [](const hdeploy::runtime::EngineFrame&) -> hdeploy::Status { return {}; };
  std::uint64_t frames = 0;
  double seconds = 0.0;
  double cpu_s = 0.0;
  double switches = 0.0;
  for (auto _ : state) {
    const double cpu0 = process_cpu_seconds();
    const double switches0 = process_context_switches();
    auto run = hdeploy::bench::run_scenario(**engine, **source, nothing, options);
    if (!run) {
      state.SkipWithError(run.error().message.c_str());
      return;
    }
    const double cpu = process_cpu_seconds() - cpu0;
    const double all_switches = process_context_switches() - switches0;
    // The measured window only: frames completed in it over its length.
    frames = 0;
    for (const auto& t : run->frames) {
      if (t.postprocess_end_ns >= run->measure_start_ns &&
          t.postprocess_end_ns <= run->measure_end_ns) {
        ++frames;
      }
    }
    seconds = static_cast<double>(run->measure_end_ns - run->measure_start_ns) / 1e9;
    // CPU time of the whole run, scaled to the measured window's share of the frames.
    const double share = static_cast<double>(frames) / static_cast<double>(run->frames.size());
    cpu_s = cpu * share;
    switches = all_switches * share;
    state.SetIterationTime(seconds);
  }
  report(state, frames, seconds, cpu_s, switches);
}
BENCHMARK(BM_RunScenario)->Arg(0)->Arg(1)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

// The bare engine loop: arg 0 one frame at a time (submit, wait, next), 1 the window kept
// full (as engine_bench does).
void BM_BareEngineLoop(benchmark::State& state) {
  const bool one_at_a_time = state.range(0) == 0;
  state.SetLabel(one_at_a_time ? "one at a time" : "window full");
  auto sim = hdeploy::runtime::create_sim_backend(instant_sim());
  if (!sim) {
    state.SkipWithError(sim.error().message.c_str());
    return;
  }
  auto engine =
      hdeploy::runtime::Engine::create(**sim, hdeploy::runtime::EngineOptions{0, 2 * kQueueDepth});
  auto source = hdeploy::bench::make_random_source((*sim)->inputs()[0], 0);
  if (!engine || !source) {
    state.SkipWithError("cannot create the engine or the source");
    return;
  }
  hdeploy::runtime::Engine& e = **engine;
  const std::size_t window = one_at_a_time ? 1 : e.pool_frames();
  std::uint64_t frames = 0;
  double seconds = 0.0;
  double cpu_s = 0.0;
  double switches = 0.0;
  for (auto _ : state) {
    std::uint64_t outstanding = 0;
    std::uint64_t errors = 0;
    const auto collect = [&] {
      auto done = e.next_completed();
      if (!done || !(*done)->status()) ++errors;
      if (done) e.release(**done);
      ++frames;
      --outstanding;
    };
    const double cpu0 = process_cpu_seconds();
    const double switches0 = process_context_switches();
    const auto t0 = Clock::now();
    const auto until = t0 + std::chrono::duration<double>(g_seconds);
    std::uint64_t index = 0;
    while (Clock::now() < until) {
      if (outstanding == window) collect();
      auto frame = e.acquire();
      if (!frame || !(*source)->fill(index++, **frame) || !e.submit(**frame)) {
        state.SkipWithError("acquire, fill or submit failed");
        return;
      }
      ++outstanding;
    }
    while (outstanding > 0) collect();
    seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    cpu_s = process_cpu_seconds() - cpu0;
    switches = process_context_switches() - switches0;
    state.SetIterationTime(seconds);
    if (errors > 0) state.SkipWithError("frames failed");
  }
  report(state, frames, seconds, cpu_s, switches);
}
BENCHMARK(BM_BareEngineLoop)
    ->Arg(0)
    ->Arg(1)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kSecond);

}  // namespace

int main(int argc, char** argv) {
  return hdeploy::benchmarks::run_with_seconds_flag(argc, argv, g_seconds);
}

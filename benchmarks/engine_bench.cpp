// Engine throughput against the timing-only sim with the ResNet18 figures measured on a
// Raspberry Pi 5 + Hailo-8L (1150 FPS, 2.445 ms): N frames in flight for N = 1, 2, 4, 8, each
// for --seconds (default 10) of steady streaming. Expected: min(1150, N / 2.445 ms), i.e.
// ~409 FPS at N = 1 and the 1150 FPS ceiling from N = 3. Host CPU per frame is the whole
// process's user + system time (getrusage) over the frames: the engine loop, the sim's thread
// and the completions, i.e. what the host pays to keep the device full.
//
//   engine_bench [--seconds 10] [benchmark flags]

#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "hdeploy/runtime/engine.hpp"
#include "hdeploy/runtime/sim_backend.hpp"
#include "seconds_flag_main.hpp"

namespace {

using hdeploy::DType;
using hdeploy::Layout;

double g_seconds = 10.0;

double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

hdeploy::runtime::SimDeviceSpec resnet18_sim(std::size_t queue_depth) {
  hdeploy::runtime::SimDeviceSpec spec;
  spec.input.name = "resnet18/input_layer1";
  spec.input.dtype = DType::kUint8;
  spec.input.layout = Layout::kNHWC;
  spec.input.shape = {1, 224, 224, 3};
  spec.output.name = "resnet18/fc1";
  spec.output.dtype = DType::kUint8;
  spec.output.layout = Layout::kNC;
  spec.output.shape = {1, 1000};
  spec.output.quantization = hdeploy::Quantization{0.1F, 128.0F};
  spec.fps = hdeploy::runtime::kSimDefaultFps;
  spec.latency_ms = hdeploy::runtime::kSimDefaultLatencyMs;
  spec.queue_depth = queue_depth;
  spec.source = "engine_bench";
  return spec;
}

void BM_EngineSimResNet18(benchmark::State& state) {
  const auto in_flight = static_cast<std::size_t>(state.range(0));
  // The device queue is 4 by default; deeper windows need a deeper (emulated) queue.
  auto sim = hdeploy::runtime::create_sim_backend(
      resnet18_sim(std::max(in_flight, hdeploy::runtime::kSimDefaultQueueDepth)));
  if (!sim) {
    state.SkipWithError(sim.error().message.c_str());
    return;
  }
  auto engine = hdeploy::runtime::Engine::create(
      **sim, hdeploy::runtime::EngineOptions{in_flight, 2 * in_flight});
  if (!engine) {
    state.SkipWithError(engine.error().message.c_str());
    return;
  }
  hdeploy::runtime::Engine& e = **engine;
  std::uint64_t frames = 0;
  std::uint64_t errors = 0;
  double elapsed = 0.0;
  double cpu = 0.0;
  for (auto _ : state) {
    std::uint64_t outstanding = 0;
    const auto collect = [&] {
      auto done = e.next_completed();
      if (!done || !(*done)->status()) ++errors;
      if (done) e.release(**done);
      ++frames;
      --outstanding;
    };
    const double cpu0 = process_cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    const auto until = t0 + std::chrono::duration<double>(g_seconds);
    std::uint64_t id = 0;
    while (std::chrono::steady_clock::now() < until) {
      if (outstanding == e.pool_frames()) collect();
      auto frame = e.acquire();
      if (!frame) {
        state.SkipWithError(frame.error().message.c_str());
        return;
      }
      std::memcpy((*frame)->input().data(), &id, sizeof id);
      ++id;
      if (!e.submit(**frame)) {
        state.SkipWithError("submit failed");
        return;
      }
      ++outstanding;
    }
    while (outstanding > 0) collect();
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    cpu = process_cpu_seconds() - cpu0;
    state.SetIterationTime(elapsed);
  }
  const double fps = static_cast<double>(frames) / elapsed;
  const double expected =
      std::min(hdeploy::runtime::kSimDefaultFps,
               static_cast<double>(in_flight) * 1000.0 / hdeploy::runtime::kSimDefaultLatencyMs);
  state.counters["in_flight"] = static_cast<double>(in_flight);
  state.counters["frames"] = static_cast<double>(frames);
  state.counters["fps"] = fps;
  state.counters["model_fps"] = expected;
  state.counters["pct_of_model"] = 100.0 * fps / expected;
  state.counters["pct_of_ceiling"] = 100.0 * fps / hdeploy::runtime::kSimDefaultFps;
  state.counters["host_cpu_us_per_frame"] = 1e6 * cpu / static_cast<double>(frames);
  state.counters["errors"] = static_cast<double>(errors);
}
BENCHMARK(BM_EngineSimResNet18)
    ->Arg(1)
    ->Arg(2)
    ->Arg(4)
    ->Arg(8)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kSecond);

// Host post-processing of one ResNet18 output: dequantize 1000 uint8 logits, softmax, top-5.
void BM_ClassifyOutputUint8(benchmark::State& state) {
  const auto spec = resnet18_sim(4).output;
  std::vector<std::uint8_t> output(spec.byte_size());
  for (std::size_t i = 0; i < output.size(); ++i) output[i] = static_cast<std::uint8_t>(i * 31);
  for (auto _ : state) {
    auto top = hdeploy::runtime::classify_output(output, spec, 5);
    benchmark::DoNotOptimize(top);
  }
}
BENCHMARK(BM_ClassifyOutputUint8)->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  return hdeploy::benchmarks::run_with_seconds_flag(argc, argv, g_seconds);
}

// CPU backend latency (OpenCV DNN) for ResNet18 and MobileNetV2 against PyTorch eager with the
// same thread count, timed in the same run. One frame at a time; each repetition is one
// inference, so the reported median is the median of the repetitions. CPU time: the whole
// process for OpenCV (its work runs on the backend thread); for PyTorch the Python process's
// CPU time per run, in the process_cpu_ms counter (its CPU column means nothing).
//
//   cpu_backend_bench --models DIR [--python /usr/bin/python3] [--runs 35] [benchmark flags]
// DIR holds resnet18/model.onnx and mobilenet_v2/model.onnx (hdeploy export NAME --out DIR/NAME).

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "hdeploy/runtime/cpu_backend.hpp"

namespace {
namespace fs = std::filesystem;

struct Config {
  fs::path models_dir;
  std::string python = "/usr/bin/python3";
  fs::path torch_script = fs::path(__FILE__).parent_path() / "torch_eager_latency.py";
  int runs = 35;
};

std::shared_ptr<hdeploy::runtime::Backend> load_warm(const fs::path& onnx, int threads,
                                                     std::string& error);

// One backend per model and thread count, loaded (and warmed up) when its benchmark first runs
// and shared by its repetitions. Loaded lazily because OpenCV's thread count is process-wide.
struct LazyBackend {
  fs::path onnx;
  int threads = 1;
  std::shared_ptr<hdeploy::runtime::Backend> backend;
  std::string error;
  bool tried = false;
  hdeploy::runtime::Backend* get() {
    if (!tried) backend = load_warm(onnx, threads, error);
    tried = true;
    return backend.get();
  }
};

void bench_opencv(benchmark::State& state, const std::shared_ptr<LazyBackend>& lazy) {
  hdeploy::runtime::Backend* backend = lazy->get();
  const int threads = lazy->threads;
  if (backend == nullptr) {
    state.SkipWithError(lazy->error.c_str());
    return;
  }
  const auto& in = backend->inputs().at(0);
  const auto& out = backend->outputs().at(0);
  std::vector<float> input(in.element_count(), 0.5F);
  std::vector<float> output(out.element_count());
  hdeploy::runtime::FrameBuffers frame;
  frame.inputs.push_back({reinterpret_cast<const std::uint8_t*>(input.data()), in.byte_size()});
  frame.outputs.push_back({reinterpret_cast<std::uint8_t*>(output.data()), out.byte_size()});
  for (auto _ : state) {
    if (auto s = backend->infer(frame); !s) {
      state.SkipWithError(s.error().message.c_str());
      return;
    }
  }
  state.counters["threads"] = threads;
}

std::shared_ptr<hdeploy::runtime::Backend> load_warm(const fs::path& onnx, int threads,
                                                     std::string& error) {
  hdeploy::runtime::CpuBackendOptions options;
  options.threads = threads;
  auto backend = hdeploy::runtime::create_cpu_backend(onnx, options);
  if (!backend) {
    error = backend.error().message;
    return nullptr;
  }
  std::shared_ptr<hdeploy::runtime::Backend> shared = std::move(backend).value();
  const auto& in = shared->inputs().at(0);
  const auto& out = shared->outputs().at(0);
  std::vector<float> input(in.element_count(), 0.5F);
  std::vector<float> output(out.element_count());
  hdeploy::runtime::FrameBuffers frame;
  frame.inputs.push_back({reinterpret_cast<const std::uint8_t*>(input.data()), in.byte_size()});
  frame.outputs.push_back({reinterpret_cast<std::uint8_t*>(output.data()), out.byte_size()});
  for (int i = 0; i < 5; ++i) (void)shared->infer(frame);  // warm-up, untimed
  return shared;
}

struct TorchTimes {
  std::vector<double> latencies_s;    // wall time per run
  std::vector<double> process_cpu_s;  // CPU time of the Python process (all threads) per run
};

// Runs the Python timing script once; returns its per-run times (empty if it failed).
TorchTimes torch_latencies(const Config& cfg, const std::string& model, int threads) {
  const std::string cmd = fmt::format("'{}' '{}' --model {} --threads {} --runs {}", cfg.python,
                                      cfg.torch_script.string(), model, threads, cfg.runs);
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return {};  // NOLINT
  std::string text;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) text.append(buf, n);
  if (::pclose(pipe) != 0) return {};
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("latencies_s") || !j.contains("process_cpu_s")) return {};
  return {j["latencies_s"].get<std::vector<double>>(),
          j["process_cpu_s"].get<std::vector<double>>()};
}

void bench_torch(benchmark::State& state, const TorchTimes& times, int threads) {
  const auto& latencies = times.latencies_s;
  if (latencies.empty() || times.process_cpu_s.size() != latencies.size()) {
    state.SkipWithError("not measured: the PyTorch timing script failed (is torch installed?)");
    return;
  }
  // One repetition is one run: repetition r reports run r (the counter keeps the position).
  static std::map<const TorchTimes*, std::size_t> next_run;
  const std::size_t i = next_run[&times]++ % latencies.size();
  for (auto _ : state) {
    state.SetIterationTime(latencies[i]);
  }
  state.counters["threads"] = threads;
  state.counters["process_cpu_ms"] = 1e3 * times.process_cpu_s[i];
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--models" && i + 1 < argc) {
      cfg.models_dir = argv[++i];
    } else if (a == "--python" && i + 1 < argc) {
      cfg.python = argv[++i];
    } else if (a == "--runs" && i + 1 < argc) {
      cfg.runs = std::stoi(argv[++i]);
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (cfg.models_dir.empty()) {
    std::cerr << "usage: cpu_backend_bench --models DIR [--python PY] [--runs N] [benchmark "
                 "flags]\n  DIR/resnet18/model.onnx and DIR/mobilenet_v2/model.onnx come from "
                 "`hdeploy export NAME --out DIR/NAME`\n";
    return 2;
  }
  const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  std::vector<int> thread_counts{1};
  if (cores > 1) thread_counts.push_back(cores);
  for (const std::string model : {"resnet18", "mobilenet_v2"}) {
    const fs::path onnx = cfg.models_dir / model / "model.onnx";
    for (int threads : thread_counts) {
      auto lazy = std::make_shared<LazyBackend>();
      lazy->onnx = onnx;
      lazy->threads = threads;
      benchmark::RegisterBenchmark(fmt::format("opencv_dnn/{}/threads:{}", model, threads).c_str(),
                                   [lazy](benchmark::State& s) { bench_opencv(s, lazy); })
          ->Unit(benchmark::kMillisecond)
          ->MeasureProcessCPUTime()  // inference runs on the backend's worker thread
          ->UseRealTime()
          ->Iterations(1)
          ->Repetitions(cfg.runs)
          ->ReportAggregatesOnly(true);
      auto times = std::make_shared<TorchTimes>(torch_latencies(cfg, model, threads));
      benchmark::RegisterBenchmark(
          fmt::format("pytorch_eager/{}/threads:{}", model, threads).c_str(),
          [times, threads](benchmark::State& s) { bench_torch(s, *times, threads); })
          ->Unit(benchmark::kMillisecond)
          ->UseManualTime()
          ->Iterations(1)
          ->Repetitions(cfg.runs)
          ->ReportAggregatesOnly(true);
    }
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

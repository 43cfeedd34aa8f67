// Reading a HEF's metadata (HefReader::read_file: read, checksum, protobuf, vstream derivation)
// against reading the same file into memory once, in the same run. The reader should cost little
// more than the read plus one checksum pass.
//   build/benchmarks/hef_bench [--benchmark_filter=...]  (HDEPLOY_HEF_BENCH_FILE: another file)

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "hdeploy/core/file.hpp"
#include "hdeploy/hef/hef_reader.hpp"

namespace {

namespace fs = std::filesystem;

// ~4 MB: the YOLOv8n HEF (4.1 MB, header v2 / XXH3, with an NMS op).
fs::path bench_file() {
  if (const char* env = std::getenv("HDEPLOY_HEF_BENCH_FILE"); env != nullptr && *env != '\0') {
    return env;
  }
  return fs::path(HDEPLOY_SHARED_DIR) / "hef" / "Takumi_yolov8n_91daaa7.hef";
}

void skip_if_missing(benchmark::State& state, const fs::path& path) {
  if (!fs::exists(path)) state.SkipWithError(("missing " + path.string()).c_str());
}

void BM_ReadFileIntoMemory(benchmark::State& state) {
  const fs::path path = bench_file();
  skip_if_missing(state, path);
  for (auto _ : state) {
    auto bytes = hdeploy::read_file(path);
    if (!bytes) state.SkipWithError(bytes.error().message.c_str());
    benchmark::DoNotOptimize(bytes);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(fs::file_size(path)));
}
BENCHMARK(BM_ReadFileIntoMemory)->Unit(benchmark::kMillisecond);

void BM_HefReaderReadFile(benchmark::State& state) {
  const fs::path path = bench_file();
  skip_if_missing(state, path);
  for (auto _ : state) {
    auto info = hdeploy::hef::HefReader::read_file(path);
    if (!info) state.SkipWithError(info.error().message.c_str());
    benchmark::DoNotOptimize(info);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(fs::file_size(path)));
}
BENCHMARK(BM_HefReaderReadFile)->Unit(benchmark::kMillisecond);

// The reader alone, on bytes already in memory.
void BM_HefReaderReadBuffer(benchmark::State& state) {
  const fs::path path = bench_file();
  skip_if_missing(state, path);
  auto bytes = hdeploy::read_file(path);
  if (!bytes) {
    state.SkipWithError(bytes.error().message.c_str());
    return;
  }
  for (auto _ : state) {
    auto info = hdeploy::hef::HefReader::read_buffer(*bytes);
    benchmark::DoNotOptimize(info);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes->size()));
}
BENCHMARK(BM_HefReaderReadBuffer)->Unit(benchmark::kMillisecond);

// Read into memory, then the reader on those bytes: what read_file does, in two visible steps.
void BM_ReadThenReadBuffer(benchmark::State& state) {
  const fs::path path = bench_file();
  skip_if_missing(state, path);
  for (auto _ : state) {
    auto bytes = hdeploy::read_file(path);
    if (!bytes) state.SkipWithError(bytes.error().message.c_str());
    auto info = hdeploy::hef::HefReader::read_buffer(*bytes);
    benchmark::DoNotOptimize(info);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(fs::file_size(path)));
}
BENCHMARK(BM_ReadThenReadBuffer)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

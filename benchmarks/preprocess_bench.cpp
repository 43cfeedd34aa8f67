// Images per second of the whole CPU-input preprocessing of one 1024x768 JPEG (decode, resize
// to 256 on the shorter side, centre crop 224, normalise to float NCHW): hdeploy's bit-exact
// PIL pipeline against OpenCV's imdecode + cv::resize(INTER_LINEAR), which is faster but not
// what the network was trained with. Single-threaded on both sides.

#include <benchmark/benchmark.h>
#include <turbojpeg.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>
#include <vector>

#include "hdeploy/core/model_spec.hpp"
#include "hdeploy/preprocess/preprocessor.hpp"

namespace {

constexpr int kWidth = 1024;
constexpr int kHeight = 768;
constexpr int kCrop = 224;
constexpr int kResize = 256;
constexpr std::array<float, 3> kMean{0.485F, 0.456F, 0.406F};
constexpr std::array<float, 3> kStd{0.229F, 0.224F, 0.225F};

// A smooth synthetic photo-like pattern, TurboJPEG quality 90, 4:2:0.
const std::vector<std::uint8_t>& test_jpeg() {
  static const std::vector<std::uint8_t> jpeg = [] {
    std::vector<std::uint8_t> rgb(static_cast<std::size_t>(kWidth) * kHeight * 3);
    for (int y = 0; y < kHeight; ++y) {
      for (int x = 0; x < kWidth; ++x) {
        std::uint8_t* p = &rgb[(static_cast<std::size_t>(y) * kWidth + x) * 3];
        p[0] = static_cast<std::uint8_t>(127.5 + 127.5 * std::sin(x * 0.013 + y * 0.004));
        p[1] = static_cast<std::uint8_t>(127.5 + 127.5 * std::cos(y * 0.011 - x * 0.002));
        p[2] = static_cast<std::uint8_t>((x + y) * 255 / (kWidth + kHeight));
      }
    }
    tjhandle handle = tjInitCompress();
    unsigned char* out = nullptr;
    unsigned long size = 0;
    if (tjCompress2(handle, rgb.data(), kWidth, 0, kHeight, TJPF_RGB, &out, &size, TJSAMP_420, 90,
                    0) != 0) {
      throw std::runtime_error(tjGetErrorStr2(handle));
    }
    std::vector<std::uint8_t> bytes(out, out + size);
    tjFree(out);
    tjDestroy(handle);
    return bytes;
  }();
  return jpeg;
}

void BM_HdeployPilPipeline(benchmark::State& state) {
  const auto& jpeg = test_jpeg();
  hdeploy::ModelSpec spec;  // Resize(256), CenterCrop(224), ImageNet mean/std
  const hdeploy::preprocess::Preprocessor preprocessor(spec, hdeploy::preprocess::DecodeOptions{});
  std::vector<float> input(3 * kCrop * kCrop);
  for (auto _ : state) {
    auto prepared = preprocessor.prepare(jpeg, "bench.jpg");
    if (!prepared) {
      state.SkipWithError(prepared.error().message.c_str());
      break;
    }
    preprocessor.to_cpu_input(*prepared, input);
    benchmark::DoNotOptimize(input.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("decode + PIL bilinear + crop + normalise (bit-exact)");
}
BENCHMARK(BM_HdeployPilPipeline)->Unit(benchmark::kMillisecond)->UseRealTime();

// Resize alone, planned once: the per-frame cost a fixed-size camera stream pays. The
// pipeline resamples only the 224x224 window the centre crop keeps; BM_HdeployResizeFull is
// the whole 341x256 resize, for comparison.
void run_resize(benchmark::State& state, bool windowed) {
  auto decoded = hdeploy::preprocess::decode_image(test_jpeg(), "bench.jpg");
  if (!decoded) {
    state.SkipWithError(decoded.error().message.c_str());
    return;
  }
  const auto [w, h] = hdeploy::preprocess::shorter_side_size(kWidth, kHeight, kResize);
  const hdeploy::preprocess::PilBilinearResize plan(kWidth, kHeight, w, h);
  const hdeploy::preprocess::CropOffsets crop =
      hdeploy::preprocess::center_crop_offsets(h, w, kCrop, kCrop);
  const hdeploy::preprocess::PilBilinearResize::Window window =
      windowed ? hdeploy::preprocess::PilBilinearResize::Window{crop.left, crop.top, kCrop, kCrop}
               : hdeploy::preprocess::PilBilinearResize::Window{0, 0, w, h};
  hdeploy::preprocess::Image out;
  std::vector<std::uint8_t> scratch;
  for (auto _ : state) {
    plan.run(*decoded, out, scratch, window);
    benchmark::DoNotOptimize(out.rgb.data());
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_HdeployResizeOnly(benchmark::State& state) { run_resize(state, true); }
BENCHMARK(BM_HdeployResizeOnly)->Unit(benchmark::kMillisecond)->UseRealTime();
void BM_HdeployResizeFull(benchmark::State& state) { run_resize(state, false); }
BENCHMARK(BM_HdeployResizeFull)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_HdeployDecodeOnly(benchmark::State& state) {
  const auto& jpeg = test_jpeg();
  for (auto _ : state) {
    auto decoded = hdeploy::preprocess::decode_image(jpeg, "bench.jpg");
    benchmark::DoNotOptimize(decoded);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HdeployDecodeOnly)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_OpenCvPipeline(benchmark::State& state) {
  cv::setNumThreads(1);
  const auto& jpeg = test_jpeg();
  const cv::Mat buffer(1, static_cast<int>(jpeg.size()), CV_8UC1,
                       const_cast<std::uint8_t*>(jpeg.data()));
  std::vector<float> input(3 * kCrop * kCrop);
  for (auto _ : state) {
    cv::Mat bgr = cv::imdecode(buffer, cv::IMREAD_COLOR);
    const int w = bgr.cols <= bgr.rows ? kResize : kResize * bgr.cols / bgr.rows;
    const int h = bgr.cols <= bgr.rows ? kResize * bgr.rows / bgr.cols : kResize;
    cv::Mat resized;
    cv::resize(bgr, resized, cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
    const int top = static_cast<int>(std::nearbyint((h - kCrop) / 2.0));
    const int left = static_cast<int>(std::nearbyint((w - kCrop) / 2.0));
    const cv::Mat crop = resized(cv::Rect(left, top, kCrop, kCrop));
    const std::size_t plane = static_cast<std::size_t>(kCrop) * kCrop;
    for (int y = 0; y < kCrop; ++y) {
      const std::uint8_t* row = crop.ptr<std::uint8_t>(y);
      for (int x = 0; x < kCrop; ++x) {
        const std::size_t i = static_cast<std::size_t>(y) * kCrop + x;
        for (int c = 0; c < 3; ++c) {  // BGR -> RGB planes
          input[c * plane + i] = (row[3 * x + 2 - c] / 255.0F - kMean[c]) / kStd[c];
        }
      }
    }
    benchmark::DoNotOptimize(input.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("imdecode + cv::resize(INTER_LINEAR) + crop + normalise (not PIL-exact)");
}
BENCHMARK(BM_OpenCvPipeline)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

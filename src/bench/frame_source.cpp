// Frame sources for the runner (images decoded per frame, or one fixed random tensor) and the
// classification post-process.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <random>
#include <utility>

#include "hdeploy/bench/runner.hpp"
#include "hdeploy/core/file.hpp"
#include "hdeploy/preprocess/image.hpp"
#include "hdeploy/preprocess/input_conversion.hpp"

namespace hdeploy::bench {

using preprocess::Image;
using preprocess::InputConversion;
using preprocess::Preprocessor;
using runtime::classify_output;
using runtime::ClassScore;
using runtime::EngineFrame;

namespace {

namespace fs = std::filesystem;

class ImageSource final : public FrameSource {
 public:
  struct File {
    std::string name;
    std::vector<std::uint8_t> bytes;
  };
  ImageSource(std::vector<File> files, Preprocessor preprocessor, InputConversion conversion,
              std::string describe)
      : files_(std::move(files)),
        preprocessor_(std::move(preprocessor)),
        conversion_(conversion),
        describe_(std::move(describe)) {}

  bool measured() const override { return true; }
  std::string describe() const override { return describe_; }
  std::size_t count() const override { return files_.size(); }

  Status fill(std::size_t index, EngineFrame& frame) const override {
    const File& file = files_[index % files_.size()];
    HDEPLOY_ASSIGN_OR_RETURN(const Image prepared, preprocessor_.prepare(file.bytes, file.name));
    // Engine buffers are page-aligned, as a float input needs.
    return conversion_.write(preprocessor_, prepared, frame.input(0));
  }

 private:
  std::vector<File> files_;
  Preprocessor preprocessor_;
  InputConversion conversion_;
  std::string describe_;
};

class RandomSource final : public FrameSource {
 public:
  RandomSource(std::vector<std::uint8_t> bytes, std::uint64_t seed)
      : bytes_(std::move(bytes)), seed_(seed) {}
  bool measured() const override { return false; }
  std::string describe() const override {
    return fmt::format("one random tensor (seed {})", seed_);
  }
  std::size_t count() const override { return 1; }
  Status fill(std::size_t /*index*/, EngineFrame& frame) const override {
    std::span<std::uint8_t> out = frame.input(0);
    if (out.size() != bytes_.size()) {
      return fail(ErrorCode::kInvalidArgument,
                  "frame input is {} bytes; the random source holds {} bytes", out.size(),
                  bytes_.size());
    }
    std::memcpy(out.data(), bytes_.data(), bytes_.size());
    return {};
  }

 private:
  std::vector<std::uint8_t> bytes_;
  std::uint64_t seed_;
};

}  // namespace

Result<std::unique_ptr<FrameSource>> make_image_source(std::vector<fs::path> files,
                                                       const Preprocessor& preprocessor,
                                                       const TensorSpec& input) {
  if (files.empty()) {
    return fail(ErrorCode::kInvalidArgument, "no images to benchmark with; give JPEG or PNG files");
  }
  HDEPLOY_ASSIGN_OR_RETURN(
      const InputConversion conversion,
      InputConversion::create(input, preprocessor.output_height(), preprocessor.output_width()));
  std::sort(files.begin(), files.end());
  std::vector<ImageSource::File> loaded;
  loaded.reserve(files.size());
  for (const fs::path& path : files) {
    HDEPLOY_ASSIGN_OR_RETURN(std::vector<std::uint8_t> bytes, read_file(path));
    ImageSource::File file{path.string(), std::move(bytes)};
    // Checked once here so a bad file fails the run before it starts, naming the file.
    auto prepared = preprocessor.prepare(file.bytes, file.name);
    if (!prepared) {
      const std::string& why = prepared.error().message;
      if (why.find(file.name) != std::string::npos) {
        return fail(ErrorCode::kInvalidArgument, "cannot benchmark with an image: {}", why);
      }
      return fail(ErrorCode::kInvalidArgument, "{}: cannot be decoded: {}", file.name, why);
    }
    loaded.push_back(std::move(file));
  }
  const std::string parent =
      files.front().has_parent_path() ? files.front().parent_path().string() : ".";
  std::string describe = fmt::format("{} image{} from {}, decoded and preprocessed per frame",
                                     loaded.size(), loaded.size() == 1 ? "" : "s", parent);
  return std::unique_ptr<FrameSource>(std::make_unique<ImageSource>(
      std::move(loaded), preprocessor, conversion, std::move(describe)));
}

Result<std::unique_ptr<FrameSource>> make_random_source(const TensorSpec& input,
                                                        std::uint64_t seed) {
  const std::size_t bytes = input.byte_size();
  if (bytes == 0) {
    return fail(ErrorCode::kInvalidArgument, "input '{}' ({}) holds no elements", input.name,
                input.describe());
  }
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<std::uint8_t> data(bytes);
  if (input.dtype == DType::kFloat32) {
    // Normalised uniform pixels, (v / 255 - mean) / std with ImageNet's mean and std: the
    // range a float image input sees. Channel from the layout (NCHW planes, NHWC triples).
    const PreprocessSpec imagenet;
    const auto& s = input.shape;
    const std::size_t count = input.element_count();
    std::size_t plane = 0;  // NCHW: elements per channel
    if (input.layout == Layout::kNCHW && s.size() == 4 && s[1] == 3) {
      plane = static_cast<std::size_t>(s[2] * s[3]);
    }
    const bool nhwc = input.layout == Layout::kNHWC && !s.empty() && s.back() == 3;
    std::vector<float> values(count);
    for (std::size_t i = 0; i < count; ++i) {
      std::size_t c = 0;
      if (plane > 0) c = (i / plane) % 3;
      if (nhwc) c = i % 3;
      const float v = static_cast<float>(byte(rng)) / 255.0F;
      values[i] = (v - imagenet.mean[c]) / imagenet.std[c];
    }
    std::memcpy(data.data(), values.data(), bytes);
  } else {
    for (std::uint8_t& b : data) b = static_cast<std::uint8_t>(byte(rng));
  }
  return std::unique_ptr<FrameSource>(std::make_unique<RandomSource>(std::move(data), seed));
}

PostProcess make_classification_postprocess(const TensorSpec& output, std::size_t k) {
  return [output, k](const EngineFrame& frame) -> Status {
    HDEPLOY_ASSIGN_OR_RETURN(const std::vector<ClassScore> top,
                             classify_output(frame.output(0), output, k));
    (void)top;  // a real application would use it; the benchmark only pays for it
    return {};
  };
}

}  // namespace hdeploy::bench

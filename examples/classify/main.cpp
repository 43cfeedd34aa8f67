// classify: one image through hdeploy's library, the way `hdeploy infer --backend cpu` does it:
// the model spec's preprocessing (bit-exact with torchvision), the CPU backend (OpenCV DNN) on an
// ONNX model, then softmax and the top 5. Built against an installed hdeploy
// (find_package(hdeploy); see CMakeLists.txt beside this file).
//
// Usage: classify MODEL.onnx IMAGE [SPEC [LABELS]]
//   SPEC    a model spec shipped with hdeploy (resnet18, mobilenet_v2) or a .toml path
//           [resnet18]
//   LABELS  class names, one per line [none: classes are printed by index]
// Exit codes: 0 classified, 1 failure (one error line on stderr), 2 usage.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "hdeploy/core/model_spec.hpp"
#include "hdeploy/core/result.hpp"
#include "hdeploy/core/tensor.hpp"
#include "hdeploy/preprocess/preprocessor.hpp"
#include "hdeploy/runtime/backend.hpp"
#include "hdeploy/runtime/classification.hpp"
#include "hdeploy/runtime/cpu_backend.hpp"

// The installed model specs (share/hdeploy/models): CMakeLists.txt passes hdeploy_DATA_DIR's.
#ifndef HDEPLOY_MODELS_DIR
#define HDEPLOY_MODELS_DIR "/usr/share/hdeploy/models"
#endif

namespace {

namespace fs = std::filesystem;
using hdeploy::ErrorCode;
using hdeploy::Result;
using hdeploy::Status;

constexpr std::size_t kTopK = 5;

struct Arguments {
  fs::path model;
  fs::path image;
  std::string spec = "resnet18";
  fs::path labels;
};

// The logits of one image: preprocess as the spec says, run the model on the CPU backend.
// Errors: the spec's, the image's (kNotFound, kInvalidFormat, ...), the backend's, and
// kUnsupported when the model's input is not the spec's float32 1x3xHxW.
Result<std::vector<float>> logits_of(const Arguments& args, const hdeploy::ModelSpec& spec) {
  HDEPLOY_ASSIGN_OR_RETURN(std::unique_ptr<hdeploy::runtime::Backend> backend,
                           hdeploy::runtime::create_cpu_backend(args.model));
  const hdeploy::TensorSpec& in = backend->inputs().at(0);
  const hdeploy::TensorSpec& out = backend->outputs().at(0);
  const std::vector<std::int64_t> expected = {1, 3, spec.input_height, spec.input_width};
  if (in.dtype != hdeploy::DType::kFloat32 || in.shape != expected) {
    return hdeploy::fail(
        ErrorCode::kUnsupported, "{}: input is {}, but spec {} prepares float32 NCHW 1x3x{}x{}",
        args.model.string(), in.describe(), spec.name, spec.input_height, spec.input_width);
  }

  const hdeploy::preprocess::Preprocessor preprocessor(spec, hdeploy::preprocess::DecodeOptions{});
  HDEPLOY_ASSIGN_OR_RETURN(const hdeploy::preprocess::Image prepared,
                           preprocessor.prepare(args.image));
  std::vector<float> input(in.element_count());
  preprocessor.to_cpu_input(prepared, input);

  std::vector<float> logits(out.element_count());
  hdeploy::runtime::FrameBuffers frame;
  frame.inputs.emplace_back(reinterpret_cast<const std::uint8_t*>(input.data()),
                            input.size() * sizeof(float));
  frame.outputs.emplace_back(reinterpret_cast<std::uint8_t*>(logits.data()),
                             logits.size() * sizeof(float));
  HDEPLOY_TRY(backend->infer(frame));
  return logits;
}

Status classify(const Arguments& args) {
  HDEPLOY_ASSIGN_OR_RETURN(const fs::path spec_path,
                           hdeploy::resolve_model_spec(args.spec, HDEPLOY_MODELS_DIR));
  HDEPLOY_ASSIGN_OR_RETURN(const hdeploy::ModelSpec spec, hdeploy::load_model_spec(spec_path));
  std::vector<std::string> labels;
  if (!args.labels.empty()) {
    HDEPLOY_ASSIGN_OR_RETURN(labels, hdeploy::runtime::load_labels(args.labels));
  }
  HDEPLOY_ASSIGN_OR_RETURN(const std::vector<float> logits, logits_of(args, spec));
  if (!labels.empty() && labels.size() != logits.size()) {
    return hdeploy::fail(ErrorCode::kInvalidArgument, "{}: has {} labels but {} has {} outputs",
                         args.labels.string(), labels.size(), args.model.string(), logits.size());
  }

  std::printf("%s (spec %s):\n", args.image.c_str(), spec.name.c_str());
  for (const hdeploy::runtime::ClassScore& score : hdeploy::runtime::top_k(logits, kTopK, labels)) {
    const std::string name =
        score.label.empty() ? "class " + std::to_string(score.index) : score.label;
    std::printf("  %6.2f%%  %s\n", 100.0 * score.probability, name.c_str());
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 1 && (args[0] == "-h" || args[0] == "--help")) {
    std::printf("usage: classify MODEL.onnx IMAGE [SPEC [LABELS]]\n");
    return 0;
  }
  if (args.size() < 2 || args.size() > 4) {
    std::fprintf(stderr, "usage: classify MODEL.onnx IMAGE [SPEC [LABELS]]\n");
    return 2;
  }
  Arguments parsed;
  parsed.model = args[0];
  parsed.image = args[1];
  if (args.size() > 2) parsed.spec = args[2];
  if (args.size() > 3) parsed.labels = args[3];
  if (const Status status = classify(parsed); !status) {
    std::fprintf(stderr, "classify: error: %s\n", status.error().message.c_str());
    return 1;
  }
  return 0;
}

#pragma once
// Tiny ONNX classifiers built in C++ with libonnx's protobuf classes, and a by-hand reference of
// what they compute. Shared by the onnx and runtime tests; not part of the library.
//
// The graph: input 1x3xHxW -> Conv 4x3x3x3 (pads 1) -> activation -> GlobalAveragePool ->
// Flatten -> Gemm (transB) -> [Softmax | LogSoftmax] -> [Identity] -> "logits", with options
// that add the forms PyTorch exports and OpenCV 4.6 rejects.

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace hdeploy::testing {

enum class Activation {
  kRelu,
  kClipAttributes,    // Clip(min, max) as attributes (opset < 11 form)
  kClipInitializers,  // Clip(x, min, max) from scalar initializers (min raw_data, max float_data)
  kClipConstants,     // Clip(x, min, max) from Constant nodes
  kClipMaxOnly,       // Clip(x, "", max): empty name = no lower bound
  kClipMinOnly,       // Clip(x, min): max absent
  kClipDynamic,       // Clip(x, min) with min computed at run time (not a constant)
};

struct TinyModelOptions {
  std::int64_t ir_version = 8;
  std::int64_t opset = 13;
  std::int64_t height = 8;
  std::int64_t width = 8;
  std::int64_t classes = 5;
  bool conv_kernel_shape = true;
  Activation activation = Activation::kRelu;
  float clip_min = -0.1F;
  float clip_max = 0.3F;
  std::string end_op;                 // "", "Softmax" or "LogSoftmax" after the Gemm
  bool identity_over_weight = false;  // Gemm's B = Identity(initializer), as torch 1.13 exports
  bool identity_to_output = false;    // the graph output is produced by an Identity
  std::string unsupported_op;         // e.g. "NonZero": node 'bad0' on the activation, unused
  std::string batch_dim_param;        // non-empty: input and output dim 0 are symbolic
  bool second_input = false;          // an extra graph input "aux" 1x4
  std::int32_t input_elem_type = ::onnx::TensorProto::FLOAT;
  std::int64_t input_channels = 3;
};

::onnx::ModelProto make_tiny_classifier(const TinyModelOptions& options = {});
std::vector<std::uint8_t> serialize(const ::onnx::ModelProto& model);

// A deterministic input in [-1, 1] of 1 x input_channels x H x W floats.
std::vector<float> tiny_input(const TinyModelOptions& options = {});
// What the model computes, by hand (double accumulation); unsupported_op is ignored.
std::vector<float> tiny_reference(const TinyModelOptions& options, std::span<const float> input);

// A file in the temp folder removed on destruction.
class TempFile {
 public:
  explicit TempFile(const std::string& stem);
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile();
  const std::filesystem::path& path() const { return path_; }
  void write(std::span<const std::uint8_t> bytes) const;

 private:
  std::filesystem::path path_;
};

}  // namespace hdeploy::testing

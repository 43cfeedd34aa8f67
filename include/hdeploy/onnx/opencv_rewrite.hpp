#pragma once
// OpenCV 4.6's ONNX importer cannot read standard PyTorch exports as they are: Clip with
// min/max given as inputs (opset ≥ 11, every MobileNetV2 ReLU6) and Identity nodes over
// initializers (torch 1.13 exports) are rejected. This rewrites a copy of the model in memory
// into forms OpenCV reads; the numbers it computes are unchanged (check's parity proves it).

#include <cstdint>
#include <string>
#include <vector>

#include "hdeploy/onnx/model.hpp"

namespace hdeploy {

struct OpenCvRewrite {
  std::vector<std::uint8_t> model_bytes;  // serialized rewritten ModelProto
  int clips_rewritten = 0;                // Clip inputs → min/max attributes
  int identities_removed = 0;
  std::vector<std::string> unsupported_ops;  // op types OpenCV 4.6 has no importer for
};

// Errors: kUnsupported when a Clip bound is not a constant (names the node).
Result<OpenCvRewrite> rewrite_for_opencv(const OnnxModel& model);

// True when OpenCV 4.6's ONNX importer (or its layer registry) handles `op_type`.
bool opencv_supports_op(const std::string& op_type);

}  // namespace hdeploy

#pragma once
// OpenCV 4.6's ONNX importer cannot read standard PyTorch exports as they are: Clip with
// min/max given as inputs (opset ≥ 11, every MobileNetV2 ReLU6) and Identity nodes over
// initializers (torch 1.13 exports) are rejected. This rewrites a copy of the model in memory
// into forms OpenCV reads; the numbers it computes are unchanged (check's parity proves it).

#include <cstdint>
#include <string>
#include <vector>

#include "hdeploy/onnx/model.hpp"

namespace hdeploy::onnx {

// A node whose op type OpenCV 4.6 cannot import.
struct UnsupportedNode {
  std::string op_type;
  std::string node;  // the node's name, or its first output's for an unnamed node
};

struct OpenCvRewrite {
  std::vector<std::uint8_t> model_bytes;  // serialized rewritten ModelProto
  int clips_rewritten = 0;                // Clip inputs → min/max attributes
  int identities_removed = 0;
  std::vector<std::string> unsupported_ops;        // op types OpenCV 4.6 has no importer for
  std::vector<UnsupportedNode> unsupported_nodes;  // every such node, in graph order
};

// Rewrites a copy; `model` is not modified. Unsupported ops are reported, not an error here
// (the caller decides). Errors: kUnsupported when a Clip bound is not a constant (names the
// node); kInternal if the rewritten model cannot be serialized.
Result<OpenCvRewrite> rewrite_for_opencv(const OnnxModel& model);

// True when OpenCV 4.6's ONNX importer handles `op_type` of the default (ai.onnx) domain:
// dispatched to a parser, or found by name in its layer registry. Measured against the
// installed libopencv_dnn 4.6.0, one single-node model per op of onnx 1.12's ai.onnx schema.
bool opencv_supports_op(const std::string& op_type);

// "model.onnx: OpenCV 4.6 DNN cannot run op 'NonZero' (node 'nz0'); the CPU backend cannot
// load this model" (more nodes are counted, not listed). Empty when there are none.
std::string describe_unsupported(const OpenCvRewrite& rewrite, const std::string& model_name);

}  // namespace hdeploy::onnx

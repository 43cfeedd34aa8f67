#pragma once
// OpenCV 4.6's ONNX importer (Debian 12) cannot read standard PyTorch exports as they are: Clip
// with min/max given as inputs (opset ≥ 11, every MobileNetV2 ReLU6) and Identity nodes over
// initializers (torch 1.13 exports) are rejected. This rewrites a copy of the model in memory
// into forms OpenCV reads; the numbers it computes are unchanged (check's parity proves it).
// OpenCV 4.10 (Debian 13) imports both as they are (measured), so there the model is used as
// exported and only the op table is consulted.

#include <cstdint>
#include <string>
#include <vector>

#include "hdeploy/onnx/model.hpp"

namespace hdeploy::onnx {

// A node whose op type the linked OpenCV cannot import.
struct UnsupportedNode {
  std::string op_type;
  std::string node;  // the node's name, or its first output's for an unnamed node
};

struct OpenCvRewrite {
  std::vector<std::uint8_t> model_bytes;  // serialized rewritten ModelProto
  int clips_rewritten = 0;                // Clip inputs → min/max attributes
  int identities_removed = 0;
  std::vector<std::string> unsupported_ops;        // op types OpenCV has no importer for
  std::vector<UnsupportedNode> unsupported_nodes;  // every such node, in graph order
};

// Rewrites a copy; `model` is not modified. Unsupported ops are reported, not an error here
// (the caller decides). Errors: kUnsupported when a Clip bound is not a constant (names the
// node); kInternal if the rewritten model cannot be serialized.
// With `rewrite` false the model is serialized as it is (nothing rewritten, counts 0) and only
// the unsupported ops are reported.
Result<OpenCvRewrite> rewrite_for_opencv(const OnnxModel& model, bool rewrite = true);

// Whether the linked OpenCV needs the rewrite: 4.6 does, 4.10 does not (measured: it imports
// Clip with input bounds and Identity over initializers); versions in between are assumed to.
bool opencv_needs_rewrite();

// The linked OpenCV's version, "4.6.0".
const char* opencv_version();

// True when the linked OpenCV's ONNX importer handles `op_type` of the default (ai.onnx) domain:
// dispatched to a parser, or found by name in its layer registry. Measured against
// libopencv_dnn 4.6.0 (Debian 12) and 4.10.0 (Debian 13), one single-node model per op of the
// installed onnx's ai.onnx schema (src/onnx/opencv_ops_test.cpp measures it again).
bool opencv_supports_op(const std::string& op_type);

// "model.onnx: OpenCV 4.6.0 DNN cannot run op 'NonZero' (node 'nz0'); the CPU backend cannot
// load this model" (more nodes are counted, not listed). Empty when there are none.
std::string describe_unsupported(const OpenCvRewrite& rewrite, const std::string& model_name);

}  // namespace hdeploy::onnx

#pragma once
// Hailo-readiness lint: what the Dataflow Compiler and HailoRT will choke on, found before a
// 20-minute compile on another machine does.

#include <string>
#include <vector>

#include "hdeploy/onnx/model.hpp"

namespace hdeploy::onnx {

enum class Severity { kError, kWarning, kInfo };
const char* to_string(Severity severity);

struct Finding {
  Severity severity = Severity::kWarning;
  std::string code;     // stable id, e.g. "opset-range", "dynamic-shape", "conv-kernel-shape"
  std::string message;  // what is wrong, with the node or value name
  std::string fix;      // what to do
};

struct LintReport {
  std::vector<Finding> findings;
  std::string suggested_end_node;  // the last Gemm/MatMul node's name; empty if none
  bool has_errors() const;
};

// Checks: opset outside 11–17, ir_version > 9, dynamic dimensions on inputs/outputs, input
// not 1x3xHxW float32, Conv without kernel_shape, a Softmax at the end of the graph, ops the
// CPU backend (OpenCV 4.6 DNN) cannot import.
LintReport lint_for_hailo(const OnnxModel& model);

}  // namespace hdeploy::onnx

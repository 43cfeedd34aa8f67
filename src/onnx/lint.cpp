#include "hdeploy/onnx/lint.hpp"

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <map>
#include <set>

#include "hdeploy/onnx/opencv_rewrite.hpp"

namespace hdeploy::onnx {
namespace {

constexpr std::int64_t kMinOpset = 11;
constexpr std::int64_t kMaxOpset = 17;
constexpr std::int64_t kMaxIrVersion = 9;
constexpr const char* kStaticExportFix =
    "export with a static 1x3x224x224 input: torch.onnx.export(model, torch.randn(1, 3, 224, "
    "224), ...) without dynamic_axes";

std::string dims_text(const OnnxValueInfo& value) {
  std::string text;
  for (std::size_t i = 0; i < value.dims.size(); ++i) {
    if (i > 0) text += 'x';
    if (value.dims[i] >= 0) {
      text += std::to_string(value.dims[i]);
    } else {
      text += value.dim_params[i].empty() ? "?" : value.dim_params[i];
    }
  }
  return text.empty() ? "(no shape)" : text;
}

void check_dynamic(const OnnxValueInfo& value, const char* kind, LintReport& report) {
  for (std::size_t i = 0; i < value.dims.size(); ++i) {
    if (value.dims[i] >= 0) continue;
    const std::string& param = value.dim_params[i];
    report.findings.push_back(
        {Severity::kError, "dynamic-shape",
         fmt::format("{} '{}' has a dynamic dimension {} ({}) in {}", kind, value.name, i,
                     param.empty() ? "no value" : "'" + param + "'", dims_text(value)),
         kStaticExportFix});
  }
}

void check_input_layout(const OnnxValueInfo& input, LintReport& report) {
  const auto& d = input.dims;
  const bool rank4 = d.size() == 4;
  // Dynamic dimensions are reported once, as dynamic-shape; here only what is certainly wrong.
  const bool bad_n = rank4 && d[0] >= 0 && d[0] != 1;
  const bool bad_c = rank4 && d[1] >= 0 && d[1] != 3;
  if (!rank4 || bad_n || bad_c || input.elem_type != "float32") {
    report.findings.push_back(
        {Severity::kError, "input-layout",
         fmt::format("input '{}' is {} {}, expected float32 1x3xHxW (NCHW, batch 1, RGB)",
                     input.name, input.elem_type, dims_text(input)),
         "export the classifier itself with a float32 NCHW input of batch 1: "
         "torch.onnx.export(model, torch.randn(1, 3, 224, 224), ...)"});
  }
}

}  // namespace

const char* to_string(Severity severity) {
  switch (severity) {
    case Severity::kError:
      return "error";
    case Severity::kWarning:
      return "warning";
    case Severity::kInfo:
      return "info";
  }
  return "unknown";
}

bool LintReport::has_errors() const {
  return std::any_of(findings.begin(), findings.end(),
                     [](const Finding& f) { return f.severity == Severity::kError; });
}

LintReport lint_for_hailo(const OnnxModel& model) {
  LintReport report;
  const auto& graph = model.proto().graph();

  const auto opset = model.opset();
  if (opset < kMinOpset || opset > kMaxOpset) {
    report.findings.push_back(
        {Severity::kError, "opset-range",
         opset == 0 ? std::string("the model declares no ai.onnx opset")
                    : fmt::format("opset {} is outside {}-{}, the range the Hailo Dataflow "
                                  "Compiler parses",
                                  opset, kMinOpset, kMaxOpset),
         "re-export with torch.onnx.export(..., opset_version=13, dynamo=False)"});
  }
  if (model.ir_version() > kMaxIrVersion) {
    report.findings.push_back(
        {Severity::kError, "ir-version",
         fmt::format("ir_version {} is newer than {}, the newest the Hailo toolchain reads",
                     model.ir_version(), kMaxIrVersion),
         "export with an older onnx package, or convert with onnx.version_converter "
         "(onnx.version_converter.convert_version) and set model.ir_version = 9"});
  }

  const auto inputs = model.inputs();
  if (inputs.size() != 1) {
    report.findings.push_back(
        {Severity::kError, "input-count",
         fmt::format("the graph has {} inputs; hdeploy deploys classifiers with exactly one "
                     "image input",
                     inputs.size()),
         "export a model whose forward() takes one image tensor"});
  }
  for (const auto& input : inputs) {
    check_dynamic(input, "input", report);
    check_input_layout(input, report);
  }
  for (const auto& output : model.outputs()) check_dynamic(output, "output", report);

  std::set<std::string> graph_outputs;
  for (const auto& out : graph.output()) graph_outputs.insert(out.name());
  std::map<std::string, std::vector<std::string>> unsupported;  // op -> nodes
  std::vector<std::string> unsupported_order;
  for (const auto& node : graph.node()) {
    const std::string label =
        node.name().empty() && node.output_size() > 0 ? node.output(0) : node.name();
    const bool default_domain = node.domain().empty() || node.domain() == "ai.onnx";
    if (node.op_type() == "Conv" && default_domain) {
      const bool has_kernel_shape =
          std::any_of(node.attribute().begin(), node.attribute().end(),
                      [](const ::onnx::AttributeProto& a) { return a.name() == "kernel_shape"; });
      if (!has_kernel_shape) {
        report.findings.push_back(
            {Severity::kError, "conv-kernel-shape",
             fmt::format("Conv node '{}' has no kernel_shape attribute; the Dataflow Compiler "
                         "needs it",
                         label),
             "re-export with torch.onnx.export(..., dynamo=False) (the TorchScript exporter "
             "writes kernel_shape)"});
      }
    }
    if ((node.op_type() == "Gemm" || node.op_type() == "MatMul") && default_domain) {
      report.suggested_end_node = label;
    }
    if (!default_domain || !opencv_supports_op(node.op_type())) {
      const std::string op = default_domain ? node.op_type() : node.domain() + "." + node.op_type();
      auto& nodes = unsupported[op];
      if (nodes.empty()) unsupported_order.push_back(op);
      nodes.push_back(label);
    }
  }

  // A Softmax/LogSoftmax producing a graph output: the Hailo network should end at the
  // classifier's Gemm and leave the softmax to the host (it is cheap there and costly to quantize).
  for (const auto& node : graph.node()) {
    if (node.op_type() != "Softmax" && node.op_type() != "LogSoftmax") continue;
    const bool is_end = std::any_of(node.output().begin(), node.output().end(),
                                    [&](const std::string& o) { return graph_outputs.count(o); });
    if (!is_end) continue;
    report.findings.push_back(
        {Severity::kWarning, "softmax-at-end",
         fmt::format("the graph ends with {} node '{}'", node.op_type(),
                     node.name().empty() ? node.output(0) : node.name()),
         report.suggested_end_node.empty()
             ? std::string("export logits: softmax runs on the host")
             : fmt::format("export logits (softmax runs on the host), or end the Hailo parse "
                           "at node '{}', the Gemm/MatMul before it",
                           report.suggested_end_node)});
  }

  // Warning, not error: the Dataflow Compiler does not use OpenCV, so these ops do not stop
  // a Hailo deployment; they stop the CPU backend, i.e. `check`'s parity run with PyTorch
  // and `--backend cpu`.
  for (const auto& op : unsupported_order) {
    const auto& nodes = unsupported[op];
    std::string list;
    for (std::size_t i = 0; i < nodes.size() && i < 3; ++i) {
      list += (i ? ", '" : "'") + nodes[i] + "'";
    }
    if (nodes.size() > 3) list += fmt::format(" and {} more", nodes.size() - 3);
    report.findings.push_back(
        {Severity::kWarning, "opencv-unsupported-op",
         fmt::format("OpenCV {} DNN cannot run op '{}' (node {}); the CPU backend cannot load "
                     "this model",
                     opencv_version(), op, list),
         "skip CPU parity (no --backend cpu), or export the model without this op"});
  }

  if (!report.suggested_end_node.empty()) {
    report.findings.push_back(
        {Severity::kInfo, "end-node",
         fmt::format("suggested end node: '{}', the last Gemm/MatMul", report.suggested_end_node),
         fmt::format("pass it as the end node to the Hailo parser (end_node_names=['{}'])",
                     report.suggested_end_node)});
  }
  return report;
}

}  // namespace hdeploy::onnx

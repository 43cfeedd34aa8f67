#include "hdeploy/onnx/opencv_rewrite.hpp"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <opencv2/core/version.hpp>
#include <optional>
#include <set>
#include <string_view>

namespace hdeploy::onnx {
namespace {

// Op types of the ai.onnx domain that OpenCV 4.6.0's ONNX importer accepts: those
// buildDispatchMap_ONNX_AI sends to a parser, and those it passes by name to the layer registry
// (parseCustomLayer) that find a layer there (e.g. Sigmoid, Exp, Not). Measured on the installed
// libopencv_dnn.so.4.6.0 by importing one single-node model per op type of onnx 1.12's ai.onnx
// schema: an op is listed unless the importer answered "Can't create layer ... of type".
// Not listed although 4.7+ have them: And, Or, Xor, Mod, GreaterOrEqual, LessOrEqual, Mean,
// Where, Range, Tile, TopK, Einsum, GatherElements, GatherND, LayerNormalization, Hardmax,
// Scatter*, NonZero, If, Loop. OpenCV-only layer names (Convolution, ReLU6, ...) are left out on
// purpose: no exporter writes them and a model using them is not valid ONNX.
constexpr std::string_view kOpenCv46Ops[] = {
    "Abs",
    "Acos",
    "Acosh",
    "Add",
    "ArgMax",
    "ArgMin",
    "Asin",
    "Asinh",
    "Atan",
    "Atanh",
    "AveragePool",
    "BatchNormalization",
    "Cast",
    "Ceil",
    "Celu",
    "Clip",
    "Concat",
    "Constant",
    "ConstantFill",
    "ConstantOfShape",
    "Conv",
    "ConvTranspose",
    "Cos",
    "Cosh",
    "CumSum",
    "DepthToSpace",
    "DequantizeLinear",
    "DetectionOutput",
    "Div",
    "Dropout",
    "Elu",
    "Equal",
    "Erf",
    "Exp",
    "Expand",
    "Flatten",
    "Floor",
    "GRU",
    "Gather",
    "Gemm",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "Greater",
    "HardSigmoid",
    "HardSwish",
    "Identity",
    "ImageScaler",
    "InstanceNormalization",
    "LRN",
    "LSTM",
    "LeakyRelu",
    "Less",
    "Log",
    "LogSoftmax",
    "MatMul",
    "Max",
    "MaxPool",
    "MaxUnpool",
    "Min",
    "Mul",
    "Neg",
    "Not",
    "PRelu",
    "Pad",
    "Pow",
    "QLinearConv",
    "QLinearMatMul",
    "QuantizeLinear",
    "Reciprocal",
    "ReduceL1",
    "ReduceL2",
    "ReduceLogSum",
    "ReduceLogSumExp",
    "ReduceMax",
    "ReduceMean",
    "ReduceMin",
    "ReduceProd",
    "ReduceSum",
    "ReduceSumSquare",
    "Relu",
    "Reshape",
    "Resize",
    "Round",
    "Selu",
    "Shape",
    "Shrink",
    "Sigmoid",
    "Sign",
    "Sin",
    "Sinh",
    "Slice",
    "SoftMax",
    "Softmax",
    "Softplus",
    "Softsign",
    "SpaceToDepth",
    "Split",
    "Sqrt",
    "Squeeze",
    "Sub",
    "Sum",
    "Tan",
    "Tanh",
    "ThresholdedRelu",
    "Transpose",
    "Unsqueeze",
    "Upsample",
};

// What OpenCV 4.10.0 (Debian 13) imports on top of 4.6's list, measured the same way with onnx
// 1.17's schema (src/onnx/opencv_ops_test.cpp): nothing of 4.6's list is missing from 4.10.
// Versions between 4.6 and 4.10 are not measured and use 4.6's list.
constexpr std::string_view kOpenCv410AddedOps[] = {
    "Einsum",
    "GatherElements",
    "Gelu",
    "GreaterOrEqual",
    "GroupNormalization",
    "LayerNormalization",
    "LessOrEqual",
    "Mish",
    "Mod",
    "Range",
    "ScatterElements",
    "ScatterND",
    "Tile",
    "Where",
};

std::string node_label(const ::onnx::NodeProto& node) {
  if (!node.name().empty()) return node.name();
  if (node.output_size() > 0) return node.output(0);  // OpenCV names its layer so too
  return "unnamed " + node.op_type();
}

// A scalar float from a tensor (float32, float64 or float16 is not needed: PyTorch writes the
// Clip bounds in the input's dtype, float32 for our models).
std::optional<float> scalar_float(const ::onnx::TensorProto& tensor) {
  std::int64_t count = 1;
  for (auto d : tensor.dims()) count *= d;
  if (count != 1) return std::nullopt;
  if (tensor.data_type() == ::onnx::TensorProto::FLOAT) {
    if (tensor.float_data_size() == 1) return tensor.float_data(0);
    if (tensor.raw_data().size() == sizeof(float)) {
      float value = 0.0F;
      std::memcpy(&value, tensor.raw_data().data(), sizeof(float));
      return value;
    }
  } else if (tensor.data_type() == ::onnx::TensorProto::DOUBLE) {
    if (tensor.double_data_size() == 1) return static_cast<float>(tensor.double_data(0));
    if (tensor.raw_data().size() == sizeof(double)) {
      double value = 0.0;
      std::memcpy(&value, tensor.raw_data().data(), sizeof(double));
      return static_cast<float>(value);
    }
  }
  return std::nullopt;
}

// The value of a Constant node's output, if it holds a float scalar.
std::optional<float> constant_node_float(const ::onnx::NodeProto& node) {
  for (const auto& attr : node.attribute()) {
    if (attr.name() == "value" && attr.has_t()) return scalar_float(attr.t());
    if (attr.name() == "value_float") return attr.f();
  }
  return std::nullopt;
}

std::set<std::string> used_names(const ::onnx::GraphProto& graph) {
  std::set<std::string> used;
  for (const auto& node : graph.node()) {
    for (const auto& in : node.input()) used.insert(in);
  }
  for (const auto& out : graph.output()) used.insert(out.name());
  return used;
}

// Removes Identity nodes by wiring their consumers to the Identity's input. When the Identity
// produces a graph output, the output's name must survive (callers look it up), so the
// producer of the Identity's input is renamed to produce it instead; that is only possible
// when the input comes from a node and is not itself a graph output.
int remove_identities(::onnx::GraphProto& graph) {
  std::set<std::string> graph_outputs;
  for (const auto& out : graph.output()) graph_outputs.insert(out.name());
  int removed = 0;
  for (int i = 0; i < graph.node_size();) {
    const ::onnx::NodeProto& node = graph.node(i);
    if (node.op_type() != "Identity" || node.input_size() != 1 || node.output_size() != 1 ||
        !node.domain().empty()) {
      ++i;
      continue;
    }
    const std::string from = node.output(0);
    const std::string to = node.input(0);
    if (graph_outputs.count(from) != 0) {
      int producer = -1;
      for (int j = 0; j < graph.node_size(); ++j) {
        const auto& outs = graph.node(j).output();
        if (std::find(outs.begin(), outs.end(), to) != outs.end()) producer = j;
      }
      if (producer < 0 || graph_outputs.count(to) != 0) {
        ++i;  // input is a graph input or initializer, or also an output: leave it
        continue;
      }
      // Rename `to` to `from` everywhere: the producer's output and every other consumer.
      for (auto& other : *graph.mutable_node()) {
        for (auto& out : *other.mutable_output()) {
          if (out == to) out = from;
        }
        for (auto& in : *other.mutable_input()) {
          if (in == to) in = from;
        }
      }
    } else {
      for (auto& other : *graph.mutable_node()) {
        for (auto& in : *other.mutable_input()) {
          if (in == from) in = to;
        }
      }
    }
    auto* value_info = graph.mutable_value_info();
    value_info->erase(std::remove_if(value_info->begin(), value_info->end(),
                                     [&](const ::onnx::ValueInfoProto& v) {
                                       return v.name() == from || v.name() == to;
                                     }),
                      value_info->end());
    graph.mutable_node()->erase(graph.mutable_node()->begin() + i);
    ++removed;
  }
  return removed;
}

// Clip(x, min, max) → Clip(x) with float attributes, the form OpenCV 4.6 reads.
Result<int> rewrite_clips(::onnx::GraphProto& graph, const std::string& model_name) {
  std::map<std::string, const ::onnx::TensorProto*> initializers;
  for (const auto& init : graph.initializer()) initializers[init.name()] = &init;
  std::map<std::string, const ::onnx::NodeProto*> constants;
  for (const auto& node : graph.node()) {
    if (node.op_type() == "Constant" && node.output_size() == 1) constants[node.output(0)] = &node;
  }
  struct Bounds {
    std::optional<float> min;
    std::optional<float> max;
  };
  std::vector<std::pair<int, Bounds>> clips;
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    if (node.op_type() != "Clip" || node.input_size() <= 1) continue;
    Bounds bounds;
    for (int k = 1; k < std::min(node.input_size(), 3); ++k) {
      const std::string& name = node.input(k);
      if (name.empty()) continue;  // an optional input left out: no bound
      std::optional<float> value;
      if (auto it = initializers.find(name); it != initializers.end()) {
        value = scalar_float(*it->second);
      } else if (auto c = constants.find(name); c != constants.end()) {
        value = constant_node_float(*c->second);
      }
      if (!value) {
        return fail(ErrorCode::kUnsupported,
                    "{}: Clip node '{}' takes its {} from '{}', which is not a float scalar "
                    "constant; OpenCV 4.6 needs constant bounds (re-export with "
                    "do_constant_folding=True)",
                    model_name, node_label(node), k == 1 ? "min" : "max", name);
      }
      (k == 1 ? bounds.min : bounds.max) = value;
    }
    clips.emplace_back(i, bounds);
  }
  for (const auto& [index, bounds] : clips) {
    auto* node = graph.mutable_node(index);
    const std::string x = node->input(0);
    node->clear_input();
    node->add_input(x);
    auto* attrs = node->mutable_attribute();
    attrs->erase(std::remove_if(attrs->begin(), attrs->end(),
                                [](const ::onnx::AttributeProto& a) {
                                  return a.name() == "min" || a.name() == "max";
                                }),
                 attrs->end());
    for (const auto& [name, value] : {std::pair{"min", bounds.min}, std::pair{"max", bounds.max}}) {
      if (!value) continue;  // OpenCV's defaults are -FLT_MAX / FLT_MAX: no bound
      auto* attr = node->add_attribute();
      attr->set_name(name);
      attr->set_type(::onnx::AttributeProto::FLOAT);
      attr->set_f(*value);
    }
  }
  return static_cast<int>(clips.size());
}

// Constant nodes whose outputs nobody reads any more (the Clip bounds just folded in).
void remove_dead_constants(::onnx::GraphProto& graph) {
  const auto used = used_names(graph);
  auto* nodes = graph.mutable_node();
  nodes->erase(std::remove_if(nodes->begin(), nodes->end(),
                              [&](const ::onnx::NodeProto& node) {
                                return node.op_type() == "Constant" && node.output_size() == 1 &&
                                       used.count(node.output(0)) == 0;
                              }),
               nodes->end());
}

}  // namespace

const char* opencv_version() { return CV_VERSION; }

bool opencv_needs_rewrite() { return CV_VERSION_MAJOR == 4 && CV_VERSION_MINOR < 10; }

bool opencv_supports_op(const std::string& op_type) {
  const auto in = [&op_type](const auto& table) {
    return std::find(std::begin(table), std::end(table), op_type) != std::end(table);
  };
  if (in(kOpenCv46Ops)) return true;
  return (CV_VERSION_MAJOR > 4 || CV_VERSION_MINOR >= 10) && in(kOpenCv410AddedOps);
}

Result<OpenCvRewrite> rewrite_for_opencv(const OnnxModel& model, bool rewrite) {
  ::onnx::ModelProto proto = model.proto();
  ::onnx::GraphProto& graph = *proto.mutable_graph();
  OpenCvRewrite result;
  if (rewrite) {
    result.identities_removed = remove_identities(graph);
    HDEPLOY_ASSIGN_OR_RETURN(result.clips_rewritten, rewrite_clips(graph, model.name()));
    remove_dead_constants(graph);
  }

  std::set<std::string> seen;
  for (const auto& node : graph.node()) {
    const bool default_domain = node.domain().empty() || node.domain() == "ai.onnx";
    if (default_domain && opencv_supports_op(node.op_type())) continue;
    const std::string op = default_domain ? node.op_type() : node.domain() + "." + node.op_type();
    result.unsupported_nodes.push_back({op, node_label(node)});
    if (seen.insert(op).second) result.unsupported_ops.push_back(op);
  }

  std::string bytes;
  if (!proto.SerializeToString(&bytes)) {
    return fail(ErrorCode::kInternal, "{}: cannot serialize the model rewritten for OpenCV",
                model.name());
  }
  result.model_bytes.assign(bytes.begin(), bytes.end());
  return result;
}

std::string describe_unsupported(const OpenCvRewrite& rewrite, const std::string& model_name) {
  if (rewrite.unsupported_nodes.empty()) return {};
  const auto& first = rewrite.unsupported_nodes.front();
  std::string text = model_name + ": OpenCV " + opencv_version() + " DNN cannot run op '" +
                     first.op_type + "' (node '" + first.node + "')";
  const auto more = rewrite.unsupported_nodes.size() - 1;
  if (more > 0) {
    text += " and " + std::to_string(more) + " more node" + (more > 1 ? "s" : "") + " (ops: ";
    for (std::size_t i = 0; i < rewrite.unsupported_ops.size(); ++i) {
      text += (i ? ", " : "") + rewrite.unsupported_ops[i];
    }
    text += ")";
  }
  text += "; the CPU backend cannot load this model";
  return text;
}

}  // namespace hdeploy::onnx

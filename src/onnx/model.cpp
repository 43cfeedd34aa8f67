#include "hdeploy/onnx/model.hpp"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <exception>
#include <limits>
#include <set>
#include <utility>

#include "hdeploy/core/file.hpp"

namespace hdeploy::onnx {
namespace {

// The checker's and shape inference's messages span lines; an Error is one line.
std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

std::string elem_type_name(std::int32_t elem_type) {
  switch (elem_type) {
    case ::onnx::TensorProto::FLOAT:
      return "float32";
    case ::onnx::TensorProto::UINT8:
      return "uint8";
    case ::onnx::TensorProto::INT8:
      return "int8";
    case ::onnx::TensorProto::UINT16:
      return "uint16";
    case ::onnx::TensorProto::INT16:
      return "int16";
    case ::onnx::TensorProto::INT32:
      return "int32";
    case ::onnx::TensorProto::INT64:
      return "int64";
    case ::onnx::TensorProto::STRING:
      return "string";
    case ::onnx::TensorProto::BOOL:
      return "bool";
    case ::onnx::TensorProto::FLOAT16:
      return "float16";
    case ::onnx::TensorProto::DOUBLE:
      return "float64";
    case ::onnx::TensorProto::UINT32:
      return "uint32";
    case ::onnx::TensorProto::UINT64:
      return "uint64";
    case ::onnx::TensorProto::BFLOAT16:
      return "bfloat16";
    default:
      return "undefined";
  }
}

OnnxValueInfo describe_value(const ::onnx::ValueInfoProto& value) {
  OnnxValueInfo info;
  info.name = value.name();
  if (!value.type().has_tensor_type()) {
    info.elem_type = "non-tensor";
    return info;
  }
  const auto& tensor = value.type().tensor_type();
  info.elem_type = elem_type_name(tensor.elem_type());
  for (const auto& dim : tensor.shape().dim()) {
    info.dims.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
    info.dim_params.push_back(dim.has_dim_param() ? dim.dim_param() : std::string());
  }
  return info;
}

// Structural minimum for "is an ONNX model": protobuf accepts an empty buffer (and sometimes
// garbage) as a valid, empty ModelProto.
Status check_is_model(const ::onnx::ModelProto& proto, const std::string& name) {
  if (!proto.has_graph() || proto.graph().node_size() == 0) {
    return fail(ErrorCode::kInvalidFormat,
                "{}: not an ONNX model (no graph or no nodes); re-export it with torch.onnx.export",
                name);
  }
  return {};
}

}  // namespace

OnnxModel::OnnxModel(std::unique_ptr<::onnx::ModelProto> proto, std::string name)
    : proto_(std::move(proto)), name_(std::move(name)) {}
OnnxModel::OnnxModel(OnnxModel&&) noexcept = default;
OnnxModel& OnnxModel::operator=(OnnxModel&&) noexcept = default;
OnnxModel::~OnnxModel() = default;

Result<OnnxModel> OnnxModel::load(const std::filesystem::path& path) {
  HDEPLOY_ASSIGN_OR_RETURN(auto bytes, read_file(path));
  return parse(bytes, path.string());
}

Result<OnnxModel> OnnxModel::parse(std::span<const std::uint8_t> bytes, const std::string& name) {
  if (bytes.empty()) {
    return fail(ErrorCode::kInvalidFormat, "{}: is empty, not an ONNX model; re-export it", name);
  }
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return fail(ErrorCode::kUnsupported,
                "{}: {} bytes is over protobuf's 2 GB limit; export with external data is not "
                "supported",
                name, bytes.size());
  }
  auto proto = std::make_unique<::onnx::ModelProto>();
  bool parsed = false;
  try {
    parsed = proto->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInvalidFormat, "{}: not an ONNX model or truncated ({})", name,
                one_line(e.what()));
  }
  if (!parsed) {
    return fail(ErrorCode::kInvalidFormat,
                "{}: not an ONNX model or truncated (protobuf parse failed); re-export it", name);
  }
  HDEPLOY_TRY(check_is_model(*proto, name));
  return OnnxModel(std::move(proto), name);
}

Result<OnnxModel> OnnxModel::from_proto(::onnx::ModelProto proto, const std::string& name) {
  HDEPLOY_TRY(check_is_model(proto, name));
  return OnnxModel(std::make_unique<::onnx::ModelProto>(std::move(proto)), name);
}

std::int64_t OnnxModel::ir_version() const { return proto_->ir_version(); }

std::int64_t OnnxModel::opset() const {
  for (const auto& opset : proto_->opset_import()) {
    if (opset.domain().empty() || opset.domain() == "ai.onnx") return opset.version();
  }
  return 0;
}

std::string OnnxModel::producer() const {
  std::string text = proto_->producer_name();
  if (!proto_->producer_version().empty()) {
    if (!text.empty()) text += ' ';
    text += proto_->producer_version();
  }
  return text;
}

std::vector<OnnxValueInfo> OnnxModel::inputs() const {
  std::set<std::string> initializers;
  for (const auto& init : proto_->graph().initializer()) initializers.insert(init.name());
  std::vector<OnnxValueInfo> result;
  for (const auto& input : proto_->graph().input()) {
    if (initializers.count(input.name()) == 0) result.push_back(describe_value(input));
  }
  return result;
}

std::vector<OnnxValueInfo> OnnxModel::outputs() const {
  std::vector<OnnxValueInfo> result;
  for (const auto& output : proto_->graph().output()) result.push_back(describe_value(output));
  return result;
}

std::vector<OnnxNodeInfo> OnnxModel::nodes() const {
  std::vector<OnnxNodeInfo> result;
  result.reserve(static_cast<std::size_t>(proto_->graph().node_size()));
  for (const auto& node : proto_->graph().node()) {
    OnnxNodeInfo info;
    info.name = node.name();
    info.op_type = node.op_type();
    info.inputs.assign(node.input().begin(), node.input().end());
    info.outputs.assign(node.output().begin(), node.output().end());
    result.push_back(std::move(info));
  }
  return result;
}

std::map<std::string, int> OnnxModel::op_counts() const {
  std::map<std::string, int> counts;
  for (const auto& node : proto_->graph().node()) ++counts[node.op_type()];
  return counts;
}

Status OnnxModel::check() const {
  try {
    ::onnx::checker::check_model(*proto_);
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInvalidFormat, "{}: ONNX checker: {}", name_, one_line(e.what()));
  }
  return {};
}

Status OnnxModel::infer_shapes() const {
  ::onnx::ModelProto copy = *proto_;
  try {
    // error_mode 1: node-level inference errors throw instead of being skipped silently.
    const ::onnx::ShapeInferenceOptions options(/*check_type_val=*/true, /*strict_mode_val=*/1);
    ::onnx::shape_inference::InferShapes(copy, ::onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInvalidFormat, "{}: ONNX shape inference: {}", name_,
                one_line(e.what()));
  }
  return {};
}

}  // namespace hdeploy::onnx

#pragma once
// ONNX models through libonnx: load with clear errors, check structure and shapes, describe.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "hdeploy/core/result.hpp"
#include "hdeploy/core/tensor.hpp"

namespace onnx {
class ModelProto;
}

namespace hdeploy::onnx {

// A graph input or output as declared; dims < 0 are dynamic (dim_param or missing).
struct OnnxValueInfo {
  std::string name;
  std::string elem_type;  // "float32", "uint8", ...
  std::vector<std::int64_t> dims;
  std::vector<std::string> dim_params;  // per dim, the symbolic name if any
};

struct OnnxNodeInfo {
  std::string name;
  std::string op_type;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
};

// A loaded ONNX model. Owns the protobuf; move-only.
class OnnxModel {
 public:
  // Errors: read_file's (kNotFound; a directory; kIo), kInvalidFormat ("not an ONNX model or
  // truncated", also for an empty file or one without a graph), each naming the file.
  static Result<OnnxModel> load(const std::filesystem::path& path);
  // As load, from bytes already in memory; `name` stands for the file in messages.
  static Result<OnnxModel> parse(std::span<const std::uint8_t> bytes, const std::string& name);
  // Takes ownership of an already built model (tests, rewrites). Errors as parse when it has
  // no graph.
  static Result<OnnxModel> from_proto(::onnx::ModelProto proto, const std::string& name);

  OnnxModel(OnnxModel&&) noexcept;
  OnnxModel& operator=(OnnxModel&&) noexcept;
  ~OnnxModel();

  const std::string& name() const { return name_; }  // the file it came from
  std::int64_t ir_version() const;
  std::int64_t opset() const;    // the default ("" / ai.onnx) domain's version; 0 if absent
  std::string producer() const;  // "pytorch 1.13.1"
  // Graph inputs that are not initializers, and graph outputs.
  std::vector<OnnxValueInfo> inputs() const;
  std::vector<OnnxValueInfo> outputs() const;
  std::vector<OnnxNodeInfo> nodes() const;
  std::map<std::string, int> op_counts() const;

  // onnx::checker::check_model; errors kInvalidFormat with the checker's message.
  Status check() const;
  // onnx::shape_inference::InferShapes on a copy; errors kInvalidFormat.
  Status infer_shapes() const;

  const ::onnx::ModelProto& proto() const { return *proto_; }

 private:
  OnnxModel(std::unique_ptr<::onnx::ModelProto> proto, std::string name);
  std::unique_ptr<::onnx::ModelProto> proto_;
  std::string name_;
};

}  // namespace hdeploy::onnx

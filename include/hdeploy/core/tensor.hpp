#pragma once
// Tensor descriptions shared by every backend and file format.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hdeploy {

enum class DType { kUint8, kUint16, kFloat32 };
enum class Layout { kNCHW, kNHWC, kNC };

const char* to_string(DType dtype);
const char* to_string(Layout layout);
std::size_t dtype_size(DType dtype);

// Affine quantization: real = (q - zero_point) * scale.
struct Quantization {
  float scale = 1.0F;
  float zero_point = 0.0F;
  bool is_identity() const { return scale == 1.0F && zero_point == 0.0F; }
  float dequantize(float q) const { return (q - zero_point) * scale; }
};

// One input or output of a model as a backend sees it.
struct TensorSpec {
  std::string name;
  DType dtype = DType::kFloat32;
  Layout layout = Layout::kNCHW;
  std::vector<std::int64_t> shape;  // in the order the layout names
  std::optional<Quantization> quantization;

  std::size_t element_count() const;
  std::size_t byte_size() const { return element_count() * dtype_size(dtype); }
  // "float32 NCHW 1x3x224x224"
  std::string describe() const;
};

// "1x3x224x224"
std::string shape_to_string(const std::vector<std::int64_t>& shape);

}  // namespace hdeploy

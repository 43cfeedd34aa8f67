#include "hdeploy/core/tensor.hpp"

#include <fmt/format.h>

namespace hdeploy {

const char* to_string(DType dtype) {
  switch (dtype) {
    case DType::kUint8:
      return "uint8";
    case DType::kUint16:
      return "uint16";
    case DType::kFloat32:
      return "float32";
  }
  return "?";
}

const char* to_string(Layout layout) {
  switch (layout) {
    case Layout::kNCHW:
      return "NCHW";
    case Layout::kNHWC:
      return "NHWC";
    case Layout::kNC:
      return "NC";
  }
  return "?";
}

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kUint8:
      return 1;
    case DType::kUint16:
      return 2;
    case DType::kFloat32:
      return 4;
  }
  return 0;
}

std::size_t TensorSpec::element_count() const {
  std::size_t n = 1;
  for (auto d : shape) n *= d > 0 ? static_cast<std::size_t>(d) : 0;
  return shape.empty() ? 0 : n;
}

std::string shape_to_string(const std::vector<std::int64_t>& shape) {
  std::string out;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) out += 'x';
    out += shape[i] < 0 ? std::string("?") : std::to_string(shape[i]);
  }
  return out;
}

std::string TensorSpec::describe() const {
  return fmt::format("{} {} {}", to_string(dtype), to_string(layout), shape_to_string(shape));
}

}  // namespace hdeploy

#pragma once
// The last preprocessing step: a prepared image into one backend's input contract (DESIGN.md).
// Both backends start from the same decoded, resized, cropped image and differ only here:
//   float32 NCHW 1x3xHxW, (x/255 - mean)/std        the cpu backend (ONNX through OpenCV DNN);
//   uint8 NHWC 1xHxWx3, RGB 0-255                   hailo and sim (normalisation runs on chip),
//     quantized with the input's qp when it is not identity, by HailoRT's own rule.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "hdeploy/core/result.hpp"
#include "hdeploy/core/tensor.hpp"
#include "hdeploy/preprocess/image.hpp"
#include "hdeploy/preprocess/preprocessor.hpp"

namespace hdeploy::preprocess {

// HailoRT's host quantization (Quantization::quantize_input): clip `value` to the limits the
// qp can represent, [dequantize(0), dequantize(255)], then round half to even
// (bankers_round), q = round(clip(value) / scale + zero_point), saturated to 0..255.
// `qp.scale` must be finite and > 0.
std::uint8_t quantize_input_value(float value, const Quantization& qp);

// Writes prepared images into one input TensorSpec. Cheap to copy; const methods are safe from
// several threads. For a quantized uint8 input the 256 possible pixel values are tabulated
// once with quantize_input_value.
class InputConversion {
 public:
  enum class Kind { kFloatNchw, kUint8Nhwc };

  // `height` x `width` is what the preprocessing produces. Errors: kInvalidArgument naming the
  // input for another dtype/layout/shape, a size other than height x width, or a qp whose
  // scale is not finite and > 0.
  static Result<InputConversion> create(const TensorSpec& input, int height, int width);

  Kind kind() const { return kind_; }
  bool quantizes() const { return quantize_; }
  // Bytes of one converted frame: the input's byte_size().
  std::size_t byte_size() const { return byte_size_; }

  // `out` must be byte_size() bytes and, for float input, 4-byte aligned (Engine buffers are
  // page-aligned). Errors: kInvalidArgument for another size, or an image of another size.
  Status write(const Preprocessor& preprocessor, const Image& prepared,
               std::span<std::uint8_t> out) const;

 private:
  InputConversion() = default;
  Kind kind_ = Kind::kUint8Nhwc;
  bool quantize_ = false;
  std::size_t byte_size_ = 0;
  int height_ = 0;
  int width_ = 0;
  std::array<std::uint8_t, 256> table_{};
};

}  // namespace hdeploy::preprocess

#include "hdeploy/preprocess/input_conversion.hpp"

#include <algorithm>
#include <cmath>

namespace hdeploy::preprocess {

std::uint8_t quantize_input_value(float value, const Quantization& qp) {
  const float lo = qp.dequantize(0.0F);
  const float hi = qp.dequantize(255.0F);
  // HailoRT's clip: at or beyond a limit gives the limit.
  const float clipped = value >= hi ? hi : (value <= lo ? lo : value);
  // std::nearbyint rounds half to even under the default rounding mode, as rintf does.
  const float q = std::nearbyint(clipped / qp.scale + qp.zero_point);
  return static_cast<std::uint8_t>(std::clamp(q, 0.0F, 255.0F));
}

Result<InputConversion> InputConversion::create(const TensorSpec& input, int height, int width) {
  const auto& s = input.shape;
  InputConversion c;
  c.height_ = height;
  c.width_ = width;
  c.byte_size_ = input.byte_size();
  if (input.dtype == DType::kFloat32 && input.layout == Layout::kNCHW && s.size() == 4 &&
      s[0] == 1 && s[1] == 3) {
    c.kind_ = Kind::kFloatNchw;
    if (s[2] != height || s[3] != width) {
      return fail(ErrorCode::kInvalidArgument,
                  "input '{}' is {} but the preprocessing produces {}x{} images; use the model "
                  "spec the model was exported with",
                  input.name, input.describe(), height, width);
    }
    return c;
  }
  if (input.dtype == DType::kUint8 && input.layout == Layout::kNHWC && s.size() == 4 && s[0] == 1 &&
      s[3] == 3) {
    c.kind_ = Kind::kUint8Nhwc;
    if (s[1] != height || s[2] != width) {
      return fail(ErrorCode::kInvalidArgument,
                  "input '{}' is {} but the preprocessing produces {}x{} images; use the model "
                  "spec the model was compiled with",
                  input.name, input.describe(), height, width);
    }
    if (input.quantization && !input.quantization->is_identity()) {
      const Quantization qp = *input.quantization;
      if (!(qp.scale > 0.0F) || !std::isfinite(qp.scale) || !std::isfinite(qp.zero_point)) {
        return fail(ErrorCode::kInvalidArgument,
                    "input '{}' has the quantization scale {} and zero point {}; the scale must "
                    "be a finite number > 0",
                    input.name, qp.scale, qp.zero_point);
      }
      c.quantize_ = true;
      for (int v = 0; v < 256; ++v) {
        c.table_[static_cast<std::size_t>(v)] = quantize_input_value(static_cast<float>(v), qp);
      }
    }
    return c;
  }
  return fail(ErrorCode::kInvalidArgument,
              "input '{}' is {}; preprocessing writes float32 NCHW 1x3xHxW (cpu) or uint8 NHWC "
              "1xHxWx3 (hailo, sim)",
              input.name, input.describe());
}

Status InputConversion::write(const Preprocessor& preprocessor, const Image& prepared,
                              std::span<std::uint8_t> out) const {
  if (out.size() != byte_size_) {
    return fail(ErrorCode::kInvalidArgument, "the input buffer is {} bytes; the input takes {}",
                out.size(), byte_size_);
  }
  if (prepared.width != width_ || prepared.height != height_) {
    return fail(ErrorCode::kInvalidArgument, "the image is {}x{}; the input takes {}x{}",
                prepared.width, prepared.height, width_, height_);
  }
  if (kind_ == Kind::kFloatNchw) {
    preprocessor.to_cpu_input(prepared,
                              std::span<float>(reinterpret_cast<float*>(out.data()),  // NOLINT
                                               out.size() / sizeof(float)));
    return {};
  }
  preprocessor.to_hailo_input(prepared, out);
  if (quantize_) {
    for (std::uint8_t& v : out) v = table_[v];
  }
  return {};
}

}  // namespace hdeploy::preprocess

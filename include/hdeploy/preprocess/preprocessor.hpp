#pragma once
// The whole evaluation preprocessing of a model spec, from file bytes to a backend's input.

#include <filesystem>

#include "hdeploy/core/model_spec.hpp"
#include "hdeploy/preprocess/image.hpp"

namespace hdeploy {

class Preprocessor {
 public:
  Preprocessor(const ModelSpec& spec, DecodeOptions decode);

  // Decode, orient, resize, crop: the image both backends start from.
  Result<Image> prepare(const std::filesystem::path& path) const;
  Result<Image> prepare(std::span<const std::uint8_t> bytes, const std::string& name) const;
  // Resize and crop an already decoded image.
  Image resize_and_crop(const Image& decoded) const;

  // The CPU backend's input: float32 NCHW 1x3xHxW, normalised. `out` holds 3*H*W floats.
  void to_cpu_input(const Image& prepared, std::span<float> out) const;
  // The Hailo input: uint8 NHWC 1xHxWx3. `out` holds H*W*3 bytes.
  void to_hailo_input(const Image& prepared, std::span<std::uint8_t> out) const;

  int output_height() const { return spec_.input_height; }
  int output_width() const { return spec_.input_width; }

 private:
  ModelSpec spec_;
  DecodeOptions decode_;
};

}  // namespace hdeploy

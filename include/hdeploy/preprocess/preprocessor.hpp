#pragma once
// The whole evaluation preprocessing of a model spec, from file bytes to a backend's input.

#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>

#include "hdeploy/core/model_spec.hpp"
#include "hdeploy/preprocess/image.hpp"

namespace hdeploy::preprocess {

// Runs a spec's [preprocess] section: decode, orient (spec's exif_orientation overrides
// DecodeOptions::apply_exif_orientation), resize (shorter side / exact / none), centre crop,
// then either backend's input layout. All methods are const and safe to call from several
// threads; the resize plan for the last image size is cached and shared (a camera stream of
// one size plans once).
class Preprocessor {
 public:
  Preprocessor(const ModelSpec& spec, DecodeOptions decode);

  // Decode, orient, resize, crop: the image both backends start from. Errors: those of
  // load_image / decode_image.
  Result<Image> prepare(const std::filesystem::path& path) const;
  Result<Image> prepare(std::span<const std::uint8_t> bytes, const std::string& name) const;
  // Resize and crop an already decoded (and oriented) image.
  Image resize_and_crop(const Image& decoded) const;
  // The size the resize step produces for a decoded image of this size, {width, height}.
  std::pair<int, int> resized_size(int width, int height) const;

  // The CPU backend's input: float32 NCHW 1x3xHxW, normalised. `out` holds 3*H*W floats.
  void to_cpu_input(const Image& prepared, std::span<float> out) const;
  // The Hailo input: uint8 NHWC 1xHxWx3. `out` holds H*W*3 bytes.
  void to_hailo_input(const Image& prepared, std::span<std::uint8_t> out) const;

  int output_height() const { return spec_.input_height; }
  int output_width() const { return spec_.input_width; }
  const ModelSpec& spec() const { return spec_; }
  const DecodeOptions& decode_options() const { return decode_; }

 private:
  struct PlanCache {
    std::mutex mutex;
    std::shared_ptr<const PilBilinearResize> last;
  };
  std::shared_ptr<const PilBilinearResize> plan_for(int in_width, int in_height, int out_width,
                                                    int out_height) const;

  ModelSpec spec_;
  DecodeOptions decode_;
  std::shared_ptr<PlanCache> plans_;  // shared by copies; guarded by its mutex
};

}  // namespace hdeploy::preprocess

#include "hdeploy/preprocess/preprocessor.hpp"

#include <cassert>
#include <cstdint>
#include <vector>

#include "hdeploy/core/file.hpp"

namespace hdeploy::preprocess {

Preprocessor::Preprocessor(const ModelSpec& spec, DecodeOptions decode)
    : spec_(spec), decode_(decode), plans_(std::make_shared<PlanCache>()) {
  decode_.apply_exif_orientation = spec_.preprocess.exif_orientation;
}

Result<Image> Preprocessor::prepare(const std::filesystem::path& path) const {
  HDEPLOY_ASSIGN_OR_RETURN(Image decoded, load_image(path, decode_));
  return resize_and_crop(decoded);
}

Result<Image> Preprocessor::prepare(std::span<const std::uint8_t> bytes,
                                    const std::string& name) const {
  HDEPLOY_ASSIGN_OR_RETURN(Image decoded, decode_image(bytes, name, decode_));
  return resize_and_crop(decoded);
}

std::pair<int, int> Preprocessor::resized_size(int width, int height) const {
  const PreprocessSpec& p = spec_.preprocess;
  switch (p.resize_mode) {
    case ResizeMode::kShorterSide:
      return shorter_side_size(width, height, p.resize);
    case ResizeMode::kExact:
      return {p.resize_width, p.resize_height};
    case ResizeMode::kNone:
      break;
  }
  return {width, height};
}

std::shared_ptr<const PilBilinearResize> Preprocessor::plan_for(int in_width, int in_height,
                                                                int out_width,
                                                                int out_height) const {
  std::lock_guard lock(plans_->mutex);
  const auto& last = plans_->last;
  if (last && last->in_width() == in_width && last->in_height() == in_height &&
      last->out_width() == out_width && last->out_height() == out_height) {
    return last;
  }
  plans_->last =
      std::make_shared<const PilBilinearResize>(in_width, in_height, out_width, out_height);
  return plans_->last;
}

Image Preprocessor::resize_and_crop(const Image& decoded) const {
  const auto [width, height] = resized_size(decoded.width, decoded.height);
  const PreprocessSpec& p = spec_.preprocess;
  if (width == decoded.width && height == decoded.height) {
    return center_crop(decoded, p.crop_height, p.crop_width);
  }
  const auto plan = plan_for(decoded.width, decoded.height, width, height);
  // The intermediate rows between the two passes, kept per thread so a stream of frames
  // allocates only its output.
  thread_local std::vector<std::uint8_t> scratch;
  Image out;
  if (p.crop_width > 0 && p.crop_height > 0 && p.crop_width <= width && p.crop_height <= height) {
    // No padding: resample only the pixels the crop keeps (bit-identical to resize + crop).
    const CropOffsets offsets = center_crop_offsets(height, width, p.crop_height, p.crop_width);
    plan->run(decoded, out, scratch,
              PilBilinearResize::Window{offsets.left, offsets.top, p.crop_width, p.crop_height});
    return out;
  }
  plan->run(decoded, out, scratch);
  return center_crop(out, p.crop_height, p.crop_width);
}

void Preprocessor::to_cpu_input(const Image& prepared, std::span<float> out) const {
  assert(prepared.width == output_width() && prepared.height == output_height());
  to_nchw_float(prepared, spec_.preprocess.mean, spec_.preprocess.std, out);
}

void Preprocessor::to_hailo_input(const Image& prepared, std::span<std::uint8_t> out) const {
  assert(prepared.width == output_width() && prepared.height == output_height());
  to_nhwc_uint8(prepared, out);
}

}  // namespace hdeploy::preprocess

// torchvision's Resize size rule, CenterCrop, ToTensor + Normalize.

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

#include "hdeploy/preprocess/image.hpp"

namespace hdeploy::preprocess {

std::pair<int, int> shorter_side_size(int width, int height, int target) {
  // torchvision 0.14 _compute_resized_output_size: short, long = (w, h) if w <= h else (h, w);
  // new_long = int(target * long / short), Python true division then truncation.
  const bool width_is_short = width <= height;
  const int short_side = width_is_short ? width : height;
  const int long_side = width_is_short ? height : width;
  const auto new_long = static_cast<int>(
      static_cast<double>(static_cast<std::int64_t>(target) * long_side) / short_side);
  return width_is_short ? std::pair{target, new_long} : std::pair{new_long, target};
}

namespace {

// One axis of torchvision's F.center_crop: pad (crop - size) // 2 before when the image is
// smaller, else start at int(round((size - crop) / 2.0)), Python's round: half to even.
int center_offset(int size, int crop) {
  if (crop > size) return -((crop - size) / 2);
  return static_cast<int>(std::nearbyint((size - crop) / 2.0));
}

}  // namespace

CropOffsets center_crop_offsets(int height, int width, int crop_height, int crop_width) {
  return CropOffsets{center_offset(height, crop_height), center_offset(width, crop_width)};
}

Image center_crop(const Image& in, int crop_height, int crop_width) {
  const CropOffsets offsets = center_crop_offsets(in.height, in.width, crop_height, crop_width);
  Image out;
  out.width = crop_width;
  out.height = crop_height;
  out.rgb.assign(static_cast<std::size_t>(crop_width) * crop_height * 3, 0);
  // The columns of the crop that fall inside the source image; the rest stay zero (padding).
  const int x_begin = std::max(0, -offsets.left);
  const int x_end = std::min(crop_width, in.width - offsets.left);
  if (x_end <= x_begin) return out;
  const std::size_t row_bytes = static_cast<std::size_t>(x_end - x_begin) * 3;
  for (int y = 0; y < crop_height; ++y) {
    const int sy = y + offsets.top;
    if (sy < 0 || sy >= in.height) continue;
    std::memcpy(
        out.rgb.data() + (static_cast<std::size_t>(y) * crop_width + x_begin) * 3,
        in.rgb.data() + (static_cast<std::size_t>(sy) * in.width + x_begin + offsets.left) * 3,
        row_bytes);
  }
  return out;
}

void to_nchw_float(const Image& in, const std::array<float, 3>& mean,
                   const std::array<float, 3>& std, std::span<float> out) {
  const std::size_t plane = static_cast<std::size_t>(in.width) * in.height;
  assert(out.size() >= plane * 3);
  // torch: ToTensor divides by 255 in float32, Normalize subtracts the float32 mean and
  // divides by the float32 std. The same three float operations per value, tabulated.
  float table[3][256];
  for (int c = 0; c < 3; ++c) {
    for (int v = 0; v < 256; ++v) {
      table[c][v] = (static_cast<float>(v) / 255.0F - mean[c]) / std[c];
    }
  }
  float* r = out.data();
  float* g = r + plane;
  float* b = g + plane;
  const std::uint8_t* src = in.rgb.data();
  for (std::size_t i = 0; i < plane; ++i, src += 3) {
    r[i] = table[0][src[0]];
    g[i] = table[1][src[1]];
    b[i] = table[2][src[2]];
  }
}

void to_nhwc_uint8(const Image& in, std::span<std::uint8_t> out) {
  assert(out.size() >= in.rgb.size());
  std::copy(in.rgb.begin(), in.rgb.end(), out.begin());
}

}  // namespace hdeploy::preprocess

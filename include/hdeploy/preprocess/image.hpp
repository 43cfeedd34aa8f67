#pragma once
// Image decode and the preprocessing steps of torchvision's evaluation transforms, matched bit
// for bit: PIL's decode and convert("RGB"), EXIF orientation, PIL's antialiased bilinear
// resize, torchvision's CenterCrop, ToTensor + Normalize.

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "hdeploy/core/result.hpp"

namespace hdeploy {

// 8-bit RGB, interleaved, rows packed (stride = 3 * width).
struct Image {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> rgb;
};

struct DecodeOptions {
  // Decompression-bomb guard: images with more pixels are refused before decoding.
  // PIL's Image.MAX_IMAGE_PIXELS default.
  std::uint64_t max_pixels = 89'478'485;
  bool apply_exif_orientation = true;
};

// Decodes JPEG (libjpeg-turbo: RGB, grayscale, CMYK/YCCK) and PNG (libpng: 1–16 bit gray,
// gray+alpha, RGB, RGBA, palette) into RGB exactly as PIL's Image.open(...).convert("RGB")
// does, then applies the EXIF Orientation tag if asked. `name` is used in error messages.
// Errors: kInvalidFormat (empty, corrupt, truncated, neither JPEG nor PNG),
// kInvalidArgument (over max_pixels, naming --max-pixels).
Result<Image> decode_image(std::span<const std::uint8_t> bytes, const std::string& name,
                           const DecodeOptions& options = {});
Result<Image> load_image(const std::filesystem::path& path, const DecodeOptions& options = {});

// torchvision Resize(int) on a PIL image: the shorter side becomes `target`, the longer
// int(target * long / short). Returns {width, height}.
std::pair<int, int> shorter_side_size(int width, int height, int target);

// PIL's Image.resize(size, Image.BILINEAR) for RGB images: separable antialiased bilinear
// with 22-bit fixed-point coefficients and 8-bit rounding between the horizontal and vertical
// passes. Bit-exact with Pillow.
Image pil_bilinear_resize(const Image& in, int out_width, int out_height);

// torchvision CenterCrop((h, w)): offsets int(round((H - h) / 2)) rounded half to even; pads
// with zeros (as torchvision does) where the image is smaller than the crop.
Image center_crop(const Image& in, int crop_height, int crop_width);

// ToTensor + Normalize: out[c][y][x] = (v / 255 - mean[c]) / std[c] in float32, NCHW with
// N = 1. `out` must hold 3 * width * height floats.
void to_nchw_float(const Image& in, const std::array<float, 3>& mean,
                   const std::array<float, 3>& std, std::span<float> out);
// Hailo's input: UINT8 NHWC, which for a packed RGB image is a copy.
void to_nhwc_uint8(const Image& in, std::span<std::uint8_t> out);

}  // namespace hdeploy

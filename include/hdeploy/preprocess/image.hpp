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

namespace hdeploy::preprocess {

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
// does, then applies the EXIF Orientation tag (JPEG APP1 Exif, PNG eXIf) if asked, as PIL's
// ImageOps.exif_transpose does. `name` is used in error messages.
// Errors: kInvalidFormat (empty, corrupt, truncated, neither JPEG nor PNG), kUnsupported (over
// max_pixels, naming --max-pixels; a JPEG colour space PIL does not open).
Result<Image> decode_image(std::span<const std::uint8_t> bytes, const std::string& name,
                           const DecodeOptions& options = {});
// Reads and decodes a file. Errors: as decode_image, plus kNotFound (missing) and kIo
// (unreadable, or a directory).
Result<Image> load_image(const std::filesystem::path& path, const DecodeOptions& options = {});

// PIL's ImageOps.exif_transpose for an EXIF Orientation value: 2 mirror, 3 rotate 180,
// 4 flip, 5 transpose, 6 rotate 90° clockwise, 7 transverse, 8 rotate 90° counter-clockwise.
// 1 and values outside 1..8 return the image unchanged.
Image apply_exif_orientation(const Image& in, int orientation);

// torchvision Resize(int) on a PIL image: the shorter side becomes `target`, the longer
// int(target * long / short). Returns {width, height}.
std::pair<int, int> shorter_side_size(int width, int height, int target);

// PIL's Image.resize(size, Image.BILINEAR) for RGB images, planned once for one pair of sizes
// and reusable for every frame of those sizes: separable antialiased bilinear with 22-bit
// fixed-point coefficients, the horizontal pass first (over only the rows the vertical pass
// reads), 8-bit rounding between passes, a pass skipped when its dimension is unchanged.
// Bit-exact with Pillow (src/libImaging/Resample.c). Immutable after construction: run()
// may be called from several threads at once.
class PilBilinearResize {
 public:
  // Sizes must be positive.
  PilBilinearResize(int in_width, int in_height, int out_width, int out_height);

  // `in` must be in_width() x in_height(). `out` is resized (its buffer reused when large
  // enough); `scratch` holds the intermediate rows between calls so a steady stream of
  // frames allocates nothing.
  void run(const Image& in, Image& out, std::vector<std::uint8_t>& scratch) const;
  Image run(const Image& in) const;

  // A rectangle of the output image: columns [left, left + width), rows [top, top + height).
  struct Window {
    int left = 0;
    int top = 0;
    int width = 0;
    int height = 0;
  };
  // Computes only `window` of the output (width x height into `out`), byte for byte what
  // run() followed by cropping that rectangle gives, reading and resampling only what that
  // rectangle needs. The window must be non-empty and lie inside out_width() x out_height().
  void run(const Image& in, Image& out, std::vector<std::uint8_t>& scratch,
           const Window& window) const;

  int in_width() const { return in_width_; }
  int in_height() const { return in_height_; }
  int out_width() const { return out_width_; }
  int out_height() const { return out_height_; }

  // One axis of the plan: for each output position, the first input index, the number of
  // taps and `taps_stride` fixed-point weights (Pillow's bounds and normalised kk). When the
  // input is at least taps_stride long, every window is widened to taps_stride taps (zero
  // weights, same sums) and `fixed_taps` is set.
  struct Axis {
    bool needed = false;
    bool fixed_taps = false;
    int taps_stride = 0;
    std::vector<int> first;
    std::vector<int> count;
    std::vector<std::int32_t> weights;
  };
  const Axis& horizontal() const { return horizontal_; }
  const Axis& vertical() const { return vertical_; }

 private:
  int in_width_;
  int in_height_;
  int out_width_;
  int out_height_;
  Axis horizontal_;
  Axis vertical_;
};

// One-off PIL bilinear resize (plans, then runs). Same size returns a copy, as PIL does.
Image pil_bilinear_resize(const Image& in, int out_width, int out_height);

// Where torchvision's CenterCrop takes the crop from: top/left in the source image, negative
// where the crop is larger than the image and is padded (with (crop - size) / 2 zero
// rows/columns before, the rest after, as F.center_crop pads).
struct CropOffsets {
  int top = 0;
  int left = 0;
};
CropOffsets center_crop_offsets(int height, int width, int crop_height, int crop_width);

// torchvision CenterCrop((h, w)): offsets int(round((H - h) / 2)) rounded half to even; pads
// with zeros (as torchvision does) where the image is smaller than the crop.
Image center_crop(const Image& in, int crop_height, int crop_width);

// ToTensor + Normalize: out[c][y][x] = (v / 255 - mean[c]) / std[c] in float32, NCHW with
// N = 1, the same float operations torch does (bit-identical). `out` must hold
// 3 * width * height floats.
void to_nchw_float(const Image& in, const std::array<float, 3>& mean,
                   const std::array<float, 3>& std, std::span<float> out);
// Hailo's input: UINT8 NHWC, which for a packed RGB image is a copy. `out` must hold
// 3 * width * height bytes.
void to_nhwc_uint8(const Image& in, std::span<std::uint8_t> out);

}  // namespace hdeploy::preprocess

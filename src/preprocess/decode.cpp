// decode_image(): sniffs the format, runs its decoder, applies the EXIF orientation.

#include <cstring>
#include <system_error>

#include "decoders.hpp"
#include "hdeploy/core/file.hpp"
#include "hdeploy/preprocess/image.hpp"

namespace hdeploy::preprocess {

namespace detail {

Unexpected too_many_pixels(const std::string& name, int width, int height,
                           std::uint64_t max_pixels) {
  return fail(ErrorCode::kUnsupported,
              "{}: {}x{} image has {} pixels, over the limit of {} (a guard against "
              "decompression bombs); raise it with --max-pixels if the image is trusted",
              name, width, height,
              static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height), max_pixels);
}

}  // namespace detail

namespace {

constexpr std::uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

bool starts_with(std::span<const std::uint8_t> bytes, const std::uint8_t* prefix,
                 std::size_t length) {
  return bytes.size() >= length && std::memcmp(bytes.data(), prefix, length) == 0;
}

}  // namespace

Result<Image> decode_image(std::span<const std::uint8_t> bytes, const std::string& name,
                           const DecodeOptions& options) {
  if (bytes.empty()) {
    return fail(ErrorCode::kInvalidFormat, "{}: file is empty (0 bytes); expected a JPEG or PNG",
                name);
  }
  constexpr std::uint8_t kJpegSoi[3] = {0xFF, 0xD8, 0xFF};
  detail::DecodedImage decoded;
  if (starts_with(bytes, kJpegSoi, sizeof kJpegSoi)) {
    HDEPLOY_ASSIGN_OR_RETURN(decoded, detail::decode_jpeg(bytes, name, options.max_pixels));
  } else if (starts_with(bytes, kPngSignature, sizeof kPngSignature)) {
    HDEPLOY_ASSIGN_OR_RETURN(decoded, detail::decode_png(bytes, name, options.max_pixels));
  } else {
    return fail(ErrorCode::kInvalidFormat,
                "{}: not a JPEG or PNG image (unrecognised signature); convert it to JPEG or PNG",
                name);
  }
  if (options.apply_exif_orientation && decoded.exif_orientation != 1) {
    return apply_exif_orientation(decoded.image, decoded.exif_orientation);
  }
  return std::move(decoded.image);
}

Result<Image> load_image(const std::filesystem::path& path, const DecodeOptions& options) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return fail(ErrorCode::kIo, "{}: is a directory; give the path of a JPEG or PNG file",
                path.string());
  }
  HDEPLOY_ASSIGN_OR_RETURN(const std::vector<std::uint8_t> bytes, read_file(path));
  return decode_image(bytes, path.string(), options);
}

Image apply_exif_orientation(const Image& in, int orientation) {
  if (orientation < 2 || orientation > 8) return in;
  const int w = in.width;
  const int h = in.height;
  const bool swaps = orientation >= 5;  // transpose, rotations by 90, transverse
  Image out;
  out.width = swaps ? h : w;
  out.height = swaps ? w : h;
  out.rgb.resize(in.rgb.size());
  // For each output pixel, the source pixel: PIL's Image.transpose methods.
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      int sx = x;
      int sy = y;
      switch (orientation) {
        case 2:  // FLIP_LEFT_RIGHT
          sx = w - 1 - x;
          break;
        case 3:  // ROTATE_180
          sx = w - 1 - x;
          sy = h - 1 - y;
          break;
        case 4:  // FLIP_TOP_BOTTOM
          sy = h - 1 - y;
          break;
        case 5:  // TRANSPOSE
          sx = y;
          sy = x;
          break;
        case 6:  // ROTATE_270 (90 degrees clockwise)
          sx = y;
          sy = h - 1 - x;
          break;
        case 7:  // TRANSVERSE
          sx = w - 1 - y;
          sy = h - 1 - x;
          break;
        default:  // 8: ROTATE_90 (counter-clockwise)
          sx = w - 1 - y;
          sy = x;
          break;
      }
      const std::size_t from = (static_cast<std::size_t>(sy) * w + sx) * 3;
      const std::size_t to = (static_cast<std::size_t>(y) * out.width + x) * 3;
      out.rgb[to] = in.rgb[from];
      out.rgb[to + 1] = in.rgb[from + 1];
      out.rgb[to + 2] = in.rgb[from + 2];
    }
  }
  return out;
}

}  // namespace hdeploy::preprocess

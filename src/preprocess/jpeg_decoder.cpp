// JPEG through the TurboJPEG API of libjpeg-turbo: the same library and settings PIL's decoder
// uses (ISLOW IDCT, fancy upsampling), so the pixels agree exactly; PIL's colour conversions
// to RGB are then applied here.

#include <turbojpeg.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <string>

#include "decoders.hpp"
#include "exif.hpp"

namespace hdeploy::preprocess::detail {
namespace {

struct TjHandleDeleter {
  void operator()(void* handle) const { tjDestroy(handle); }
};
using TjHandle = std::unique_ptr<void, TjHandleDeleter>;

std::string tj_message(tjhandle handle) {
  const char* message = tjGetErrorStr2(handle);
  return message != nullptr ? message : "unknown libjpeg error";
}

bool is_truncation_warning(std::string message) {
  std::transform(message.begin(), message.end(), message.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return message.find("premature end") != std::string::npos;
}

// PIL's MULDIV255: a * b / 255 rounded, in integers.
inline int muldiv255(int a, int b) {
  const int t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

// PIL opens CMYK JPEGs as "CMYK;I" (Adobe's inverted polarity), then convert("RGB") runs
// Convert.c's cmyk2rgb: nk = 255 - k; out = clip8(nk - muldiv255(c, nk)).
void inverted_cmyk_to_rgb(const std::uint8_t* cmyk, std::size_t pixels, std::uint8_t* rgb) {
  for (std::size_t i = 0; i < pixels; ++i, cmyk += 4, rgb += 3) {
    const int nk = cmyk[3];  // 255 - (255 - stored k)
    for (int c = 0; c < 3; ++c) {
      const int v = nk - muldiv255(255 - cmyk[c], nk);
      rgb[c] = static_cast<std::uint8_t>(std::clamp(v, 0, 255));
    }
  }
}

}  // namespace

Result<DecodedImage> decode_jpeg(std::span<const std::uint8_t> bytes, const std::string& name,
                                 std::uint64_t max_pixels) {
  TjHandle handle(tjInitDecompress());
  if (!handle) {
    return fail(ErrorCode::kInternal, "{}: cannot initialise libjpeg-turbo: {}", name,
                tjGetErrorStr2(nullptr));
  }
  int width = 0;
  int height = 0;
  int subsampling = 0;
  int colorspace = 0;
  if (tjDecompressHeader3(handle.get(), bytes.data(), static_cast<unsigned long>(bytes.size()),
                          &width, &height, &subsampling, &colorspace) != 0) {
    return fail(ErrorCode::kInvalidFormat,
                "{}: not a readable JPEG ({}); check the file is a complete JPEG image", name,
                tj_message(handle.get()));
  }
  if (width <= 0 || height <= 0) {
    return fail(ErrorCode::kInvalidFormat, "{}: JPEG header gives an empty {}x{} image", name,
                width, height);
  }
  if (static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height) > max_pixels) {
    return too_many_pixels(name, width, height, max_pixels);
  }

  int pixel_format = TJPF_RGB;
  int channels = 3;
  switch (colorspace) {
    case TJCS_RGB:
    case TJCS_YCbCr:
      break;
    case TJCS_GRAY:
      // PIL opens mode "L"; convert("RGB") repeats the value, as libjpeg's gray->RGB does.
      pixel_format = TJPF_GRAY;
      channels = 1;
      break;
    case TJCS_CMYK:
    case TJCS_YCCK:
      pixel_format = TJPF_CMYK;
      channels = 4;
      break;
    default:
      return fail(ErrorCode::kUnsupported, "{}: JPEG colour space {} is not supported", name,
                  colorspace);
  }

  const auto pixels = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  std::vector<std::uint8_t> decoded(pixels * static_cast<std::size_t>(channels));
  // Default flags: ISLOW IDCT and fancy upsampling, what PIL asks libjpeg for.
  if (tjDecompress2(handle.get(), bytes.data(), static_cast<unsigned long>(bytes.size()),
                    decoded.data(), width, 0, height, pixel_format, TJFLAG_ACCURATEDCT) != 0) {
    const std::string message = tj_message(handle.get());
    // libjpeg reports running out of data as a warning and pads with grey; PIL refuses such
    // files ("image file is truncated"), and so do we. Other warnings (e.g. extraneous bytes
    // before a marker) PIL decodes through, and so do we.
    if (tjGetErrorCode(handle.get()) != TJERR_WARNING) {
      return fail(ErrorCode::kInvalidFormat,
                  "{}: corrupt JPEG data ({}); re-export or replace the image", name, message);
    }
    if (is_truncation_warning(message)) {
      return fail(ErrorCode::kInvalidFormat,
                  "{}: JPEG is truncated ({}); re-download or replace the image", name, message);
    }
  }

  DecodedImage out;
  out.image.width = width;
  out.image.height = height;
  if (channels == 3) {
    out.image.rgb = std::move(decoded);
  } else {
    out.image.rgb.resize(pixels * 3);
    std::uint8_t* rgb = out.image.rgb.data();
    if (channels == 1) {
      for (std::size_t i = 0; i < pixels; ++i, rgb += 3) rgb[0] = rgb[1] = rgb[2] = decoded[i];
    } else {
      inverted_cmyk_to_rgb(decoded.data(), pixels, rgb);
    }
  }
  out.exif_orientation = exif::orientation_from_jpeg(bytes);
  return out;
}

}  // namespace hdeploy::preprocess::detail

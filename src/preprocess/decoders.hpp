#pragma once
// The format decoders behind decode_image(). Each checks the pixel count from the header
// against `max_pixels` before it allocates or decodes anything, and converts to RGB as PIL's
// convert("RGB") does.

#include <cstdint>
#include <span>
#include <string>

#include "hdeploy/core/result.hpp"
#include "hdeploy/preprocess/image.hpp"

namespace hdeploy::preprocess::detail {

struct DecodedImage {
  Image image;
  int exif_orientation = 1;  // 1..8, as stored in the file (not yet applied)
};

// `bytes` starts with the JPEG SOI marker.
Result<DecodedImage> decode_jpeg(std::span<const std::uint8_t> bytes, const std::string& name,
                                 std::uint64_t max_pixels);
// `bytes` starts with the PNG signature.
Result<DecodedImage> decode_png(std::span<const std::uint8_t> bytes, const std::string& name,
                                std::uint64_t max_pixels);

// The one message both decoders give for the decompression-bomb guard (kUnsupported).
Unexpected too_many_pixels(const std::string& name, int width, int height,
                           std::uint64_t max_pixels);

}  // namespace hdeploy::preprocess::detail

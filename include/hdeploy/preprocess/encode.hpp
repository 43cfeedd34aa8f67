#pragma once
// The one JPEG and PNG writer (TurboJPEG, libpng): the pipeline's synthetic image set and every
// test that needs an image file use it; images are generated, never checked in.

#include <cstdint>
#include <span>
#include <vector>

#include "hdeploy/core/result.hpp"
#include "hdeploy/preprocess/image.hpp"

namespace hdeploy::preprocess {

// How a JPEG is written: TurboJPEG's pixel format of `pixels` (TJPF_RGB, TJPF_GRAY, ...),
// chroma subsampling (TJSAMP_420, TJSAMP_444, ...), quality 1-100, progressive or not.
struct JpegEncoding {
  int pixel_format = 0;  // TJPF_RGB
  int subsampling = 2;   // TJSAMP_420
  int quality = 95;
  bool progressive = false;
};

// tjCompress2 with accurate DCT of `pixels` (rows of width * bytes-per-pixel, no padding).
// Errors: kInvalidArgument (sizes that do not match), kInternal (TurboJPEG's message).
Result<std::vector<std::uint8_t>> encode_jpeg(std::span<const std::uint8_t> pixels, int width,
                                              int height, const JpegEncoding& encoding);
// An RGB image at `quality` with 4:2:0 subsampling.
Result<std::vector<std::uint8_t>> encode_jpeg(const Image& image, int quality = 95);

// A PNG as libpng writes it from rows already in PNG sample layout (big-endian 16-bit samples,
// packed sub-byte samples). `palette`: RGB triples for colour type 3 (indices past it allowed,
// for tests of bad files); `exif`: TIFF data stored as an eXIf chunk.
struct PngRows {
  int width = 0;
  int height = 0;
  int bit_depth = 8;
  int color_type = 2;  // PNG_COLOR_TYPE_RGB
  std::vector<std::vector<std::uint8_t>> rows;
  std::vector<std::uint8_t> palette;
  std::vector<std::uint8_t> exif;
  bool interlaced = false;
};
// Errors: kInvalidArgument (row count or size), kInternal (libpng's failure).
Result<std::vector<std::uint8_t>> encode_png(const PngRows& png);
// An 8-bit RGB image.
Result<std::vector<std::uint8_t>> encode_png(const Image& image);

}  // namespace hdeploy::preprocess

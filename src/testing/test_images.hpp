#pragma once
// Test images: generated patterns, and throwing wrappers of the library's encoders
// (hdeploy/preprocess/encode.hpp) for tests that build odd files. Nothing is checked in.

#include <cstdint>
#include <string>
#include <vector>

#include "hdeploy/preprocess/image.hpp"

namespace hdeploy::testing {

using Bytes = std::vector<std::uint8_t>;

// A smooth, non-symmetric RGB pattern (so every orientation and offset is distinguishable).
preprocess::Image make_pattern(int width, int height, unsigned seed = 1);
// Uniform random bytes.
preprocess::Image make_random(int width, int height, unsigned seed);

// tjCompress2 of interleaved pixels in TurboJPEG pixel format `pixel_format` (TJPF_*),
// `channels` bytes per pixel.
Bytes encode_jpeg(const std::uint8_t* pixels, int width, int height, int pixel_format,
                  int subsampling, int quality);
Bytes encode_jpeg(const preprocess::Image& image, int quality = 95);

// libpng write of raw rows already in PNG sample layout (big-endian 16-bit, packed sub-byte
// samples). `palette` is RGB triples for colour type 3. `exif` (TIFF data) becomes an eXIf.
Bytes encode_png(int width, int height, int bit_depth, int color_type,
                 const std::vector<Bytes>& rows, const Bytes& palette = {}, const Bytes& exif = {},
                 bool interlaced = false);

// A TIFF block holding one IFD0 entry: (tag, type, count, value) in the given byte order.
struct IfdEntry {
  std::uint16_t tag;
  std::uint16_t type;
  std::uint32_t count;
  std::uint32_t value;  // written as the type's size, left-aligned in the 4-byte field
};
Bytes make_tiff(bool little_endian, const std::vector<IfdEntry>& entries);
Bytes make_orientation_tiff(bool little_endian, int orientation);
// Inserts an APP segment (marker 0xE0..0xEF) with `payload` right after a JPEG's SOI.
Bytes insert_app_segment(const Bytes& jpeg, std::uint8_t marker, const Bytes& payload);
Bytes exif_app1_payload(const Bytes& tiff);  // "Exif\0\0" + tiff

}  // namespace hdeploy::testing

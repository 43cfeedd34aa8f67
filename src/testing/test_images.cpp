#include "testing/test_images.hpp"

#include <turbojpeg.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <stdexcept>

#include "hdeploy/preprocess/encode.hpp"

namespace hdeploy::testing {

using preprocess::Image;
using preprocess::JpegEncoding;
using preprocess::PngRows;

Image make_pattern(int width, int height, unsigned seed) {
  Image image{width, height,
              std::vector<std::uint8_t>(static_cast<std::size_t>(width) * height * 3)};
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      std::uint8_t* p = &image.rgb[(static_cast<std::size_t>(y) * width + x) * 3];
      p[0] = static_cast<std::uint8_t>((x * 255) / std::max(1, width - 1));
      p[1] = static_cast<std::uint8_t>((y * 255) / std::max(1, height - 1));
      p[2] = static_cast<std::uint8_t>((x * 7 + y * 3 + static_cast<int>(seed) * 31) & 0xFF);
    }
  }
  return image;
}

Image make_random(int width, int height, unsigned seed) {
  std::mt19937 rng(seed);
  Image image{width, height,
              std::vector<std::uint8_t>(static_cast<std::size_t>(width) * height * 3)};
  for (auto& v : image.rgb) v = static_cast<std::uint8_t>(rng() & 0xFF);
  return image;
}

Bytes encode_jpeg(const std::uint8_t* pixels, int width, int height, int pixel_format,
                  int subsampling, int quality) {
  JpegEncoding encoding;
  encoding.pixel_format = pixel_format;
  encoding.subsampling = subsampling;
  encoding.quality = quality;
  const std::size_t size = static_cast<std::size_t>(width) * height * tjPixelSize[pixel_format];
  auto bytes = preprocess::encode_jpeg(std::span(pixels, size), width, height, encoding);
  if (!bytes) throw std::runtime_error(bytes.error().message);
  return std::move(*bytes);
}

Bytes encode_jpeg(const Image& image, int quality) {
  return encode_jpeg(image.rgb.data(), image.width, image.height, TJPF_RGB, TJSAMP_420, quality);
}

Bytes encode_png(int width, int height, int bit_depth, int color_type,
                 const std::vector<Bytes>& rows, const Bytes& palette, const Bytes& exif,
                 bool interlaced) {
  PngRows png{width, height, bit_depth, color_type, rows, palette, exif, interlaced};
  auto bytes = preprocess::encode_png(png);
  if (!bytes) throw std::runtime_error(bytes.error().message);
  return std::move(*bytes);
}

Bytes make_tiff(bool little_endian, const std::vector<IfdEntry>& entries) {
  Bytes out;
  auto put16 = [&](std::uint16_t v) {
    if (little_endian) {
      out.push_back(static_cast<std::uint8_t>(v));
      out.push_back(static_cast<std::uint8_t>(v >> 8));
    } else {
      out.push_back(static_cast<std::uint8_t>(v >> 8));
      out.push_back(static_cast<std::uint8_t>(v));
    }
  };
  auto put32 = [&](std::uint32_t v) {
    if (little_endian) {
      put16(static_cast<std::uint16_t>(v));
      put16(static_cast<std::uint16_t>(v >> 16));
    } else {
      put16(static_cast<std::uint16_t>(v >> 16));
      put16(static_cast<std::uint16_t>(v));
    }
  };
  out.push_back(little_endian ? 'I' : 'M');
  out.push_back(little_endian ? 'I' : 'M');
  put16(42);
  put32(8);
  put16(static_cast<std::uint16_t>(entries.size()));
  for (const IfdEntry& e : entries) {
    put16(e.tag);
    put16(e.type);
    put32(e.count);
    if (e.type == 1) {  // BYTE: first byte of the field
      out.push_back(static_cast<std::uint8_t>(e.value));
      out.insert(out.end(), 3, 0);
    } else if (e.type == 3) {  // SHORT: first two bytes
      put16(static_cast<std::uint16_t>(e.value));
      put16(0);
    } else {
      put32(e.value);
    }
  }
  put32(0);  // no next IFD
  return out;
}

Bytes make_orientation_tiff(bool little_endian, int orientation) {
  return make_tiff(little_endian, {{0x010F, 2, 1, 0},  // Make (ASCII), an unrelated tag first
                                   {0x0112, 3, 1, static_cast<std::uint32_t>(orientation)}});
}

Bytes insert_app_segment(const Bytes& jpeg, std::uint8_t marker, const Bytes& payload) {
  const std::size_t length = payload.size() + 2;
  Bytes out(jpeg.begin(), jpeg.begin() + 2);
  out.push_back(0xFF);
  out.push_back(marker);
  out.push_back(static_cast<std::uint8_t>(length >> 8));
  out.push_back(static_cast<std::uint8_t>(length));
  out.insert(out.end(), payload.begin(), payload.end());
  out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
  return out;
}

Bytes exif_app1_payload(const Bytes& tiff) {
  Bytes out(6 + tiff.size(), 0);
  std::memcpy(out.data(), "Exif", 4);  // then two NULs
  std::copy(tiff.begin(), tiff.end(), out.begin() + 6);
  return out;
}

}  // namespace hdeploy::testing

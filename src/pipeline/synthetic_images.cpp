#include "hdeploy/pipeline/synthetic_images.hpp"

#include <png.h>
#include <turbojpeg.h>

#include <algorithm>
#include <array>
#include <csetjmp>
#include <random>
#include <utility>

#include "hdeploy/core/file.hpp"

namespace hdeploy::pipeline {
namespace {
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

constexpr int kMaxCount = 10000;
constexpr int kJpegQuality = 90;
// Sizes (width, height): landscape, portrait, square, small and large, so resize and crop are
// exercised in both orientations.
constexpr std::array<std::pair<int, int>, 10> kSizes{{{320, 240},
                                                      {240, 320},
                                                      {256, 256},
                                                      {500, 375},
                                                      {375, 500},
                                                      {640, 360},
                                                      {224, 224},
                                                      {300, 200},
                                                      {200, 300},
                                                      {400, 400}}};
enum class Pattern { kGradient, kShapes, kNoise, kStripes, kChecker };
constexpr int kPatterns = 5;

struct Canvas {
  int width;
  int height;
  Bytes rgb;
  std::uint8_t* at(int x, int y) { return &rgb[(static_cast<std::size_t>(y) * width + x) * 3]; }
};

std::uint8_t byte_of(std::mt19937& rng) { return static_cast<std::uint8_t>(rng() & 0xFFU); }

void draw(Canvas& c, Pattern pattern, std::mt19937& rng) {
  const std::array<std::uint8_t, 3> a{byte_of(rng), byte_of(rng), byte_of(rng)};
  const std::array<std::uint8_t, 3> b{byte_of(rng), byte_of(rng), byte_of(rng)};
  switch (pattern) {
    case Pattern::kGradient:
      for (int y = 0; y < c.height; ++y) {
        for (int x = 0; x < c.width; ++x) {
          const int t =
              (x * 255 / std::max(1, c.width - 1) + y * 255 / std::max(1, c.height - 1)) / 2;
          for (int ch = 0; ch < 3; ++ch) {
            c.at(x, y)[ch] = static_cast<std::uint8_t>((a[ch] * (255 - t) + b[ch] * t) / 255);
          }
        }
      }
      break;
    case Pattern::kShapes: {
      for (int y = 0; y < c.height; ++y) {
        for (int x = 0; x < c.width; ++x) std::copy(a.begin(), a.end(), c.at(x, y));
      }
      const int shapes = 3 + static_cast<int>(rng() % 5);
      for (int s = 0; s < shapes; ++s) {
        const std::array<std::uint8_t, 3> col{byte_of(rng), byte_of(rng), byte_of(rng)};
        const int cx = static_cast<int>(rng() % static_cast<unsigned>(c.width));
        const int cy = static_cast<int>(rng() % static_cast<unsigned>(c.height));
        const int r = 10 + static_cast<int>(rng() % static_cast<unsigned>(c.width / 3));
        const bool circle = (rng() & 1U) != 0;
        for (int y = std::max(0, cy - r); y < std::min(c.height, cy + r); ++y) {
          for (int x = std::max(0, cx - r); x < std::min(c.width, cx + r); ++x) {
            if (!circle || (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r) {
              std::copy(col.begin(), col.end(), c.at(x, y));
            }
          }
        }
      }
      break;
    }
    case Pattern::kNoise:
      for (auto& v : c.rgb) v = byte_of(rng);
      break;
    case Pattern::kStripes: {
      const int period = 4 + static_cast<int>(rng() % 40);
      const bool vertical = (rng() & 1U) != 0;
      for (int y = 0; y < c.height; ++y) {
        for (int x = 0; x < c.width; ++x) {
          const bool on = (((vertical ? x : y) / period) % 2) == 0;
          const auto& col = on ? a : b;
          std::copy(col.begin(), col.end(), c.at(x, y));
        }
      }
      break;
    }
    case Pattern::kChecker: {
      const int cell = 8 + static_cast<int>(rng() % 48);
      for (int y = 0; y < c.height; ++y) {
        for (int x = 0; x < c.width; ++x) {
          const auto& col = ((x / cell + y / cell) % 2) == 0 ? a : b;
          std::copy(col.begin(), col.end(), c.at(x, y));
        }
      }
      break;
    }
  }
}

Result<Bytes> encode_jpeg(const Canvas& c) {
  tjhandle handle = tjInitCompress();
  if (handle == nullptr) return fail(ErrorCode::kInternal, "tjInitCompress failed");
  unsigned char* out = nullptr;
  unsigned long size = 0;  // NOLINT(google-runtime-int): TurboJPEG's type
  const int rc = tjCompress2(handle, c.rgb.data(), c.width, 0, c.height, TJPF_RGB, &out, &size,
                             TJSAMP_420, kJpegQuality, TJFLAG_ACCURATEDCT);
  Bytes bytes;
  if (rc == 0) bytes.assign(out, out + size);
  tjFree(out);
  tjDestroy(handle);
  if (rc != 0) return fail(ErrorCode::kInternal, "tjCompress2 failed: {}", tjGetErrorStr2(nullptr));
  return bytes;
}

void append_png_bytes(png_structp png, png_bytep data, png_size_t length) {
  auto* out = static_cast<Bytes*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + length);
}
void flush_nothing(png_structp /*png*/) {}

// libpng reports errors by longjmp: no C++ objects with destructors live in this frame.
bool write_png_rows(png_structp png, png_infop info, const Canvas& c, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;  // NOLINT(cert-err52-cpp): libpng's error model
  png_set_IHDR(png, info, static_cast<png_uint_32>(c.width), static_cast<png_uint_32>(c.height), 8,
               PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_set_rows(png, info, rows);
  png_write_png(png, info, PNG_TRANSFORM_IDENTITY, nullptr);
  return true;
}

Result<Bytes> encode_png(Canvas& c) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  if (png == nullptr) return fail(ErrorCode::kInternal, "png_create_write_struct failed");
  png_infop info = png_create_info_struct(png);
  Bytes out;
  png_set_write_fn(png, &out, append_png_bytes, flush_nothing);
  std::vector<png_bytep> rows(static_cast<std::size_t>(c.height));
  for (int y = 0; y < c.height; ++y) rows[static_cast<std::size_t>(y)] = c.at(0, y);
  const bool ok = info != nullptr && write_png_rows(png, info, c, rows.data());
  png_destroy_write_struct(&png, &info);
  if (!ok) return fail(ErrorCode::kInternal, "libpng could not encode a synthetic image");
  return out;
}

}  // namespace

Result<std::vector<EncodedImage>> make_synthetic_images(int count, std::uint32_t seed) {
  if (count < 1 || count > kMaxCount) {
    return fail(ErrorCode::kInvalidArgument, "synthetic image count {}: must be 1-{}", count,
                kMaxCount);
  }
  std::mt19937 rng(seed);
  std::vector<EncodedImage> images;
  images.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    const auto [width, height] = kSizes[static_cast<std::size_t>(i) % kSizes.size()];
    Canvas canvas{width, height, Bytes(static_cast<std::size_t>(width) * height * 3)};
    draw(canvas, static_cast<Pattern>(i % kPatterns), rng);
    const bool png = i % 3 == 2;  // a third PNG, the rest JPEG
    EncodedImage image;
    image.name = fmt::format("synthetic-{:03d}.{}", i, png ? "png" : "jpg");
    image.width = width;
    image.height = height;
    if (png) {
      HDEPLOY_ASSIGN_OR_RETURN(image.bytes, encode_png(canvas));
    } else {
      HDEPLOY_ASSIGN_OR_RETURN(image.bytes, encode_jpeg(canvas));
    }
    images.push_back(std::move(image));
  }
  return images;
}

Result<std::vector<fs::path>> write_synthetic_images(const fs::path& dir, int count,
                                                     std::uint32_t seed) {
  HDEPLOY_ASSIGN_OR_RETURN(std::vector<EncodedImage> images, make_synthetic_images(count, seed));
  std::vector<fs::path> paths;
  for (const auto& image : images) {
    const fs::path path = dir / image.name;
    auto existing = read_file(path);
    if (!existing || *existing != image.bytes) {
      HDEPLOY_TRY(write_file_atomic(path, image.bytes, Overwrite::kAllow));
    }
    paths.push_back(path);
  }
  return paths;
}

}  // namespace hdeploy::pipeline

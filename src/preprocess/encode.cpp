#include "hdeploy/preprocess/encode.hpp"

#include <png.h>
#include <turbojpeg.h>

#include <csetjmp>
#include <string>

namespace hdeploy::preprocess {
namespace {

using Bytes = std::vector<std::uint8_t>;

void append_to_bytes(png_structp png, png_bytep data, std::size_t length) {
  auto* out = static_cast<Bytes*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + length);
}
void flush_nothing(png_structp /*png*/) {}

// libpng reports errors by longjmp: only trivially destructible locals live in this frame.
bool write_png(png_structp png, png_infop info, const PngRows& p, png_colorp palette,
               int palette_size, png_bytep exif, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;  // NOLINT(cert-err52-cpp): libpng's error model
  png_set_IHDR(png, info, static_cast<png_uint_32>(p.width), static_cast<png_uint_32>(p.height),
               p.bit_depth, p.color_type, p.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (palette_size > 0) png_set_PLTE(png, info, palette, palette_size);
  if (!p.exif.empty()) {
    png_set_eXIf_1(png, info, static_cast<png_uint_32>(p.exif.size()), exif);
  }
  png_set_check_for_invalid_index(png, 0);
  png_set_rows(png, info, rows);
  png_write_png(png, info, PNG_TRANSFORM_IDENTITY, nullptr);
  return true;
}

}  // namespace

Result<Bytes> encode_jpeg(std::span<const std::uint8_t> pixels, int width, int height,
                          const JpegEncoding& encoding) {
  const int format = encoding.pixel_format;
  if (width < 1 || height < 1 || format < 0 || format >= TJ_NUMPF ||
      pixels.size() != static_cast<std::size_t>(width) * height * tjPixelSize[format]) {
    return fail(ErrorCode::kInvalidArgument,
                "encode_jpeg: {} bytes do not hold a {}x{} image of pixel format {}", pixels.size(),
                width, height, format);
  }
  tjhandle handle = tjInitCompress();
  if (handle == nullptr) return fail(ErrorCode::kInternal, "tjInitCompress failed");
  unsigned char* out = nullptr;
  unsigned long size = 0;  // NOLINT(google-runtime-int): TurboJPEG's type
  const int flags = TJFLAG_ACCURATEDCT | (encoding.progressive ? TJFLAG_PROGRESSIVE : 0);
  const int rc = tjCompress2(handle, pixels.data(), width, 0, height, format, &out, &size,
                             encoding.subsampling, encoding.quality, flags);
  const std::string why = rc != 0 ? tjGetErrorStr2(handle) : "";
  Bytes bytes;
  if (rc == 0) bytes.assign(out, out + size);
  tjFree(out);
  tjDestroy(handle);
  if (rc != 0) return fail(ErrorCode::kInternal, "tjCompress2 failed: {}", why);
  return bytes;
}

Result<Bytes> encode_jpeg(const Image& image, int quality) {
  JpegEncoding encoding;
  encoding.pixel_format = TJPF_RGB;
  encoding.subsampling = TJSAMP_420;
  encoding.quality = quality;
  return encode_jpeg(image.rgb, image.width, image.height, encoding);
}

Result<Bytes> encode_png(const PngRows& p) {
  if (p.width < 1 || p.height < 1 || p.rows.size() != static_cast<std::size_t>(p.height)) {
    return fail(ErrorCode::kInvalidArgument, "encode_png: {} rows for a {}x{} image", p.rows.size(),
                p.width, p.height);
  }
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  if (png == nullptr) return fail(ErrorCode::kInternal, "png_create_write_struct failed");
  png_infop info = png_create_info_struct(png);
  Bytes out;
  png_set_write_fn(png, &out, append_to_bytes, flush_nothing);
  std::vector<png_color> colors(p.palette.size() / 3);
  for (std::size_t i = 0; i < colors.size(); ++i) {
    colors[i] = png_color{p.palette[3 * i], p.palette[3 * i + 1], p.palette[3 * i + 2]};
  }
  std::vector<png_bytep> rows;
  rows.reserve(p.rows.size());
  // libpng's API takes non-const rows but only reads them when writing.
  for (const Bytes& row : p.rows) rows.push_back(const_cast<png_bytep>(row.data()));  // NOLINT
  Bytes exif = p.exif;
  const bool ok =
      info != nullptr && write_png(png, info, p, colors.data(), static_cast<int>(colors.size()),
                                   exif.data(), rows.data());
  png_destroy_write_struct(&png, &info);
  if (!ok)
    return fail(ErrorCode::kInternal, "libpng could not write a {}x{} PNG", p.width, p.height);
  return out;
}

Result<Bytes> encode_png(const Image& image) {
  PngRows p;
  p.width = image.width;
  p.height = image.height;
  p.bit_depth = 8;
  p.color_type = PNG_COLOR_TYPE_RGB;
  const std::size_t stride = static_cast<std::size_t>(image.width) * 3;
  if (image.rgb.size() != stride * static_cast<std::size_t>(image.height)) {
    return fail(ErrorCode::kInvalidArgument, "encode_png: {} bytes for a {}x{} RGB image",
                image.rgb.size(), image.width, image.height);
  }
  for (int y = 0; y < image.height; ++y) {
    const auto* row = image.rgb.data() + static_cast<std::size_t>(y) * stride;
    p.rows.emplace_back(row, row + stride);
  }
  return encode_png(p);
}

}  // namespace hdeploy::preprocess

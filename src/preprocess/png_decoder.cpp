// PNG through libpng's classic API. libpng reports errors by longjmp; the two functions that
// call setjmp hold only trivially destructible locals, and every C++ object they touch is
// created before and destroyed after them, so a longjmp never skips a destructor. The raw
// samples are converted to RGB here, with PIL's rules for each bit depth and colour type.

#include <png.h>

#include <algorithm>
#include <array>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <span>

#include "decoders.hpp"
#include "exif.hpp"

namespace hdeploy::preprocess::detail {
namespace {

struct PngSource {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
  std::size_t offset = 0;
  std::array<char, 256> error{};
};

void read_from_memory(png_structp png, png_bytep out, std::size_t length) {
  auto* source = static_cast<PngSource*>(png_get_io_ptr(png));
  if (length > source->size - source->offset) png_error(png, "file is truncated");
  std::memcpy(out, source->data + source->offset, length);
  source->offset += length;
}

[[noreturn]] void on_png_error(png_structp png, png_const_charp message) {
  auto* source = static_cast<PngSource*>(png_get_error_ptr(png));
  std::snprintf(source->error.data(), source->error.size(), "%s", message);
  png_longjmp(png, 1);
}

// libpng's warnings (bad ancillary chunks, sRGB profile quirks) do not change the pixels.
void on_png_warning(png_structp /*png*/, png_const_charp /*message*/) {}

struct PngHeader {
  png_uint_32 width = 0;
  png_uint_32 height = 0;
  int bit_depth = 0;
  int color_type = 0;
  int palette_size = 0;
  png_colorp palette = nullptr;  // owned by the info struct
  png_bytep exif = nullptr;      // owned by the info struct
  png_uint_32 exif_size = 0;
  std::size_t row_bytes = 0;
};

// Reads the chunks before the image data. Only trivially destructible locals (longjmp).
bool read_header(png_structp png, png_infop info, PngHeader* header) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  int interlace = 0;
  png_get_IHDR(png, info, &header->width, &header->height, &header->bit_depth, &header->color_type,
               &interlace, nullptr, nullptr);
  if (header->color_type == PNG_COLOR_TYPE_PALETTE) {
    png_get_PLTE(png, info, &header->palette, &header->palette_size);
  }
  png_get_eXIf_1(png, info, &header->exif_size, &header->exif);
  return true;
}

// Sets up unpacking of sub-byte samples and Adam7 de-interlacing, then returns the size of
// one row as png_read_image will deliver it.
bool prepare_rows(png_structp png, png_infop info, PngHeader* header) {
  if (setjmp(png_jmpbuf(png))) return false;
  if (header->bit_depth < 8) png_set_packing(png);  // one sample per byte, values unscaled
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  header->row_bytes = png_get_rowbytes(png, info);
  return true;
}

bool read_rows(png_structp png, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  return true;
}

struct PngReadGuard {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~PngReadGuard() { png_destroy_read_struct(&png, info != nullptr ? &info : nullptr, nullptr); }
};

// Converts one row of raw samples to RGB the way PIL's PNG modes convert("RGB").
void convert_row(const PngHeader& header, const std::array<std::uint8_t, 768>& palette,
                 const std::uint8_t* in, std::uint8_t* out) {
  const std::size_t width = header.width;
  const bool wide = header.bit_depth == 16;
  switch (header.color_type) {
    case PNG_COLOR_TYPE_GRAY:
      if (wide) {
        // Mode "I" (I;16B): convert("RGB") clamps the 16-bit value to 0..255.
        for (std::size_t x = 0; x < width; ++x, out += 3) {
          const unsigned v = (static_cast<unsigned>(in[2 * x]) << 8) | in[2 * x + 1];
          out[0] = out[1] = out[2] = static_cast<std::uint8_t>(std::min(v, 255U));
        }
      } else {
        // Modes "1", "L;2", "L;4", "L": scaled to 0..255 (x255, x85, x17, x1).
        const unsigned scale = 255U / ((1U << header.bit_depth) - 1U);
        for (std::size_t x = 0; x < width; ++x, out += 3) {
          out[0] = out[1] = out[2] = static_cast<std::uint8_t>(in[x] * scale);
        }
      }
      break;
    case PNG_COLOR_TYPE_GRAY_ALPHA: {  // "LA" / "LA;16B": grey (high byte), alpha dropped
      const std::size_t step = wide ? 4 : 2;
      for (std::size_t x = 0; x < width; ++x, out += 3) out[0] = out[1] = out[2] = in[x * step];
      break;
    }
    case PNG_COLOR_TYPE_RGB:
    case PNG_COLOR_TYPE_RGB_ALPHA: {  // 16-bit: high bytes; alpha dropped
      const std::size_t sample = wide ? 2 : 1;
      const std::size_t step = sample * (header.color_type == PNG_COLOR_TYPE_RGB ? 3 : 4);
      for (std::size_t x = 0; x < width; ++x, out += 3, in += step) {
        out[0] = in[0];
        out[1] = in[sample];
        out[2] = in[2 * sample];
      }
      break;
    }
    case PNG_COLOR_TYPE_PALETTE:
      for (std::size_t x = 0; x < width; ++x, out += 3) {
        std::memcpy(out, &palette[3 * static_cast<std::size_t>(in[x])], 3);
      }
      break;
    default:
      break;
  }
}

}  // namespace

Result<DecodedImage> decode_png(std::span<const std::uint8_t> bytes, const std::string& name,
                                std::uint64_t max_pixels) {
  PngSource source;
  source.data = bytes.data();
  source.size = bytes.size();
  PngReadGuard guard;
  guard.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, on_png_error, on_png_warning);
  if (guard.png == nullptr) return fail(ErrorCode::kInternal, "{}: cannot initialise libpng", name);
  guard.info = png_create_info_struct(guard.png);
  if (guard.info == nullptr)
    return fail(ErrorCode::kInternal, "{}: cannot initialise libpng", name);
  png_set_read_fn(guard.png, &source, read_from_memory);
  // The pixel-count guard below replaces libpng's own (smaller) default width/height limits.
  png_set_user_limits(guard.png, 0x7fffffff, 0x7fffffff);

  PngHeader header;
  if (!read_header(guard.png, guard.info, &header)) {
    return fail(ErrorCode::kInvalidFormat, "{}: not a readable PNG ({}); check the file", name,
                source.error.data());
  }
  if (static_cast<std::uint64_t>(header.width) * header.height > max_pixels) {
    return too_many_pixels(name, static_cast<int>(header.width), static_cast<int>(header.height),
                           max_pixels);
  }
  if (!prepare_rows(guard.png, guard.info, &header)) {
    return fail(ErrorCode::kInvalidFormat, "{}: corrupt PNG ({}); check the file", name,
                source.error.data());
  }

  // PIL's palette: a grey ramp (entry i = (i, i, i)) overwritten by the PLTE entries, so an
  // index past the end of PLTE reads as grey i.
  std::array<std::uint8_t, 768> palette{};
  for (int i = 0; i < 256; ++i) {
    palette[3 * i] = palette[3 * i + 1] = palette[3 * i + 2] = static_cast<std::uint8_t>(i);
  }
  for (int i = 0; i < std::min(header.palette_size, 256); ++i) {
    palette[3 * i] = header.palette[i].red;
    palette[3 * i + 1] = header.palette[i].green;
    palette[3 * i + 2] = header.palette[i].blue;
  }

  const std::size_t height = header.height;
  std::vector<std::uint8_t> raw(header.row_bytes * height);
  std::vector<png_bytep> rows(height);
  for (std::size_t y = 0; y < height; ++y) rows[y] = raw.data() + y * header.row_bytes;
  if (!read_rows(guard.png, rows.data())) {
    return fail(ErrorCode::kInvalidFormat,
                "{}: corrupt or truncated PNG ({}); re-download or replace the image", name,
                source.error.data());
  }

  DecodedImage out;
  out.image.width = static_cast<int>(header.width);
  out.image.height = static_cast<int>(header.height);
  out.image.rgb.resize(static_cast<std::size_t>(header.width) * height * 3);
  for (std::size_t y = 0; y < height; ++y) {
    convert_row(header, palette, rows[y],
                out.image.rgb.data() + y * static_cast<std::size_t>(header.width) * 3);
  }
  if (header.exif != nullptr && header.exif_size > 0) {
    out.exif_orientation = exif::orientation_from_tiff({header.exif, header.exif_size});
  }
  return out;
}

}  // namespace hdeploy::preprocess::detail

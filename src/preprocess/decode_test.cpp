#include <gtest/gtest.h>
#include <png.h>
#include <turbojpeg.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "hdeploy/preprocess/image.hpp"
#include "testing/test_images.hpp"

namespace hdeploy::preprocess {
namespace {

using testing::Bytes;

int max_abs_diff(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  int worst = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    worst = std::max(worst, std::abs(static_cast<int>(a[i]) - static_cast<int>(b[i])));
  }
  return worst;
}

Image decode_ok(const Bytes& bytes, const DecodeOptions& options = {}) {
  Result<Image> image = decode_image(bytes, "test.img", options);
  EXPECT_TRUE(image.has_value()) << (image ? "" : image.error().message);
  return image ? std::move(image).value() : Image{};
}

Error decode_error(const Bytes& bytes, const DecodeOptions& options = {}) {
  Result<Image> image = decode_image(bytes, "photo.jpg", options);
  EXPECT_FALSE(image.has_value());
  return image ? Error{} : image.error();
}

// ---- JPEG ----------------------------------------------------------------------------------

TEST(DecodeJpeg, RgbMatchesSourceClosely) {
  const Image source = testing::make_pattern(64, 48);
  const Bytes jpeg = testing::encode_jpeg(source.rgb.data(), 64, 48, TJPF_RGB, TJSAMP_444, 100);
  const Image image = decode_ok(jpeg);
  ASSERT_EQ(image.width, 64);
  ASSERT_EQ(image.height, 48);
  ASSERT_EQ(image.rgb.size(), 64U * 48 * 3);
  EXPECT_LE(max_abs_diff(image.rgb, source.rgb), 4);
}

TEST(DecodeJpeg, UsesAccurateIdctAndFancyUpsampling) {
  // The same bytes through TurboJPEG with PIL's settings (flags 0: ISLOW, fancy upsampling)
  // must give the same pixels; fast upsampling on 4:2:0 differs, which shows the test bites.
  const Image source = testing::make_random(33, 17, 5);
  const Bytes jpeg = testing::encode_jpeg(source.rgb.data(), 33, 17, TJPF_RGB, TJSAMP_420, 90);
  std::vector<std::uint8_t> accurate(33 * 17 * 3);
  std::vector<std::uint8_t> fast(33 * 17 * 3);
  tjhandle handle = tjInitDecompress();
  ASSERT_EQ(
      tjDecompress2(handle, jpeg.data(), jpeg.size(), accurate.data(), 33, 0, 17, TJPF_RGB, 0), 0);
  ASSERT_EQ(tjDecompress2(handle, jpeg.data(), jpeg.size(), fast.data(), 33, 0, 17, TJPF_RGB,
                          TJFLAG_FASTUPSAMPLE | TJFLAG_FASTDCT),
            0);
  tjDestroy(handle);
  EXPECT_NE(accurate, fast);
  EXPECT_EQ(decode_ok(jpeg).rgb, accurate);
}

TEST(DecodeJpeg, GrayscaleRepeatsTheValue) {
  std::vector<std::uint8_t> gray(40 * 30);
  for (std::size_t i = 0; i < gray.size(); ++i) gray[i] = static_cast<std::uint8_t>(i * 7);
  const Bytes jpeg = testing::encode_jpeg(gray.data(), 40, 30, TJPF_GRAY, TJSAMP_GRAY, 95);
  std::vector<std::uint8_t> expected(gray.size());
  tjhandle handle = tjInitDecompress();
  ASSERT_EQ(
      tjDecompress2(handle, jpeg.data(), jpeg.size(), expected.data(), 40, 0, 30, TJPF_GRAY, 0), 0);
  tjDestroy(handle);
  const Image image = decode_ok(jpeg);
  ASSERT_EQ(image.rgb.size(), gray.size() * 3);
  for (std::size_t i = 0; i < gray.size(); ++i) {
    ASSERT_EQ(image.rgb[3 * i], expected[i]);
    ASSERT_EQ(image.rgb[3 * i + 1], expected[i]);
    ASSERT_EQ(image.rgb[3 * i + 2], expected[i]);
  }
}

// PIL's CMYK -> RGB on the decoded ("CMYK;I", i.e. inverted) values.
std::array<int, 3> pil_cmyk_to_rgb(int c, int m, int y, int k) {
  auto muldiv255 = [](int a, int b) {
    const int t = a * b + 128;
    return ((t >> 8) + t) >> 8;
  };
  const int nk = 255 - k;
  return {std::clamp(nk - muldiv255(c, nk), 0, 255), std::clamp(nk - muldiv255(m, nk), 0, 255),
          std::clamp(nk - muldiv255(y, nk), 0, 255)};
}

TEST(DecodeJpeg, YcckUsesAdobeInvertedCmyk) {
  // Uniform blocks of known CMYK (PIL's convention), stored inverted as Adobe does; TurboJPEG
  // writes them as YCCK. The decoded RGB must be PIL's conversion of those CMYK values.
  const std::array<std::array<int, 4>, 4> colors{
      {{0, 255, 255, 0}, {255, 0, 255, 0}, {0, 0, 0, 128}, {40, 90, 160, 30}}};
  const int block = 16;
  const int width = block * 4;
  std::vector<std::uint8_t> stored(static_cast<std::size_t>(width) * block * 4);
  for (int y = 0; y < block; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < 4; ++c) {
        stored[(static_cast<std::size_t>(y) * width + x) * 4 + c] =
            static_cast<std::uint8_t>(255 - colors[x / block][c]);
      }
    }
  }
  const Bytes jpeg = testing::encode_jpeg(stored.data(), width, block, TJPF_CMYK, TJSAMP_444, 100);
  const Image image = decode_ok(jpeg);
  ASSERT_EQ(image.width, width);
  for (int i = 0; i < 4; ++i) {
    const auto expected = pil_cmyk_to_rgb(colors[i][0], colors[i][1], colors[i][2], colors[i][3]);
    const int x = i * block + block / 2;
    for (int c = 0; c < 3; ++c) {
      EXPECT_NEAR(image.rgb[(static_cast<std::size_t>(block / 2) * width + x) * 3 + c], expected[c],
                  3)
          << "colour " << i << " channel " << c;
    }
  }
  // Pure red in CMYK really is red.
  EXPECT_GT(image.rgb[(8 * width + 8) * 3], 250);
  EXPECT_LT(image.rgb[(8 * width + 8) * 3 + 1], 5);
}

TEST(DecodeJpeg, TruncatedIsAnError) {
  const Bytes jpeg = testing::encode_jpeg(testing::make_random(64, 64, 2), 90);
  for (std::size_t keep : {jpeg.size() / 2, jpeg.size() - 2, std::size_t{300}}) {
    const Error error = decode_error(Bytes(jpeg.begin(), jpeg.begin() + keep));
    EXPECT_EQ(error.code, ErrorCode::kInvalidFormat) << keep;
    EXPECT_NE(error.message.find("photo.jpg"), std::string::npos) << error.message;
  }
  const Error error = decode_error(Bytes(jpeg.begin(), jpeg.begin() + jpeg.size() / 2));
  EXPECT_NE(error.message.find("truncated"), std::string::npos) << error.message;
  // Cut inside the header: refused too.
  EXPECT_EQ(decode_error(Bytes(jpeg.begin(), jpeg.begin() + 20)).code, ErrorCode::kInvalidFormat);
}

TEST(DecodeJpeg, CorruptHeaderIsAnError) {
  const Bytes jpeg = testing::encode_jpeg(testing::make_pattern(32, 32), 90);
  Bytes corrupt(jpeg.size(), 0x5A);  // SOI and a marker byte, then garbage
  corrupt[0] = 0xFF;
  corrupt[1] = 0xD8;
  corrupt[2] = 0xFF;
  EXPECT_EQ(decode_error(corrupt).code, ErrorCode::kInvalidFormat);
}

TEST(DecodeJpeg, ExtraneousBytesWarningIsToleratedLikePil) {
  // Stray bytes before a marker make libjpeg warn but decode; PIL decodes such files too.
  const Image source = testing::make_pattern(16, 16);
  const Bytes jpeg = testing::encode_jpeg(source);
  Bytes odd(jpeg.begin(), jpeg.end() - 2);
  odd.insert(odd.end(), {0x12, 0x34});
  odd.insert(odd.end(), jpeg.end() - 2, jpeg.end());
  const Image image = decode_ok(odd);
  EXPECT_EQ(image.rgb, decode_ok(jpeg).rgb);
}

// Rewrites the SOF0 frame size of a TurboJPEG-written JPEG.
Bytes with_jpeg_size(Bytes jpeg, int width, int height) {
  for (std::size_t i = 2; i + 8 < jpeg.size(); ++i) {
    if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0) {
      jpeg[i + 5] = static_cast<std::uint8_t>(height >> 8);
      jpeg[i + 6] = static_cast<std::uint8_t>(height);
      jpeg[i + 7] = static_cast<std::uint8_t>(width >> 8);
      jpeg[i + 8] = static_cast<std::uint8_t>(width);
      return jpeg;
    }
  }
  ADD_FAILURE() << "no SOF0";
  return jpeg;
}

TEST(DecodeJpeg, BombGuardRefusesBeforeDecoding) {
  const Bytes jpeg = testing::encode_jpeg(testing::make_pattern(64, 32), 90);
  DecodeOptions options;
  options.max_pixels = 64 * 32;
  EXPECT_EQ(decode_ok(jpeg, options).width, 64);  // exactly at the limit: fine
  options.max_pixels = 64 * 32 - 1;
  const Error error = decode_error(jpeg, options);
  EXPECT_EQ(error.code, ErrorCode::kUnsupported);
  EXPECT_NE(error.message.find("photo.jpg"), std::string::npos);
  EXPECT_NE(error.message.find("2048"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("2047"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("--max-pixels"), std::string::npos) << error.message;

  // A header claiming 65000x65000 (with only a few bytes of data): refused by the guard, not
  // after an attempt to allocate and decode 12 GB.
  const Error bomb = decode_error(with_jpeg_size(jpeg, 65000, 65000));
  EXPECT_EQ(bomb.code, ErrorCode::kUnsupported) << bomb.message;
  EXPECT_NE(bomb.message.find("4225000000"), std::string::npos) << bomb.message;
}

// ---- PNG -----------------------------------------------------------------------------------

Bytes png_rows_to_file(int width, int height, int bit_depth, int color_type,
                       const std::vector<Bytes>& rows, const Bytes& palette = {},
                       bool interlaced = false) {
  return testing::encode_png(width, height, bit_depth, color_type, rows, palette, {}, interlaced);
}

// Packs samples of `bits` bits MSB first, as PNG rows do.
Bytes pack_samples(const std::vector<int>& samples, int bits) {
  Bytes row((samples.size() * bits + 7) / 8, 0);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const std::size_t bit = i * bits;
    row[bit / 8] |= static_cast<std::uint8_t>(samples[i] << (8 - bits - bit % 8));
  }
  return row;
}

std::vector<int> column(const Image& image, int channel) {
  std::vector<int> out;
  for (std::size_t i = channel; i < image.rgb.size(); i += 3) out.push_back(image.rgb[i]);
  return out;
}

TEST(DecodePng, GraySubByteDepthsScaleLikePil) {
  // PIL: mode "1" (0/255), "L;2" (x85), "L;4" (x17), "L".
  for (int bits : {1, 2, 4, 8}) {
    const int levels = 1 << bits;
    std::vector<int> samples;
    for (int i = 0; i < 19; ++i) samples.push_back((i * 5) % levels);
    const Bytes png =
        png_rows_to_file(19, 1, bits, PNG_COLOR_TYPE_GRAY, {pack_samples(samples, bits)});
    const Image image = decode_ok(png);
    ASSERT_EQ(image.width, 19);
    std::vector<int> expected;
    for (int s : samples) expected.push_back(s * 255 / (levels - 1));
    for (int c = 0; c < 3; ++c) EXPECT_EQ(column(image, c), expected) << bits << " bits";
  }
}

Bytes be16(const std::vector<int>& values) {
  Bytes out;
  for (int v : values) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
  }
  return out;
}

TEST(DecodePng, Gray16ClampsLikePilModeI) {
  // PIL opens 16-bit grey as mode "I"; convert("RGB") clamps the value to 0..255 (it does not
  // take the high byte).
  const std::vector<int> values{0, 1, 200, 255, 256, 300, 0x8000, 65535};
  const Image image = decode_ok(png_rows_to_file(8, 1, 16, PNG_COLOR_TYPE_GRAY, {be16(values)}));
  const std::vector<int> expected{0, 1, 200, 255, 255, 255, 255, 255};
  for (int c = 0; c < 3; ++c) EXPECT_EQ(column(image, c), expected);
}

TEST(DecodePng, Rgb16TakesTheHighByte) {
  const std::vector<int> values{0x0102, 0xFF00, 0x80FF, 0x00FF, 0x1234, 0xFFFF};
  const Image image = decode_ok(png_rows_to_file(2, 1, 16, PNG_COLOR_TYPE_RGB, {be16(values)}));
  EXPECT_EQ(image.rgb, (std::vector<std::uint8_t>{0x01, 0xFF, 0x80, 0x00, 0x12, 0xFF}));
}

TEST(DecodePng, AlphaIsDropped) {
  const Bytes ga8{10, 255, 20, 0, 30, 128};
  EXPECT_EQ(decode_ok(png_rows_to_file(3, 1, 8, PNG_COLOR_TYPE_GRAY_ALPHA, {ga8})).rgb,
            (std::vector<std::uint8_t>{10, 10, 10, 20, 20, 20, 30, 30, 30}));
  const Bytes ga16 = be16({0x1122, 0xFFFF, 0xAB00, 0x0000});
  EXPECT_EQ(decode_ok(png_rows_to_file(2, 1, 16, PNG_COLOR_TYPE_GRAY_ALPHA, {ga16})).rgb,
            (std::vector<std::uint8_t>{0x11, 0x11, 0x11, 0xAB, 0xAB, 0xAB}));
  const Bytes rgba8{1, 2, 3, 0, 4, 5, 6, 255};
  EXPECT_EQ(decode_ok(png_rows_to_file(2, 1, 8, PNG_COLOR_TYPE_RGB_ALPHA, {rgba8})).rgb,
            (std::vector<std::uint8_t>{1, 2, 3, 4, 5, 6}));
  const Bytes rgba16 = be16({0x0100, 0x0200, 0x0300, 0x0000, 0xF000, 0xE000, 0xD000, 0xFFFF});
  EXPECT_EQ(decode_ok(png_rows_to_file(2, 1, 16, PNG_COLOR_TYPE_RGB_ALPHA, {rgba16})).rgb,
            (std::vector<std::uint8_t>{1, 2, 3, 0xF0, 0xE0, 0xD0}));
}

TEST(DecodePng, Rgb8IsExact) {
  const Image source = testing::make_random(13, 7, 9);
  std::vector<Bytes> rows;
  for (int y = 0; y < 7; ++y) {
    rows.emplace_back(source.rgb.begin() + y * 13 * 3, source.rgb.begin() + (y + 1) * 13 * 3);
  }
  EXPECT_EQ(decode_ok(png_rows_to_file(13, 7, 8, PNG_COLOR_TYPE_RGB, rows)).rgb, source.rgb);
  // Adam7 interlacing gives the same pixels.
  EXPECT_EQ(decode_ok(png_rows_to_file(13, 7, 8, PNG_COLOR_TYPE_RGB, rows, {}, true)).rgb,
            source.rgb);
}

TEST(DecodePng, PaletteAllDepthsAndIndicesPastThePalette) {
  const Bytes palette{10, 20, 30, 40, 50, 60};  // two entries
  for (int bits : {1, 2, 4, 8}) {
    const int levels = 1 << bits;
    std::vector<int> indices;
    for (int i = 0; i < 9; ++i) indices.push_back(i % levels);
    const Image image = decode_ok(png_rows_to_file(9, 1, bits, PNG_COLOR_TYPE_PALETTE,
                                                   {pack_samples(indices, bits)}, palette));
    for (int x = 0; x < 9; ++x) {
      const int index = indices[x];
      // PIL's palette starts as a grey ramp: indices past PLTE read as (i, i, i).
      const std::array<int, 3> expected =
          index < 2 ? std::array<int, 3>{palette[3 * index], palette[3 * index + 1],
                                         palette[3 * index + 2]}
                    : std::array<int, 3>{index, index, index};
      for (int c = 0; c < 3; ++c) EXPECT_EQ(image.rgb[3 * x + c], expected[c]) << bits << " " << x;
    }
  }
}

TEST(DecodePng, ExifOrientationIsApplied) {
  const Image source = testing::make_random(4, 2, 11);
  std::vector<Bytes> rows{Bytes(source.rgb.begin(), source.rgb.begin() + 12),
                          Bytes(source.rgb.begin() + 12, source.rgb.end())};
  const Bytes png = testing::encode_png(4, 2, 8, PNG_COLOR_TYPE_RGB, rows, {},
                                        testing::make_orientation_tiff(false, 6));
  const Image oriented = decode_ok(png);
  EXPECT_EQ(oriented.width, 2);
  EXPECT_EQ(oriented.rgb, apply_exif_orientation(source, 6).rgb);
  DecodeOptions raw;
  raw.apply_exif_orientation = false;
  EXPECT_EQ(decode_ok(png, raw).rgb, source.rgb);
}

Bytes sample_png() {
  const Image source = testing::make_random(64, 64, 4);
  std::vector<Bytes> rows;
  for (int y = 0; y < 64; ++y) {
    rows.emplace_back(source.rgb.begin() + y * 64 * 3, source.rgb.begin() + (y + 1) * 64 * 3);
  }
  return png_rows_to_file(64, 64, 8, PNG_COLOR_TYPE_RGB, rows);
}

TEST(DecodePng, TruncatedIsAnError) {
  const Bytes png = sample_png();
  for (std::size_t keep : {std::size_t{10}, std::size_t{30}, png.size() / 2, png.size() - 13}) {
    const Error error = decode_error(Bytes(png.begin(), png.begin() + keep));
    EXPECT_EQ(error.code, ErrorCode::kInvalidFormat) << keep << ": " << error.message;
    EXPECT_NE(error.message.find("photo.jpg"), std::string::npos);
  }
}

TEST(DecodePng, CorruptDataIsAnError) {
  Bytes png = sample_png();
  for (std::size_t i = png.size() / 2; i < png.size() / 2 + 16; ++i) png[i] ^= 0xA5;
  EXPECT_EQ(decode_error(png).code, ErrorCode::kInvalidFormat);
}

Bytes with_png_size(Bytes png, std::uint32_t width, std::uint32_t height) {
  // IHDR data starts at 16; its CRC covers type + data (bytes 12..28) and sits at 29..32.
  for (int i = 0; i < 4; ++i) {
    png[16 + i] = static_cast<std::uint8_t>(width >> (24 - 8 * i));
    png[20 + i] = static_cast<std::uint8_t>(height >> (24 - 8 * i));
  }
  const auto crc = static_cast<std::uint32_t>(crc32(0, png.data() + 12, 17));
  for (int i = 0; i < 4; ++i) png[29 + i] = static_cast<std::uint8_t>(crc >> (24 - 8 * i));
  return png;
}

TEST(DecodePng, BombGuardRefusesBeforeDecoding) {
  const Bytes png = sample_png();
  DecodeOptions options;
  options.max_pixels = 4096;
  EXPECT_EQ(decode_ok(png, options).width, 64);
  options.max_pixels = 4095;
  const Error error = decode_error(png, options);
  EXPECT_EQ(error.code, ErrorCode::kUnsupported);
  EXPECT_NE(error.message.find("--max-pixels"), std::string::npos);
  EXPECT_NE(error.message.find("4096"), std::string::npos);

  const Error bomb = decode_error(with_png_size(png, 100000, 100000));
  EXPECT_EQ(bomb.code, ErrorCode::kUnsupported) << bomb.message;
  EXPECT_NE(bomb.message.find("10000000000"), std::string::npos) << bomb.message;
}

// ---- everything else -------------------------------------------------------------------------

TEST(DecodeImage, EmptyAndUnknownAreInvalidFormat) {
  const Error empty = decode_error({});
  EXPECT_EQ(empty.code, ErrorCode::kInvalidFormat);
  EXPECT_NE(empty.message.find("photo.jpg"), std::string::npos);
  EXPECT_NE(empty.message.find("empty"), std::string::npos);
  const std::string text = "GIF89a this is not a JPEG or PNG";
  EXPECT_EQ(decode_error(Bytes(text.begin(), text.end())).code, ErrorCode::kInvalidFormat);
  EXPECT_EQ(decode_error(Bytes{0xFF, 0xD8}).code, ErrorCode::kInvalidFormat);
  EXPECT_EQ(decode_error(Bytes{0xFF, 0xD8, 0xFF}).code, ErrorCode::kInvalidFormat);
}

TEST(DecodeImage, JpegExifOrientationFollowsTheOption) {
  const Image source = testing::make_pattern(48, 16);
  const Bytes plain = testing::encode_jpeg(source.rgb.data(), 48, 16, TJPF_RGB, TJSAMP_444, 95);
  const Image decoded = decode_ok(plain);
  for (int orientation = 1; orientation <= 8; ++orientation) {
    const Bytes jpeg = testing::insert_app_segment(
        plain, 0xE1, testing::exif_app1_payload(testing::make_orientation_tiff(true, orientation)));
    EXPECT_EQ(decode_ok(jpeg).rgb, apply_exif_orientation(decoded, orientation).rgb);
    DecodeOptions raw;
    raw.apply_exif_orientation = false;
    EXPECT_EQ(decode_ok(jpeg, raw).rgb, decoded.rgb);
  }
}

class LoadImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hdeploy_decode_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(LoadImageTest, ReadsFilesAndNamesThemInErrors) {
  const Bytes jpeg = testing::encode_jpeg(testing::make_pattern(20, 10));
  const auto path = dir_ / "ok.jpg";
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(jpeg.data()), static_cast<std::streamsize>(jpeg.size()));
  Result<Image> image = load_image(path);
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->width, 20);

  Result<Image> missing = load_image(dir_ / "missing.jpg");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("missing.jpg"), std::string::npos);

  Result<Image> directory = load_image(dir_);
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error().code, ErrorCode::kIo);
  EXPECT_NE(directory.error().message.find(dir_.string()), std::string::npos);

  const auto empty = dir_ / "empty.png";
  std::ofstream(empty, std::ios::binary).close();
  Result<Image> zero = load_image(empty);
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, ErrorCode::kInvalidFormat);
  EXPECT_NE(zero.error().message.find("empty.png"), std::string::npos);
}

}  // namespace
}  // namespace hdeploy::preprocess

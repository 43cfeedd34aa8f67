#include "exif.hpp"

#include <gtest/gtest.h>
#include <turbojpeg.h>

#include "hdeploy/preprocess/image.hpp"
#include "testing/test_images.hpp"

namespace hdeploy::preprocess {
namespace {

using testing::Bytes;
using testing::exif_app1_payload;
using testing::insert_app_segment;
using testing::make_orientation_tiff;
using testing::make_tiff;

TEST(ExifTiff, ReadsAllEightOrientationsInBothByteOrders) {
  for (bool little : {true, false}) {
    for (int orientation = 1; orientation <= 8; ++orientation) {
      EXPECT_EQ(exif::orientation_from_tiff(make_orientation_tiff(little, orientation)),
                orientation)
          << (little ? "II" : "MM") << " orientation " << orientation;
    }
  }
}

TEST(ExifTiff, ByteOrderMattersForTheValue) {
  // A big-endian SHORT 6 read as little-endian would be 0x0600: the reader must honour "MM".
  Bytes tiff = make_orientation_tiff(false, 6);
  EXPECT_EQ(exif::orientation_from_tiff(tiff), 6);
  tiff[0] = tiff[1] = 'I';  // now the header lies about the byte order
  EXPECT_EQ(exif::orientation_from_tiff(tiff), 1);
}

TEST(ExifTiff, AcceptsByteShortAndLongOfCountOne) {
  for (bool little : {true, false}) {
    EXPECT_EQ(exif::orientation_from_tiff(make_tiff(little, {{0x0112, 1, 1, 3}})), 3);
    EXPECT_EQ(exif::orientation_from_tiff(make_tiff(little, {{0x0112, 3, 1, 5}})), 5);
    EXPECT_EQ(exif::orientation_from_tiff(make_tiff(little, {{0x0112, 4, 1, 7}})), 7);
  }
}

TEST(ExifTiff, IgnoresOtherTypesCountsAndOutOfRangeValues) {
  EXPECT_EQ(exif::orientation_from_tiff(make_tiff(true, {{0x0112, 2, 1, 6}})), 1);  // ASCII
  EXPECT_EQ(exif::orientation_from_tiff(make_tiff(true, {{0x0112, 3, 2, 6}})), 1);  // count 2
  EXPECT_EQ(exif::orientation_from_tiff(make_tiff(true, {{0x0112, 3, 1, 0}})), 1);
  EXPECT_EQ(exif::orientation_from_tiff(make_tiff(true, {{0x0112, 3, 1, 9}})), 1);
  EXPECT_EQ(exif::orientation_from_tiff(make_tiff(true, {{0x0113, 3, 1, 6}})), 1);  // other tag
  EXPECT_EQ(exif::orientation_from_tiff(make_tiff(true, {})), 1);
}

TEST(ExifTiff, LaterDuplicateWinsLikePil) {
  EXPECT_EQ(exif::orientation_from_tiff(make_tiff(true, {{0x0112, 3, 1, 6}, {0x0112, 3, 1, 3}})),
            3);
}

TEST(ExifTiff, RejectsBadHeaders) {
  Bytes tiff = make_orientation_tiff(true, 6);
  Bytes bad_order = tiff;
  bad_order[0] = 'X';
  EXPECT_EQ(exif::orientation_from_tiff(bad_order), 1);
  Bytes bad_magic = tiff;
  bad_magic[2] = 43;  // BigTIFF is not EXIF
  EXPECT_EQ(exif::orientation_from_tiff(bad_magic), 1);
  EXPECT_EQ(exif::orientation_from_tiff({}), 1);
  EXPECT_EQ(exif::orientation_from_tiff(Bytes(tiff.begin(), tiff.begin() + 7)), 1);
}

TEST(ExifTiff, IfdOffsetPastTheEndIsIgnored) {
  Bytes tiff = make_orientation_tiff(true, 6);
  for (std::uint32_t offset :
       {static_cast<std::uint32_t>(tiff.size()), static_cast<std::uint32_t>(tiff.size() - 1),
        0xFFFFFFF0U, 0xFFFFFFFFU}) {
    Bytes bad = tiff;
    bad[4] = static_cast<std::uint8_t>(offset);
    bad[5] = static_cast<std::uint8_t>(offset >> 8);
    bad[6] = static_cast<std::uint8_t>(offset >> 16);
    bad[7] = static_cast<std::uint8_t>(offset >> 24);
    EXPECT_EQ(exif::orientation_from_tiff(bad), 1) << offset;
  }
}

TEST(ExifTiff, OverlongEntryCountReadsOnlyTheEntriesPresent) {
  Bytes tiff = make_orientation_tiff(true, 6);  // entries: Make, Orientation, then next-IFD
  tiff[8] = 0xFF;
  tiff[9] = 0xFF;  // claims 65535 entries
  EXPECT_EQ(exif::orientation_from_tiff(tiff), 6);
  // Cut the block inside the Orientation entry: that entry is gone, nothing is read past it.
  const std::size_t orientation_entry = 8 + 2 + 12;
  for (std::size_t cut = orientation_entry; cut < orientation_entry + 12; ++cut) {
    EXPECT_EQ(exif::orientation_from_tiff(Bytes(tiff.begin(), tiff.begin() + cut)), 1) << cut;
  }
  EXPECT_EQ(exif::orientation_from_tiff(Bytes(tiff.begin(), tiff.begin() + orientation_entry + 12)),
            6);
}

Bytes small_jpeg() {
  const Image image = testing::make_pattern(16, 8);
  return testing::encode_jpeg(image);
}

TEST(ExifJpeg, FindsApp1AfterOtherSegments) {
  for (bool little : {true, false}) {
    for (int orientation = 1; orientation <= 8; ++orientation) {
      Bytes jpeg = insert_app_segment(
          small_jpeg(), 0xE1, exif_app1_payload(make_orientation_tiff(little, orientation)));
      // TurboJPEG wrote a JFIF APP0 first; put another APP2 before the Exif too.
      jpeg = insert_app_segment(jpeg, 0xE2, Bytes(40, 0x55));
      EXPECT_EQ(exif::orientation_from_jpeg(jpeg), orientation);
    }
  }
}

TEST(ExifJpeg, FirstExifSegmentWins) {
  Bytes jpeg =
      insert_app_segment(small_jpeg(), 0xE1, exif_app1_payload(make_orientation_tiff(true, 3)));
  jpeg = insert_app_segment(jpeg, 0xE1, exif_app1_payload(make_orientation_tiff(true, 6)));
  EXPECT_EQ(exif::orientation_from_jpeg(jpeg), 6);
}

TEST(ExifJpeg, NonExifApp1IsSkipped) {
  Bytes xmp{'h', 't', 't', 'p', ':', '/', '/', 'n', 's', '.', 'a', 'd', 'o', 'b', 'e', 0};
  Bytes jpeg =
      insert_app_segment(small_jpeg(), 0xE1, exif_app1_payload(make_orientation_tiff(false, 8)));
  jpeg = insert_app_segment(jpeg, 0xE1, xmp);
  EXPECT_EQ(exif::orientation_from_jpeg(jpeg), 8);
}

TEST(ExifJpeg, ExifWithoutSecondNulIsNotRead) {
  Bytes payload = exif_app1_payload(make_orientation_tiff(true, 6));
  payload[5] = 'X';
  EXPECT_EQ(exif::orientation_from_jpeg(insert_app_segment(small_jpeg(), 0xE1, payload)), 1);
}

TEST(ExifJpeg, NoExifReadsAsOne) { EXPECT_EQ(exif::orientation_from_jpeg(small_jpeg()), 1); }

TEST(ExifJpeg, MalformedSegmentsReadAsOne) {
  const Bytes good =
      insert_app_segment(small_jpeg(), 0xE1, exif_app1_payload(make_orientation_tiff(true, 6)));
  ASSERT_EQ(exif::orientation_from_jpeg(good), 6);
  // Segment length overrunning the file.
  Bytes overlong = good;
  overlong[4] = 0xFF;
  overlong[5] = 0xFF;
  EXPECT_EQ(exif::orientation_from_jpeg(Bytes(overlong.begin(), overlong.begin() + 40)), 1);
  // Segment length below 2.
  Bytes tiny = good;
  tiny[4] = 0;
  tiny[5] = 1;
  EXPECT_EQ(exif::orientation_from_jpeg(tiny), 1);
  // The file ends inside the marker / length.
  for (std::size_t cut = 0; cut < 8; ++cut) {
    EXPECT_EQ(exif::orientation_from_jpeg(Bytes(good.begin(), good.begin() + cut)), 1) << cut;
  }
  // Not a JPEG at all.
  EXPECT_EQ(exif::orientation_from_jpeg(make_orientation_tiff(true, 6)), 1);
  // Garbage where a marker should be.
  Bytes garbage = good;
  garbage[2] = 0x00;
  EXPECT_EQ(exif::orientation_from_jpeg(garbage), 1);
}

TEST(ExifJpeg, FillBytesBeforeMarkerAreSkipped) {
  const Bytes with_exif =
      insert_app_segment(small_jpeg(), 0xE1, exif_app1_payload(make_orientation_tiff(true, 5)));
  Bytes filled(with_exif.begin(), with_exif.begin() + 2);
  filled.insert(filled.end(), {0xFF, 0xFF});  // fill bytes before FF E1
  filled.insert(filled.end(), with_exif.begin() + 2, with_exif.end());
  EXPECT_EQ(exif::orientation_from_jpeg(filled), 5);
}

TEST(ExifJpeg, ExifAfterStartOfScanIsNotRead) {
  // An APP1 placed after SOS is entropy-coded data territory: the walk stops at SOS.
  Bytes jpeg = small_jpeg();
  const Bytes payload = exif_app1_payload(make_orientation_tiff(true, 6));
  Bytes tail{0xFF, 0xE1, static_cast<std::uint8_t>((payload.size() + 2) >> 8),
             static_cast<std::uint8_t>(payload.size() + 2)};
  tail.insert(tail.end(), payload.begin(), payload.end());
  jpeg.insert(jpeg.end() - 2, tail.begin(), tail.end());
  EXPECT_EQ(exif::orientation_from_jpeg(jpeg), 1);
}

// apply_exif_orientation: each orientation checked by where three corners land, and each
// composed with its inverse gives the original back.
struct Corner {
  int x;
  int y;
};

std::array<std::uint8_t, 3> pixel(const Image& image, int x, int y) {
  const std::uint8_t* p = &image.rgb[(static_cast<std::size_t>(y) * image.width + x) * 3];
  return {p[0], p[1], p[2]};
}

TEST(ApplyExifOrientation, MovesCornersAsPilTransposeDoes) {
  const Image in = testing::make_random(5, 3, 7);
  const int w = in.width;
  const int h = in.height;
  // Where the input's top-left, top-right and bottom-left pixels end up, per PIL's methods.
  struct Expected {
    int orientation;
    int out_w;
    int out_h;
    Corner tl;
    Corner tr;
    Corner bl;
  };
  const Expected cases[] = {
      {1, w, h, {0, 0}, {w - 1, 0}, {0, h - 1}},
      {2, w, h, {w - 1, 0}, {0, 0}, {w - 1, h - 1}},      // FLIP_LEFT_RIGHT
      {3, w, h, {w - 1, h - 1}, {0, h - 1}, {w - 1, 0}},  // ROTATE_180
      {4, w, h, {0, h - 1}, {w - 1, h - 1}, {0, 0}},      // FLIP_TOP_BOTTOM
      {5, h, w, {0, 0}, {0, w - 1}, {h - 1, 0}},          // TRANSPOSE
      {6, h, w, {h - 1, 0}, {h - 1, w - 1}, {0, 0}},      // ROTATE_270: 90 clockwise
      {7, h, w, {h - 1, w - 1}, {h - 1, 0}, {0, w - 1}},  // TRANSVERSE
      {8, h, w, {0, w - 1}, {0, 0}, {h - 1, w - 1}},      // ROTATE_90: counter-clockwise
  };
  for (const Expected& e : cases) {
    const Image out = apply_exif_orientation(in, e.orientation);
    ASSERT_EQ(out.width, e.out_w) << e.orientation;
    ASSERT_EQ(out.height, e.out_h) << e.orientation;
    EXPECT_EQ(pixel(out, e.tl.x, e.tl.y), pixel(in, 0, 0)) << e.orientation;
    EXPECT_EQ(pixel(out, e.tr.x, e.tr.y), pixel(in, w - 1, 0)) << e.orientation;
    EXPECT_EQ(pixel(out, e.bl.x, e.bl.y), pixel(in, 0, h - 1)) << e.orientation;
  }
}

TEST(ApplyExifOrientation, InverseRestoresTheImage) {
  const Image in = testing::make_random(7, 4, 3);
  const int inverse[9] = {0, 1, 2, 3, 4, 5, 8, 7, 6};
  for (int orientation = 1; orientation <= 8; ++orientation) {
    const Image back =
        apply_exif_orientation(apply_exif_orientation(in, orientation), inverse[orientation]);
    EXPECT_EQ(back.width, in.width);
    EXPECT_EQ(back.rgb, in.rgb) << orientation;
  }
}

TEST(ApplyExifOrientation, OutOfRangeIsIdentity) {
  const Image in = testing::make_random(3, 2, 1);
  EXPECT_EQ(apply_exif_orientation(in, 0).rgb, in.rgb);
  EXPECT_EQ(apply_exif_orientation(in, 9).rgb, in.rgb);
}

}  // namespace
}  // namespace hdeploy::preprocess

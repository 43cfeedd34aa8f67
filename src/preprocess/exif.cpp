#include "exif.hpp"

#include <cstddef>
#include <cstring>

namespace hdeploy::preprocess::exif {
namespace {

constexpr std::uint16_t kOrientationTag = 0x0112;
constexpr std::size_t kIfdEntrySize = 12;

// Reads integers of the TIFF block's byte order; callers check bounds first.
struct TiffReader {
  std::span<const std::uint8_t> data;
  bool little_endian = true;

  std::uint16_t u16(std::size_t at) const {
    const auto a = data[at];
    const auto b = data[at + 1];
    return little_endian ? static_cast<std::uint16_t>(a | (b << 8))
                         : static_cast<std::uint16_t>((a << 8) | b);
  }
  std::uint32_t u32(std::size_t at) const {
    const std::uint32_t lo = u16(at);
    const std::uint32_t hi = u16(at + 2);
    return little_endian ? (lo | (hi << 16)) : ((lo << 16) | hi);
  }
};

// TIFF field types PIL turns into a plain integer for a count of 1.
constexpr std::uint16_t kTypeByte = 1;
constexpr std::uint16_t kTypeShort = 3;
constexpr std::uint16_t kTypeLong = 4;

}  // namespace

int orientation_from_tiff(std::span<const std::uint8_t> tiff) {
  if (tiff.size() < 8) return 1;
  TiffReader reader{tiff};
  if (tiff[0] == 'I' && tiff[1] == 'I') {
    reader.little_endian = true;
  } else if (tiff[0] == 'M' && tiff[1] == 'M') {
    reader.little_endian = false;
  } else {
    return 1;
  }
  if (reader.u16(2) != 42) return 1;
  const std::uint64_t ifd = reader.u32(4);
  if (ifd > tiff.size() || tiff.size() - ifd < 2) return 1;
  const std::size_t declared = reader.u16(static_cast<std::size_t>(ifd));
  // Entries that do not fit are dropped, as PIL stops at the first short read.
  const std::size_t room = (tiff.size() - static_cast<std::size_t>(ifd) - 2) / kIfdEntrySize;
  const std::size_t entries = declared < room ? declared : room;

  int orientation = 1;
  for (std::size_t i = 0; i < entries; ++i) {
    const std::size_t at = static_cast<std::size_t>(ifd) + 2 + i * kIfdEntrySize;
    if (reader.u16(at) != kOrientationTag) continue;
    const std::uint16_t type = reader.u16(at + 2);
    const std::uint32_t count = reader.u32(at + 4);
    if (count != 1) continue;
    std::uint32_t value = 0;
    switch (type) {
      case kTypeByte:
        value = tiff[at + 8];
        break;
      case kTypeShort:
        value = reader.u16(at + 8);
        break;
      case kTypeLong:
        value = reader.u32(at + 8);
        break;
      default:
        continue;
    }
    orientation = (value >= 1 && value <= 8) ? static_cast<int>(value) : 1;
  }
  return orientation;
}

int orientation_from_jpeg(std::span<const std::uint8_t> jpeg) {
  if (jpeg.size() < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8) return 1;
  std::size_t pos = 2;
  while (pos < jpeg.size()) {
    if (jpeg[pos] != 0xFF) return 1;  // not at a marker: malformed, stop looking
    while (pos < jpeg.size() && jpeg[pos] == 0xFF) ++pos;  // fill bytes
    if (pos >= jpeg.size()) return 1;
    const std::uint8_t marker = jpeg[pos++];
    if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;
    if (marker == 0xD9 || marker == 0xDA) return 1;  // EOI, SOS: no Exif before the data
    if (jpeg.size() - pos < 2) return 1;
    const std::size_t length = (static_cast<std::size_t>(jpeg[pos]) << 8) | jpeg[pos + 1];
    if (length < 2 || length > jpeg.size() - pos) return 1;
    const std::span<const std::uint8_t> payload = jpeg.subspan(pos + 2, length - 2);
    // PIL keeps the first APP1 starting "Exif\0" and reads it only if a second NUL follows.
    if (marker == 0xE1 && payload.size() >= 5 && std::memcmp(payload.data(), "Exif\0", 5) == 0) {
      if (payload.size() < 6 || payload[5] != 0) return 1;
      return orientation_from_tiff(payload.subspan(6));
    }
    pos += length;
  }
  return 1;
}

}  // namespace hdeploy::preprocess::exif

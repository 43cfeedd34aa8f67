#pragma once
// EXIF Orientation (tag 0x0112 in IFD0) from untrusted bytes. Every offset is bounds-checked;
// anything malformed reads as "no orientation" (1), never as an error: a damaged EXIF block
// should not stop an image from being classified.

#include <cstdint>
#include <span>

namespace hdeploy::preprocess::exif {

// The Orientation value (1..8) from TIFF-structured EXIF data (what follows "Exif\0\0":
// "II*\0" or "MM\0*", the IFD0 offset, IFD0). 1 when absent, malformed, or not 1..8.
// Accepts BYTE, SHORT and LONG values of count 1; a later duplicate tag wins, as in PIL.
int orientation_from_tiff(std::span<const std::uint8_t> tiff);

// The Orientation value from a JPEG's first APP1 segment that starts with "Exif\0\0" (the one
// PIL reads); segments are walked from SOI up to SOS. 1 when there is none.
int orientation_from_jpeg(std::span<const std::uint8_t> jpeg);

}  // namespace hdeploy::preprocess::exif

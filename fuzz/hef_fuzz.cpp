// libFuzzer target for the HEF reader: any bytes in, a report out, never a crash, a leak, a hang
// or an allocation larger than the input warrants. Built by fuzz/CMakeLists.txt (clang); run by
// scripts/fuzz.

#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "hdeploy/hef/compatibility.hpp"
#include "hdeploy/hef/hef_reader.hpp"

namespace {

// Mutated files almost never keep a valid checksum, so the input is also read as the metadata of
// a header-v2 file with a correct XXH3: that lets the fuzzer reach the protobuf decoding and the
// vstream derivation. scripts/fuzz seeds both kinds (whole files and their metadata blocks).
std::vector<std::uint8_t> wrap_as_v2(std::span<const std::uint8_t> proto) {
  std::vector<std::uint8_t> file(44 + proto.size());
  auto put = [&file](std::size_t at, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) {
      file[at + i] = static_cast<std::uint8_t>(v >> (8 * (bytes - 1 - i)));
    }
  };
  put(0, hdeploy::hef::kHefMagic, 4);
  put(4, 2, 4);
  put(8, proto.size(), 4);
  put(12, XXH3_64bits(proto.data(), proto.size()), 8);
  if (!proto.empty()) std::copy(proto.begin(), proto.end(), file.begin() + 44);
  return file;
}

void check(std::span<const std::uint8_t> bytes) {
  const hdeploy::hef::HefReport report = hdeploy::hef::HefReader::inspect_buffer(bytes);
  // Exercise the consumers of a report as well.
  const auto verdict = hdeploy::hef::check_compatibility(report, {4, 20, 0}, "hailo8l");
  if (report.info && report.info->description.empty()) __builtin_trap();
  if (report.info && report.error) __builtin_trap();  // a report is one or the other
  if (!report.info && !report.error) __builtin_trap();
  (void)verdict;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  check(bytes);
  check(wrap_as_v2(bytes));
  return 0;
}

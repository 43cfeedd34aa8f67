#pragma once
// A small HEF writer for the tests: the fixed header of every version (0-3) with its checksum
// (MD5, CRC32, XXH3-64), the protobuf metadata hdeploy's reader reads (hef_subset.proto), and
// the corruptions a download or a disk can cause. It writes the format as the Dataflow Compiler
// does, as far as hdeploy reads it; the real compiled files in ../shared/hef are the check that
// writer and reader agree with the compiler (src/hef/hef_files_test.cpp).

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hef_subset.pb.h"

namespace hdeploy::testing {

using HefBytes = std::vector<std::uint8_t>;

// ProtoHEFHwArch values the compiler writes.
inline constexpr std::uint32_t kHwArchHailo8 = 1;
inline constexpr std::uint32_t kHwArchHailo8L = 3;
inline constexpr std::uint32_t kHwArchHailo15M = 4;
inline constexpr std::uint32_t kHwArchHailo15H = 103;

// The compiler's format codes (EdgeLayerBase.format) the tests use.
inline constexpr std::uint32_t kFormatNhwc = 0;
inline constexpr std::uint32_t kFormatNhcw = 1;
inline constexpr std::uint32_t kFormatNc = 2;
inline constexpr std::uint32_t kFormatFcr = 3;

// One boundary layer of a single-context network group.
struct HefLayer {
  std::string name;  // without the group prefix: "input_layer1", "fc1"
  bool input = false;
  std::uint32_t format = kFormatNhwc;
  std::uint32_t height = 1, width = 1, features = 1;
  float qp_zp = 0.0F;
  float qp_scale = 1.0F;
};

// A whole file: the header version and what the metadata says.
struct HefSpec {
  std::uint32_t header_version = 2;  // 0 MD5, 1 CRC32, 2 and 3 XXH3-64
  std::uint32_t hw_arch = kHwArchHailo8;
  std::string sdk_version = "3.32.0";  // the Dataflow Compiler that "made" it
  std::uint64_t timestamp = 1700000000;
  std::string group = "net";
  double bottleneck_fps = 1234.5;
  double latency_s = 0.002;
  std::vector<HefLayer> layers;
  std::vector<std::string> sorted_outputs;  // empty: outputs in layer order
  std::uint64_t ccws_bytes = 64;            // configuration bytes after the metadata (v1-v3)
};

// A classifier the size the tests need: NHWC h x w x 3 in, NC(classes) "fc1" out.
HefSpec classifier_spec(std::string group, std::uint32_t hw_arch, std::uint32_t size,
                        std::uint32_t classes);

// The metadata message for `spec`; tests edit it for cases the spec does not cover.
hdeploy::hef::pb::Hef hef_message(const HefSpec& spec);

// Header + `proto` + `ccws`, with the header's sizes and checksum computed here.
HefBytes hef_file_bytes(std::uint32_t header_version, std::string_view proto,
                        std::span<const std::uint8_t> ccws = {});

// The whole file for `spec`.
HefBytes hef_bytes(const HefSpec& spec);

// The header's size in bytes for a version (32, 28, 44, 56).
std::uint32_t hef_header_size(std::uint32_t header_version);

// Writes `bytes` to `path` (throws std::runtime_error when it cannot).
void write_hef(const std::filesystem::path& path, std::span<const std::uint8_t> bytes);

// The named files the end-to-end tests use (tools/make_test_hef writes them):
//   hailo8-classifier   Hailo-8, "skillcheck_mobilenet_v2_224", NHWC(224x224x3) in,
//                       NC(11) out, DFC 3.32.0, header v2 (the shape of
//                       ../shared/hef/dbd_autoSkillCheck_model.hef)
//   hailo8l-classifier  the same for Hailo-8L
//   mnist               Hailo-8, "MNIST_CNN", NHCW(32x32x1) in, FCR(4x4x16) out, DFC 3.27.0, v0
//   truncated           hailo8l-classifier with its last 4096 bytes cut
//   header-v1           hailo8-classifier in header version 1 (CRC32), DFC 3.27.0
//   header-v3           hailo8l-classifier in header version 3 (needs HailoRT 4.21+)
//   hailo15h            a Hailo-15H classifier (the HailoRT 5.x line)
// Throws std::invalid_argument for an unknown name.
HefBytes named_test_hef(std::string_view name);
std::vector<std::string> named_test_hefs();

}  // namespace hdeploy::testing

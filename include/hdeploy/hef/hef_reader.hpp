#pragma once
// Native reader for Hailo .hef files: the fixed header (versions 0-3) with its checksum, and the
// protobuf metadata decoded into what HailoRT 4.20 reports to the host (network groups,
// input/output vstreams, quantization, post-process ops). Works on any machine, no HailoRT.
// Nothing in the file is trusted: sizes are checked against the file before anything is
// allocated or read. Thread-safe: the functions share no state.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "hdeploy/core/result.hpp"

namespace hdeploy::hef {

inline constexpr std::uint32_t kHefMagic = 0x01484546;  // 01 'H' 'E' 'F'

enum class ChecksumKind { kMd5, kCrc32, kXxh3_64 };
const char* to_string(ChecksumKind kind);

// The fixed header at the start of the file. Sizes are what the header declares; the checksum
// fields are filled once the whole file is present.
struct HefHeader {
  std::uint32_t version = 0;      // 0, 1, 2 or 3
  std::uint32_t header_size = 0;  // 32, 28, 44 or 56 bytes
  std::uint32_t proto_size = 0;   // bytes of protobuf metadata after the header
  std::uint64_t ccws_size = 0;  // v1-v3: bytes of configuration after the proto (v3: with padding)
  std::uint32_t padding_size = 0;          // v3 only
  std::uint64_t additional_info_size = 0;  // v3 only
  std::uint64_t declared_file_size = 0;    // header + proto + ccws (+ additional info)
  std::uint64_t actual_file_size = 0;
  ChecksumKind checksum_kind = ChecksumKind::kMd5;
  std::string expected_checksum;  // hex, as stored in the header
  std::string computed_checksum;  // hex; empty when the file is not complete
  bool checksum_ok = false;

  // Bytes missing at the end of the file (0 when it is complete or longer than declared).
  std::uint64_t missing_bytes() const {
    return actual_file_size < declared_file_size ? declared_file_size - actual_file_size : 0;
  }
};

// The header message at the start of the protobuf metadata.
struct HefProtoHeader {
  std::uint32_t hw_arch_value = 0;  // ProtoHEFHwArch: 0/1/2 Hailo-8, 3 HAILO8L, 103 HAILO15H ...
  std::string arch;              // as HailoRT names the device arch: HAILO8, HAILO8L, HAILO15H ...
  std::string sdk_version;       // as stored: "3.31.0", or "sdk-version: 5.1.0, git-branch: ..."
  std::string compiler_version;  // just the version: "3.31.0", "5.1.0"
  std::uint64_t timestamp = 0;   // seconds since the epoch, as the compiler wrote it
  std::uint64_t version = 0;     // metadata format version (not the file header version)
};

struct NmsShape {
  std::uint32_t number_of_classes = 0;
  std::uint32_t max_bboxes_per_class = 0;
};

// One input or output as HailoRT 4.20 reports it to the host (hailo_vstream_info_t with the
// default host format): type UINT8/UINT16/FLOAT32, order NHWC/NC/FCR/HAILO NMS BY CLASS...
struct VStreamInfo {
  std::string name;
  std::string network_name;
  bool is_input = false;
  std::string type;
  std::string order;
  std::uint32_t height = 0, width = 0, features = 0;  // when not NMS
  std::optional<NmsShape> nms;                        // NMS outputs
  std::uint32_t frame_size = 0;                       // bytes per frame on the host
  float qp_zp = 0.0F;
  float qp_scale = 0.0F;
  float limvals_min = 0.0F;
  float limvals_max = 0.0F;
};

// A device-side stream (what `parse-hef --parse-streams` lists): device format order and the
// shape the hardware transfers.
struct StreamInfo {
  std::string name;
  bool is_input = false;
  std::string type;
  std::string order;
  std::uint32_t hw_height = 0, hw_width = 0, hw_features = 0;
  std::uint32_t hw_frame_size = 0;
  bool is_nms = false;
};

// A post-process op HailoRT runs on the host (e.g. YOLOv8 NMS).
struct PostProcessOp {
  std::string type;  // YOLOV5, YOLOX, SSD, IOU, YOLOV5SEG, YOLOV8, ARGMAX, SOFTMAX
  std::string name;  // HailoRT's op name, e.g. "YOLOV8-Post-Process"
  double score_threshold = 0.0;
  double iou_threshold = 0.0;
  std::uint32_t classes = 0;
  std::uint32_t max_proposals_per_class = 0;
  bool background_removal = false;
  std::uint32_t background_removal_index = 0;
  bool bbox_decoding_only = false;
  std::vector<std::string> input_streams;  // core outputs the op consumes
  std::string description;                 // HailoRT's one-line op description
};

struct NetworkGroupInfo {
  std::string name;
  bool multi_context = false;
  std::uint32_t contexts = 0;
  double bottleneck_fps = 0.0;  // the compiler's estimate
  double latency = 0.0;         // the compiler's estimate (as stored; 0 when absent)
  std::vector<std::string> networks;
  std::vector<StreamInfo> input_streams, output_streams;
  std::vector<VStreamInfo> inputs, outputs;  // HailoRT's order: inputs as listed, outputs sorted
  std::vector<PostProcessOp> ops;
};

struct HefExtension {
  std::uint32_t type_index = 0;
  std::string name;
  bool supported_by_4_20 = false;  // HailoRT 4.20.0 refuses files that need others
};

struct HefInfo {
  HefHeader header;
  HefProtoHeader proto_header;
  std::vector<NetworkGroupInfo> network_groups;  // sorted by name, as HailoRT lists them
  std::vector<HefExtension> extensions;
  std::vector<HefExtension> optional_extensions;
  // The text `hailortcli parse-hef --parse-streams` prints for this file.
  std::string description;
};

// Everything that could be learned about a file, even one that cannot be fully read: a
// truncated file still reports its header and, when the start of the metadata is present, its
// arch and compiler version.
struct HefReport {
  std::optional<HefHeader> header;
  std::optional<HefProtoHeader> proto_header;
  std::optional<HefInfo> info;  // set when the whole file was read
  std::optional<Error> error;   // set when it was not
};

class HefReader {
 public:
  // Reads a .hef file. Errors: kNotFound, kIo, kInvalidFormat (a directory, bad magic, sizes
  // that do not match the file, checksum mismatch, metadata that does not decode), kUnsupported
  // (an unknown header version).
  static Result<HefInfo> read_file(const std::filesystem::path& path);
  // The same for bytes in memory (the caller keeps them alive for the call only).
  static Result<HefInfo> read_buffer(std::span<const std::uint8_t> bytes);

  // As above, but keeps what could be read before an error.
  static HefReport inspect_file(const std::filesystem::path& path);
  static HefReport inspect_buffer(std::span<const std::uint8_t> bytes);

  // Only the fixed header; `file_size` is the size of the whole file (bytes may be a prefix).
  static Result<HefHeader> read_header(std::span<const std::uint8_t> bytes,
                                       std::uint64_t file_size);
};

// HailoRT's name for a ProtoHEFHwArch value: HAILO8 (0, 1, 2), HAILO8L (3), HAILO15H (103)...
std::string arch_name(std::uint32_t hw_arch_value);

}  // namespace hdeploy::hef

#pragma once
// Internal to the hef module's metadata files: HailoRT's format orders and data types, the
// boundary layers derived from a HEF, and the parse-hef description printed from them.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hdeploy/hef/hef_reader.hpp"

namespace hdeploy::hef {

// HailoRT's format order numbering (hailo_format_order_t).
enum Order : int {
  kAuto = 0,
  kNhwc = 1,
  kNhcw = 2,
  kFcr = 3,
  kF8cr = 4,
  kNhw = 5,
  kNc = 6,
  kBayerRgb = 7,
  k12BitBayerRgb = 8,
  kHailoNms = 9,
  kRgb888 = 10,
  kNchw = 11,
  kYuy2 = 12,
  kNv12 = 13,
  kNv21 = 14,
  kYyuv = 15,
  kYyvu = 16,
  kRgb4 = 17,
  kI420 = 18,
  kYyyyuv = 19,
  kNmsWithByteMask = 20,
  kNmsOnChip = 21,
  kNmsByClass = 22,
  kNmsByScore = 23,
  kInvalidOrder = 0xFFFF,
};

enum class Type { kUint8, kUint16, kFloat32 };

// HailoRT's names of data types and format orders ("UINT8", "HAILO NMS BY CLASS"; "Nan" for an
// unknown value), and the size of one element.
const char* type_name(Type t);
std::uint32_t type_bytes(Type t);
const char* order_name(int order);

// The compiler's format code in an edge layer → the device format order.
int device_order(std::uint32_t compiler_format);

// The device order → the default host order HailoRT gives a vstream.
int host_order(int device);

bool is_nms_order(int order);

// One boundary layer in HailoRT's LayerInfo terms, reduced to what hdeploy reports.
struct Layer {
  std::string name;
  std::string network_name;
  bool is_input = false;
  int order = kInvalidOrder;  // device order
  Type type = Type::kUint8;
  std::uint32_t height = 0, width = 0, features = 0;
  std::uint32_t hw_height = 0, hw_width = 0, hw_features = 0;
  float qp_zp = 0, qp_scale = 0, limvals_min = 0, limvals_max = 0;
  // NMS on chip
  std::uint32_t nms_classes = 0, nms_max_bboxes = 0, nms_chunks = 1, nms_bbox_size = 0;
  bool defused_nms = false;
  std::string defused_original_name;
  std::optional<std::uint32_t> pad_index;
  std::vector<VStreamInfo> vstreams;  // host view, in HailoRT's order
  std::vector<StreamInfo> streams;    // device view
};

// One network group as derived from the HEF: what is reported, plus the boundary layers and
// the default network name the description needs.
struct GroupResult {
  NetworkGroupInfo info;
  std::vector<Layer> layers;
  std::string default_network;
};

// The text of `hailortcli parse-hef --parse-streams` (HailoRT 4.20's Hef::get_description).
std::string describe(const std::string& arch, const std::vector<GroupResult>& groups);

}  // namespace hdeploy::hef

// HailoRT's format tables: the names of data types and format orders, the compiler's format
// codes → device orders, and device orders → the default host orders of vstreams.

#include "metadata_internal.hpp"

namespace hdeploy::hef {

const char* type_name(Type t) {
  switch (t) {
    case Type::kUint8:
      return "UINT8";
    case Type::kUint16:
      return "UINT16";
    case Type::kFloat32:
      return "FLOAT32";
  }
  return "Nan";
}
std::uint32_t type_bytes(Type t) { return t == Type::kUint8 ? 1 : t == Type::kUint16 ? 2 : 4; }

const char* order_name(int order) {
  switch (order) {
    case kAuto:
      return "AUTO";
    case kNhwc:
      return "NHWC";
    case kNhcw:
      return "NHCW";
    case kFcr:
      return "FCR";
    case kF8cr:
      return "F8CR";
    case kNhw:
      return "NHW";
    case kNc:
      return "NC";
    case kBayerRgb:
      return "BAYER RGB";
    case k12BitBayerRgb:
      return "12 BIT BAYER RGB";
    case kHailoNms:
      return "HAILO NMS";
    case kRgb888:
      return "RGB 888";
    case kNchw:
      return "NCHW";
    case kYuy2:
      return "YUY2";
    case kNv12:
      return "NV12";
    case kYyuv:
      return "YYUV";
    case kNv21:
      return "NV21";
    case kYyvu:
      return "YYVU";
    case kRgb4:
      return "RGB4";
    case kI420:
      return "I420";
    case kYyyyuv:
      return "YYYYUV";
    case kNmsWithByteMask:
      return "HAILO NMS WITH BYTE MASK";
    case kNmsOnChip:
      return "HAILO NMS ON CHIP";
    case kNmsByClass:
      return "HAILO NMS BY CLASS";
    case kNmsByScore:
      return "HAILO NMS BY SCORE";
    default:
      return "Nan";
  }
}

int device_order(std::uint32_t compiler_format) {
  switch (compiler_format) {
    case 0:
      return kNhwc;
    case 1:
      return kNhcw;
    case 2:
      return kNc;
    case 3:
      return kFcr;
    case 4:
      return kBayerRgb;
    case 5:
      return kNhw;
    case 6:
      return kNmsOnChip;
    case 7:
      return kF8cr;
    case 8:
      return kRgb888;
    case 11:
      return kYuy2;
    case 13:
      return kNhwc;
    case 14:
      return kYyuv;
    case 15:
      return kYyvu;
    case 16:
      return kYyyyuv;
    default:
      return kInvalidOrder;
  }
}

int host_order(int device) {
  switch (device) {
    case kNhwc:
    case kNhcw:
    case kRgb888:
      return kNhwc;
    case kFcr:
    case kF8cr:
    case kNhw:
    case kNc:
    case kBayerRgb:
    case k12BitBayerRgb:
    case kNchw:
    case kYuy2:
      return device;
    case kYyuv:
      return kNv12;
    case kYyvu:
      return kNv21;
    case kYyyyuv:
      return kI420;
    case kNmsOnChip:
      return kNmsByClass;
    default:
      return kInvalidOrder;
  }
}

bool is_nms_order(int order) {
  return order == kHailoNms || order == kNmsByClass || order == kNmsWithByteMask ||
         order == kNmsByScore;
}

}  // namespace hdeploy::hef

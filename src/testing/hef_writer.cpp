#include "testing/hef_writer.hpp"

#include <openssl/evp.h>
#include <xxhash.h>
#include <zlib.h>

#include <array>
#include <fstream>
#include <stdexcept>

#include "hdeploy/hef/hef_reader.hpp"

namespace hdeploy::testing {
namespace pb = hdeploy::hef::pb;

namespace {

void put32(HefBytes& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}
void put64(HefBytes& b, std::uint64_t v) {
  put32(b, static_cast<std::uint32_t>(v >> 32));
  put32(b, static_cast<std::uint32_t>(v));
}

void add_layer(pb::ContextMetadata* md, const std::string& group, const HefLayer& layer) {
  auto* edge = md->add_edge_layers();
  edge->set_direction(layer.input ? 0 : 1);
  edge->set_edge_layer_type(0);
  edge->mutable_context_switch_info()->set_edge_connection_type(0);
  auto* info = edge->mutable_layer_info();
  info->set_name(group + "/" + layer.name);
  auto* base = info->mutable_edge_layer_base();
  base->set_height(layer.height);
  base->set_width(layer.width);
  base->set_features(layer.features);
  base->set_padded_height(layer.height);
  base->set_padded_width(layer.width);
  base->set_padded_features(layer.features);
  base->set_format(layer.format);
  base->set_data_bytes(1);
  info->mutable_numeric_info()->set_qp_zp(layer.qp_zp);
  info->mutable_numeric_info()->set_qp_scale(layer.qp_scale);
}

}  // namespace

std::uint32_t hef_header_size(std::uint32_t header_version) {
  static constexpr std::array<std::uint32_t, 4> kSizes{32, 28, 44, 56};
  if (header_version >= kSizes.size()) throw std::invalid_argument("HEF header version > 3");
  return kSizes[header_version];
}

HefSpec classifier_spec(std::string group, std::uint32_t hw_arch, std::uint32_t size,
                        std::uint32_t classes) {
  HefSpec spec;
  spec.hw_arch = hw_arch;
  spec.group = std::move(group);
  spec.layers = {
      {.name = "input_layer1", .input = true, .height = size, .width = size, .features = 3},
      {.name = "fc1", .format = kFormatNc, .features = classes, .qp_zp = 110.0F, .qp_scale = 0.05F},
  };
  return spec;
}

pb::Hef hef_message(const HefSpec& spec) {
  pb::Hef hef;
  hef.mutable_header()->set_hw_arch(spec.hw_arch);
  hef.mutable_header()->set_sdk_version(spec.sdk_version);
  hef.mutable_header()->set_timestamp(spec.timestamp);
  hef.mutable_header()->set_version(1);
  auto* g = hef.add_network_groups();
  // Multi-layout archs (Hailo-8L, Hailo-15M) keep the group in partial layouts; the reader uses
  // the first, as HailoRT does.
  if (spec.hw_arch == kHwArchHailo8L || spec.hw_arch == kHwArchHailo15M) {
    auto* partial = g->add_partial_network_groups();
    partial->mutable_layout()->set_partial_clusters_layout_bitmap(7);
    g = partial->mutable_network_group();
  }
  g->mutable_network_group_metadata()->set_network_group_name(spec.group);
  g->mutable_network_group_metadata()->set_bottleneck_fps(spec.bottleneck_fps);
  g->mutable_network_group_metadata()->set_latency(spec.latency_s);
  auto* md = g->add_contexts()->mutable_metadata();
  for (const HefLayer& layer : spec.layers) add_layer(md, spec.group, layer);
  if (!spec.sorted_outputs.empty()) {
    for (const std::string& name : spec.sorted_outputs) {
      g->add_sorted_outputs_order(spec.group + "/" + name);
    }
  } else {
    for (const HefLayer& layer : spec.layers) {
      if (!layer.input) g->add_sorted_outputs_order(spec.group + "/" + layer.name);
    }
  }
  return hef;
}

HefBytes hef_file_bytes(std::uint32_t header_version, std::string_view proto,
                        std::span<const std::uint8_t> ccws) {
  HefBytes body(proto.begin(), proto.end());
  // Version 0 files have no configuration section: what follows the proto is not counted.
  if (header_version != 0) body.insert(body.end(), ccws.begin(), ccws.end());
  HefBytes out;
  out.reserve(hef_header_size(header_version) + body.size());
  put32(out, hef::kHefMagic);
  put32(out, header_version);
  put32(out, static_cast<std::uint32_t>(proto.size()));
  switch (header_version) {
    case 0: {
      std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
      unsigned int n = 0;
      EVP_Digest(body.data(), body.size(), md.data(), &n, EVP_md5(), nullptr);
      put32(out, 0);
      out.insert(out.end(), md.begin(), md.begin() + n);
      break;
    }
    case 1:
      put32(out, static_cast<std::uint32_t>(crc32(0, body.data(), static_cast<uInt>(body.size()))));
      put64(out, ccws.size());
      put32(out, 0);
      break;
    case 2:
      put64(out, XXH3_64bits(body.data(), body.size()));
      put64(out, ccws.size());
      put64(out, 0);
      put64(out, 0);
      break;
    default:  // 3
      put64(out, XXH3_64bits(body.data(), body.size()));
      put64(out, ccws.size());  // configuration with its padding
      put32(out, 0);            // padding
      put64(out, 0);            // additional info
      put64(out, 0);
      put64(out, 0);
      break;
  }
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

HefBytes hef_bytes(const HefSpec& spec) {
  // Configuration bytes that are not all alike, so a flipped byte changes the checksum input.
  HefBytes ccws(spec.ccws_bytes);
  for (std::size_t i = 0; i < ccws.size(); ++i) ccws[i] = static_cast<std::uint8_t>(i * 131 + 7);
  return hef_file_bytes(spec.header_version, hef_message(spec).SerializeAsString(), ccws);
}

void write_hef(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::vector<std::string> named_test_hefs() {
  return {"hailo8-classifier", "hailo8l-classifier", "mnist",   "truncated",
          "header-v1",         "header-v3",          "hailo15h"};
}

HefBytes named_test_hef(std::string_view name) {
  HefSpec spec = classifier_spec("skillcheck_mobilenet_v2_224", kHwArchHailo8, 224, 11);
  spec.bottleneck_fps = 2444.8532782426396;  // the compiler's estimates in the real file
  spec.latency_s = 0.004578675;
  spec.ccws_bytes = 64 * 1024;
  if (name == "hailo8-classifier") return hef_bytes(spec);
  if (name == "header-v1") {
    spec.header_version = 1;
    spec.sdk_version = "3.27.0";
    return hef_bytes(spec);
  }
  spec.hw_arch = kHwArchHailo8L;
  if (name == "hailo8l-classifier") return hef_bytes(spec);
  if (name == "truncated") {
    HefBytes bytes = hef_bytes(spec);
    bytes.resize(bytes.size() - 4096);
    return bytes;
  }
  if (name == "header-v3") {
    spec.header_version = 3;
    spec.sdk_version = "3.33.0";
    return hef_bytes(spec);
  }
  if (name == "hailo15h") {
    spec.hw_arch = kHwArchHailo15H;
    spec.sdk_version = "5.1.0";
    return hef_bytes(spec);
  }
  if (name == "mnist") {
    HefSpec mnist;
    mnist.header_version = 0;
    mnist.sdk_version = "3.27.0";
    mnist.group = "MNIST_CNN";
    mnist.bottleneck_fps = 141093.47;
    mnist.latency_s = 6.01e-05;
    mnist.layers = {
        {.name = "input_layer1", .input = true, .format = kFormatNhcw, .height = 32, .width = 32},
        {.name = "maxpool3", .format = kFormatFcr, .height = 4, .width = 4, .features = 16},
    };
    return hef_bytes(mnist);
  }
  throw std::invalid_argument("unknown test HEF '" + std::string(name) + "'");
}

}  // namespace hdeploy::testing

// HefReader on small HEFs built here (every header version, multi-layout, NMS op) and on
// corrupted copies of a real file: each corruption gives its own specific error.

#include "hdeploy/hef/hef_reader.hpp"

#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <fstream>

#include "hdeploy/core/file.hpp"
#include "hef_subset.pb.h"
#include "testing/hef_writer.hpp"
#include "testing/temp_dir.hpp"

namespace fs = std::filesystem;
using hdeploy::ErrorCode;
using hdeploy::hef::HefReader;
namespace pb = hdeploy::hef::pb;

namespace {

using Bytes = std::vector<std::uint8_t>;
using hdeploy::testing::hef_file_bytes;

Bytes make_hef(std::uint32_t version, const std::string& proto, const Bytes& ccws = {}) {
  return hef_file_bytes(version, proto, ccws);
}

// A classifier: input NHWC 8x8x3, outputs NC(10) "fc1" and NC(4) "fc2", sorted fc2 first.
hdeploy::testing::HefSpec classifier_spec(const std::string& name = "net",
                                          std::uint32_t hw_arch = hdeploy::testing::kHwArchHailo8) {
  using hdeploy::testing::kFormatNc;
  hdeploy::testing::HefSpec spec;
  spec.hw_arch = hw_arch;
  spec.sdk_version = "3.30.0";
  spec.group = name;
  spec.layers = {
      {.name = "input_layer1", .input = true, .height = 8, .width = 8, .features = 3},
      {.name = "fc1", .format = kFormatNc, .features = 10, .qp_zp = 110.0F, .qp_scale = 0.05F},
      {.name = "fc2", .format = kFormatNc, .features = 4, .qp_zp = 3.0F, .qp_scale = 0.5F},
  };
  spec.sorted_outputs = {"fc2", "fc1"};
  return spec;
}

pb::Hef classifier() { return hdeploy::testing::hef_message(classifier_spec()); }

const char* kClassifierDescription =
    "Architecture HEF was compiled for: HAILO8\n"
    "Network group name: net, Single Context\n"
    "    Network name: net/net\n"
    "        Stream infos:\n"
    "            Input  net/input_layer1 UINT8, NHWC(8x8x3)\n"
    "            Output net/fc1 UINT8, NC(10)\n"
    "            Output net/fc2 UINT8, NC(4)\n"
    "        VStream infos:\n"
    "            Input  net/input_layer1 UINT8, NHWC(8x8x3)\n"
    "            Output net/fc2 UINT8, NC(4)\n"
    "            Output net/fc1 UINT8, NC(10)\n";

Bytes classifier_file(std::uint32_t version, const Bytes& ccws = {1, 2, 3, 4, 5, 6, 7, 8}) {
  return make_hef(version, classifier().SerializeAsString(), version == 0 ? Bytes{} : ccws);
}

std::uint32_t header_size(std::uint32_t version) {
  return hdeploy::testing::hef_header_size(version);
}

}  // namespace

TEST(HefReader, ReadsEveryHeaderVersion) {
  for (std::uint32_t version = 0; version <= 3; ++version) {
    SCOPED_TRACE(version);
    const Bytes file = classifier_file(version);
    auto info = HefReader::read_buffer(file);
    ASSERT_TRUE(info) << info.error().message;
    EXPECT_EQ(info->header.version, version);
    EXPECT_EQ(info->header.header_size, header_size(version));
    EXPECT_EQ(info->header.declared_file_size, file.size());
    EXPECT_EQ(info->header.actual_file_size, file.size());
    EXPECT_TRUE(info->header.checksum_ok);
    EXPECT_EQ(info->header.computed_checksum, info->header.expected_checksum);
    EXPECT_EQ(info->proto_header.arch, "HAILO8");
    EXPECT_EQ(info->proto_header.compiler_version, "3.30.0");
    EXPECT_EQ(info->proto_header.timestamp, 1700000000U);
    ASSERT_EQ(info->network_groups.size(), 1U);
    const auto& g = info->network_groups[0];
    EXPECT_EQ(g.name, "net");
    EXPECT_FALSE(g.multi_context);
    EXPECT_EQ(g.contexts, 1U);
    EXPECT_DOUBLE_EQ(g.bottleneck_fps, 1234.5);
    EXPECT_DOUBLE_EQ(g.latency, 0.002);
    ASSERT_EQ(g.inputs.size(), 1U);
    EXPECT_EQ(g.inputs[0].frame_size, 8U * 8 * 3);
    ASSERT_EQ(g.outputs.size(), 2U);
    EXPECT_EQ(g.outputs[0].name, "net/fc2");  // the sorted output order, not the layer order
    EXPECT_EQ(g.outputs[1].name, "net/fc1");
    EXPECT_EQ(g.outputs[1].order, "NC");
    EXPECT_EQ(g.outputs[1].frame_size, 10U);
    EXPECT_FLOAT_EQ(g.outputs[1].qp_zp, 110.0F);
    EXPECT_FLOAT_EQ(g.outputs[1].qp_scale, 0.05F);
    EXPECT_EQ(info->description, kClassifierDescription);
  }
}

TEST(HefReader, UnknownFieldsAreSkipped) {
  std::string proto = classifier().SerializeAsString();
  // Field 99 (length-delimited) and field 100 (varint): what a newer compiler might add.
  proto += std::string("\x9a\x06\x03xyz", 6);
  proto += std::string("\xa0\x06\x01", 3);
  auto info = HefReader::read_buffer(make_hef(2, proto));
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->network_groups.size(), 1U);
}

TEST(HefReader, MultiLayoutUsesThePartialNetworkGroup) {
  pb::Hef hef;
  hef.mutable_header()->set_hw_arch(3);  // HAILO8L
  hef.mutable_header()->set_version(1);
  auto* group = hef.add_network_groups();
  auto* partial = group->add_partial_network_groups();
  partial->mutable_layout()->set_partial_clusters_layout_bitmap(7);
  *partial->mutable_network_group() =
      hdeploy::testing::hef_message(classifier_spec("net8l")).network_groups(0);
  auto info = HefReader::read_buffer(make_hef(2, hef.SerializeAsString()));
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->proto_header.arch, "HAILO8L");
  ASSERT_EQ(info->network_groups.size(), 1U);
  EXPECT_EQ(info->network_groups[0].name, "net8l");
  EXPECT_EQ(info->network_groups[0].outputs[0].name, "net8l/fc2");
}

TEST(HefReader, NmsPostProcessReplacesItsInputs) {
  pb::Hef hef = classifier();
  hef.add_extensions()->set_type_index(13);  // HAILO_NET_FLOW
  hef.mutable_extensions(0)->set_name("HAILO_NET_FLOW");
  pb::NetworkGroup* group = hef.mutable_network_groups(0);
  group->mutable_network_group_metadata()->set_network_group_name("net");
  // Net-flow files keep the core op as an op of the group.
  auto* core = group->add_ops();
  core->set_name("core");
  auto* core_op = core->mutable_core_op();
  *core_op->mutable_network_group_metadata() = group->network_group_metadata();
  *core_op->mutable_contexts() = group->contexts();
  group->clear_contexts();
  // fc1 feeds the NMS op through pad 5 → 6.
  auto* fc1 = core_op->mutable_contexts(0)->mutable_metadata()->mutable_edge_layers(1);
  fc1->set_pad_index(5);
  auto* edge = group->add_pad_edges();
  edge->set_src(5);
  edge->set_dst(6);
  auto* nms = group->add_ops();
  nms->set_name("nms");
  nms->add_input_pads()->set_index(6);
  nms->add_output_pads()->set_name("net/nms_out");
  nms->mutable_nms_op()->set_nms_score_th(0.25);
  nms->mutable_nms_op()->set_nms_iou_th(0.45);
  nms->mutable_nms_op()->set_classes(80);
  nms->mutable_nms_op()->set_max_proposals_per_class(100);
  nms->mutable_nms_op()->set_yolov8_nms_op("");
  group->clear_sorted_outputs_order();
  group->add_sorted_outputs_order("net/nms_out");
  group->add_sorted_outputs_order("net/fc2");

  auto info = HefReader::read_buffer(make_hef(2, hef.SerializeAsString()));
  ASSERT_TRUE(info) << info.error().message;
  const auto& g = info->network_groups[0];
  ASSERT_EQ(g.outputs.size(), 2U);
  EXPECT_EQ(g.outputs[0].name, "net/nms_out");
  EXPECT_EQ(g.outputs[0].type, "FLOAT32");
  EXPECT_EQ(g.outputs[0].order, "HAILO NMS BY CLASS");
  ASSERT_TRUE(g.outputs[0].nms.has_value());
  EXPECT_EQ(g.outputs[0].nms->number_of_classes, 80U);
  EXPECT_EQ(g.outputs[0].nms->max_bboxes_per_class, 100U);
  EXPECT_EQ(g.outputs[0].frame_size, 80U * (1 + 5 * 100) * 4);
  EXPECT_FLOAT_EQ(g.outputs[0].qp_zp, 0.0F);
  EXPECT_FLOAT_EQ(g.outputs[0].qp_scale, 1.0F);
  EXPECT_EQ(g.outputs[1].name, "net/fc2");
  ASSERT_EQ(g.ops.size(), 1U);
  EXPECT_EQ(g.ops[0].type, "YOLOV8");
  EXPECT_DOUBLE_EQ(g.ops[0].score_threshold, 0.25);
  EXPECT_EQ(g.ops[0].input_streams, std::vector<std::string>{"net/fc1"});
  EXPECT_NE(info->description.find("                Score threshold: 0.250\n"), std::string::npos)
      << info->description;
}

// ---------------------------------------------------------------------------------------------
// Corruption: each gives its own error.

namespace {
std::string read_error(const Bytes& file) {
  auto info = HefReader::read_buffer(file);
  EXPECT_FALSE(info);
  return info ? std::string() : info.error().message;
}
ErrorCode read_code(const Bytes& file) {
  auto info = HefReader::read_buffer(file);
  return info ? ErrorCode::kInternal : info.error().code;
}
}  // namespace

TEST(HefReaderCorrupt, TooShortAndWrongMagic) {
  EXPECT_NE(read_error({}).find("shorter than the 12-byte header"), std::string::npos);
  Bytes file = classifier_file(2);
  file[1] = 'X';
  EXPECT_NE(read_error(file).find("not a HEF file: magic is 0x01584546"), std::string::npos);
  EXPECT_EQ(read_code(file), ErrorCode::kInvalidFormat);
}

TEST(HefReaderCorrupt, UnknownHeaderVersion) {
  Bytes file = classifier_file(2);
  file[7] = 9;
  EXPECT_EQ(read_code(file), ErrorCode::kUnsupported);
  EXPECT_NE(read_error(file).find("header version 9 is unknown"), std::string::npos);
}

TEST(HefReaderCorrupt, HeaderCutShort) {
  Bytes file = classifier_file(2);
  file.resize(30);
  EXPECT_NE(read_error(file).find("a version 2 header is 44 bytes, the file has 30"),
            std::string::npos);
}

TEST(HefReaderCorrupt, SizeFieldsThatLie) {
  // Proto size larger than the file: reported as missing bytes.
  Bytes file = classifier_file(2);
  file[11] = static_cast<std::uint8_t>(file[11] + 16);
  EXPECT_NE(read_error(file).find("(16 bytes missing;"), std::string::npos) << read_error(file);
  auto report = HefReader::inspect_buffer(file);
  ASSERT_TRUE(report.header.has_value());
  EXPECT_EQ(report.header->missing_bytes(), 16U);
  ASSERT_TRUE(report.proto_header.has_value());  // the metadata header is still readable
  EXPECT_EQ(report.proto_header->arch, "HAILO8");

  // Proto size smaller: bytes the header does not account for.
  file = classifier_file(2);
  file[11] = static_cast<std::uint8_t>(file[11] - 3);
  EXPECT_NE(read_error(file).find("3 bytes more than the header accounts for"), std::string::npos);

  // A ccws size near 2^64 must not wrap around or allocate.
  file = classifier_file(2);
  for (int i = 20; i < 28; ++i) file[i] = 0xFF;
  EXPECT_NE(read_error(file).find("impossible"), std::string::npos) << read_error(file);

  // v3: padding larger than the configuration it pads.
  file = classifier_file(3);
  file[31] = 0xFF;
  EXPECT_NE(read_error(file).find("padding"), std::string::npos) << read_error(file);
}

TEST(HefReaderCorrupt, FlippedBytesFailTheChecksum) {
  for (std::uint32_t version = 0; version <= 3; ++version) {
    SCOPED_TRACE(version);
    const Bytes good = classifier_file(version);
    const std::size_t h = header_size(version);
    const std::vector<std::pair<const char*, std::size_t>> places = {
        {"checksum field", version == 0 ? 20 : 12}, {"proto", h + 5}, {"payload", good.size() - 1}};
    for (const auto& [what, offset] : places) {
      SCOPED_TRACE(what);
      Bytes file = good;
      file[offset] ^= 0x20;
      const std::string error = read_error(file);
      EXPECT_NE(error.find("checksum mismatch"), std::string::npos) << error;
      EXPECT_EQ(read_code(file), ErrorCode::kInvalidFormat);
    }
  }
}

TEST(HefReaderCorrupt, MetadataThatDoesNotDecode) {
  // Valid checksum over garbage: a protobuf error.
  EXPECT_NE(read_error(make_hef(2, std::string("\xff\xff\xff\xff\xff", 5)))
                .find("does not decode as protobuf"),
            std::string::npos);
  // Valid protobuf without network groups.
  pb::Hef empty;
  empty.mutable_header()->set_hw_arch(1);
  EXPECT_NE(read_error(make_hef(2, empty.SerializeAsString())).find("no network groups"),
            std::string::npos);
  // A layer with an impossible data type.
  pb::Hef hef = classifier();
  hef.mutable_network_groups(0)
      ->mutable_contexts(0)
      ->mutable_metadata()
      ->mutable_edge_layers(0)
      ->mutable_layer_info()
      ->mutable_edge_layer_base()
      ->set_data_bytes(7);
  EXPECT_NE(read_error(make_hef(2, hef.SerializeAsString())).find("7 data bytes"),
            std::string::npos);
  // An unknown format code.
  hef = classifier();
  hef.mutable_network_groups(0)
      ->mutable_contexts(0)
      ->mutable_metadata()
      ->mutable_edge_layers(1)
      ->mutable_layer_info()
      ->mutable_edge_layer_base()
      ->set_format(99);
  EXPECT_NE(read_error(make_hef(2, hef.SerializeAsString())).find("unknown format code 99"),
            std::string::npos);
}

// The same on a real compiled file.
TEST(HefReaderCorrupt, RealFileFlips) {
  const fs::path path = fs::path(HDEPLOY_SHARED_DIR) / "hef" / "dbd_autoSkillCheck_model.hef";
  if (!fs::exists(path)) GTEST_SKIP() << path << " missing";
  auto bytes = hdeploy::read_file(path);
  ASSERT_TRUE(bytes);
  const Bytes good = *bytes;
  ASSERT_TRUE(HefReader::read_buffer(good));
  for (std::size_t offset :
       {std::size_t{14}, std::size_t{44 + 1000}, good.size() / 2, good.size() - 1}) {
    SCOPED_TRACE(offset);
    Bytes file = good;
    file[offset] ^= 0x01;
    EXPECT_NE(read_error(file).find("XXH3-64 checksum mismatch"), std::string::npos);
  }
  Bytes file = good;
  file[0] = 0x02;
  EXPECT_NE(read_error(file).find("not a HEF file"), std::string::npos);
  file = good;
  file.resize(good.size() - 100);
  EXPECT_NE(read_error(file).find("(100 bytes missing;"), std::string::npos);
}

TEST(HefReader, FileErrors) {
  auto missing = HefReader::read_file("/nonexistent/model.hef");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto directory = HefReader::read_file(fs::temp_directory_path());
  ASSERT_FALSE(directory);
  EXPECT_EQ(directory.error().code, ErrorCode::kInvalidFormat);
}

// The tests' HEF writer: every named file reads back as its description in hef_writer.hpp says.
TEST(TestHefWriter, NamedFilesReadAsDescribed) {
  using hdeploy::testing::named_test_hef;
  auto h8 = HefReader::read_buffer(named_test_hef("hailo8-classifier"));
  ASSERT_TRUE(h8) << h8.error().message;
  EXPECT_EQ(h8->proto_header.arch, "HAILO8");
  EXPECT_EQ(h8->proto_header.compiler_version, "3.32.0");
  EXPECT_EQ(h8->header.version, 2U);
  ASSERT_EQ(h8->network_groups.size(), 1U);
  EXPECT_EQ(h8->network_groups[0].name, "skillcheck_mobilenet_v2_224");
  EXPECT_EQ(h8->network_groups[0].inputs[0].frame_size, 224U * 224 * 3);
  EXPECT_EQ(h8->network_groups[0].outputs[0].features, 11U);

  auto h8l = HefReader::read_buffer(named_test_hef("hailo8l-classifier"));
  ASSERT_TRUE(h8l);
  EXPECT_EQ(h8l->proto_header.arch, "HAILO8L");
  auto v3 = HefReader::read_buffer(named_test_hef("header-v3"));
  ASSERT_TRUE(v3);
  EXPECT_EQ(v3->header.version, 3U);
  auto h15 = HefReader::read_buffer(named_test_hef("hailo15h"));
  ASSERT_TRUE(h15);
  EXPECT_EQ(h15->proto_header.arch, "HAILO15H");

  auto mnist = HefReader::read_buffer(named_test_hef("mnist"));
  ASSERT_TRUE(mnist) << mnist.error().message;
  EXPECT_EQ(mnist->header.version, 0U);
  EXPECT_EQ(mnist->header.checksum_kind, hdeploy::hef::ChecksumKind::kMd5);
  EXPECT_NE(mnist->description.find("Input  MNIST_CNN/input_layer1 UINT8, NHCW(32x32x1)"),
            std::string::npos)
      << mnist->description;
  EXPECT_NE(mnist->description.find("Output MNIST_CNN/maxpool3 UINT8, FCR(4x4x16)"),
            std::string::npos);

  const auto truncated = named_test_hef("truncated");
  EXPECT_NE(read_error(truncated).find("(4096 bytes missing;"), std::string::npos);
  EXPECT_THROW(named_test_hef("nope"), std::invalid_argument);
  EXPECT_EQ(hdeploy::testing::named_test_hefs().size(), 7U);
  auto v1 = HefReader::read_buffer(named_test_hef("header-v1"));
  ASSERT_TRUE(v1);
  EXPECT_EQ(v1->header.checksum_kind, hdeploy::hef::ChecksumKind::kCrc32);
}

TEST(TestHefWriter, WritesFilesAndRefusesUnwritablePaths) {
  hdeploy::testing::TempDir dir;
  const fs::path path = dir.path() / "mnist.hef";
  const auto bytes = hdeploy::testing::named_test_hef("mnist");
  hdeploy::testing::write_hef(path, bytes);
  auto back = hdeploy::read_file(path);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, bytes);
  EXPECT_THROW(hdeploy::testing::write_hef("/nonexistent/dir/x.hef", bytes), std::runtime_error);
  EXPECT_THROW(hdeploy::testing::hef_header_size(4), std::invalid_argument);
}

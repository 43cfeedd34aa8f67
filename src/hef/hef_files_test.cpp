// The reader against real HEF files in ../shared/hef: every expected/NAME.json (what HailoRT
// 4.20.0 reports) matches field for field and the parse-hef text byte for byte; every file in the
// folder reads without a crash and with a truthful result.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "hdeploy/hef/compatibility.hpp"
#include "hdeploy/hef/hef_reader.hpp"

namespace fs = std::filesystem;
using hdeploy::hef::HefReader;
using hdeploy::hef::HefReport;

namespace {

const fs::path kHefDir = fs::path(HDEPLOY_SHARED_DIR) / "hef";

std::vector<fs::path> hef_files() {
  std::vector<fs::path> out;
  if (!fs::is_directory(kHefDir)) return out;
  for (const auto& entry : fs::directory_iterator(kHefDir)) {
    if (entry.path().extension() == ".hef") out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<fs::path> expected_files() {
  std::vector<fs::path> out;
  if (!fs::is_directory(kHefDir / "expected")) return out;
  for (const auto& entry : fs::directory_iterator(kHefDir / "expected")) {
    if (entry.path().extension() == ".json") out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void expect_vstream(const nlohmann::json& want, const hdeploy::hef::VStreamInfo& got) {
  SCOPED_TRACE(got.name);
  EXPECT_EQ(want.at("name").get<std::string>(), got.name);
  EXPECT_EQ(want.at("network").get<std::string>(), got.network_name);
  EXPECT_EQ(want.at("type").get<std::string>(), got.type);
  EXPECT_EQ(want.at("order").get<std::string>(), got.order);
  if (want.contains("shape")) {
    const auto shape = want.at("shape").get<std::vector<std::uint32_t>>();
    ASSERT_EQ(shape.size(), 3U);
    EXPECT_EQ(shape[0], got.height);
    EXPECT_EQ(shape[1], got.width);
    EXPECT_EQ(shape[2], got.features);
  }
  EXPECT_EQ(want.at("frame_size").get<std::uint32_t>(), got.frame_size);
  // The expected values are HailoRT's float32 printed to 9-10 significant digits.
  EXPECT_NEAR(want.at("qp_zp").get<double>(), got.qp_zp, 1e-6);
  EXPECT_NEAR(want.at("qp_scale").get<double>(), got.qp_scale,
              std::abs(want.at("qp_scale").get<double>()) * 1e-7);
}

}  // namespace

TEST(HefFiles, MatchWhatHailoRtReports) {
  const auto files = expected_files();
  if (files.empty()) GTEST_SKIP() << "no " << (kHefDir / "expected") << " here";
  for (const auto& json_path : files) {
    SCOPED_TRACE(json_path.filename().string());
    std::ifstream in(json_path);
    const auto want = nlohmann::json::parse(in);
    const fs::path hef_path = kHefDir / want.at("file").get<std::string>();
    const HefReport report = HefReader::inspect_file(hef_path);
    const int status = want.at("status").get<int>();
    if (status != 0) {
      // HailoRT refused the file (26: HAILO_INVALID_HEF); so must we, with a reason.
      ASSERT_TRUE(report.error.has_value());
      EXPECT_FALSE(report.info.has_value());
      EXPECT_FALSE(report.error->message.empty());
      continue;
    }
    ASSERT_FALSE(report.error.has_value()) << report.error->message;
    const auto& info = *report.info;
    EXPECT_TRUE(info.header.checksum_ok);
    EXPECT_EQ(want.at("arch").get<std::string>(), info.proto_header.arch);
    const auto& groups = want.at("network_groups");
    ASSERT_EQ(groups.size(), info.network_groups.size());
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const auto& wg = groups[g];
      const auto& ig = info.network_groups[g];
      EXPECT_EQ(wg.at("name").get<std::string>(), ig.name);
      EXPECT_EQ(wg.at("multi_context").get<bool>(), ig.multi_context);
      EXPECT_NEAR(wg.at("bottleneck_fps").get<double>(), ig.bottleneck_fps,
                  wg.at("bottleneck_fps").get<double>() * 1e-9);
      ASSERT_EQ(wg.at("inputs").size(), ig.inputs.size());
      for (std::size_t i = 0; i < ig.inputs.size(); ++i)
        expect_vstream(wg.at("inputs")[i], ig.inputs[i]);
      ASSERT_EQ(wg.at("outputs").size(), ig.outputs.size());
      for (std::size_t i = 0; i < ig.outputs.size(); ++i) {
        expect_vstream(wg.at("outputs")[i], ig.outputs[i]);
      }
    }
    EXPECT_EQ(want.at("description").get<std::string>(), info.description);
  }
}

// Every file in the folder: no crash, and a result that says what the file is.
TEST(HefFiles, EveryFileReadsTruthfully) {
  const auto files = hef_files();
  if (files.empty()) GTEST_SKIP() << "no " << kHefDir << " here";
  for (const auto& path : files) {
    SCOPED_TRACE(path.filename().string());
    const HefReport report = HefReader::inspect_file(path);
    ASSERT_TRUE(report.header.has_value()) << (report.error ? report.error->message : "");
    const auto& h = *report.header;
    EXPECT_EQ(h.actual_file_size, fs::file_size(path));
    if (h.missing_bytes() > 0) {
      // Truncated: the header and (usually) the arch are known; the read fails saying how much
      // is missing.
      ASSERT_TRUE(report.error.has_value());
      EXPECT_NE(report.error->message.find(std::to_string(h.missing_bytes()) + " bytes missing"),
                std::string::npos)
          << report.error->message;
      EXPECT_FALSE(report.info.has_value());
      continue;
    }
    ASSERT_FALSE(report.error.has_value()) << report.error->message;
    ASSERT_TRUE(report.info.has_value());
    EXPECT_TRUE(report.info->header.checksum_ok);
    EXPECT_FALSE(report.info->network_groups.empty());
    for (const auto& g : report.info->network_groups) {
      EXPECT_FALSE(g.inputs.empty());
      EXPECT_FALSE(g.outputs.empty());
      EXPECT_GT(g.bottleneck_fps, 0.0);
    }
    EXPECT_EQ(report.info->description.rfind("Architecture HEF was compiled for: ", 0), 0U);
  }
}

// The two truncated Hailo-8L files (README facts): header fields, arch from the proto header,
// and how many bytes are missing.
TEST(HefFiles, TruncatedFilesReportWhatIsKnown) {
  struct Case {
    const char* file;
    std::uint32_t version;
    std::uint32_t proto_size;
  };
  for (const Case& c :
       {Case{"darrr05_New1.hef", 2, 3320294}, Case{"darrr05_yolov8n2try.hef", 0, 10695542}}) {
    const fs::path path = kHefDir / c.file;
    if (!fs::exists(path)) GTEST_SKIP() << path << " missing";
    SCOPED_TRACE(c.file);
    const HefReport report = HefReader::inspect_file(path);
    ASSERT_TRUE(report.header.has_value());
    EXPECT_EQ(report.header->version, c.version);
    EXPECT_EQ(report.header->proto_size, c.proto_size);
    EXPECT_GT(report.header->missing_bytes(), 0U);
    ASSERT_TRUE(report.proto_header.has_value());
    EXPECT_EQ(report.proto_header->arch, "HAILO8L");
    ASSERT_TRUE(report.error.has_value());
    EXPECT_EQ(report.error->code, hdeploy::ErrorCode::kInvalidFormat);
    EXPECT_NE(report.error->message.find("truncated"), std::string::npos);
    EXPECT_FALSE(HefReader::read_file(path).has_value());
  }
}

// Header v3 (Hailo-10H/15H, compiler 5.x): fully readable here, refused by HailoRT 4.20 with a
// verdict that says which runtime it needs. Output order is the README's published one.
TEST(HefFiles, HeaderV3Scrfd) {
  const fs::path path = kHefDir / "edge-privacy-camera_scrfd_2.5g.hef";
  if (!fs::exists(path)) GTEST_SKIP() << path << " missing";
  const HefReport report = HefReader::inspect_file(path);
  ASSERT_FALSE(report.error.has_value()) << report.error->message;
  const auto& info = *report.info;
  EXPECT_EQ(info.header.version, 3U);
  EXPECT_TRUE(info.header.checksum_ok);
  EXPECT_EQ(info.proto_header.hw_arch_value, 103U);
  ASSERT_EQ(info.network_groups.size(), 1U);
  const auto& g = info.network_groups[0];
  EXPECT_EQ(g.name, "scrfd_2_5g");
  ASSERT_EQ(g.inputs.size(), 1U);
  EXPECT_EQ(g.inputs[0].name, "scrfd_2_5g/input_layer1");
  EXPECT_EQ(g.inputs[0].type, "UINT8");
  EXPECT_EQ(g.inputs[0].order, "NHWC");
  EXPECT_EQ(g.inputs[0].height, 640U);
  const std::vector<std::pair<std::string, std::uint32_t>> want = {
      {"conv43", 8},  {"conv42", 2}, {"conv44", 20}, {"conv50", 8}, {"conv49", 2},
      {"conv51", 20}, {"conv56", 8}, {"conv55", 2},  {"conv57", 20}};
  ASSERT_EQ(g.outputs.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(g.outputs[i].name, "scrfd_2_5g/" + want[i].first);
    EXPECT_EQ(g.outputs[i].features, want[i].second);
  }
  const auto verdict = hdeploy::hef::check_compatibility(report, {4, 20, 0}, "hailo8l");
  EXPECT_FALSE(verdict.ok);
  bool mentions_v3 = false;
  for (const auto& r : verdict.reasons) {
    mentions_v3 =
        mentions_v3 || r.find("header version 3 needs HailoRT ≥ 4.21 (this target has 4.20.0)") !=
                           std::string::npos;
  }
  EXPECT_TRUE(mentions_v3);
}

#include "hdeploy/core/model_spec.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace hdeploy {
namespace {

const std::filesystem::path kModels = std::filesystem::path(HDEPLOY_SOURCE_DIR) / "models";

TEST(ModelSpec, ShippedSpecsLoad) {
  for (const char* name : {"resnet18", "mobilenet_v2"}) {
    auto path = resolve_model_spec(name, kModels);
    ASSERT_TRUE(path) << path.error().message;
    auto spec = load_model_spec(*path);
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(spec->name, name);
    EXPECT_EQ(spec->torchvision, name);
    EXPECT_EQ(spec->num_classes, 1000);
    EXPECT_EQ(spec->input_height, 224);
    EXPECT_EQ(spec->preprocess.resize_mode, ResizeMode::kShorterSide);
    EXPECT_EQ(spec->preprocess.resize, 256);
    EXPECT_EQ(spec->preprocess.crop_height, 224);
    EXPECT_FLOAT_EQ(spec->preprocess.mean[0], 0.485F);
    EXPECT_FLOAT_EQ(spec->preprocess.std[2], 0.225F);
    EXPECT_EQ(spec->hailo.hw_arch, "hailo8l");
    EXPECT_EQ(spec->hailo.end_node, "auto");
    EXPECT_EQ(spec->labels, "torchvision:imagenet");
  }
}

TEST(ModelSpec, UserSpecWithDefaults) {
  auto spec = parse_model_spec(
      "[model]\nname = \"mine\"\nnum_classes = 10\n[input]\nsize = 160\n"
      "[preprocess]\nresize = 182\n",
      "mine.toml");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->num_classes, 10);
  EXPECT_EQ(spec->input_height, 160);
  EXPECT_EQ(spec->input_width, 160);
  EXPECT_EQ(spec->preprocess.crop_width, 160);
  EXPECT_EQ(spec->preprocess.resize, 182);
  EXPECT_TRUE(spec->preprocess.exif_orientation);
}

TEST(ModelSpec, ExactResize) {
  auto spec = parse_model_spec(
      "[model]\nname='m'\n[preprocess]\nresize_mode='exact'\nresize=[240, 320]\n", "m.toml");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->preprocess.resize_mode, ResizeMode::kExact);
  EXPECT_EQ(spec->preprocess.resize_height, 240);
  EXPECT_EQ(spec->preprocess.resize_width, 320);
}

struct BadSpec {
  const char* text;
  ErrorCode code;
  const char* mentions;
};

TEST(ModelSpec, RejectsBadSpecsNamingTheKey) {
  const BadSpec cases[] = {
      {"[model\nname='x'", ErrorCode::kInvalidFormat, "bad.toml:"},
      {"[input]\nsize=224\n", ErrorCode::kInvalidArgument, "model.name"},
      {"[model]\nname='x'\nnum_classes='many'\n", ErrorCode::kInvalidArgument, "model.num_classes"},
      {"[model]\nname='x'\n[preprocess]\nmean=[1,2]\n", ErrorCode::kInvalidArgument,
       "preprocess.mean"},
      {"[model]\nname='x'\n[preprocess]\nstd=[1,0,1]\n", ErrorCode::kInvalidArgument,
       "preprocess.std"},
      {"[model]\nname='x'\n[preprocess]\ninterpolation='nearest'\n", ErrorCode::kInvalidArgument,
       "interpolation"},
      {"[model]\nname='x'\n[preprocess]\nresize_mode='fit'\n", ErrorCode::kInvalidArgument,
       "resize_mode"},
      {"[model]\nname='x'\n[preprocess]\ncenter_crop=200\n", ErrorCode::kInvalidArgument,
       "center_crop"},
      {"[model]\nname='x'\n[hailo]\nhw_arch='hailo9'\n", ErrorCode::kInvalidArgument,
       "hailo.hw_arch"},
      {"[model]\nname='x'\n[input]\nsize=4\n", ErrorCode::kInvalidArgument, "input.size"},
      {"[model]\nname='x'\n[hailo]\nmodel_script='one line'\n", ErrorCode::kInvalidArgument,
       "hailo.model_script"},
      {"[model]\nname='x'\n[hailo]\nmodel_script=[1]\n", ErrorCode::kInvalidArgument,
       "hailo.model_script"},
      {"[model]\nname='x'\n[hailo]\nmodel_script=[\"a\\nb\"]\n", ErrorCode::kInvalidArgument,
       "hailo.model_script"},
      {"[model]\nname='x'\n[hailo]\nmodel_script=[\" \"]\n", ErrorCode::kInvalidArgument,
       "hailo.model_script"},
  };
  for (const auto& c : cases) {
    auto spec = parse_model_spec(c.text, "bad.toml");
    ASSERT_FALSE(spec) << c.text;
    EXPECT_EQ(spec.error().code, c.code) << c.text;
    EXPECT_NE(spec.error().message.find(c.mentions), std::string::npos)
        << c.text << " → " << spec.error().message;
    EXPECT_NE(spec.error().message.find("bad.toml"), std::string::npos);
  }
}

TEST(ModelSpec, HailoModelScriptLinesKeptInOrder) {
  auto spec = parse_model_spec(
      "[model]\nname='x'\n[hailo]\nmodel_script=['performance_param(fps=100)', "
      "'resources_param(max_control_utilization=0.6)']\n",
      "extra.toml");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->hailo.model_script,
            (std::vector<std::string>{"performance_param(fps=100)",
                                      "resources_param(max_control_utilization=0.6)"}));
  auto plain = parse_model_spec("[model]\nname='x'\n", "plain.toml");
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->hailo.model_script.empty());
}

TEST(ModelSpec, ResolveUnknownNameListsShipped) {
  auto r = resolve_model_spec("resnet999", kModels);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("resnet18"), std::string::npos);
  EXPECT_NE(r.error().message.find("mobilenet_v2"), std::string::npos);
  auto missing = resolve_model_spec("/nonexistent/spec.toml", kModels);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(load_model_spec("/nonexistent.toml").error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace hdeploy

namespace hdeploy {
namespace {

TEST(ResizeModeName, SpellsWhatTheSpecFileSays) {
  EXPECT_STREQ(to_string(ResizeMode::kShorterSide), "shorter_side");
  EXPECT_STREQ(to_string(ResizeMode::kExact), "exact");
  EXPECT_STREQ(to_string(ResizeMode::kNone), "none");
  // Each name reads back as its mode.
  for (ResizeMode mode : {ResizeMode::kShorterSide, ResizeMode::kExact, ResizeMode::kNone}) {
    std::string toml = std::string("[model]\nname = \"m\"\n[preprocess]\nresize_mode = \"") +
                       to_string(mode) + "\"\n";
    if (mode == ResizeMode::kExact) toml += "resize = [256, 256]\n";
    auto spec = parse_model_spec(toml, "m.toml");
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(spec->preprocess.resize_mode, mode);
  }
}

}  // namespace
}  // namespace hdeploy

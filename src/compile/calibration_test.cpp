#include "hdeploy/compile/calibration.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "hdeploy/core/npy.hpp"
#include "hdeploy/core/process.hpp"
#include "hdeploy/core/sha256.hpp"
#include "hdeploy/preprocess/image_files.hpp"
#include "testing/test_images.hpp"

namespace hdeploy::compile {

using preprocess::DecodeOptions;
using preprocess::list_image_files;
using preprocess::Preprocessor;

namespace {
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

// An 8-bit RGB PNG (libpng, through the preprocess tests' encoder).
std::vector<std::uint8_t> encode_png_rgb(int width, int height, unsigned seed) {
  std::vector<std::vector<std::uint8_t>> rows;
  for (int y = 0; y < height; ++y) {
    std::vector<std::uint8_t>& row = rows.emplace_back();
    for (int x = 0; x < width; ++x) {
      row.push_back(static_cast<std::uint8_t>((x * 7 + y * 3 + seed * 40) & 0xff));
      row.push_back(static_cast<std::uint8_t>((x * y + seed * 13) & 0xff));
      row.push_back(static_cast<std::uint8_t>((255 - x + y * 5 + seed) & 0xff));
    }
  }
  return hdeploy::testing::encode_png(width, height, 8, /*color_type=RGB*/ 2, rows);
}

class CalibrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hdeploy_calibration_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    images_ = dir_ / "images";
    fs::create_directories(images_);
    spec_.name = "test";
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const fs::path& path, const Bytes& bytes) {
    fs::create_directories(path.parent_path());
    ASSERT_TRUE(write_file_atomic(path, bytes, Overwrite::kAllow));
  }
  // Five readable images of different sizes, one corrupt PNG and a text file.
  void make_folder() {
    const std::array<std::pair<int, int>, 5> sizes = {
        {{300, 240}, {240, 300}, {256, 256}, {500, 230}, {224, 224}}};
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      write(images_ / fmt::format("img{}.png", i),
            encode_png_rgb(sizes[i].first, sizes[i].second, static_cast<unsigned>(i)));
    }
    write(images_ / "broken.png", Bytes{0x89, 'P', 'N', 'G', 1, 2, 3});
    write(images_ / "notes.txt", Bytes{'h', 'i'});
  }
  std::vector<std::string> files_in(const fs::path& dir) const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
  fs::path images_;
  ModelSpec spec_;
};

TEST(CalibrationOrder, UniformBelowIsInRangeAndUnbiased) {
  std::mt19937_64 rng(1);
  EXPECT_EQ(uniform_below(rng, 1), 0U);
  std::array<int, 3> counts{};
  for (int i = 0; i < 30000; ++i) ++counts[uniform_below(rng, 3)];
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);
  // Near 2^63 half of all draws are rejected: a modulo would put 2/3 of the results in the
  // lower half of the range.
  const std::uint64_t bound = (std::uint64_t{1} << 63) + (std::uint64_t{1} << 62);
  int low = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::uint64_t v = uniform_below(rng, bound);
    ASSERT_LT(v, bound);
    low += v < bound / 2 ? 1 : 0;
  }
  EXPECT_NEAR(low, 1500, 150);
}

TEST(CalibrationOrder, SeededShuffleIsAPortablePermutation) {
  // The engine is fully specified by the standard (10000th output of the default seed), so the
  // order below is the same with every standard library.
  std::mt19937_64 reference;
  reference.discard(9999);
  EXPECT_EQ(reference(), 9981545732273789042ULL);

  std::vector<fs::path> items;
  items.reserve(10);
  for (int i = 0; i < 10; ++i) items.emplace_back(std::to_string(i));
  auto a = items;
  auto b = items;
  auto c = items;
  seeded_shuffle(a, 0);
  seeded_shuffle(b, 0);
  seeded_shuffle(c, 1);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, items);
  std::string order;
  for (const auto& p : a) order += p.string();
  EXPECT_EQ(order, "7208396154");  // also computed independently by tests/test_calib.py

  std::vector<fs::path> none;
  seeded_shuffle(none, 3);
  EXPECT_TRUE(none.empty());
}

TEST_F(CalibrationTest, WritesRowsInSeededOrderWithTheInferPreprocessing) {
  make_folder();
  const Preprocessor preprocessor(spec_, DecodeOptions{});
  const fs::path npy = dir_ / "out" / "calib.npy";
  CalibrationOptions options;
  options.count = 100;
  options.seed = 7;
  options.threads = 3;
  std::vector<std::pair<std::size_t, std::size_t>> progress;
  options.on_progress = [&](std::size_t done, std::size_t total) {
    progress.emplace_back(done, total);
  };
  auto set = make_calibration_set(images_, preprocessor, npy, options);
  ASSERT_TRUE(set) << set.error().message;

  EXPECT_EQ(set->candidates, 6U);
  EXPECT_EQ(set->count_requested, 100U);
  ASSERT_EQ(set->used.size(), 5U);
  ASSERT_EQ(set->skipped.size(), 1U);
  EXPECT_EQ(set->skipped[0].path.filename(), "broken.png");
  EXPECT_FALSE(set->skipped[0].reason.empty());
  EXPECT_EQ(set->shape, (std::vector<std::int64_t>{5, 224, 224, 3}));
  EXPECT_EQ(progress.size(), 6U);
  EXPECT_EQ(progress.back(), (std::pair<std::size_t, std::size_t>{5, 6}));

  // Rows follow the seeded order of all candidates, the corrupt one left out.
  auto order = *list_image_files(images_, /*recursive=*/true);
  seeded_shuffle(order, 7);
  std::erase_if(order, [](const fs::path& p) { return p.filename() == "broken.png"; });
  auto npy_array = read_npy(npy);
  ASSERT_TRUE(npy_array) << npy_array.error().message;
  EXPECT_EQ(npy_array->dtype, DType::kFloat32);
  EXPECT_EQ(npy_array->shape, set->shape);
  const std::size_t row = std::size_t{224} * 224 * 3;
  for (std::size_t i = 0; i < set->used.size(); ++i) {
    const CalibrationImage& image = set->used[i];
    EXPECT_EQ(image.path, order[i]);
    EXPECT_EQ(image.sha256, *sha256_file_hex(image.path));
    auto prepared = preprocessor.prepare(image.path);
    ASSERT_TRUE(prepared);
    std::vector<std::uint8_t> expected(row);
    preprocessor.to_hailo_input(*prepared, expected);
    for (std::size_t k = 0; k < row; ++k) {
      ASSERT_EQ(npy_array->as_float()[i * row + k], static_cast<float>(expected[k]))
          << image.path << " element " << k;
    }
  }
  EXPECT_EQ(set->used[0].width > 0 && set->used[0].height > 0, true);
  EXPECT_EQ(set->npy_sha256, *sha256_file_hex(npy));

  ASSERT_EQ(set->warnings.size(), 2U);
  EXPECT_NE(set->warnings[0].find("100 images requested"), std::string::npos);
  EXPECT_NE(set->warnings[1].find("1024"), std::string::npos);

  // The manifest beside it says the same.
  EXPECT_EQ(set->manifest_path, dir_ / "out" / "calib.manifest.json");
  auto text = read_text_file(set->manifest_path);
  ASSERT_TRUE(text);
  const auto manifest = nlohmann::json::parse(*text);
  EXPECT_EQ(manifest, set->to_json());
  EXPECT_EQ(manifest["format"], "hdeploy-calibration");
  EXPECT_EQ(manifest["version"], 1);
  EXPECT_EQ(manifest["layout"], "NHWC");
  EXPECT_EQ(manifest["dtype"], "float32");
  EXPECT_EQ(manifest["count_used"], 5);
  EXPECT_EQ(manifest["npy"]["sha256"], set->npy_sha256);
  EXPECT_EQ(manifest["images"][0]["path"], order[0].filename().string());
  EXPECT_EQ(manifest["images"][0]["sha256"], set->used[0].sha256);
  EXPECT_EQ(manifest["skipped"][0]["path"], "broken.png");
  EXPECT_EQ(manifest["model"]["name"], "test");
  EXPECT_EQ(files_in(dir_ / "out"), (std::vector<std::string>{"calib.manifest.json", "calib.npy"}));
}

TEST_F(CalibrationTest, ThreadCountDoesNotChangeTheOutputAndCountLimitsIt) {
  make_folder();
  const Preprocessor preprocessor(spec_, DecodeOptions{});
  std::map<unsigned, std::string> digests;
  for (unsigned threads : {1U, 2U, 5U}) {
    CalibrationOptions options;
    options.count = 3;
    options.seed = 11;
    options.threads = threads;
    auto set = make_calibration_set(images_, preprocessor,
                                    dir_ / fmt::format("calib{}.npy", threads), options);
    ASSERT_TRUE(set) << set.error().message;
    EXPECT_EQ(set->shape, (std::vector<std::int64_t>{3, 224, 224, 3}));
    ASSERT_EQ(set->warnings.size(), 1U);  // only the under-1024 one
    digests[threads] = set->npy_sha256;
  }
  EXPECT_EQ(digests[1], digests[2]);
  EXPECT_EQ(digests[1], digests[5]);

  CalibrationOptions other;
  other.count = 3;
  other.seed = 12;
  auto reseeded = make_calibration_set(images_, preprocessor, dir_ / "other.npy", other);
  ASSERT_TRUE(reseeded);
  EXPECT_NE(reseeded->npy_sha256, digests[1]);
}

TEST_F(CalibrationTest, ErrorsLeaveNoOutput) {
  const Preprocessor preprocessor(spec_, DecodeOptions{});
  const fs::path npy = dir_ / "calib.npy";
  CalibrationOptions options;

  auto empty = make_calibration_set(images_, preprocessor, npy, options);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kFailed);
  EXPECT_NE(empty.error().message.find(images_.string()), std::string::npos);

  auto missing = make_calibration_set(dir_ / "nope", preprocessor, npy, options);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  write(images_ / "bad1.jpg", Bytes{0xff, 0xd8, 0xff, 0x00});
  write(images_ / "bad2.png", Bytes{1, 2, 3});
  auto unreadable = make_calibration_set(images_, preprocessor, npy, options);
  ASSERT_FALSE(unreadable);
  EXPECT_EQ(unreadable.error().code, ErrorCode::kFailed);
  EXPECT_NE(unreadable.error().message.find("none of the 2 images"), std::string::npos);

  options.count = 0;
  EXPECT_EQ(make_calibration_set(images_, preprocessor, npy, options).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(files_in(dir_), (std::vector<std::string>{"images"}));

  // An existing manifest is refused like an existing .npy, before any work.
  options.count = 1;
  make_folder();
  ASSERT_TRUE(write_text_file_atomic(dir_ / "calib.manifest.json", "old", Overwrite::kRefuse));
  auto exists = make_calibration_set(images_, preprocessor, npy, options);
  ASSERT_FALSE(exists);
  EXPECT_EQ(exists.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(*read_text_file(dir_ / "calib.manifest.json"), "old");
  EXPECT_FALSE(fs::exists(npy));
  options.overwrite = Overwrite::kAllow;
  ASSERT_TRUE(make_calibration_set(images_, preprocessor, npy, options));
  EXPECT_NE(*read_text_file(dir_ / "calib.manifest.json"), "old");
}

TEST_F(CalibrationTest, InterruptAbandonsTheSet) {
  make_folder();
  const Preprocessor preprocessor(spec_, DecodeOptions{});
  InterruptGuard guard;
  std::raise(SIGINT);
  ASSERT_TRUE(InterruptGuard::interrupted());
  auto set = make_calibration_set(images_, preprocessor, dir_ / "calib.npy", CalibrationOptions{});
  ASSERT_FALSE(set);
  EXPECT_EQ(set.error().code, ErrorCode::kFailed);
  EXPECT_NE(set.error().message.find("interrupted"), std::string::npos);
  EXPECT_EQ(files_in(dir_), (std::vector<std::string>{"images"}));
}

TEST(CalibrationManifestPath, SitsBesideTheNpy) {
  EXPECT_EQ(calibration_manifest_path("out/calib.npy"), fs::path("out/calib.manifest.json"));
  EXPECT_EQ(calibration_manifest_path("set.v2.npy"), fs::path("set.v2.manifest.json"));
}

}  // namespace
}  // namespace hdeploy::compile

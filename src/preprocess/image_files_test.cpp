#include "hdeploy/preprocess/image_files.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "testing/temp_dir.hpp"

namespace hdeploy::preprocess {
namespace {
namespace fs = std::filesystem;

void touch(const fs::path& path) {
  fs::create_directories(path.parent_path());
  std::ofstream(path).put('x');
}

TEST(ImageFiles, ExtensionsInAnyCase) {
  EXPECT_TRUE(has_image_extension("a.jpg"));
  EXPECT_TRUE(has_image_extension("a.JPEG"));
  EXPECT_TRUE(has_image_extension("dir/a.Png"));
  EXPECT_FALSE(has_image_extension("a.gif"));
  EXPECT_FALSE(has_image_extension("jpg"));
}

TEST(ImageFiles, ListsSortedSkipsHiddenAndOthersAndRecursesOnlyWhenAsked) {
  testing::TempDir dir;
  const fs::path d = dir.path();
  for (const char* name : {"b.png", "a.JPG", "Z.jpeg", "notes.txt", ".hidden.jpg", "class1/c.jpg",
                           ".cache/x.jpg", "class0/d.png"}) {
    touch(d / name);
  }
  fs::create_directories(d / "folder.jpg");  // a folder with an image name is not a file
  auto flat = list_image_files(d, false);
  ASSERT_TRUE(flat) << flat.error().message;
  EXPECT_EQ(*flat, (std::vector<fs::path>{d / "Z.jpeg", d / "a.JPG", d / "b.png"}));
  auto deep = list_image_files(d, true);
  ASSERT_TRUE(deep);
  EXPECT_EQ(*deep, (std::vector<fs::path>{d / "Z.jpeg", d / "a.JPG", d / "b.png",
                                          d / "class0/d.png", d / "class1/c.jpg"}));
}

TEST(ImageFiles, ErrorsNameTheFolder) {
  testing::TempDir dir;
  auto missing = list_image_files(dir.path() / "nope", false);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("nope"), std::string::npos);
  touch(dir.path() / "file.png");
  auto file = list_image_files(dir.path() / "file.png", true);
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().code, ErrorCode::kInvalidFormat);
  testing::TempDir none;
  auto nothing = list_image_files(none.path(), true);
  ASSERT_TRUE(nothing);
  EXPECT_TRUE(nothing->empty());
}

}  // namespace
}  // namespace hdeploy::preprocess

// make_test_hef DIR [NAME...]: writes the HEF files the end-to-end tests use (every name of
// named_test_hefs() when none is given) as DIR/NAME.hef. Built with the tests, not installed;
// tests/hef_files.py runs it once per test session.

#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "testing/hef_writer.hpp"

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help") {
    std::fprintf(stderr, "usage: make_test_hef DIR [NAME...]\nnames:");
    for (const auto& name : hdeploy::testing::named_test_hefs()) {
      std::fprintf(stderr, " %s", name.c_str());
    }
    std::fprintf(stderr, "\n");
    return argc < 2 ? 2 : 0;
  }
  const std::filesystem::path dir = argv[1];
  std::vector<std::string> names(argv + 2, argv + argc);
  if (names.empty()) names = hdeploy::testing::named_test_hefs();
  try {
    std::filesystem::create_directories(dir);
    for (const auto& name : names) {
      hdeploy::testing::write_hef(dir / (name + ".hef"), hdeploy::testing::named_test_hef(name));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_test_hef: error: %s\n", e.what());
    return 1;
  }
  return 0;
}

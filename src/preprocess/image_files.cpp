#include "hdeploy/preprocess/image_files.hpp"

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

namespace hdeploy::preprocess {
namespace fs = std::filesystem;

bool has_image_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

Result<std::vector<fs::path>> list_image_files(const fs::path& dir, bool recursive) {
  std::error_code ec;
  const auto status = fs::status(dir, ec);
  if (!fs::exists(status)) {
    return fail(ErrorCode::kNotFound, "{}: no such folder; give a folder of JPEG or PNG images",
                dir.string());
  }
  if (!fs::is_directory(status)) {
    return fail(ErrorCode::kInvalidFormat,
                "{}: is a file, not a folder; give a folder of JPEG or PNG images", dir.string());
  }
  std::vector<std::pair<std::string, fs::path>> found;  // (relative generic path, path)
  const auto take = [&](const fs::directory_entry& entry) {
    if (has_image_extension(entry.path()) && entry.is_regular_file(ec)) {
      found.emplace_back(entry.path().lexically_relative(dir).generic_string(), entry.path());
    }
  };
  if (recursive) {
    fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->path().filename().string().starts_with(".")) {
        if (it->is_directory(ec)) it.disable_recursion_pending();
        continue;
      }
      take(*it);
    }
  } else {
    fs::directory_iterator it(dir, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
      if (!it->path().filename().string().starts_with(".")) take(*it);
    }
  }
  if (ec) return fail(ErrorCode::kIo, "{}: cannot list: {}", dir.string(), ec.message());
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<fs::path> files;
  files.reserve(found.size());
  for (auto& entry : found) files.push_back(std::move(entry.second));
  return files;
}

}  // namespace hdeploy::preprocess

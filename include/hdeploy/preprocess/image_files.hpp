#pragma once
// The one way hdeploy finds image files in a folder (bench --images, calib, pipeline --images):
// JPEG and PNG by extension, in a byte-wise order that is the same on every machine.

#include <filesystem>
#include <vector>

#include "hdeploy/core/result.hpp"

namespace hdeploy::preprocess {

// .jpg, .jpeg or .png, in any case.
bool has_image_extension(const std::filesystem::path& path);

// The regular files with an image extension in `dir` (with `recursive`, in every folder below
// it too, ImageNet-style class folders), skipping names that start with '.'. Sorted by their
// path relative to `dir` ('/'-separated), byte by byte. An empty result is not an error: each
// caller says what to do. Errors: kNotFound (no such folder), kInvalidFormat (`dir` is a file),
// kIo (a folder cannot be listed), each naming the folder.
Result<std::vector<std::filesystem::path>> list_image_files(const std::filesystem::path& dir,
                                                            bool recursive);

}  // namespace hdeploy::preprocess

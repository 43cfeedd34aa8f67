#pragma once
// The CPU backend: OpenCV DNN running an ONNX model. The model is loaded through libonnx and
// rewritten in memory into forms OpenCV 4.6 imports (see onnx/opencv_rewrite.hpp); the file on
// disk is never touched.

#include <filesystem>
#include <memory>

#include "hdeploy/runtime/backend.hpp"

namespace hdeploy {

struct CpuBackendOptions {
  int threads = 0;  // OpenCV threads for inference; 0 = OpenCV's default (all cores)
};

// Errors: the loader's (kNotFound, kInvalidFormat), kUnsupported naming the op OpenCV cannot
// import, kUnsupported for an input that is not float32 1x3xHxW.
Result<std::unique_ptr<Backend>> create_cpu_backend(const std::filesystem::path& onnx_path,
                                                    const CpuBackendOptions& options = {});

}  // namespace hdeploy

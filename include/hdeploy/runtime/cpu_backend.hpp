#pragma once
// The CPU backend: OpenCV DNN running an ONNX model. The model is loaded through libonnx and
// rewritten in memory into forms OpenCV 4.6 imports (see onnx/opencv_rewrite.hpp); the file on
// disk is never touched.

#include <filesystem>
#include <memory>

#include "hdeploy/runtime/backend.hpp"

namespace hdeploy::runtime {

struct CpuBackendOptions {
  // OpenCV threads for inference; 0 = OpenCV's default (all cores). cv::setNumThreads is
  // process-wide: the last backend created with threads > 0 sets it for every backend.
  int threads = 0;
};

// One worker thread runs the frames in order (cv::dnn::Net is not thread-safe);
// max_in_flight() is 2. The net runs one warm-up forward here, so the first real frame's
// latency is representative. Destroying the backend cancels queued frames (their completion
// gets kFailed "backend shut down"), lets the running one finish, and joins the worker.
// Errors: kInvalidArgument (threads < 0), the loader's (kNotFound, kInvalidFormat, ...),
// kUnsupported naming the op and node OpenCV cannot import (from the op list or from OpenCV's
// own import/warm-up error), kUnsupported for an input that is not float32 1x3xHxW with
// static H, W or an output that is not float32 1xK, kUnsupported for a Clip with a non-constant
// bound.
Result<std::unique_ptr<Backend>> create_cpu_backend(const std::filesystem::path& onnx_path,
                                                    const CpuBackendOptions& options = {});

}  // namespace hdeploy::runtime

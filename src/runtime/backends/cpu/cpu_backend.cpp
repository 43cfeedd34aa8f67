#include "hdeploy/runtime/cpu_backend.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <thread>
#include <utility>

#include "hdeploy/onnx/model.hpp"
#include "hdeploy/onnx/opencv_rewrite.hpp"

namespace hdeploy::runtime {

using onnx::describe_unsupported;
using onnx::OnnxModel;
using onnx::opencv_needs_rewrite;
using onnx::OpenCvRewrite;
using onnx::rewrite_for_opencv;

namespace {

// Frames queued or running at once. One worker runs them in order (cv::dnn::Net is not
// thread-safe), so a deeper queue adds latency without throughput; 2 lets the caller prepare
// and submit the next frame while one runs.
constexpr std::size_t kMaxInFlight = 2;
constexpr const char* kName = "cpu";

std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// Drops every "OpenCV(4.6.0) file:line: error: (-2:Unspecified error) " prefix up to the last
// one, and a trailing " in function '...'..." (string searches: GCC 12 warns falsely inside
// <regex> in optimised sanitizer builds).
std::string innermost_opencv_reason(std::string reason) {
  for (;;) {
    const auto cv = reason.find("OpenCV(");
    if (cv == std::string::npos) break;
    const auto error = reason.find(": error: (", cv);
    if (error == std::string::npos) break;
    const auto close = reason.find(')', error + 10);
    if (close == std::string::npos) break;
    std::size_t rest = close + 1;
    if (rest < reason.size() && reason[rest] == ' ') ++rest;
    reason.erase(0, rest);
  }
  if (const auto in_function = reason.find(" in function '");
      in_function != std::string::npos &&
      reason.find('\'', in_function + 14) != std::string::npos) {
    reason.erase(in_function);
  }
  return reason;
}

// OpenCV's messages look like
//   OpenCV(4.6.0) .../onnx_importer.cpp:1040: error: (-2:Unspecified error) in function
//   'handleNode' > Node [NonZero@ai.onnx]:(onnx_node!nz0) parse error: OpenCV(4.6.0) ...:
//   error: (-2:Unspecified error) Can't create layer "onnx_node!nz0" of type "NonZero" in
//   function 'getLayerInstance'
// Keep the op, the node and the innermost reason.
std::string describe_opencv_error(const std::string& model_name, const std::string& what) {
  const std::string text = one_line(what);
  const auto node = text.find("Node [");
  const auto op_end = node == std::string::npos ? node : text.find(']', node + 6);
  const auto name_start = op_end == std::string::npos || text.compare(op_end, 3, "]:(") != 0
                              ? std::string::npos
                              : op_end + 3;
  const auto name_end = name_start == std::string::npos ? name_start : text.find(')', name_start);
  static constexpr std::string_view kParseError = ") parse error: ";
  if (name_end != std::string::npos &&
      text.compare(name_end, kParseError.size(), kParseError) == 0) {
    std::string op = text.substr(node + 6, op_end - node - 6);
    op = op.substr(0, op.find('@'));
    std::string name = text.substr(name_start, name_end - name_start);
    if (name.rfind("onnx_node!", 0) == 0) name = name.substr(10);
    const std::string reason = innermost_opencv_reason(text.substr(name_end + kParseError.size()));
    return fmt::format("{}: OpenCV " CV_VERSION
                       " DNN cannot import op '{}' (node '{}'): {}; the CPU backend cannot load "
                       "this model",
                       model_name, op, name, reason);
  }
  return fmt::format("{}: OpenCV " CV_VERSION " DNN cannot load this model: {}", model_name,
                     innermost_opencv_reason(text));
}

class CpuBackend final : public Backend {
 public:
  // cv::dnn::Net is a reference-counted handle: copying it shares the network.
  CpuBackend(const cv::dnn::Net& net, std::string model_name, TensorSpec input, TensorSpec output,
             std::string description)
      : net_(net),
        model_name_(std::move(model_name)),
        inputs_{std::move(input)},
        outputs_{std::move(output)},
        description_(std::move(description)),
        worker_([this] { run(); }) {}

  // Queued frames that have not started are cancelled (their completion gets kFailed "backend
  // shut down"); the one running finishes and completes normally. Every completion runs
  // exactly once, before the destructor returns.
  ~CpuBackend() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    worker_.join();
  }

  CpuBackend(const CpuBackend&) = delete;
  CpuBackend& operator=(const CpuBackend&) = delete;

  std::string name() const override { return kName; }
  std::string description() const override { return description_; }
  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }
  std::size_t max_in_flight() const override { return kMaxInFlight; }

  Status submit(const FrameBuffers& frame, Completion done) override {
    HDEPLOY_TRY(validate_frame(frame, inputs_, outputs_, kName));
    if (!done) return fail(ErrorCode::kInvalidArgument, "{}: submit needs a completion", kName);
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return fail(ErrorCode::kFailed, "{}: the backend has shut down", kName);
      if (in_flight_ >= kMaxInFlight) {
        return fail(ErrorCode::kInvalidArgument,
                    "{}: {} frames are already in flight, the most this backend takes "
                    "(max_in_flight); wait for a completion before submitting another",
                    kName, in_flight_);
      }
      queue_.push_back(Job{frame, std::move(done)});
      ++in_flight_;
    }
    wake_.notify_one();
    return {};
  }

 private:
  struct Job {
    FrameBuffers frame;
    Completion done;
  };

  void run() {
    for (;;) {
      Job job;
      std::deque<Job> cancelled;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) {
          cancelled.swap(queue_);
          in_flight_ -= cancelled.size();
        } else {
          job = std::move(queue_.front());
          queue_.pop_front();
        }
      }
      if (!job.done) {  // stopping
        for (auto& c : cancelled) {
          c.done(fail(ErrorCode::kFailed, "{}: backend shut down before the frame ran", kName));
        }
        return;
      }
      Status status = forward(job.frame);
      {
        // Released before the completion runs, so a caller woken by it may submit at once.
        std::lock_guard lock(mutex_);
        --in_flight_;
      }
      job.done(std::move(status));
    }
  }

  // Worker thread only: net_ is touched by no other thread after construction.
  Status forward(const FrameBuffers& frame) {
    const auto& in = inputs_[0];
    const int dims[4] = {static_cast<int>(in.shape[0]), static_cast<int>(in.shape[1]),
                         static_cast<int>(in.shape[2]), static_cast<int>(in.shape[3])};
    try {
      // Wraps the caller's buffer without copying; OpenCV only reads it.
      const cv::Mat blob(4, dims, CV_32F,
                         const_cast<std::uint8_t*>(frame.inputs[0].data()));  // NOLINT
      net_.setInput(blob, in.name);
      const cv::Mat out = net_.forward(outputs_[0].name);
      const std::size_t bytes = out.total() * out.elemSize();
      if (out.type() != CV_32F || !out.isContinuous() || bytes != frame.outputs[0].size()) {
        return fail(ErrorCode::kInternal,
                    "{}: OpenCV produced {} bytes of type {} for output '{}', expected {} ({})",
                    model_name_, bytes, out.type(), outputs_[0].name, frame.outputs[0].size(),
                    outputs_[0].describe());
      }
      std::memcpy(frame.outputs[0].data(), out.data, bytes);
    } catch (const cv::Exception& e) {
      return fail(ErrorCode::kFailed, "{}: OpenCV DNN inference failed: {}", model_name_,
                  one_line(e.what()));
    } catch (const std::exception& e) {
      return fail(ErrorCode::kFailed, "{}: OpenCV DNN inference failed: {}", model_name_, e.what());
    }
    return {};
  }

  cv::dnn::Net net_;
  const std::string model_name_;
  const std::vector<TensorSpec> inputs_;
  const std::vector<TensorSpec> outputs_;
  const std::string description_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;      // guarded by mutex_
  std::size_t in_flight_ = 0;  // queued + running; guarded by mutex_
  bool stopping_ = false;      // guarded by mutex_
  std::thread worker_;         // last: starts once everything above exists
};

Result<TensorSpec> input_spec(const OnnxModel& model) {
  const auto inputs = model.inputs();
  if (inputs.size() != 1) {
    return fail(ErrorCode::kUnsupported,
                "{}: the model has {} inputs; the CPU backend runs classifiers with one float32 "
                "1x3xHxW input",
                model.name(), inputs.size());
  }
  const auto& in = inputs[0];
  const auto& d = in.dims;
  const bool ok =
      in.elem_type == "float32" && d.size() == 4 && d[0] == 1 && d[1] == 3 && d[2] > 0 && d[3] > 0;
  if (!ok) {
    std::string shape;
    for (std::size_t i = 0; i < d.size(); ++i) {
      if (i > 0) shape += 'x';
      shape += d[i] >= 0 ? fmt::format("{}", d[i]) : std::string("?");
    }
    return fail(ErrorCode::kUnsupported,
                "{}: input '{}' is {} {}; the CPU backend needs float32 1x3xHxW with static "
                "dimensions (export with a static 1x3x224x224 input)",
                model.name(), in.name, in.elem_type, shape.empty() ? "(no shape)" : shape);
  }
  TensorSpec spec;
  spec.name = in.name;
  spec.dtype = DType::kFloat32;
  spec.layout = Layout::kNCHW;
  spec.shape = d;
  return spec;
}

Result<TensorSpec> output_spec(const OnnxModel& model) {
  const auto outputs = model.outputs();
  if (outputs.size() != 1) {
    return fail(ErrorCode::kUnsupported,
                "{}: the model has {} outputs; the CPU backend runs classifiers with one 1xK "
                "output",
                model.name(), outputs.size());
  }
  const auto& out = outputs[0];
  const auto& d = out.dims;
  if (out.elem_type != "float32" || d.size() != 2 || d[0] != 1 || d[1] <= 0) {
    return fail(ErrorCode::kUnsupported,
                "{}: output '{}' is not float32 1xK with a static K; the CPU backend runs "
                "classifiers (export logits of shape 1xK)",
                model.name(), out.name);
  }
  TensorSpec spec;
  spec.name = out.name;
  spec.dtype = DType::kFloat32;
  spec.layout = Layout::kNC;
  spec.shape = d;
  return spec;
}

}  // namespace

Result<std::unique_ptr<Backend>> create_cpu_backend(const std::filesystem::path& onnx_path,
                                                    const CpuBackendOptions& options) {
  if (options.threads < 0) {
    return fail(ErrorCode::kInvalidArgument, "cpu: threads must be 0 (all cores) or more, not {}",
                options.threads);
  }
  HDEPLOY_ASSIGN_OR_RETURN(OnnxModel model, OnnxModel::load(onnx_path));
  // An op OpenCV cannot run is the root cause whatever else is wrong: report it first.
  HDEPLOY_ASSIGN_OR_RETURN(OpenCvRewrite rewrite,
                           rewrite_for_opencv(model, opencv_needs_rewrite()));
  if (!rewrite.unsupported_nodes.empty()) {
    return fail(ErrorCode::kUnsupported, "{}", describe_unsupported(rewrite, model.name()));
  }
  HDEPLOY_ASSIGN_OR_RETURN(TensorSpec input, input_spec(model));
  HDEPLOY_ASSIGN_OR_RETURN(TensorSpec output, output_spec(model));

  // Process-wide in OpenCV: the last backend created sets it for all.
  if (options.threads > 0) cv::setNumThreads(options.threads);
  cv::dnn::Net net;
  try {
    net = cv::dnn::readNetFromONNX(reinterpret_cast<const char*>(rewrite.model_bytes.data()),
                                   rewrite.model_bytes.size());
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  } catch (const cv::Exception& e) {
    return fail(ErrorCode::kUnsupported, "{}", describe_opencv_error(model.name(), e.what()));
  } catch (const std::exception& e) {
    return fail(ErrorCode::kUnsupported, "{}: OpenCV DNN cannot load this model: {}", model.name(),
                e.what());
  }

  // One warm-up forward here, on zeros: OpenCV DNN allocates blobs, fuses layers and packs
  // weights on the first forward (several times a steady frame), so doing it now makes the
  // first real frame's latency representative, and a model that imports but cannot run
  // (shape mismatches) fails at load with the file's name instead of on the first frame.
  try {
    std::vector<float> zeros(input.element_count(), 0.0F);
    const int dims[4] = {1, 3, static_cast<int>(input.shape[2]), static_cast<int>(input.shape[3])};
    net.setInput(cv::Mat(4, dims, CV_32F, zeros.data()), input.name);
    const cv::Mat out = net.forward(output.name);
    if (out.total() != output.element_count()) {
      return fail(ErrorCode::kUnsupported,
                  "{}: OpenCV DNN computes {} values for output '{}', the model declares {} ({})",
                  model.name(), out.total(), output.name, output.element_count(),
                  output.describe());
    }
  } catch (const cv::Exception& e) {
    return fail(ErrorCode::kUnsupported, "{}", describe_opencv_error(model.name(), e.what()));
  }

  const int threads = cv::getNumThreads();
  std::string description =
      fmt::format("OpenCV {} DNN (CPU), {} thread{}", CV_VERSION, threads, threads == 1 ? "" : "s");
  return std::unique_ptr<Backend>(std::make_unique<CpuBackend>(
      std::move(net), model.name(), std::move(input), std::move(output), std::move(description)));
}

}  // namespace hdeploy::runtime

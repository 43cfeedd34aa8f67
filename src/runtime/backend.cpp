#include "hdeploy/runtime/backend.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>

namespace hdeploy::runtime {

Result<double> Backend::chip_temperature_c() {
  return fail(ErrorCode::kUnsupported, "backend {} has no chip sensor", name());
}

Status Backend::infer(const FrameBuffers& frame) {
  // Shared with the completion: the backend may destroy its copy of the callback after we
  // have returned, so the state must not live on this stack frame.
  struct Waiter {
    std::mutex mutex;
    std::condition_variable done;
    std::optional<Status> status;
  };
  auto waiter = std::make_shared<Waiter>();
  HDEPLOY_TRY(submit(frame, [waiter](Status status) {
    {
      std::lock_guard lock(waiter->mutex);
      waiter->status = std::move(status);
    }
    waiter->done.notify_one();
  }));
  std::unique_lock lock(waiter->mutex);
  waiter->done.wait(lock, [&] { return waiter->status.has_value(); });
  return std::move(*waiter->status);
}

Status validate_frame(const FrameBuffers& frame, const std::vector<TensorSpec>& inputs,
                      const std::vector<TensorSpec>& outputs, const std::string& backend) {
  if (frame.inputs.size() != inputs.size() || frame.outputs.size() != outputs.size()) {
    return fail(ErrorCode::kInvalidArgument,
                "{}: the frame has {} input and {} output buffer(s); the model has {} input(s) "
                "and {} output(s)",
                backend, frame.inputs.size(), frame.outputs.size(), inputs.size(), outputs.size());
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (frame.inputs[i].size() != inputs[i].byte_size()) {
      return fail(ErrorCode::kInvalidArgument,
                  "{}: input {} '{}' needs {} bytes ({}), the frame gives {}", backend, i,
                  inputs[i].name, inputs[i].byte_size(), inputs[i].describe(),
                  frame.inputs[i].size());
    }
    if (frame.inputs[i].data() == nullptr) {
      return fail(ErrorCode::kInvalidArgument, "{}: input {} '{}' has no buffer", backend, i,
                  inputs[i].name);
    }
  }
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    if (frame.outputs[i].size() != outputs[i].byte_size()) {
      return fail(ErrorCode::kInvalidArgument,
                  "{}: output {} '{}' needs {} bytes ({}), the frame gives {}", backend, i,
                  outputs[i].name, outputs[i].byte_size(), outputs[i].describe(),
                  frame.outputs[i].size());
    }
    if (frame.outputs[i].data() == nullptr) {
      return fail(ErrorCode::kInvalidArgument, "{}: output {} '{}' has no buffer", backend, i,
                  outputs[i].name);
    }
  }
  return {};
}

}  // namespace hdeploy::runtime

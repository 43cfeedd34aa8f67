#pragma once
// The Backend contract (DESIGN.md): one loaded model on one device, asynchronous.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "hdeploy/core/result.hpp"
#include "hdeploy/core/tensor.hpp"

namespace hdeploy::runtime {

// Input and output buffers of one frame, one span per input/output TensorSpec, each exactly
// TensorSpec::byte_size() bytes. The caller owns the memory and keeps it alive, unmodified,
// until the frame's completion has run.
struct FrameBuffers {
  std::vector<std::span<const std::uint8_t>> inputs;
  std::vector<std::span<std::uint8_t>> outputs;
};

// Runs on a backend thread once a frame's outputs are written (or it failed). It must only
// post (set a flag, push to a queue): no inference, no blocking.
using Completion = std::function<void(Status)>;

class Backend {
 public:
  virtual ~Backend() = default;

  // "cpu", "sim", "hailo".
  virtual std::string name() const = 0;
  // One line on what runs where, e.g. "OpenCV 4.6.0 DNN, 2 threads".
  virtual std::string description() const = 0;
  virtual const std::vector<TensorSpec>& inputs() const = 0;
  virtual const std::vector<TensorSpec>& outputs() const = 0;
  // How many frames may be submitted and not yet completed.
  virtual std::size_t max_in_flight() const = 0;

  // Queues one frame and returns at once. Errors (returned, completion not called): sizes that
  // do not match the TensorSpecs (kInvalidArgument), more than max_in_flight() frames
  // outstanding (kInvalidArgument), a backend that has shut down (kFailed).
  virtual Status submit(const FrameBuffers& frame, Completion done) = 0;

  // submit + wait: the synchronous call is never a separate code path.
  Status infer(const FrameBuffers& frame);

  // The accelerator's own temperature in degrees C (hailo: the hotter of the chip's two
  // sensors). Callable from any thread while frames run. Errors: kUnsupported ("backend cpu
  // has no chip sensor") by default, the device's error otherwise.
  virtual Result<double> chip_temperature_c();
};

// Checks a frame's buffer count and sizes against the specs; shared by backends.
Status validate_frame(const FrameBuffers& frame, const std::vector<TensorSpec>& inputs,
                      const std::vector<TensorSpec>& outputs, const std::string& backend);

}  // namespace hdeploy::runtime

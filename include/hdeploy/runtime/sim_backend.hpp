#pragma once
// The `sim` backend: an emulated Hailo device for machines without one (DESIGN.md). It has a
// Hailo I/O contract (UINT8 NHWC input, UINT8 NC output with a qp), a bounded queue, frame-size
// checks, completions on its own thread, and a pipelined timing model. Given an ONNX model it
// computes real outputs on the CPU backend and quantizes them with the output qp; without one
// it is timing-only and says so.

#include <array>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "hdeploy/core/model_spec.hpp"
#include "hdeploy/core/result.hpp"
#include "hdeploy/core/tensor.hpp"
#include "hdeploy/runtime/backend.hpp"
#include "hdeploy/runtime/cpu_backend.hpp"

namespace hdeploy::runtime {

// ResNet18 measured on a Raspberry Pi 5 + Hailo-8L (hailortcli benchmark, DFC 3.33): the
// timing used when neither a HEF's compiler estimates nor flags give one.
inline constexpr double kSimDefaultFps = 1150.0;
inline constexpr double kSimDefaultLatencyMs = 2.445;
inline constexpr std::size_t kSimDefaultQueueDepth = 4;

// The emulated device's contract and timing.
struct SimDeviceSpec {
  // UINT8 NHWC 1xHxWx3, RGB 0-255; quantization (if any, and not identity) is applied by the
  // host before the chip normalises.
  TensorSpec input;
  // UINT8 NC 1xK with its qp (quantization); logits = (q - zero_point) * scale.
  TensorSpec output;
  // On-chip normalisation (0-1 units, per RGB channel), used only to compute with ONNX.
  std::array<float, 3> mean{0.485F, 0.456F, 0.406F};
  std::array<float, 3> std{0.229F, 0.224F, 0.225F};
  double fps = kSimDefaultFps;                      // pipeline throughput ceiling (bottleneck FPS)
  double latency_ms = kSimDefaultLatencyMs;         // one frame, arrival to completion, when idle
  std::size_t queue_depth = kSimDefaultQueueDepth;  // frames submitted and not completed
  std::string source;  // where the contract came from, for description(): "resnet18.hef"
};

// The output qp for values in [min_value, max_value] (e.g. the min/max of reference logits):
// the range is first widened to contain 0 (so 0 is exact), then
//   scale = (max - min) / 255,  zero_point = round(-min / scale)  (in 0..255),
// so q = round(x / scale + zero_point) covers the range with 256 levels. A degenerate range
// (max == min == 0) gives scale 1/255. Errors: kInvalidArgument (non-finite, min > max).
Result<Quantization> output_qp_for_range(float min_value, float max_value);

// A sim contract from a model spec: input "<name>/input_layer1" UINT8 NHWC
// 1 x input_height x input_width x 3 with identity qp, output "<name>/output_layer1" UINT8 NC
// 1 x num_classes with output_qp_for_range(output_min, output_max); mean/std from the spec's
// preprocessing; default timing. Errors: output_qp_for_range's.
Result<SimDeviceSpec> sim_spec_from_model(const ModelSpec& model, float output_min,
                                          float output_max);

struct SimBackendOptions {
  // An ONNX model (float32 1x3xHxW in, 1xK out, matching the spec) to compute real outputs
  // with; empty: timing-only.
  std::filesystem::path onnx;
  CpuBackendOptions cpu;
};

// The pipelined device model: a frame arriving at `arrival` completes at
// max(arrival + latency, previous completion + 1/fps). Not thread-safe; pure arithmetic, so
// tests drive it with made-up time points.
class SimTimeline {
 public:
  using Clock = std::chrono::steady_clock;
  SimTimeline(double fps, double latency_ms);
  Clock::time_point schedule(Clock::time_point arrival);
  Clock::duration latency() const { return latency_; }
  Clock::duration interval() const { return interval_; }

 private:
  Clock::duration latency_;
  Clock::duration interval_;
  std::optional<Clock::time_point> last_completion_;
};

// The sim backend. Frames complete in submission order on the sim's own thread, each at the
// time SimTimeline gives (sleep_until on a steady clock; the sim spends no CPU while waiting).
// With ONNX: the uint8 NHWC input is converted to float NCHW as (v/255 - mean)/std in float32
// (the same operations as Preprocessor::to_cpu_input), run on the CPU backend, and the logits
// quantized as round(x/scale + zero_point) clipped to 0..255; a frame whose compute takes
// longer than its slot completes late. Timing-only: the output is the input's first bytes
// echoed (no inference), so callers can check which frame a buffer held; timing_only() is
// true and description() says so.
// submit errors, like HailoRT's: a buffer of the wrong size (kInvalidArgument, "frame size"),
// more than queue_depth frames outstanding (kInvalidArgument, HAILO_QUEUE_IS_FULL), after
// shutdown (kFailed). Destroying it completes the frames still queued with kFailed before it
// returns.
class SimBackend : public Backend {
 public:
  ~SimBackend() override = default;
  virtual bool timing_only() const = 0;
  virtual const SimDeviceSpec& spec() const = 0;
};

// Errors: kInvalidArgument (input not UINT8 NHWC 1xHxWx3, output not UINT8 NC 1xK, fps or
// latency not positive, queue depth 0), the CPU backend's load errors, kInvalidArgument when
// the ONNX model's input or output shape does not match the spec.
Result<std::unique_ptr<SimBackend>> create_sim_backend(const SimDeviceSpec& spec,
                                                       const SimBackendOptions& options = {});

}  // namespace hdeploy::runtime

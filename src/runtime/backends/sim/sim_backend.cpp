#include "hdeploy/runtime/sim_backend.hpp"

#include <fmt/format.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace hdeploy::runtime {
namespace {

constexpr const char* kName = "sim";

bool is_hailo_input(const TensorSpec& s) {
  return s.dtype == DType::kUint8 && s.layout == Layout::kNHWC && s.shape.size() == 4 &&
         s.shape[0] == 1 && s.shape[1] > 0 && s.shape[2] > 0 && s.shape[3] == 3;
}

bool is_hailo_output(const TensorSpec& s) {
  return s.dtype == DType::kUint8 && s.layout == Layout::kNC && s.shape.size() == 2 &&
         s.shape[0] == 1 && s.shape[1] > 0;
}

class SimBackendImpl final : public SimBackend {
 public:
  SimBackendImpl(SimDeviceSpec spec, std::unique_ptr<Backend> cpu, std::string onnx_name)
      : spec_(std::move(spec)),
        inputs_{spec_.input},
        outputs_{spec_.output},
        cpu_(std::move(cpu)),
        timeline_(spec_.fps, spec_.latency_ms),
        ring_(spec_.queue_depth) {
    for (auto& job : ring_) {
      job.inputs.reserve(inputs_.size());
      job.outputs.reserve(outputs_.size());
    }
    const std::string timing = fmt::format("{:.0f} FPS, {:.3f} ms latency, queue {}", spec_.fps,
                                           spec_.latency_ms, spec_.queue_depth);
    const std::string from =
        spec_.source.empty() ? "" : fmt::format(", contract from {}", spec_.source);
    if (cpu_) {
      prepare_compute();
      description_ = fmt::format("emulated Hailo device ({}{}), outputs computed from {} on {}",
                                 timing, from, onnx_name, cpu_->description());
    } else {
      description_ = fmt::format(
          "emulated Hailo device ({}{}), TIMING-ONLY: outputs are not inference results", timing,
          from);
    }
    worker_ = std::thread([this] { run(); });
  }

  // Queued frames are cancelled (kFailed); every completion runs before this returns.
  ~SimBackendImpl() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    worker_.join();
  }

  SimBackendImpl(const SimBackendImpl&) = delete;
  SimBackendImpl& operator=(const SimBackendImpl&) = delete;

  std::string name() const override { return kName; }
  std::string description() const override { return description_; }
  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }
  std::size_t max_in_flight() const override { return spec_.queue_depth; }
  bool timing_only() const override { return cpu_ == nullptr; }
  const SimDeviceSpec& spec() const override { return spec_; }

  Status submit(const FrameBuffers& frame, Completion done) override {
    // HailoRT checks each binding's buffer against the stream's frame size in run_async.
    HDEPLOY_TRY(validate_frame(frame, inputs_, outputs_, kName));
    if (!done) return fail(ErrorCode::kInvalidArgument, "{}: submit needs a completion", kName);
    const auto arrival = SimTimeline::Clock::now();
    bool was_idle = false;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return fail(ErrorCode::kFailed, "{}: the backend has shut down", kName);
      if (count_ >= ring_.size()) {
        return fail(ErrorCode::kInvalidArgument,
                    "{}: the device queue is full ({} frames in flight, queue depth {}; HailoRT "
                    "returns HAILO_QUEUE_IS_FULL here): wait for a completion before submitting",
                    kName, count_, ring_.size());
      }
      Job& job = ring_[(head_ + count_) % ring_.size()];
      // assign() into reserved capacity: no allocation per frame.
      job.inputs.assign(frame.inputs.begin(), frame.inputs.end());
      job.outputs.assign(frame.outputs.begin(), frame.outputs.end());
      job.done = std::move(done);
      job.due = timeline_.schedule(arrival);
      was_idle = count_ == 0;
      ++count_;
    }
    if (was_idle) wake_.notify_one();
    return {};
  }

 private:
  struct Job {
    std::vector<std::span<const std::uint8_t>> inputs;
    std::vector<std::span<std::uint8_t>> outputs;
    Completion done;
    SimTimeline::Clock::time_point due;
  };

  void run() {
    // The default 50 us timer slack would make every emulated completion late by up to that
    // much (2% of a 2.445 ms frame); the real device does not oversleep. Per thread.
    prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);  // 1 us
    for (;;) {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || count_ > 0; });
      if (stopping_) break;
      // Only this thread touches ring_[head_] while count_ > 0; submit writes other slots.
      Job& job = ring_[head_];
      const auto due = job.due;
      lock.unlock();
      Status status = cpu_ ? compute(job) : Status{};
      lock.lock();
      // Frames already due (the device is behind, or frames queued up) complete without a
      // sleep: one wake-up serves a burst.
      if (SimTimeline::Clock::now() < due) wake_.wait_until(lock, due, [&] { return stopping_; });
      if (stopping_) break;
      if (!cpu_) echo(job);
      Completion done = std::move(job.done);
      job.done = nullptr;
      head_ = (head_ + 1) % ring_.size();
      --count_;
      // Released before the completion runs, so a caller woken by it may submit at once.
      lock.unlock();
      done(std::move(status));
    }
    // Stopping: cancel what is queued (including a frame whose slot had not come).
    std::vector<Completion> cancelled;
    {
      std::lock_guard lock(mutex_);
      for (; count_ > 0; --count_) {
        cancelled.push_back(std::move(ring_[head_].done));
        ring_[head_].done = nullptr;
        head_ = (head_ + 1) % ring_.size();
      }
    }
    for (auto& done : cancelled) {
      done(fail(ErrorCode::kFailed, "{}: backend shut down before the frame completed", kName));
    }
  }

  // Timing-only output: the input's first bytes, copied at completion time, so a caller that
  // reused the input buffer too early sees another frame's bytes.
  static void echo(const Job& job) {
    const auto& in = job.inputs[0];
    for (const auto& out : job.outputs) {
      const std::size_t n = std::min(in.size(), out.size());
      std::memcpy(out.data(), in.data(), n);
      std::fill(out.begin() + static_cast<std::ptrdiff_t>(n), out.end(), std::uint8_t{0});
    }
  }

  void prepare_compute() {
    const Quantization in_qp = spec_.input.quantization.value_or(Quantization{});
    for (int c = 0; c < 3; ++c) {
      for (int v = 0; v < 256; ++v) {
        // Identity qp: exactly Preprocessor::to_cpu_input's (v / 255 - mean) / std in float32.
        const float x =
            in_qp.is_identity() ? static_cast<float>(v) : in_qp.dequantize(static_cast<float>(v));
        to_float_[c][v] = (x / 255.0F - spec_.mean[c]) / spec_.std[c];
      }
    }
    cpu_input_.resize(cpu_->inputs()[0].element_count());
    cpu_output_.resize(cpu_->outputs()[0].element_count());
    cpu_frame_.inputs.emplace_back(reinterpret_cast<const std::uint8_t*>(cpu_input_.data()),
                                   cpu_input_.size() * sizeof(float));
    cpu_frame_.outputs.emplace_back(reinterpret_cast<std::uint8_t*>(cpu_output_.data()),
                                    cpu_output_.size() * sizeof(float));
  }

  // Worker thread only.
  Status compute(const Job& job) {
    const std::uint8_t* src = job.inputs[0].data();
    const std::size_t plane = cpu_input_.size() / 3;
    float* r = cpu_input_.data();
    float* g = r + plane;
    float* b = g + plane;
    for (std::size_t i = 0; i < plane; ++i, src += 3) {
      r[i] = to_float_[0][src[0]];
      g[i] = to_float_[1][src[1]];
      b[i] = to_float_[2][src[2]];
    }
    HDEPLOY_TRY(cpu_->infer(cpu_frame_));
    const Quantization qp = spec_.output.quantization.value_or(Quantization{});
    std::span<std::uint8_t> out = job.outputs[0];
    for (std::size_t i = 0; i < out.size(); ++i) {
      const float q = std::round(cpu_output_[i] / qp.scale + qp.zero_point);
      out[i] = static_cast<std::uint8_t>(std::clamp(q, 0.0F, 255.0F));
    }
    return {};
  }

  const SimDeviceSpec spec_;
  const std::vector<TensorSpec> inputs_;
  const std::vector<TensorSpec> outputs_;
  const std::unique_ptr<Backend> cpu_;  // null: timing-only
  std::string description_;

  // Compute state: written in the constructor, then worker thread only.
  float to_float_[3][256] = {};
  std::vector<float> cpu_input_;
  std::vector<float> cpu_output_;
  FrameBuffers cpu_frame_;

  std::mutex mutex_;
  std::condition_variable wake_;
  SimTimeline timeline_;   // guarded by mutex_
  std::vector<Job> ring_;  // queue_depth slots; guarded by mutex_ (see run())
  std::size_t head_ = 0;   // guarded by mutex_
  std::size_t count_ = 0;  // frames submitted and not completed; guarded by mutex_
  bool stopping_ = false;  // guarded by mutex_
  std::thread worker_;     // started last, in the constructor body
};

}  // namespace

SimTimeline::SimTimeline(double fps, double latency_ms)
    : latency_(std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double, std::milli>(latency_ms))),
      interval_(
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / fps))) {}

SimTimeline::Clock::time_point SimTimeline::schedule(Clock::time_point arrival) {
  Clock::time_point done = arrival + latency_;
  if (last_completion_ && *last_completion_ + interval_ > done) {
    done = *last_completion_ + interval_;
  }
  last_completion_ = done;
  return done;
}

Result<Quantization> output_qp_for_range(float min_value, float max_value) {
  if (!std::isfinite(min_value) || !std::isfinite(max_value) || min_value > max_value) {
    return fail(ErrorCode::kInvalidArgument,
                "sim: output range [{}, {}] is not a finite range with min <= max", min_value,
                max_value);
  }
  const float lo = std::min(min_value, 0.0F);
  const float hi = std::max(max_value, 0.0F);
  Quantization qp;
  qp.scale = hi > lo ? (hi - lo) / 255.0F : 1.0F / 255.0F;
  qp.zero_point = std::clamp(std::round(-lo / qp.scale), 0.0F, 255.0F);
  return qp;
}

Result<SimDeviceSpec> sim_spec_from_model(const ModelSpec& model, float output_min,
                                          float output_max) {
  HDEPLOY_ASSIGN_OR_RETURN(Quantization qp, output_qp_for_range(output_min, output_max));
  SimDeviceSpec spec;
  spec.input.name = fmt::format("{}/input_layer1", model.name);
  spec.input.dtype = DType::kUint8;
  spec.input.layout = Layout::kNHWC;
  spec.input.shape = {1, model.input_height, model.input_width, 3};
  spec.input.quantization = Quantization{};
  spec.output.name = fmt::format("{}/output_layer1", model.name);
  spec.output.dtype = DType::kUint8;
  spec.output.layout = Layout::kNC;
  spec.output.shape = {1, model.num_classes};
  spec.output.quantization = qp;
  spec.mean = model.preprocess.mean;
  spec.std = model.preprocess.std;
  spec.source = model.source.empty() ? fmt::format("model spec {}", model.name)
                                     : model.source.filename().string();
  return spec;
}

Result<std::unique_ptr<SimBackend>> create_sim_backend(const SimDeviceSpec& spec,
                                                       const SimBackendOptions& options) {
  if (!is_hailo_input(spec.input)) {
    return fail(ErrorCode::kInvalidArgument,
                "sim: input '{}' is {}; an emulated Hailo device takes uint8 NHWC 1xHxWx3",
                spec.input.name, spec.input.describe());
  }
  if (!is_hailo_output(spec.output)) {
    return fail(ErrorCode::kInvalidArgument,
                "sim: output '{}' is {}; an emulated Hailo classifier gives uint8 NC 1xK",
                spec.output.name, spec.output.describe());
  }
  if (spec.output.quantization && !(spec.output.quantization->scale > 0.0F)) {
    return fail(ErrorCode::kInvalidArgument, "sim: output '{}' has a qp scale of {}; need > 0",
                spec.output.name, spec.output.quantization->scale);
  }
  if (!(spec.fps > 0.0) || !std::isfinite(spec.fps)) {
    return fail(ErrorCode::kInvalidArgument, "sim: --sim-fps must be > 0, not {}", spec.fps);
  }
  if (!(spec.latency_ms >= 0.0) || !std::isfinite(spec.latency_ms)) {
    return fail(ErrorCode::kInvalidArgument, "sim: --sim-latency-ms must be >= 0, not {}",
                spec.latency_ms);
  }
  if (spec.queue_depth == 0) {
    return fail(ErrorCode::kInvalidArgument, "sim: --sim-queue must be at least 1");
  }
  std::unique_ptr<Backend> cpu;
  std::string onnx_name;
  if (!options.onnx.empty()) {
    HDEPLOY_ASSIGN_OR_RETURN(cpu, create_cpu_backend(options.onnx, options.cpu));
    onnx_name = options.onnx.filename().string();
    const auto& in = cpu->inputs()[0];
    const std::vector<std::int64_t> want{1, 3, spec.input.shape[1], spec.input.shape[2]};
    if (in.shape != want) {
      return fail(ErrorCode::kInvalidArgument,
                  "sim: {} takes input {}, but the device input is {} (needs float32 NCHW {}); "
                  "give the ONNX model the HEF was compiled from",
                  onnx_name, in.describe(), spec.input.describe(), shape_to_string(want));
    }
    const auto& out = cpu->outputs()[0];
    if (out.element_count() != spec.output.element_count()) {
      return fail(ErrorCode::kInvalidArgument,
                  "sim: {} gives output {}, but the device output is {}; give the ONNX model the "
                  "HEF was compiled from",
                  onnx_name, out.describe(), spec.output.describe());
    }
  }
  return std::unique_ptr<SimBackend>(
      std::make_unique<SimBackendImpl>(spec, std::move(cpu), std::move(onnx_name)));
}

}  // namespace hdeploy::runtime

#include "hdeploy/runtime/sim_backend.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "testing/test_models.hpp"

namespace hdeploy::runtime {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

SimDeviceSpec tiny_spec(std::int64_t h = 4, std::int64_t w = 4, std::int64_t classes = 10) {
  SimDeviceSpec spec;
  spec.input.name = "tiny/input_layer1";
  spec.input.dtype = DType::kUint8;
  spec.input.layout = Layout::kNHWC;
  spec.input.shape = {1, h, w, 3};
  spec.output.name = "tiny/output_layer1";
  spec.output.dtype = DType::kUint8;
  spec.output.layout = Layout::kNC;
  spec.output.shape = {1, classes};
  spec.output.quantization = Quantization{0.05F, 128.0F};
  return spec;
}

// Records completions (status and when) and lets the test wait for them.
struct Completions {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::pair<int, Status>> calls;
  std::vector<Clock::time_point> times;

  Completion for_frame(int id) {
    return [this, id](Status status) {
      std::lock_guard lock(mutex);
      calls.emplace_back(id, std::move(status));
      times.push_back(Clock::now());
      changed.notify_all();
    };
  }
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(20), [&] { return calls.size() >= n; });
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return calls.size();
  }
};

struct Buffers {
  std::vector<std::uint8_t> in;
  std::vector<std::uint8_t> out;
  FrameBuffers frame() { return FrameBuffers{{std::span<const std::uint8_t>(in)}, {out}}; }
};

Buffers buffers_for(const SimDeviceSpec& spec) {
  return {std::vector<std::uint8_t>(spec.input.byte_size()),
          std::vector<std::uint8_t>(spec.output.byte_size())};
}

TEST(SimTimeline, PipelinedModelFollowsTheFormula) {
  SimTimeline timeline(100.0, 25.0);  // 10 ms between completions, 25 ms latency
  const Clock::time_point t0{};
  EXPECT_EQ(timeline.schedule(t0), t0 + milliseconds(25));
  EXPECT_EQ(timeline.schedule(t0), t0 + milliseconds(35));  // behind the previous one
  EXPECT_EQ(timeline.schedule(t0 + milliseconds(1)), t0 + milliseconds(45));
  EXPECT_EQ(timeline.schedule(t0 + milliseconds(100)), t0 + milliseconds(125));  // idle device
  EXPECT_EQ(timeline.schedule(t0 + milliseconds(130)), t0 + milliseconds(155));
}

TEST(SimTimeline, OneInFlightGivesOneOverLatency) {
  SimTimeline timeline(kSimDefaultFps, kSimDefaultLatencyMs);
  Clock::time_point t{};
  const Clock::time_point start = t;
  for (int i = 0; i < 1000; ++i) t = timeline.schedule(t);  // next arrives at completion
  const double seconds = std::chrono::duration<double>(t - start).count();
  EXPECT_NEAR(1000.0 / seconds, 1000.0 / kSimDefaultLatencyMs, 0.5);
}

TEST(SimTimeline, FullQueueGivesTheFpsCeiling) {
  SimTimeline timeline(kSimDefaultFps, kSimDefaultLatencyMs);
  // Four in flight: frame i arrives when frame i-4 completes.
  std::vector<Clock::time_point> done;
  for (int i = 0; i < 4000; ++i) {
    const Clock::time_point arrival = i < 4 ? Clock::time_point{} : done[i - 4];
    done.push_back(timeline.schedule(arrival));
  }
  const double seconds = std::chrono::duration<double>(done.back() - done[3]).count();
  EXPECT_NEAR(3996.0 / seconds, kSimDefaultFps, 1.0);
}

TEST(OutputQp, CoversTheRangeAndKeepsZeroExact) {
  auto qp = output_qp_for_range(-10.0F, 15.5F);
  ASSERT_TRUE(qp) << qp.error().message;
  EXPECT_FLOAT_EQ(qp->scale, 25.5F / 255.0F);
  EXPECT_FLOAT_EQ(qp->zero_point, 100.0F);
  EXPECT_NEAR(qp->dequantize(0.0F), -10.0F, 1e-5);
  EXPECT_NEAR(qp->dequantize(255.0F), 15.5F, 1e-4);
  auto positive = output_qp_for_range(2.0F, 4.0F);  // widened to [0, 4]
  ASSERT_TRUE(positive);
  EXPECT_FLOAT_EQ(positive->zero_point, 0.0F);
  EXPECT_FLOAT_EQ(positive->scale, 4.0F / 255.0F);
  EXPECT_TRUE(output_qp_for_range(0.0F, 0.0F));
  EXPECT_FALSE(output_qp_for_range(1.0F, -1.0F));
  EXPECT_FALSE(output_qp_for_range(NAN, 1.0F));
}

TEST(SimSpec, FromModelSpec) {
  ModelSpec model;
  model.name = "resnet18";
  auto spec = sim_spec_from_model(model, -8.0F, 24.0F);
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->input.describe(), "uint8 NHWC 1x224x224x3");
  EXPECT_EQ(spec->output.describe(), "uint8 NC 1x1000");
  ASSERT_TRUE(spec->output.quantization);
  EXPECT_FLOAT_EQ(spec->output.quantization->zero_point, 64.0F);
  EXPECT_EQ(spec->fps, kSimDefaultFps);
  EXPECT_EQ(spec->latency_ms, kSimDefaultLatencyMs);
  EXPECT_EQ(spec->queue_depth, 4U);
  auto sim = create_sim_backend(*spec);
  ASSERT_TRUE(sim) << sim.error().message;
  EXPECT_TRUE((*sim)->timing_only());
  EXPECT_NE((*sim)->description().find("TIMING-ONLY"), std::string::npos);
  EXPECT_EQ((*sim)->max_in_flight(), 4U);
  EXPECT_EQ((*sim)->name(), "sim");
}

TEST(SimBackend, RejectsBadSpecs) {
  auto spec = tiny_spec();
  spec.input.dtype = DType::kFloat32;
  EXPECT_FALSE(create_sim_backend(spec));
  spec = tiny_spec();
  spec.output.layout = Layout::kNCHW;
  EXPECT_FALSE(create_sim_backend(spec));
  spec = tiny_spec();
  spec.fps = 0;
  EXPECT_FALSE(create_sim_backend(spec));
  spec = tiny_spec();
  spec.queue_depth = 0;
  EXPECT_FALSE(create_sim_backend(spec));
}

TEST(SimBackend, FrameSizeErrorsLikeHailoRt) {
  auto spec = tiny_spec();
  auto sim = create_sim_backend(spec);
  ASSERT_TRUE(sim);
  Completions log;
  Buffers b = buffers_for(spec);
  b.in.pop_back();
  auto status = (*sim)->submit(b.frame(), log.for_frame(0));
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(status.error().message.find("needs 48 bytes"), std::string::npos)
      << status.error().message;
  Buffers ok = buffers_for(spec);
  FrameBuffers two_outputs = ok.frame();
  two_outputs.outputs.push_back(ok.out);
  EXPECT_FALSE((*sim)->submit(two_outputs, log.for_frame(1)));
  EXPECT_EQ(log.count(), 0U);  // errors are returned, never completed
}

TEST(SimBackend, QueueFullAndCancelOnDestruction) {
  auto spec = tiny_spec();
  spec.latency_ms = 60000;  // nothing completes during the test
  spec.queue_depth = 3;
  auto sim = create_sim_backend(spec);
  ASSERT_TRUE(sim);
  Completions log;
  std::vector<Buffers> bufs(4, buffers_for(spec));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*sim)->submit(bufs[i].frame(), log.for_frame(i)));
  auto full = (*sim)->submit(bufs[3].frame(), log.for_frame(3));
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(full.error().message.find("HAILO_QUEUE_IS_FULL"), std::string::npos);
  sim->reset();  // must not wait a minute
  ASSERT_EQ(log.count(), 3U);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(log.calls[i].first, i);
    ASSERT_FALSE(log.calls[i].second);
    EXPECT_EQ(log.calls[i].second.error().code, ErrorCode::kFailed);
  }
}

TEST(SimBackend, CompletesInOrderNeverEarly) {
  auto spec = tiny_spec();
  spec.fps = 200;  // 5 ms apart
  spec.latency_ms = 20;
  auto sim = create_sim_backend(spec);
  ASSERT_TRUE(sim);
  Completions log;
  std::vector<Buffers> bufs(4, buffers_for(spec));
  const auto start = Clock::now();
  for (int i = 0; i < 4; ++i) {
    bufs[i].in[0] = static_cast<std::uint8_t>(10 + i);
    ASSERT_TRUE((*sim)->submit(bufs[i].frame(), log.for_frame(i)));
  }
  ASSERT_TRUE(log.wait_for(4));
  std::lock_guard lock(log.mutex);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(log.calls[i].first, i);
    EXPECT_TRUE(log.calls[i].second);
    // Timing-only output echoes the input.
    EXPECT_EQ(bufs[i].out[0], 10 + i);
    // Never before max(arrival + latency, previous + 1/fps); lateness is not asserted (a
    // loaded or sanitized machine wakes late).
    EXPECT_GE(log.times[i] - start, milliseconds(20 + 5 * i));
  }
}

TEST(SimBackend, InferIsSubmitPlusWait) {
  auto spec = tiny_spec();
  spec.latency_ms = 1;
  auto sim = create_sim_backend(spec);
  ASSERT_TRUE(sim);
  Buffers b = buffers_for(spec);
  b.in[0] = 42;
  ASSERT_TRUE((*sim)->infer(b.frame()));
  EXPECT_EQ(b.out[0], 42);
}

// A uint8 NHWC image in the sim and the same pixels as float NCHW in the reference give the
// same classifier output, up to the output quantization.
TEST(SimBackend, ComputesRealOutputsWithOnnx) {
  testing::TinyModelOptions options;  // 1x3x8x8 -> 5 classes
  testing::TempFile file("sim_tiny.onnx");
  file.write(testing::serialize(testing::make_tiny_classifier(options)));

  auto spec = tiny_spec(options.height, options.width, options.classes);
  spec.output.quantization = output_qp_for_range(-2.0F, 2.0F).value();
  spec.latency_ms = 0.5;
  SimBackendOptions sim_options;
  sim_options.onnx = file.path();
  sim_options.cpu.threads = 1;
  auto sim = create_sim_backend(spec, sim_options);
  ASSERT_TRUE(sim) << sim.error().message;
  EXPECT_FALSE((*sim)->timing_only());
  EXPECT_EQ((*sim)->description().find("TIMING-ONLY"), std::string::npos);

  Buffers b = buffers_for(spec);
  const std::size_t plane = static_cast<std::size_t>(options.height * options.width);
  std::vector<float> nchw(3 * plane);
  for (std::size_t i = 0; i < plane; ++i) {
    for (std::size_t c = 0; c < 3; ++c) {
      const auto v = static_cast<std::uint8_t>((i * 37 + c * 91 + 13) % 256);
      b.in[i * 3 + c] = v;
      nchw[c * plane + i] = (static_cast<float>(v) / 255.0F - spec.mean[c]) / spec.std[c];
    }
  }
  ASSERT_TRUE((*sim)->infer(b.frame()));
  const auto reference = testing::tiny_reference(options, nchw);
  const Quantization qp = *spec.output.quantization;
  for (std::size_t k = 0; k < reference.size(); ++k) {
    const float expected =
        std::clamp(std::round(reference[k] / qp.scale + qp.zero_point), 0.0F, 255.0F);
    EXPECT_NEAR(b.out[k], expected, 1.0) << "class " << k << " logit " << reference[k];
  }
}

TEST(SimBackend, OnnxThatDoesNotMatchTheContractIsRejected) {
  testing::TinyModelOptions options;
  testing::TempFile file("sim_mismatch.onnx");
  file.write(testing::serialize(testing::make_tiny_classifier(options)));
  SimBackendOptions sim_options;
  sim_options.onnx = file.path();
  sim_options.cpu.threads = 1;
  auto wrong_size = create_sim_backend(tiny_spec(16, 16, options.classes), sim_options);
  ASSERT_FALSE(wrong_size);
  EXPECT_EQ(wrong_size.error().code, ErrorCode::kInvalidArgument);
  auto wrong_classes = create_sim_backend(tiny_spec(8, 8, 7), sim_options);
  ASSERT_FALSE(wrong_classes);
  sim_options.onnx = "/nonexistent/model.onnx";
  auto missing = create_sim_backend(tiny_spec(8, 8, 5), sim_options);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace hdeploy::runtime

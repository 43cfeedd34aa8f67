#include "hdeploy/runtime/cpu_backend.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <opencv2/core/version.hpp>

#include "testing/test_models.hpp"

namespace hdeploy::runtime {
namespace {

using testing::Activation;
using testing::TempFile;
using testing::TinyModelOptions;

// Threads = 1 keeps OpenCV's own thread pool out of the picture (and out of ThreadSanitizer's).
constexpr CpuBackendOptions kOneThread{1};

struct Loaded {
  std::unique_ptr<TempFile> file;
  Result<std::unique_ptr<Backend>> backend;
};

Loaded load(const TinyModelOptions& options, const std::string& stem = "cpu.onnx") {
  auto file = std::make_unique<TempFile>(stem);
  file->write(testing::serialize(testing::make_tiny_classifier(options)));
  auto backend = create_cpu_backend(file->path(), kOneThread);
  return {std::move(file), std::move(backend)};
}

std::span<const std::uint8_t> bytes_of(const std::vector<float>& v) {
  return {reinterpret_cast<const std::uint8_t*>(v.data()), v.size() * sizeof(float)};
}
std::span<std::uint8_t> bytes_of(std::vector<float>& v) {
  return {reinterpret_cast<std::uint8_t*>(v.data()), v.size() * sizeof(float)};
}

// Counts completions and lets the test wait for them.
struct CompletionLog {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::pair<int, Status>> calls;  // frame id, status

  Completion for_frame(int id) {
    return [this, id](Status status) {
      // Notify under the lock: once a waiter sees the call it may destroy this log, so the
      // completion must be done touching it by the time the lock is released.
      std::lock_guard lock(mutex);
      calls.emplace_back(id, std::move(status));
      changed.notify_all();
    };
  }
  bool wait_for(std::size_t n) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(20), [&] { return calls.size() >= n; });
  }
};

TEST(CpuBackend, ReportsSpecsFromTheOnnxGraph) {
  TinyModelOptions options;
  options.height = 6;
  options.width = 10;
  auto [file, backend] = load(options);
  ASSERT_TRUE(backend) << backend.error().message;
  const auto& b = **backend;
  EXPECT_EQ(b.name(), "cpu");
  ASSERT_EQ(b.inputs().size(), 1U);
  EXPECT_EQ(b.inputs()[0].name, "input");
  EXPECT_EQ(b.inputs()[0].dtype, DType::kFloat32);
  EXPECT_EQ(b.inputs()[0].layout, Layout::kNCHW);
  EXPECT_EQ(b.inputs()[0].shape, (std::vector<std::int64_t>{1, 3, 6, 10}));
  ASSERT_EQ(b.outputs().size(), 1U);
  EXPECT_EQ(b.outputs()[0].name, "logits");
  EXPECT_EQ(b.outputs()[0].layout, Layout::kNC);
  EXPECT_EQ(b.outputs()[0].shape, (std::vector<std::int64_t>{1, 5}));
  EXPECT_EQ(b.max_in_flight(), 2U);
  // The OpenCV this was built with (4.6 on Debian 12, 4.10 on Debian 13).
  EXPECT_NE(b.description().find(std::string("OpenCV ") + CV_VERSION), std::string::npos)
      << b.description();
  EXPECT_NE(b.description().find("1 thread"), std::string::npos) << b.description();
}

TEST(CpuBackend, InferMatchesTheHandComputedReference) {
  for (auto activation : {Activation::kRelu, Activation::kClipInitializers,
                          Activation::kClipConstants, Activation::kClipMaxOnly}) {
    TinyModelOptions options;
    options.activation = activation;
    options.identity_over_weight = true;  // the torch 1.13 form, rewritten in memory
    auto [file, backend] = load(options);
    ASSERT_TRUE(backend) << backend.error().message;
    const auto input = testing::tiny_input(options);
    std::vector<float> output(5, -99.0F);
    auto status = (*backend)->infer(FrameBuffers{{bytes_of(input)}, {bytes_of(output)}});
    ASSERT_TRUE(status) << status.error().message;
    const auto expected = testing::tiny_reference(options, input);
    for (std::size_t i = 0; i < expected.size(); ++i) {
      EXPECT_NEAR(output[i], expected[i], 1e-5F) << "class " << i;
    }
  }
}

TEST(CpuBackend, SubmitCompletesEachFrameOnceWithItsOwnOutput) {
  TinyModelOptions options;
  auto [file, backend] = load(options);
  ASSERT_TRUE(backend) << backend.error().message;
  auto& b = **backend;
  const std::size_t n = b.max_in_flight();
  std::vector<std::vector<float>> inputs(n, testing::tiny_input(options));
  for (std::size_t f = 0; f < n; ++f) {
    for (auto& v : inputs[f]) v *= static_cast<float>(f + 1);  // a different frame each
  }
  std::vector<std::vector<float>> outputs(n, std::vector<float>(5, 0.0F));
  CompletionLog log;
  for (std::size_t f = 0; f < n; ++f) {
    auto status = b.submit(FrameBuffers{{bytes_of(inputs[f])}, {bytes_of(outputs[f])}},
                           log.for_frame(static_cast<int>(f)));
    ASSERT_TRUE(status) << status.error().message;
  }
  ASSERT_TRUE(log.wait_for(n));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // any extra call would show
  std::lock_guard lock(log.mutex);
  ASSERT_EQ(log.calls.size(), n);
  std::vector<int> seen(n, 0);
  for (const auto& [id, status] : log.calls) {
    EXPECT_TRUE(status) << status.error().message;
    ++seen[static_cast<std::size_t>(id)];
  }
  for (std::size_t f = 0; f < n; ++f) {
    EXPECT_EQ(seen[f], 1) << "frame " << f;
    const auto expected = testing::tiny_reference(options, inputs[f]);
    for (std::size_t i = 0; i < 5; ++i) EXPECT_NEAR(outputs[f][i], expected[i], 1e-5F);
  }
}

TEST(CpuBackend, ManyFramesThroughTheWindow) {
  // Submit, wait for a slot, submit again: the window reopens as completions arrive.
  TinyModelOptions options;
  auto [file, backend] = load(options);
  ASSERT_TRUE(backend) << backend.error().message;
  const auto input = testing::tiny_input(options);
  const auto expected = testing::tiny_reference(options, input);
  constexpr int kFrames = 20;
  std::vector<std::vector<float>> outputs(kFrames, std::vector<float>(5, 0.0F));
  CompletionLog log;
  for (int f = 0; f < kFrames; ++f) {
    if (f >= static_cast<int>((*backend)->max_in_flight())) {
      ASSERT_TRUE(log.wait_for(static_cast<std::size_t>(f) - (*backend)->max_in_flight() + 1));
    }
    auto status = (*backend)->submit(
        FrameBuffers{{bytes_of(input)}, {bytes_of(outputs[static_cast<std::size_t>(f)])}},
        log.for_frame(f));
    ASSERT_TRUE(status) << "frame " << f << ": " << status.error().message;
  }
  ASSERT_TRUE(log.wait_for(kFrames));
  for (const auto& out : outputs) {
    for (std::size_t i = 0; i < 5; ++i) EXPECT_NEAR(out[i], expected[i], 1e-5F);
  }
}

TEST(CpuBackend, WrongSizesAreRejectedWithoutCallingTheCompletion) {
  TinyModelOptions options;
  auto [file, backend] = load(options);
  ASSERT_TRUE(backend) << backend.error().message;
  std::vector<float> small_input(3 * 8 * 8 - 1), input(3 * 8 * 8), output(5), big_output(6);
  std::atomic<int> calls{0};
  auto count = [&](Status) { ++calls; };
  auto status =
      (*backend)->submit(FrameBuffers{{bytes_of(small_input)}, {bytes_of(output)}}, count);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(status.error().message.find("input 0 'input' needs 768 bytes"), std::string::npos)
      << status.error().message;
  EXPECT_NE(status.error().message.find("gives 764"), std::string::npos);
  status = (*backend)->submit(FrameBuffers{{bytes_of(input)}, {bytes_of(big_output)}}, count);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find("output 0 'logits' needs 20 bytes"), std::string::npos);
  status = (*backend)->submit(FrameBuffers{{}, {bytes_of(output)}}, count);
  EXPECT_FALSE(status);
  status = (*backend)->infer(FrameBuffers{{bytes_of(small_input)}, {bytes_of(output)}});
  EXPECT_FALSE(status);
  EXPECT_EQ(calls.load(), 0);
}

// Gates the completions of a backend: the first completion blocks until released, so the
// worker is held and further frames stay queued. (Blocking in a completion breaks the contract
// on purpose, to make the in-flight window observable.)
struct Gate {
  std::mutex mutex;
  std::condition_variable cv;
  bool open = false;
  bool entered = false;
  void wait_entered() {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return entered; });
  }
  void release() {
    {
      std::lock_guard lock(mutex);
      open = true;
    }
    cv.notify_all();
  }
};

TEST(CpuBackend, MoreThanMaxInFlightIsRejected) {
  TinyModelOptions options;
  auto [file, backend] = load(options);
  ASSERT_TRUE(backend) << backend.error().message;
  auto& b = **backend;
  const auto input = testing::tiny_input(options);
  std::vector<std::vector<float>> outputs(b.max_in_flight() + 1, std::vector<float>(5));
  CompletionLog log;
  // Frames count as in flight until their completion is about to run, so hold the queue by
  // filling it faster than one tiny forward: submit max_in_flight back to back, then one more.
  // To make this deterministic, the first completion waits on a gate.
  Gate gate;
  auto first = [&](Status status) {
    std::unique_lock lock(gate.mutex);
    gate.entered = true;
    gate.cv.notify_all();
    gate.cv.wait(lock, [&] { return gate.open; });
    lock.unlock();
    log.for_frame(0)(std::move(status));
  };
  ASSERT_TRUE(b.submit(FrameBuffers{{bytes_of(input)}, {bytes_of(outputs[0])}}, first));
  gate.wait_entered();  // frame 0 done, its slot free, worker held inside the completion
  for (std::size_t f = 1; f <= b.max_in_flight(); ++f) {
    auto status = b.submit(FrameBuffers{{bytes_of(input)}, {bytes_of(outputs[f])}},
                           log.for_frame(static_cast<int>(f)));
    ASSERT_TRUE(status) << "frame " << f << ": " << status.error().message;
  }
  std::vector<float> extra_out(5);
  auto refused =
      b.submit(FrameBuffers{{bytes_of(input)}, {bytes_of(extra_out)}}, log.for_frame(99));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.error().message.find("in flight"), std::string::npos);
  gate.release();
  ASSERT_TRUE(log.wait_for(b.max_in_flight() + 1));
  std::lock_guard lock(log.mutex);
  for (const auto& [id, status] : log.calls) {
    EXPECT_NE(id, 99);
    EXPECT_TRUE(status);
  }
}

TEST(CpuBackend, DestructionWithPendingFramesCallsEveryCompletionOnce) {
  TinyModelOptions options;
  auto [file, backend] = load(options);
  ASSERT_TRUE(backend) << backend.error().message;
  auto owned = std::move(backend).value();
  const auto input = testing::tiny_input(options);
  std::vector<std::vector<float>> outputs(3, std::vector<float>(5));
  CompletionLog log;
  Gate gate;
  auto first = [&](Status status) {
    std::unique_lock lock(gate.mutex);
    gate.entered = true;
    gate.cv.notify_all();
    gate.cv.wait(lock, [&] { return gate.open; });
    lock.unlock();
    log.for_frame(0)(std::move(status));
  };
  ASSERT_TRUE(owned->submit(FrameBuffers{{bytes_of(input)}, {bytes_of(outputs[0])}}, first));
  gate.wait_entered();
  ASSERT_TRUE(
      owned->submit(FrameBuffers{{bytes_of(input)}, {bytes_of(outputs[1])}}, log.for_frame(1)));
  ASSERT_TRUE(
      owned->submit(FrameBuffers{{bytes_of(input)}, {bytes_of(outputs[2])}}, log.for_frame(2)));
  // Destroy on another thread while frames 1 and 2 are queued behind the held worker.
  std::thread destroyer([&] { owned.reset(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  gate.release();
  destroyer.join();
  std::lock_guard lock(log.mutex);  // the destructor returned: all completions have run
  ASSERT_EQ(log.calls.size(), 3U);
  std::vector<int> seen(3, 0);
  for (const auto& [id, status] : log.calls) {
    ++seen[static_cast<std::size_t>(id)];
    if (id == 0) {
      EXPECT_TRUE(status);  // it ran before shutdown
    } else {
      ASSERT_FALSE(status);
      EXPECT_EQ(status.error().code, ErrorCode::kFailed);
      EXPECT_NE(status.error().message.find("shut down"), std::string::npos);
    }
  }
  EXPECT_EQ(seen, (std::vector<int>{1, 1, 1}));
}

TEST(CpuBackend, DestructionWhenIdleIsClean) {
  auto [file, backend] = load({});
  ASSERT_TRUE(backend) << backend.error().message;
  backend->reset();
}

TEST(CpuBackend, UnsupportedOpIsRefusedNamingOpAndNode) {
  TinyModelOptions options;
  options.unsupported_op = "NonZero";
  auto [file, backend] = load(options, "nz.onnx");
  ASSERT_FALSE(backend);
  EXPECT_EQ(backend.error().code, ErrorCode::kUnsupported);
  EXPECT_EQ(backend.error().message,
            file->path().string() +
                ": OpenCV " CV_VERSION
                " DNN cannot run op 'NonZero' (node 'bad0'); the CPU backend cannot "
                "load this model");
}

TEST(CpuBackend, OpenCvImportErrorsBecomeErrorsNamingTheFile) {
  // A Conv whose weights do not match its input channels: every op is supported, OpenCV
  // itself fails (at import or at the warm-up forward); the cv::Exception must not escape.
  auto proto = testing::make_tiny_classifier();
  auto* w = proto.mutable_graph()->mutable_initializer(0);
  ASSERT_EQ(w->name(), "conv_w");
  w->set_dims(1, 2);  // 4x2x3x3 against 3 input channels
  w->mutable_raw_data()->resize(4 * 2 * 3 * 3 * sizeof(float));
  TempFile file("badconv.onnx");
  file.write(testing::serialize(proto));
  auto backend = create_cpu_backend(file.path(), kOneThread);
  ASSERT_FALSE(backend);
  EXPECT_EQ(backend.error().code, ErrorCode::kUnsupported);
  EXPECT_EQ(backend.error().message.rfind(file.path().string() +
                                              ": OpenCV " CV_VERSION
                                              " DNN cannot import op 'Conv' (node 'conv0'): ",
                                          0),
            0U)
      << backend.error().message;
  EXPECT_EQ(backend.error().message.find('\n'), std::string::npos);
  // Only OpenCV's innermost reason is kept: no "OpenCV(4.6.0) file:line: error: (...)"
  // prefixes, no " in function '...'" tails.
  EXPECT_EQ(backend.error().message.find("OpenCV("), std::string::npos) << backend.error().message;
  EXPECT_EQ(backend.error().message.find(" in function '"), std::string::npos)
      << backend.error().message;
}

TEST(CpuBackend, InputThatIsNotFloat1x3HxWIsUnsupported) {
  TinyModelOptions dynamic;
  dynamic.batch_dim_param = "batch";
  auto loaded = load(dynamic);
  ASSERT_FALSE(loaded.backend);
  EXPECT_EQ(loaded.backend.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(loaded.backend.error().message.find("input 'input' is float32 ?x3x8x8"),
            std::string::npos)
      << loaded.backend.error().message;

  TinyModelOptions uint8_input;
  uint8_input.input_elem_type = ::onnx::TensorProto::UINT8;
  loaded = load(uint8_input);
  ASSERT_FALSE(loaded.backend);
  EXPECT_EQ(loaded.backend.error().code, ErrorCode::kUnsupported);

  TinyModelOptions two_inputs;
  two_inputs.second_input = true;
  loaded = load(two_inputs);
  ASSERT_FALSE(loaded.backend);
  EXPECT_NE(loaded.backend.error().message.find("2 inputs"), std::string::npos);
}

TEST(CpuBackend, LoaderErrorsPassThrough) {
  auto missing = create_cpu_backend("/nonexistent/model.onnx");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  TempFile garbage("garbage.onnx");
  garbage.write(std::vector<std::uint8_t>(100, 0xFF));
  auto bad = create_cpu_backend(garbage.path());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidFormat);
  EXPECT_NE(bad.error().message.find(garbage.path().string()), std::string::npos);

  auto negative = create_cpu_backend(garbage.path(), CpuBackendOptions{-1});
  ASSERT_FALSE(negative);
  EXPECT_EQ(negative.error().code, ErrorCode::kInvalidArgument);
}

TEST(CpuBackend, NonConstantClipBoundIsUnsupported) {
  TinyModelOptions options;
  options.activation = Activation::kClipDynamic;
  auto loaded = load(options);
  ASSERT_FALSE(loaded.backend);
  EXPECT_EQ(loaded.backend.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(loaded.backend.error().message.find("'act0'"), std::string::npos);
}

}  // namespace
}  // namespace hdeploy::runtime

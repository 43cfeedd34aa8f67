#include "hdeploy/runtime/backend.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace hdeploy::runtime {
namespace {

TensorSpec spec(const std::string& name, std::vector<std::int64_t> shape, DType dtype,
                Layout layout) {
  TensorSpec s;
  s.name = name;
  s.shape = std::move(shape);
  s.dtype = dtype;
  s.layout = layout;
  return s;
}

const std::vector<TensorSpec> kInputs = {
    spec("input", {1, 3, 2, 2}, DType::kFloat32, Layout::kNCHW)};  // 48 bytes
const std::vector<TensorSpec> kOutputs = {spec("logits", {1, 5}, DType::kFloat32, Layout::kNC)};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(ValidateFrame, AcceptsExactSizes) {
  std::vector<std::uint8_t> in(48), out(20);
  FrameBuffers frame{{in}, {out}};
  EXPECT_TRUE(validate_frame(frame, kInputs, kOutputs, "cpu"));
}

TEST(ValidateFrame, RejectsWrongBufferCounts) {
  std::vector<std::uint8_t> in(48), out(20);
  FrameBuffers two_inputs{{in, in}, {out}};
  auto status = validate_frame(two_inputs, kInputs, kOutputs, "cpu");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(contains(status.error().message, "2 input")) << status.error().message;
  FrameBuffers no_outputs{{in}, {}};
  EXPECT_FALSE(validate_frame(no_outputs, kInputs, kOutputs, "cpu"));
}

TEST(ValidateFrame, NamesTheBufferAndBothSizes) {
  std::vector<std::uint8_t> in(47), out(20);
  auto status = validate_frame(FrameBuffers{{in}, {out}}, kInputs, kOutputs, "sim");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  const auto& m = status.error().message;
  EXPECT_TRUE(contains(m, "sim: input 0 'input'")) << m;
  EXPECT_TRUE(contains(m, "48 bytes")) << m;
  EXPECT_TRUE(contains(m, "gives 47")) << m;

  std::vector<std::uint8_t> in_ok(48), out_big(21);
  status = validate_frame(FrameBuffers{{in_ok}, {out_big}}, kInputs, kOutputs, "sim");
  ASSERT_FALSE(status);
  EXPECT_TRUE(contains(status.error().message, "output 0 'logits' needs 20 bytes"))
      << status.error().message;
  EXPECT_TRUE(contains(status.error().message, "gives 21"));
}

// Completes every frame on its own thread with a preset status, as a device would.
class FakeBackend final : public Backend {
 public:
  explicit FakeBackend(Status result, Status submit_result = {})
      : result_(std::move(result)), submit_result_(std::move(submit_result)) {}
  ~FakeBackend() override {
    for (auto& t : threads_) t.join();
  }
  std::string name() const override { return "fake"; }
  std::string description() const override { return "fake"; }
  const std::vector<TensorSpec>& inputs() const override { return kInputs; }
  const std::vector<TensorSpec>& outputs() const override { return kOutputs; }
  std::size_t max_in_flight() const override { return 1; }
  Status submit(const FrameBuffers& frame, Completion done) override {
    if (!submit_result_) return submit_result_;
    ++submits;
    threads_.emplace_back([frame, done = std::move(done), result = result_]() mutable {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // infer must really wait
      frame.outputs[0][0] = 42;
      done(std::move(result));
    });
    return {};
  }
  int submits = 0;

 private:
  Status result_;
  Status submit_result_;
  std::vector<std::thread> threads_;
};

TEST(BackendInfer, WaitsForTheCompletionAndReturnsItsStatus) {
  std::vector<std::uint8_t> in(48), out(20);
  FakeBackend ok{Status{}};
  EXPECT_TRUE(ok.infer(FrameBuffers{{in}, {out}}));
  EXPECT_EQ(out[0], 42);  // written before infer returned
  EXPECT_EQ(ok.submits, 1);

  FakeBackend failing{fail(ErrorCode::kFailed, "device lost")};
  auto status = failing.infer(FrameBuffers{{in}, {out}});
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kFailed);
  EXPECT_EQ(status.error().message, "device lost");
}

TEST(BackendInfer, ReturnsTheSubmitErrorWithoutWaiting) {
  std::vector<std::uint8_t> in(48), out(20);
  FakeBackend refusing{Status{}, fail(ErrorCode::kInvalidArgument, "too many")};
  auto status = refusing.infer(FrameBuffers{{in}, {out}});
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message, "too many");
}

TEST(BackendChipTemperature, IsUnsupportedUnlessTheBackendHasASensor) {
  FakeBackend fake{Status{}};
  auto temperature = fake.chip_temperature_c();
  ASSERT_FALSE(temperature);
  EXPECT_EQ(temperature.error().code, ErrorCode::kUnsupported);
  EXPECT_EQ(temperature.error().message, "backend fake has no chip sensor");
}

}  // namespace
}  // namespace hdeploy::runtime

#include "hdeploy/runtime/engine.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "hdeploy/runtime/sim_backend.hpp"

namespace hdeploy::runtime {
namespace {

SimDeviceSpec spec_with(double fps, double latency_ms, std::size_t depth) {
  SimDeviceSpec spec;
  spec.input.name = "in";
  spec.input.dtype = DType::kUint8;
  spec.input.layout = Layout::kNHWC;
  spec.input.shape = {1, 4, 4, 3};
  spec.output.name = "out";
  spec.output.dtype = DType::kUint8;
  spec.output.layout = Layout::kNC;
  spec.output.shape = {1, 10};
  spec.output.quantization = Quantization{0.1F, 5.0F};
  spec.fps = fps;
  spec.latency_ms = latency_ms;
  spec.queue_depth = depth;
  return spec;
}

std::unique_ptr<SimBackend> make_sim(double fps, double latency_ms, std::size_t depth) {
  auto sim = create_sim_backend(spec_with(fps, latency_ms, depth));
  EXPECT_TRUE(sim) << sim.error().message;
  return std::move(sim).value();
}

// Wraps a backend and counts every completion, and any that runs more than once per submit.
class CountingBackend final : public Backend {
 public:
  explicit CountingBackend(Backend& inner) : inner_(inner) {}
  std::string name() const override { return inner_.name(); }
  std::string description() const override { return inner_.description(); }
  const std::vector<TensorSpec>& inputs() const override { return inner_.inputs(); }
  const std::vector<TensorSpec>& outputs() const override { return inner_.outputs(); }
  std::size_t max_in_flight() const override { return inner_.max_in_flight(); }
  Status submit(const FrameBuffers& frame, Completion done) override {
    auto once = std::make_shared<std::atomic<int>>(0);
    Status status = inner_.submit(frame, [this, once, done = std::move(done)](Status s) {
      if (once->fetch_add(1) != 0) duplicates.fetch_add(1);
      completed.fetch_add(1);
      done(std::move(s));
    });
    if (status) submitted.fetch_add(1);
    return status;
  }
  std::atomic<std::uint64_t> submitted{0};
  std::atomic<std::uint64_t> completed{0};
  std::atomic<std::uint64_t> duplicates{0};

 private:
  Backend& inner_;
};

void write_id(EngineFrame& frame, std::uint64_t id) {
  std::memcpy(frame.input().data(), &id, sizeof id);
}
std::uint64_t input_id(EngineFrame& frame) {
  std::uint64_t id = 0;
  std::memcpy(&id, frame.input().data(), sizeof id);
  return id;
}
std::uint64_t output_id(const EngineFrame& frame) {
  std::uint64_t id = 0;
  std::memcpy(&id, frame.output().data(), sizeof id);
  return id;
}

TEST(Engine, CreateChecksOptions) {
  auto sim = make_sim(1000, 1, 4);
  auto engine = Engine::create(*sim);
  ASSERT_TRUE(engine);
  EXPECT_EQ((*engine)->in_flight_limit(), 4U);
  EXPECT_EQ((*engine)->pool_frames(), 8U);
  auto clamped = Engine::create(*sim, EngineOptions{64, 0});
  ASSERT_TRUE(clamped);
  EXPECT_EQ((*clamped)->in_flight_limit(), 4U);
  auto small_pool = Engine::create(*sim, EngineOptions{4, 2});
  ASSERT_FALSE(small_pool);
  EXPECT_EQ(small_pool.error().code, ErrorCode::kInvalidArgument);
}

TEST(Engine, BuffersArePageAlignedAndExactSize) {
  auto sim = make_sim(1000, 1, 2);
  auto engine = Engine::create(*sim).value();
  auto frame = engine->acquire();
  ASSERT_TRUE(frame);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>((*frame)->input().data()) % page_size(), 0U);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>((*frame)->output().data()) % page_size(), 0U);
  EXPECT_EQ((*frame)->input().size(), 48U);
  EXPECT_EQ((*frame)->output().size(), 10U);
  engine->release(**frame);
}

TEST(Engine, SyncRunIsSubmitPlusWait) {
  auto sim = make_sim(1000, 0.5, 4);
  auto engine = Engine::create(*sim).value();
  for (std::uint64_t i = 0; i < 20; ++i) {
    auto frame = engine->acquire();
    ASSERT_TRUE(frame);
    write_id(**frame, 1000 + i);
    ASSERT_TRUE(engine->run(**frame));
    EXPECT_EQ(output_id(**frame), 1000 + i);
    EXPECT_EQ((*frame)->sequence(), i);
    engine->release(**frame);
  }
  EXPECT_EQ(engine->frames_completed(), 20U);
  // run() frames are not handed out again by next_completed().
  EXPECT_EQ(engine->next_completed().error().code, ErrorCode::kInvalidArgument);
}

TEST(Engine, FramesCarryTheirSubmitAndCompletionTimes) {
  auto sim = make_sim(1000, 5, 4);  // 5 ms from submit to completion when idle
  auto engine = Engine::create(*sim).value();
  auto frame = engine->acquire();
  ASSERT_TRUE(frame);
  const auto before = std::chrono::steady_clock::now();
  ASSERT_TRUE(engine->submit(**frame));
  auto done = engine->next_completed();
  ASSERT_TRUE(done);
  const auto after = std::chrono::steady_clock::now();
  EXPECT_GE((*done)->submitted_at(), before);
  EXPECT_LE((*done)->completed_at(), after);
  EXPECT_GE((*done)->completed_at() - (*done)->submitted_at(), std::chrono::milliseconds(5));
  engine->release(**done);
}

TEST(Engine, AcquireWithEveryFrameHeldFailsInsteadOfHanging) {
  auto sim = make_sim(1000, 0.5, 2);
  auto engine = Engine::create(*sim, EngineOptions{2, 2}).value();
  auto a = engine->acquire();
  auto b = engine->acquire();
  ASSERT_TRUE(a && b);
  auto c = engine->acquire();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
  engine->release(**a);
  EXPECT_TRUE(engine->acquire());
}

TEST(Engine, SubmitErrorsLeaveTheFrameWithTheCaller) {
  auto sim = make_sim(1000, 0.5, 2);
  auto engine = Engine::create(*sim).value();
  auto frame = engine->acquire().value();
  ASSERT_TRUE(engine->submit(*frame));
  auto again = engine->submit(*frame);  // in flight: not the caller's
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidArgument);
  auto done = engine->next_completed();
  ASSERT_TRUE(done);
  EXPECT_EQ(*done, frame);
  EXPECT_TRUE(frame->status());
}

// The soak: every frame completes exactly once, results come back in submission order, and
// no buffer is reused before its completion: each input carries its frame id, the sim echoes
// the input at completion time, and both are checked when the result is collected.
TEST(Engine, SoakTwoHundredThousandFramesInOrderExactlyOnce) {
  constexpr std::uint64_t kFrames = 200'000;
  auto sim = make_sim(50'000, 0.1, 16);
  CountingBackend counting(*sim);
  auto engine = Engine::create(counting).value();
  std::uint64_t next_expected = 0;
  std::uint64_t bad_echo = 0;
  std::uint64_t bad_input = 0;
  std::uint64_t failed = 0;
  std::uint64_t out_of_order = 0;
  auto collect = [&] {
    auto done = engine->next_completed();
    ASSERT_TRUE(done) << done.error().message;
    EngineFrame& f = **done;
    if (f.sequence() != next_expected || f.tag != next_expected) ++out_of_order;
    if (!f.status()) ++failed;
    if (output_id(f) != f.tag) ++bad_echo;
    if (input_id(f) != f.tag) ++bad_input;
    ++next_expected;
    engine->release(f);
  };
  std::uint64_t outstanding = 0;
  const auto start = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < kFrames; ++i) {
    if (outstanding == engine->pool_frames()) {
      collect();
      --outstanding;
    }
    auto frame = engine->acquire();
    ASSERT_TRUE(frame) << frame.error().message;
    (*frame)->tag = i;
    write_id(**frame, i);
    ASSERT_TRUE(engine->submit(**frame));
    ++outstanding;
  }
  for (; outstanding > 0; --outstanding) collect();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(next_expected, kFrames);
  EXPECT_EQ(out_of_order, 0U);
  EXPECT_EQ(failed, 0U);
  EXPECT_EQ(bad_echo, 0U);
  EXPECT_EQ(bad_input, 0U);
  EXPECT_EQ(counting.submitted.load(), kFrames);
  EXPECT_EQ(counting.completed.load(), kFrames);
  EXPECT_EQ(counting.duplicates.load(), 0U);
  EXPECT_EQ(engine->frames_completed(), kFrames);
  EXPECT_EQ(engine->in_flight(), 0U);
  RecordProperty("seconds", std::to_string(seconds));
  std::printf("soak: %llu frames in %.2f s (%.0f FPS)\n", static_cast<unsigned long long>(kFrames),
              seconds, kFrames / seconds);
}

TEST(Engine, DestroyMidStreamCancelsWithoutHangOrLateCompletion) {
  auto sim = make_sim(200, 20, 4);  // slow: frames are still in flight at destruction
  CountingBackend counting(*sim);
  {
    auto engine = Engine::create(counting).value();
    for (int i = 0; i < 4; ++i) {
      auto frame = engine->acquire().value();
      ASSERT_TRUE(engine->submit(*frame));
    }
    EXPECT_EQ(engine->in_flight(), 4U);
  }  // returns once the backend has completed all four
  EXPECT_EQ(counting.completed.load(), 4U);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(counting.completed.load(), 4U);
  EXPECT_EQ(counting.duplicates.load(), 0U);
}

TEST(Engine, DestroyingTheBackendFirstFailsItsFrames) {
  // Engine then sim, both mid-stream with a very slow device: the sim cancels queued frames,
  // the engine sees kFailed results.
  auto sim = make_sim(1, 60000, 2);
  auto engine = Engine::create(*sim).value();
  auto a = engine->acquire().value();
  ASSERT_TRUE(engine->submit(*a));
  std::thread killer([&] { sim.reset(); });
  auto done = engine->next_completed();
  killer.join();
  ASSERT_TRUE(done);
  ASSERT_FALSE((*done)->status());
  EXPECT_EQ((*done)->status().error().code, ErrorCode::kFailed);
  engine.reset();
}

TEST(Engine, DrainKeepsResultsCancelDropsThem) {
  auto sim = make_sim(500, 5, 4);
  auto engine = Engine::create(*sim).value();
  for (std::uint64_t i = 0; i < 6; ++i) {  // 4 in flight, then 2 more after completions
    auto frame = engine->acquire().value();
    frame->tag = i;
    write_id(*frame, i);
    ASSERT_TRUE(engine->submit(*frame));
  }
  engine->shutdown(ShutdownMode::kDrain);
  EXPECT_EQ(engine->in_flight(), 0U);
  EXPECT_EQ(engine->acquire().error().code, ErrorCode::kFailed);
  for (std::uint64_t i = 0; i < 6; ++i) {
    auto done = engine->next_completed();
    ASSERT_TRUE(done) << done.error().message;
    EXPECT_EQ((*done)->tag, i);
    EXPECT_EQ(output_id(**done), i);
    engine->release(**done);
  }

  auto engine2 = Engine::create(*sim).value();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(engine2->submit(*engine2->acquire().value()));
  engine2->shutdown(ShutdownMode::kCancel);
  EXPECT_EQ(engine2->in_flight(), 0U);
  EXPECT_EQ(engine2->next_completed().error().code, ErrorCode::kFailed);
}

TEST(Engine, ShutdownFromAnotherThreadWakesBlockedCalls) {
  auto sim = make_sim(1, 300, 1);  // one slow frame at a time
  auto engine = Engine::create(*sim, EngineOptions{1, 3}).value();
  ASSERT_TRUE(engine->submit(*engine->acquire().value()));
  auto second = engine->acquire().value();
  std::atomic<bool> returned{false};
  Status blocked_status;
  std::thread submitter([&] {
    blocked_status = engine->submit(*second);  // waits: the window of 1 is full
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  engine->shutdown(ShutdownMode::kCancel);
  submitter.join();
  EXPECT_TRUE(returned.load());
  // Either it got in before the shutdown (and completed) or it was refused.
  if (!blocked_status) {
    EXPECT_EQ(blocked_status.error().code, ErrorCode::kFailed);
  }
  EXPECT_EQ(engine->in_flight(), 0U);
}

TEST(Classify, DequantizesSoftmaxTopK) {
  TensorSpec spec;
  spec.name = "out";
  spec.dtype = DType::kUint8;
  spec.layout = Layout::kNC;
  spec.shape = {1, 4};
  spec.quantization = Quantization{0.5F, 10.0F};
  const std::vector<std::uint8_t> q{10, 14, 8, 12};  // 0, 2, -1, 1
  auto logits = dequantize_output(q, spec);
  ASSERT_TRUE(logits);
  EXPECT_EQ(*logits, (std::vector<float>{0.0F, 2.0F, -1.0F, 1.0F}));
  auto top = classify_output(q, spec, 2, {"a", "b", "c", "d"});
  ASSERT_TRUE(top);
  ASSERT_EQ(top->size(), 2U);
  EXPECT_EQ((*top)[0].index, 1);
  EXPECT_EQ((*top)[0].label, "b");
  EXPECT_FLOAT_EQ((*top)[0].logit, 2.0F);
  EXPECT_EQ((*top)[1].index, 3);
  EXPECT_FALSE(classify_output(std::vector<std::uint8_t>(3), spec, 1));

  TensorSpec f32 = spec;
  f32.dtype = DType::kFloat32;
  f32.quantization.reset();
  const std::vector<float> values{0.5F, -1.0F, 3.0F, 0.0F};
  auto top_f = classify_output(
      {reinterpret_cast<const std::uint8_t*>(values.data()), values.size() * sizeof(float)}, f32,
      1);
  ASSERT_TRUE(top_f);
  EXPECT_EQ((*top_f)[0].index, 2);
}

}  // namespace
}  // namespace hdeploy::runtime

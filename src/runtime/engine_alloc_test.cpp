// No allocation per frame in steady state: the Engine's pool, the sim's ring and the
// completions' small-buffer std::function mean a streaming loop allocates nothing once warm.
// Its own executable, because it replaces the global operator new to count calls.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

#include "hdeploy/runtime/engine.hpp"
#include "hdeploy/runtime/sim_backend.hpp"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t /*size*/) noexcept { std::free(p); }

namespace hdeploy::runtime {
namespace {

TEST(EngineAllocations, NoneInSteadyState) {
  SimDeviceSpec spec;
  spec.input = TensorSpec{"in", DType::kUint8, Layout::kNHWC, {1, 224, 224, 3}, Quantization{}};
  spec.output =
      TensorSpec{"out", DType::kUint8, Layout::kNC, {1, 1000}, Quantization{0.1F, 128.0F}};
  spec.fps = 50'000;
  spec.latency_ms = 0.1;
  spec.queue_depth = 8;
  auto sim = create_sim_backend(spec);
  ASSERT_TRUE(sim);
  auto engine = Engine::create(**sim);
  ASSERT_TRUE(engine);
  Engine& e = **engine;
  constexpr std::uint64_t kWarmUp = 2'000;
  constexpr std::uint64_t kFrames = 10'000;
  std::uint64_t outstanding = 0;
  long before = 0;
  bool ok = true;
  for (std::uint64_t i = 0; i < kWarmUp + kFrames && ok; ++i) {
    if (i == kWarmUp) before = g_allocations.load();
    if (outstanding == e.pool_frames()) {
      auto done = e.next_completed();
      ok = done && (*done)->status();
      if (done) e.release(**done);
      --outstanding;
    }
    auto frame = e.acquire();
    ok = ok && frame;
    if (!ok) break;
    std::memcpy((*frame)->input().data(), &i, sizeof i);
    ok = static_cast<bool>(e.submit(**frame));
    ++outstanding;
  }
  const long during = g_allocations.load() - before;
  ASSERT_TRUE(ok);
  EXPECT_EQ(during, 0) << "allocations during " << kFrames << " steady-state frames";
  while (outstanding-- > 0) e.release(*e.next_completed().value());
}

}  // namespace
}  // namespace hdeploy::runtime

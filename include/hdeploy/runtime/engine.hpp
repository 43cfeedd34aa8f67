#pragma once
// The Engine keeps a Backend full: up to max_in_flight() frames in flight, page-aligned
// buffers recycled from a fixed pool (no allocation per frame in steady state), completions
// that only post, results in submission order, and a clean shutdown.
//
// Typical loop (one thread):
//   auto frame = engine->acquire();        // waits for a free buffer set
//   fill(frame->input());                  // e.g. Preprocessor::to_hailo_input
//   engine->submit(*frame);                // waits while the in-flight window is full
//   ... when the pool runs dry or at the end:
//   auto done = engine->next_completed();  // the oldest submitted frame, once complete
//   use(done->status(), done->output());
//   engine->release(*done);

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "hdeploy/core/aligned_buffer.hpp"
#include "hdeploy/core/result.hpp"
#include "hdeploy/core/tensor.hpp"
#include "hdeploy/runtime/backend.hpp"
#include "hdeploy/runtime/classification.hpp"

namespace hdeploy::runtime {

struct EngineOptions {
  // Frames in the backend at once; 0 (or more than the backend's max_in_flight()) means
  // max_in_flight().
  std::size_t in_flight = 0;
  // Buffer sets in the pool; 0 means 2 x in_flight, so the caller can fill the next frames
  // and hold completed ones while the window is full. At least in_flight.
  std::size_t pool_frames = 0;
};

// One frame's page-aligned input and output buffers (one per TensorSpec, exactly its byte
// size), owned by the Engine's pool. The caller may touch a frame between acquire() and
// submit() (inputs), and between next_completed()/run() and release() (outputs); never while
// it is in flight.
class EngineFrame {
 public:
  std::span<std::uint8_t> input(std::size_t i = 0) { return inputs_[i].bytes(); }
  std::span<const std::uint8_t> output(std::size_t i = 0) const { return outputs_[i].bytes(); }
  std::span<std::uint8_t> output(std::size_t i = 0) { return outputs_[i].bytes(); }
  // Submission number, from 0, in the order submit()/run() accepted the frames.
  std::uint64_t sequence() const { return sequence_; }
  // The backend's verdict on this frame; meaningful once completed.
  const Status& status() const { return status_; }
  // Steady-clock times: when the frame was handed to the backend's submit (after any wait
  // for the in-flight window) and when its completion ran (on the backend's thread, before anyone
  // waiting was woken). Meaningful once completed; bench's device time is their difference.
  std::chrono::steady_clock::time_point submitted_at() const { return submitted_at_; }
  std::chrono::steady_clock::time_point completed_at() const { return completed_at_; }
  // Free for the caller (e.g. which image this is); the engine never reads it.
  std::uint64_t tag = 0;

 private:
  friend class Engine;
  enum class State { kFree, kAcquired, kInFlight, kCompleted };

  std::vector<AlignedBuffer> inputs_;
  std::vector<AlignedBuffer> outputs_;
  FrameBuffers buffers_;  // spans over the buffers above, built once
  std::uint64_t sequence_ = 0;
  std::chrono::steady_clock::time_point submitted_at_{};
  std::chrono::steady_clock::time_point completed_at_{};
  Status status_;
  State state_ = State::kFree;
  bool sync_ = false;  // submitted by run(): not handed out by next_completed()
};

enum class ShutdownMode {
  kDrain,   // wait for every in-flight frame; its result stays available to next_completed()
  kCancel,  // wait only for the backend to hand the frames back; their results are dropped
};

// Thread-safety: every member may be called from any thread; acquire/submit/next_completed
// block. The backend must outlive the Engine. The destructor cancels (ShutdownMode::kCancel)
// and returns only once the backend has completed every frame the engine submitted, so no
// completion runs after destruction.
class Engine {
 public:
  // Allocates the pool. Errors: kInvalidArgument (pool_frames < in_flight, a backend with
  // max_in_flight() == 0).
  static Result<std::unique_ptr<Engine>> create(Backend& backend,
                                                const EngineOptions& options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  Backend& backend() { return backend_; }
  std::size_t in_flight_limit() const { return in_flight_limit_; }
  std::size_t pool_frames() const { return frames_.size(); }

  // A free frame from the pool; waits while frames are in flight and none is free.
  // Errors: kFailed after shutdown; kInvalidArgument when every frame is held by the caller
  // (acquired, or completed and not released): waiting would never end.
  Result<EngineFrame*> acquire();

  // Submits an acquired frame, waiting while in_flight_limit() frames are in the backend.
  // Errors: kInvalidArgument (a frame that is not acquired), kFailed after shutdown, the
  // backend's submit errors; on error the frame stays acquired.
  Status submit(EngineFrame& frame);

  // The oldest frame submitted with submit() and not yet returned, once complete. Its
  // status() says whether it ran. Errors: kInvalidArgument when nothing is outstanding,
  // kFailed after a cancel.
  Result<EngineFrame*> next_completed();

  // Gives an acquired or completed frame back to the pool.
  void release(EngineFrame& frame);

  // The synchronous call: submit + wait for this frame. Returns the frame's status; the
  // frame stays with the caller (release it).
  Status run(EngineFrame& frame);

  // Stops accepting frames and waits for the backend to complete every in-flight frame;
  // blocked calls return kFailed. Idempotent; the first mode wins.
  void shutdown(ShutdownMode mode);

  std::size_t in_flight() const;
  std::uint64_t frames_submitted() const;
  std::uint64_t frames_completed() const;

 private:
  Engine(Backend& backend, std::size_t in_flight_limit, std::size_t pool_frames);
  void on_complete(EngineFrame* frame, Status status);  // backend thread: posts only

  Backend& backend_;
  const std::size_t in_flight_limit_;
  std::vector<std::unique_ptr<EngineFrame>> frames_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  // A fixed ring of pool_frames() slots (a std::deque would allocate a block every 64 frames).
  class FrameQueue {
   public:
    explicit FrameQueue(std::size_t capacity) : slots_(capacity) {}
    bool empty() const { return count_ == 0; }
    EngineFrame* front() const { return slots_[head_]; }
    void push_back(EngineFrame* frame);
    void pop_front();
    bool erase(EngineFrame* frame);  // keeps the order of the others
    template <typename F>
    void for_each(F f) const {
      for (std::size_t i = 0; i < count_; ++i) f(slots_[(head_ + i) % slots_.size()]);
    }
    void clear() { head_ = count_ = 0; }

   private:
    std::vector<EngineFrame*> slots_;
    std::size_t head_ = 0;
    std::size_t count_ = 0;
  };

  std::vector<EngineFrame*> free_;     // guarded by mutex_
  FrameQueue submitted_;               // submit() order, until next_completed(); guarded by mutex_
  std::size_t in_flight_ = 0;          // in the backend; guarded by mutex_
  std::uint64_t submitted_count_ = 0;  // guarded by mutex_
  std::uint64_t completed_count_ = 0;  // guarded by mutex_
  bool stopping_ = false;              // guarded by mutex_
  bool cancelled_ = false;             // guarded by mutex_
};

// Host post-processing of a classifier output: dequantizes a UINT8 output with its qp
// ((q - zero_point) * scale; identity when the spec has none) or reads a FLOAT32 one, then
// softmax and top-k. Errors: kInvalidArgument (size or dtype that does not match the spec).
Result<std::vector<float>> dequantize_output(std::span<const std::uint8_t> output,
                                             const TensorSpec& spec);
Result<std::vector<ClassScore>> classify_output(std::span<const std::uint8_t> output,
                                                const TensorSpec& spec, std::size_t k,
                                                const std::vector<std::string>& labels = {});

}  // namespace hdeploy::runtime

#include "hdeploy/runtime/engine.hpp"

#include <algorithm>
#include <utility>

namespace hdeploy::runtime {

Result<std::unique_ptr<Engine>> Engine::create(Backend& backend, const EngineOptions& options) {
  const std::size_t backend_max = backend.max_in_flight();
  if (backend_max == 0) {
    return fail(ErrorCode::kInvalidArgument, "engine: backend '{}' takes no frames in flight",
                backend.name());
  }
  const std::size_t in_flight =
      options.in_flight == 0 ? backend_max : std::min(options.in_flight, backend_max);
  const std::size_t pool = options.pool_frames == 0 ? 2 * in_flight : options.pool_frames;
  if (pool < in_flight) {
    return fail(ErrorCode::kInvalidArgument,
                "engine: a pool of {} frame(s) cannot keep {} in flight; give at least {}", pool,
                in_flight, in_flight);
  }
  return std::unique_ptr<Engine>(new Engine(backend, in_flight, pool));
}

void Engine::FrameQueue::push_back(EngineFrame* frame) {
  // Never full: it holds only pool frames, each at most once.
  slots_[(head_ + count_) % slots_.size()] = frame;
  ++count_;
}

void Engine::FrameQueue::pop_front() {
  head_ = (head_ + 1) % slots_.size();
  --count_;
}

bool Engine::FrameQueue::erase(EngineFrame* frame) {
  const std::size_t n = slots_.size();
  for (std::size_t i = 0; i < count_; ++i) {
    if (slots_[(head_ + i) % n] != frame) continue;
    for (std::size_t j = i; j + 1 < count_; ++j) {
      slots_[(head_ + j) % n] = slots_[(head_ + j + 1) % n];
    }
    --count_;
    return true;
  }
  return false;
}

Engine::Engine(Backend& backend, std::size_t in_flight_limit, std::size_t pool_frames)
    : backend_(backend), in_flight_limit_(in_flight_limit), submitted_(pool_frames) {
  frames_.reserve(pool_frames);
  free_.reserve(pool_frames);
  for (std::size_t i = 0; i < pool_frames; ++i) {
    auto frame = std::make_unique<EngineFrame>();
    for (const auto& spec : backend_.inputs()) frame->inputs_.emplace_back(spec.byte_size());
    for (const auto& spec : backend_.outputs()) frame->outputs_.emplace_back(spec.byte_size());
    for (const auto& buffer : frame->inputs_) frame->buffers_.inputs.push_back(buffer.bytes());
    for (auto& buffer : frame->outputs_) frame->buffers_.outputs.push_back(buffer.bytes());
    free_.push_back(frame.get());
    frames_.push_back(std::move(frame));
  }
  // Hand frames out in pool order (free_ is a stack).
  std::reverse(free_.begin(), free_.end());
}

Engine::~Engine() { shutdown(ShutdownMode::kCancel); }

Result<EngineFrame*> Engine::acquire() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (stopping_) return fail(ErrorCode::kFailed, "engine: shut down; no more frames");
    if (!free_.empty()) break;
    if (submitted_.empty() && in_flight_ == 0) {
      return fail(ErrorCode::kInvalidArgument,
                  "engine: all {} pool frames are held by the caller (acquired, or completed "
                  "and not released); release one before acquiring another",
                  frames_.size());
    }
    changed_.wait(lock);
  }
  EngineFrame* frame = free_.back();
  free_.pop_back();
  frame->state_ = EngineFrame::State::kAcquired;
  return frame;
}

Status Engine::submit(EngineFrame& frame) {
  {
    std::unique_lock lock(mutex_);
    if (frame.state_ != EngineFrame::State::kAcquired) {
      return fail(ErrorCode::kInvalidArgument,
                  "engine: submit needs a frame from acquire() that is not in flight");
    }
    changed_.wait(lock, [&] { return stopping_ || in_flight_ < in_flight_limit_; });
    if (stopping_) return fail(ErrorCode::kFailed, "engine: shut down; frame not submitted");
    frame.state_ = EngineFrame::State::kInFlight;
    frame.sequence_ = submitted_count_++;
    if (!frame.sync_) submitted_.push_back(&frame);
    ++in_flight_;
  }
  // Outside the lock: a backend may take its own locks in submit, and its completion thread
  // takes ours. The time is taken before the call: a completion may run before it returns.
  frame.submitted_at_ = std::chrono::steady_clock::now();
  Status status = backend_.submit(
      frame.buffers_, [this, f = &frame](Status result) { on_complete(f, std::move(result)); });
  if (!status) {
    std::lock_guard lock(mutex_);
    frame.state_ = EngineFrame::State::kAcquired;
    --in_flight_;
    if (submitted_count_ == frame.sequence_ + 1) --submitted_count_;
    if (!frame.sync_) submitted_.erase(&frame);
    changed_.notify_all();
  }
  return status;
}

void Engine::on_complete(EngineFrame* frame, Status status) {
  // Posts only. Notifies under the lock: once a waiter sees the change it may destroy the
  // engine, so this must be done touching it when the lock is released.
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  frame->completed_at_ = now;
  frame->status_ = std::move(status);
  frame->state_ = EngineFrame::State::kCompleted;
  --in_flight_;
  ++completed_count_;
  changed_.notify_all();
}

Result<EngineFrame*> Engine::next_completed() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (cancelled_) return fail(ErrorCode::kFailed, "engine: cancelled; results were dropped");
    if (submitted_.empty()) {
      return fail(ErrorCode::kInvalidArgument, "engine: no submitted frame is outstanding");
    }
    if (submitted_.front()->state_ == EngineFrame::State::kCompleted) break;
    changed_.wait(lock);
  }
  EngineFrame* frame = submitted_.front();
  submitted_.pop_front();
  return frame;
}

void Engine::release(EngineFrame& frame) {
  std::lock_guard lock(mutex_);
  if (frame.state_ != EngineFrame::State::kAcquired &&
      frame.state_ != EngineFrame::State::kCompleted) {
    return;  // free already, or in flight: the engine keeps it
  }
  // A completed frame still queued for next_completed() is dropped from that queue.
  submitted_.erase(&frame);
  frame.state_ = EngineFrame::State::kFree;
  frame.sync_ = false;
  free_.push_back(&frame);
  changed_.notify_all();
}

Status Engine::run(EngineFrame& frame) {
  {
    std::lock_guard lock(mutex_);
    if (frame.state_ != EngineFrame::State::kAcquired) {
      return fail(ErrorCode::kInvalidArgument,
                  "engine: run needs a frame from acquire() that is not in flight");
    }
    frame.sync_ = true;
  }
  Status submitted = submit(frame);
  if (!submitted) {
    std::lock_guard lock(mutex_);
    frame.sync_ = false;
    return submitted;
  }
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return frame.state_ == EngineFrame::State::kCompleted; });
  frame.sync_ = false;
  return frame.status_;
}

void Engine::shutdown(ShutdownMode mode) {
  std::unique_lock lock(mutex_);
  stopping_ = true;
  if (mode == ShutdownMode::kCancel && !cancelled_) cancelled_ = true;
  changed_.notify_all();
  // The backend completes every frame it accepted (Backend contract), so this ends.
  changed_.wait(lock, [&] { return in_flight_ == 0; });
  if (cancelled_) {
    submitted_.for_each([&](EngineFrame* frame) {
      frame->state_ = EngineFrame::State::kFree;
      free_.push_back(frame);
    });
    submitted_.clear();
  }
}

std::size_t Engine::in_flight() const {
  std::lock_guard lock(mutex_);
  return in_flight_;
}

std::uint64_t Engine::frames_submitted() const {
  std::lock_guard lock(mutex_);
  return submitted_count_;
}

std::uint64_t Engine::frames_completed() const {
  std::lock_guard lock(mutex_);
  return completed_count_;
}

Result<std::vector<float>> dequantize_output(std::span<const std::uint8_t> output,
                                             const TensorSpec& spec) {
  if (output.size() != spec.byte_size()) {
    return fail(ErrorCode::kInvalidArgument, "output '{}' is {} bytes; {} needs {}", spec.name,
                output.size(), spec.describe(), spec.byte_size());
  }
  std::vector<float> values(spec.element_count());
  if (spec.dtype == DType::kUint8) {
    const Quantization qp = spec.quantization.value_or(Quantization{});
    // 256 possible values: tabulate once rather than one multiply per class.
    float table[256];
    for (int q = 0; q < 256; ++q) table[q] = qp.dequantize(static_cast<float>(q));
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = table[output[i]];
  } else if (spec.dtype == DType::kFloat32) {
    std::copy_n(reinterpret_cast<const float*>(output.data()), values.size(), values.data());
  } else {
    return fail(ErrorCode::kInvalidArgument,
                "output '{}' is {}; classification reads uint8 (quantized) or float32", spec.name,
                to_string(spec.dtype));
  }
  return values;
}

Result<std::vector<ClassScore>> classify_output(std::span<const std::uint8_t> output,
                                                const TensorSpec& spec, std::size_t k,
                                                const std::vector<std::string>& labels) {
  HDEPLOY_ASSIGN_OR_RETURN(std::vector<float> logits, dequantize_output(output, spec));
  return top_k(logits, k, labels);
}

}  // namespace hdeploy::runtime

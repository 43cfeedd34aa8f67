// The load scenarios (runner.hpp). One Run object holds the state of one run_scenario call:
//
//   hd-arrivals (stream, poisson)  schedules frames on an absolute timetable into `waiting_`
//   hd-preproc-<i>                 takes a frame (scheduling it itself in latency/throughput),
//                                  acquires engine buffers, fills them, submits
//   hd-complete                    next_completed, post-process, release, accounting
//   the caller's thread            progress, stop flag, end conditions, then the shutdown
//
// Counters and the waiting queue are guarded by one mutex (`mutex_`); each thread waits on its
// own condition variable so a per-frame notification wakes only who needs it. Frame traces
// live in a chunked store: whoever schedules a frame writes its first fields under the mutex,
// later fields are written by one thread at a time, handed on through the engine's mutex
// (submit → next_completed) or ours, so no trace field is ever written concurrently.

#include "hdeploy/bench/runner.hpp"

#include <pthread.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>
#include <system_error>
#include <thread>
#include <utility>

#include "hdeploy/bench/statistics.hpp"

namespace hdeploy::bench {

using runtime::Engine;
using runtime::EngineFrame;

namespace {

using Clock = std::chrono::steady_clock;

// Frame traces: chunks of kChunkFrames, allocated as scheduling reaches them, behind a
// pointer table sized once (kMaxChunks * kChunkFrames frames at most: 268 million).
constexpr std::size_t kChunkFrames = 4096;
constexpr std::size_t kMaxChunks = std::size_t{1} << 16;
constexpr std::size_t kMaxErrors = 10;
// A run whose first frames all fail stops early instead of failing for its whole duration.
constexpr std::uint64_t kFailFastFrames = 100;
// How often the calling thread checks the stop flag and the end conditions.
constexpr auto kPollInterval = std::chrono::milliseconds(2);

class TraceStore {
 public:
  TraceStore() : chunks_(kMaxChunks) {}
  // Makes frame `index` addressable; false when the store is full. Called by the scheduling
  // thread under the run's mutex.
  bool reserve(std::uint64_t index) {
    const std::size_t chunk = index / kChunkFrames;
    if (chunk >= chunks_.size()) return false;
    if (!chunks_[chunk]) chunks_[chunk] = std::make_unique<FrameTrace[]>(kChunkFrames);
    return true;
  }
  FrameTrace& operator[](std::uint64_t index) {
    return chunks_[index / kChunkFrames][index % kChunkFrames];
  }
  void copy_to(std::uint64_t count, std::vector<FrameTrace>& out) {
    out.resize(count);
    for (std::uint64_t i = 0; i < count; ++i) out[i] = (*this)[i];
  }

 private:
  std::vector<std::unique_ptr<FrameTrace[]>> chunks_;
};

// A FIFO of frame indices that grows by doubling (stream: at most stream_queue entries;
// poisson: the backlog), so steady state does not allocate.
class IndexQueue {
 public:
  bool empty() const { return count_ == 0; }
  std::size_t size() const { return count_; }
  void push(std::uint64_t index) {
    if (count_ == slots_.size()) grow();
    slots_[(head_ + count_) % slots_.size()] = index;
    ++count_;
  }
  std::uint64_t pop() {
    const std::uint64_t index = slots_[head_];
    head_ = (head_ + 1) % slots_.size();
    --count_;
    return index;
  }
  void clear() { head_ = count_ = 0; }

 private:
  void grow() {
    std::vector<std::uint64_t> bigger(std::max<std::size_t>(16, 2 * slots_.size()));
    for (std::size_t i = 0; i < count_; ++i) bigger[i] = slots_[(head_ + i) % slots_.size()];
    slots_ = std::move(bigger);
    head_ = 0;
  }
  std::vector<std::uint64_t> slots_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
};

void name_this_thread(const std::string& name) {
  // Linux limits thread names to 15 characters.
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

bool positive_finite(double v) { return std::isfinite(v) && v > 0.0; }

std::size_t workers_for(const RunOptions& options, bool source_measured) {
  if (options.scenario == Scenario::kLatency || !source_measured) return 1;
  if (options.preprocess_threads > 0) return options.preprocess_threads;
  return std::max(1U, std::thread::hardware_concurrency());
}

std::size_t in_flight_for(const RunOptions& options, std::size_t limit) {
  if (options.scenario == Scenario::kLatency) return 1;
  return options.in_flight == 0 ? limit : std::min(options.in_flight, limit);
}

class Run {
 public:
  Run(Engine& engine, const FrameSource& source, const PostProcess& postprocess,
      const RunOptions& options, std::size_t in_flight, std::size_t workers)
      : engine_(engine),
        source_(source),
        postprocess_(postprocess),
        options_(options),
        scenario_(options.scenario),
        in_flight_(in_flight),
        workers_(workers),
        // Our own window only when it is narrower than the engine's (latency: one frame in
        // the whole system instead).
        own_window_(scenario_ != Scenario::kLatency && in_flight < engine.in_flight_limit()),
        arrivals_(scenario_ == Scenario::kStream || scenario_ == Scenario::kPoisson),
        warmup_by_count_(options.warmup_frames > 0),
        warmup_ns_(warmup_by_count_ ? 0 : options.warmup.count()),
        source_count_(source.count()) {
    if (scenario_ == Scenario::kStream) {
      const double deadline_ms =
          options.deadline_ms > 0.0 ? options.deadline_ms : 1000.0 / options.stream_fps;
      deadline_ns_ = std::llround(deadline_ms * 1e6);
    }
  }

  Result<RunResult> execute();

 private:
  std::int64_t ns_since_origin(Clock::time_point t) const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t - origin_).count();
  }
  std::int64_t now_ns() const { return ns_since_origin(Clock::now()); }

  std::optional<std::uint64_t> schedule_locked(std::int64_t scheduled_ns);
  void worker_loop(std::size_t id);
  bool next_own_frame(std::uint64_t& index, EngineFrame*& frame);
  bool next_arrived_frame(std::uint64_t& index, EngineFrame*& frame);
  void process(std::uint64_t index, EngineFrame& frame);
  void completion_loop();
  void arrivals_loop();
  void finish_locked(std::uint64_t index, bool ok);
  void finish(std::uint64_t index, bool ok) {
    {
      std::lock_guard lock(mutex_);
      finish_locked(index, ok);
    }
    work_ready_.notify_all();
  }
  void record_error(const std::string& message);
  void set_fatal(Error error);
  void monitor();
  void report_progress(Clock::time_point now);

  Engine& engine_;
  const FrameSource& source_;
  const PostProcess& postprocess_;
  const RunOptions& options_;
  const Scenario scenario_;
  const std::size_t in_flight_;
  const std::size_t workers_;
  const bool own_window_;
  const bool arrivals_;
  const bool warmup_by_count_;
  const std::int64_t warmup_ns_;
  const std::size_t source_count_;
  std::int64_t deadline_ns_ = 0;  // stream only

  Clock::time_point origin_;
  TraceStore traces_;

  std::mutex mutex_;
  std::condition_variable work_ready_;       // workers: a frame waits, a gate opened, stop
  std::condition_variable submitted_ready_;  // completion thread: a frame was submitted
  std::condition_variable arrivals_wake_;    // arrivals thread: stop
  std::condition_variable monitor_wake_;     // calling thread: fatal error, all failing
  // Guarded by mutex_:
  std::uint64_t scheduled_ = 0;      // frames scheduled (trace entries in use)
  IndexQueue waiting_;               // stream/poisson: arrived, not yet taken by a worker
  std::uint64_t in_system_ = 0;      // taken by a worker and not finished
  std::uint64_t own_in_flight_ = 0;  // submitted, not collected (own_window_ only)
  std::uint64_t submitted_ = 0;      // submitted to the engine
  std::uint64_t collected_ = 0;      // returned by next_completed
  std::uint64_t succeeded_ = 0;
  std::uint64_t failed_ = 0;
  std::uint64_t measured_ok_ = 0;  // measured frames finished without failure
  bool measuring_ = false;         // warm-up is over
  std::int64_t measure_start_ns_ = 0;
  bool stopping_ = false;  // no new frames
  std::size_t workers_exited_ = 0;
  bool workers_done_ = false;  // every worker has returned
  bool store_full_ = false;
  bool all_failing_ = false;
  bool interrupted_ = false;
  Clock::time_point interrupted_at_;
  std::optional<Error> fatal_;
  std::vector<std::string> errors_;
  std::optional<std::string> first_error_;

  // End-to-end latencies of measured frames, for progress only.
  std::mutex progress_mutex_;
  std::vector<double> progress_latencies_ms_;  // guarded by progress_mutex_
  std::vector<double> progress_seen_;          // calling thread only
  std::vector<double> progress_scratch_;       // calling thread only
};

std::optional<std::uint64_t> Run::schedule_locked(std::int64_t scheduled_ns) {
  if (!traces_.reserve(scheduled_)) {
    store_full_ = true;
    monitor_wake_.notify_all();
    return std::nullopt;
  }
  const std::uint64_t index = scheduled_++;
  FrameTrace& trace = traces_[index];
  trace.sequence = index;
  trace.scheduled_ns = scheduled_ns;
  trace.source_index = static_cast<std::uint32_t>(index % source_count_);
  trace.queue_depth = static_cast<std::uint32_t>(waiting_.size() + in_system_);
  const bool warmup = warmup_by_count_ ? index < options_.warmup_frames : scheduled_ns < warmup_ns_;
  if (warmup) {
    trace.flags |= FrameTrace::kWarmup;
  } else if (!measuring_) {
    measuring_ = true;
    measure_start_ns_ = warmup_by_count_ ? scheduled_ns : warmup_ns_;
  }
  return index;
}

void Run::finish_locked(std::uint64_t index, bool ok) {
  const FrameTrace& trace = traces_[index];
  --in_system_;
  if (ok) {
    ++succeeded_;
    if ((trace.flags & FrameTrace::kWarmup) == 0) ++measured_ok_;
  } else {
    ++failed_;
    if (succeeded_ == 0 && failed_ >= kFailFastFrames) {
      all_failing_ = true;
      monitor_wake_.notify_all();
    }
  }
}

void Run::record_error(const std::string& message) {
  std::lock_guard lock(mutex_);
  if (!first_error_) first_error_ = message;
  if (errors_.size() < kMaxErrors &&
      std::find(errors_.begin(), errors_.end(), message) == errors_.end()) {
    errors_.push_back(message);
  }
}

void Run::set_fatal(Error error) {
  std::lock_guard lock(mutex_);
  if (!fatal_) fatal_ = std::move(error);
  monitor_wake_.notify_all();
}

// Latency and throughput: the worker schedules its own frame once it has buffers (latency:
// once the previous frame is fully done). False: stop.
bool Run::next_own_frame(std::uint64_t& index, EngineFrame*& frame) {
  const bool latency = scenario_ == Scenario::kLatency;
  if (latency) {
    std::unique_lock lock(mutex_);
    work_ready_.wait(lock, [&] { return stopping_ || in_system_ == 0; });
    if (stopping_) return false;
  }
  auto acquired = engine_.acquire();
  if (!acquired) {
    set_fatal(std::move(acquired).error());
    return false;
  }
  std::optional<std::uint64_t> scheduled;
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) scheduled = schedule_locked(now_ns());
    if (scheduled) ++in_system_;
  }
  if (!scheduled) {
    engine_.release(**acquired);
    return false;
  }
  index = *scheduled;
  frame = *acquired;
  return true;
}

// Stream and poisson: the oldest arrived frame, then buffers for it. False: stop.
bool Run::next_arrived_frame(std::uint64_t& index, EngineFrame*& frame) {
  {
    std::unique_lock lock(mutex_);
    work_ready_.wait(lock, [&] { return stopping_ || !waiting_.empty(); });
    if (waiting_.empty()) return false;  // stopping, and nothing left to drain
    index = waiting_.pop();
    ++in_system_;
  }
  auto acquired = engine_.acquire();
  if (!acquired) {
    traces_[index].flags |= FrameTrace::kFailed;
    record_error(acquired.error().message);
    finish(index, false);
    set_fatal(std::move(acquired).error());
    return false;
  }
  frame = *acquired;
  return true;
}

void Run::worker_loop(std::size_t id) {
  name_this_thread(fmt::format("hd-preproc-{}", id));
  for (;;) {
    std::uint64_t index = 0;
    EngineFrame* frame = nullptr;
    const bool more = arrivals_ ? next_arrived_frame(index, frame) : next_own_frame(index, frame);
    if (!more) break;
    process(index, *frame);
  }
  std::lock_guard lock(mutex_);
  ++workers_exited_;
  monitor_wake_.notify_all();
}

void Run::process(std::uint64_t index, EngineFrame& frame) {
  FrameTrace& trace = traces_[index];
  frame.tag = index;
  trace.preprocess_start_ns = now_ns();
  Status filled = source_.fill(index, frame);
  trace.preprocess_end_ns = now_ns();
  const auto give_up = [&](const Error& error) {
    trace.flags |= FrameTrace::kFailed;
    engine_.release(frame);
    record_error(error.message);
    finish(index, false);
  };
  if (!filled) return give_up(filled.error());
  if (own_window_) {
    std::unique_lock lock(mutex_);
    work_ready_.wait(lock, [&] { return own_in_flight_ < in_flight_; });
    ++own_in_flight_;
  }
  Status submitted = engine_.submit(frame);
  if (!submitted) {
    if (own_window_) {
      std::lock_guard lock(mutex_);
      --own_in_flight_;
    }
    return give_up(submitted.error());
  }
  {
    std::lock_guard lock(mutex_);
    ++submitted_;
  }
  submitted_ready_.notify_one();
}

void Run::completion_loop() {
  name_this_thread("hd-complete");
  const bool want_progress = static_cast<bool>(options_.on_progress);
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      submitted_ready_.wait(lock, [&] { return submitted_ > collected_ || workers_done_; });
      if (submitted_ == collected_) return;  // workers done and everything collected
    }
    auto done = engine_.next_completed();
    if (!done) {
      // Only after someone else shut the engine down: nothing more will complete.
      set_fatal(std::move(done).error());
      std::lock_guard lock(mutex_);
      stopping_ = true;
      work_ready_.notify_all();
      return;
    }
    EngineFrame& frame = **done;
    const std::uint64_t index = frame.tag;
    FrameTrace& trace = traces_[index];
    trace.submit_ns = ns_since_origin(frame.submitted_at());
    trace.complete_ns = ns_since_origin(frame.completed_at());
    std::optional<std::string> error;
    if (!frame.status()) {
      error = frame.status().error().message;
    } else {
      trace.postprocess_start_ns = now_ns();
      Status post = postprocess_(frame);
      trace.postprocess_end_ns = now_ns();
      if (!post) error = post.error().message;
    }
    engine_.release(frame);
    if (error) {
      trace.flags |= FrameTrace::kFailed;
      record_error(*error);
    } else if (deadline_ns_ > 0 && trace.postprocess_end_ns > trace.scheduled_ns + deadline_ns_) {
      trace.flags |= FrameTrace::kDeadlineMiss;
    }
    if (want_progress && !error && (trace.flags & FrameTrace::kWarmup) == 0) {
      std::lock_guard lock(progress_mutex_);
      progress_latencies_ms_.push_back(
          static_cast<double>(trace.postprocess_end_ns - trace.scheduled_ns) / 1e6);
    }
    {
      std::lock_guard lock(mutex_);
      ++collected_;
      if (own_window_) --own_in_flight_;
      finish_locked(index, !error);
    }
    if (own_window_ || scenario_ == Scenario::kLatency) work_ready_.notify_all();
  }
}

void Run::arrivals_loop() {
  name_this_thread("hd-arrivals");
  std::mt19937_64 rng(options_.seed);
  std::exponential_distribution<double> gap_s(options_.poisson_qps);
  const bool stream = scenario_ == Scenario::kStream;
  double next_ns = 0.0;  // kept in double so rounding does not accumulate
  for (std::uint64_t k = 0;; ++k) {
    if (stream) {
      next_ns = static_cast<double>(k) * 1e9 / options_.stream_fps;
    } else {
      next_ns += gap_s(rng) * 1e9;
    }
    const std::int64_t at_ns = std::llround(next_ns);
    bool queued = false;
    {
      std::unique_lock lock(mutex_);
      // An absolute timetable: lateness of one wake-up does not shift the ones after it.
      arrivals_wake_.wait_until(lock, origin_ + std::chrono::nanoseconds(at_ns),
                                [&] { return stopping_; });
      if (stopping_) return;
      const std::optional<std::uint64_t> index = schedule_locked(at_ns);
      if (!index) return;
      if (stream && waiting_.size() >= options_.stream_queue) {
        traces_[*index].flags |= FrameTrace::kDropped;
      } else {
        waiting_.push(*index);
        queued = true;
      }
    }
    if (queued) work_ready_.notify_one();
  }
}

void Run::report_progress(Clock::time_point now) {
  Progress progress;
  progress.elapsed_s = std::chrono::duration<double>(now - origin_).count();
  std::int64_t measure_start = 0;
  {
    std::lock_guard lock(mutex_);
    progress.warming_up = !measuring_;
    progress.frames = measured_ok_;
    measure_start = measure_start_ns_;
  }
  if (!progress.warming_up) {
    const double measured_s = static_cast<double>(ns_since_origin(now) - measure_start) / 1e9;
    if (measured_s > 0.0) progress.fps = static_cast<double>(progress.frames) / measured_s;
  }
  {
    std::lock_guard lock(progress_mutex_);
    progress_seen_.insert(
        progress_seen_.end(),
        progress_latencies_ms_.begin() + static_cast<std::ptrdiff_t>(progress_seen_.size()),
        progress_latencies_ms_.end());
  }
  if (!progress_seen_.empty()) {
    progress_scratch_ = progress_seen_;
    const auto at = [&](double p) {
      const auto k = static_cast<std::ptrdiff_t>(
          std::llround(p / 100.0 * static_cast<double>(progress_scratch_.size() - 1)));
      std::nth_element(progress_scratch_.begin(), progress_scratch_.begin() + k,
                       progress_scratch_.end());
      return progress_scratch_[static_cast<std::size_t>(k)];
    };
    progress.p50_ms = at(50.0);
    progress.p99_ms = at(99.0);
  }
  options_.on_progress(progress);
}

// The calling thread: waits for the end conditions or the stop flag, reporting progress.
void Run::monitor() {
  const auto interval = std::max<Clock::duration>(options_.progress_interval, kPollInterval);
  Clock::time_point next_progress = origin_ + interval;
  for (;;) {
    const Clock::time_point wake = std::min(next_progress, Clock::now() + kPollInterval);
    bool measured_long_enough = false;
    {
      std::unique_lock lock(mutex_);
      monitor_wake_.wait_until(lock, wake, [&] { return fatal_ || all_failing_ || store_full_; });
      if (fatal_ || all_failing_ || store_full_) return;
      if (!warmup_by_count_ && !measuring_ && now_ns() >= warmup_ns_) {
        measuring_ = true;  // warm-up by time ends at its time, whether or not a frame came
        measure_start_ns_ = warmup_ns_;
      }
      measured_long_enough = measuring_ &&
                             now_ns() - measure_start_ns_ >= options_.duration.count() &&
                             measured_ok_ >= options_.min_frames;
    }
    if (options_.stop != nullptr && options_.stop->load()) {
      std::lock_guard lock(mutex_);
      interrupted_ = true;
      interrupted_at_ = Clock::now();
      return;
    }
    if (measured_long_enough) return;
    const Clock::time_point now = Clock::now();
    if (now >= next_progress) {
      if (options_.on_progress) report_progress(now);
      while (next_progress <= now) next_progress += interval;
    }
  }
}

Result<RunResult> Run::execute() {
  {
    std::lock_guard lock(mutex_);
    traces_.reserve(0);  // the first chunk before the clock starts
  }
  origin_ = Clock::now();
  std::thread completion;
  std::vector<std::thread> workers;
  std::thread arrivals;
  std::optional<std::string> start_error;
  try {
    completion = std::thread([this] { completion_loop(); });
    workers.reserve(workers_);
    for (std::size_t i = 0; i < workers_; ++i) workers.emplace_back([this, i] { worker_loop(i); });
    if (arrivals_) arrivals = std::thread([this] { arrivals_loop(); });
  } catch (const std::system_error& e) {
    start_error = e.what();
  }
  if (!start_error) monitor();
  const Clock::time_point stopped_at = Clock::now();

  // Shutdown: no new frames; on a normal end the frames already waiting are still run (their
  // latency is part of the result), on an interrupt or an error they are left.
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    if (interrupted_ || fatal_ || all_failing_ || start_error) waiting_.clear();
  }
  arrivals_wake_.notify_all();
  work_ready_.notify_all();
  if (arrivals.joinable()) arrivals.join();
  // The workers finish what they hold (and, on a normal end, what waits: a poisson backlog
  // can take a while); the stop flag still cuts that short.
  {
    std::unique_lock lock(mutex_);
    while (workers_exited_ < workers.size()) {
      monitor_wake_.wait_for(lock, kPollInterval);
      if (!interrupted_ && options_.stop != nullptr && options_.stop->load()) {
        interrupted_ = true;
        interrupted_at_ = Clock::now();
        waiting_.clear();
        work_ready_.notify_all();
      }
    }
  }
  for (std::thread& worker : workers) worker.join();
  {
    std::lock_guard lock(mutex_);
    workers_done_ = true;
  }
  submitted_ready_.notify_all();
  if (completion.joinable()) completion.join();

  if (start_error) {
    return fail(ErrorCode::kFailed, "bench: cannot start the runner's threads: {}", *start_error);
  }
  if (fatal_) return unexpected(*fatal_);
  if (succeeded_ == 0 && failed_ > 0) {
    return fail(ErrorCode::kFailed, "bench: every frame failed ({} frame{}); the first error: {}",
                failed_, failed_ == 1 ? "" : "s", first_error_.value_or("unknown"));
  }

  RunResult result;
  result.origin = origin_;
  traces_.copy_to(scheduled_, result.frames);
  result.measure_start_ns = measuring_ ? measure_start_ns_ : ns_since_origin(stopped_at);
  result.measure_end_ns = result.measure_start_ns;
  for (const FrameTrace& trace : result.frames) {
    if ((trace.flags & (FrameTrace::kWarmup | FrameTrace::kDropped)) != 0) continue;
    const std::int64_t end =
        trace.postprocess_end_ns >= 0 ? trace.postprocess_end_ns : trace.complete_ns;
    result.measure_end_ns = std::max(result.measure_end_ns, end);
  }
  result.warmup_s = static_cast<double>(result.measure_start_ns) / 1e9;
  result.in_flight = in_flight_;
  result.preprocess_threads = workers_;
  result.interrupted = interrupted_;
  if (interrupted_) {
    result.stop_reason =
        fmt::format("interrupted after {:.1f} s",
                    std::chrono::duration<double>(interrupted_at_ - origin_).count());
  }
  result.failed_frames = failed_;
  result.errors = errors_;
  return result;
}

}  // namespace

std::string scenario_name(Scenario scenario) {
  switch (scenario) {
    case Scenario::kLatency:
      return "latency";
    case Scenario::kThroughput:
      return "throughput";
    case Scenario::kStream:
      return "stream";
    case Scenario::kPoisson:
      return "poisson";
  }
  return "unknown";
}

Result<Scenario> parse_scenario(const std::string& name) {
  for (Scenario s :
       {Scenario::kLatency, Scenario::kThroughput, Scenario::kStream, Scenario::kPoisson}) {
    if (scenario_name(s) == name) return s;
  }
  return fail(ErrorCode::kInvalidArgument,
              "unknown scenario '{}'; choose latency, throughput, stream or poisson", name);
}

std::size_t required_pool_frames(const RunOptions& options, std::size_t backend_max_in_flight) {
  // The workers of a measured source (a fixed one uses one: this is then an upper bound), the
  // frames in flight, the one the completion thread holds, and one spare so a worker's
  // acquire() waits instead of finding every frame held.
  return in_flight_for(options, backend_max_in_flight) + workers_for(options, true) + 2;
}

std::uint64_t raised_min_frames(std::uint64_t requested, std::span<const double> required) {
  std::uint64_t needed = requested;
  for (double p : required) {
    needed = std::max<std::uint64_t>(needed, min_samples_for_percentile(p));
  }
  return needed;
}

Result<RunResult> run_scenario(Engine& engine, const FrameSource& source,
                               const PostProcess& postprocess, const RunOptions& options) {
  if (options.duration.count() < 0 || options.warmup.count() < 0) {
    return fail(ErrorCode::kInvalidArgument, "bench: duration and warm-up must not be negative");
  }
  if (options.scenario == Scenario::kStream) {
    if (!positive_finite(options.stream_fps)) {
      return fail(ErrorCode::kInvalidArgument, "bench: --fps must be a number > 0, not {}",
                  options.stream_fps);
    }
    if (options.stream_queue == 0) {
      return fail(ErrorCode::kInvalidArgument,
                  "bench: --stream-queue must be at least 1 (frames that may wait)");
    }
    if (!std::isfinite(options.deadline_ms) || options.deadline_ms < 0.0) {
      return fail(ErrorCode::kInvalidArgument,
                  "bench: --deadline-ms must be >= 0 (0: one frame period), not {}",
                  options.deadline_ms);
    }
  }
  if (options.scenario == Scenario::kPoisson && !positive_finite(options.poisson_qps)) {
    return fail(ErrorCode::kInvalidArgument, "bench: --qps must be a number > 0, not {}",
                options.poisson_qps);
  }
  if (options.on_progress && options.progress_interval.count() <= 0) {
    return fail(ErrorCode::kInvalidArgument, "bench: the progress interval must be positive");
  }
  if (!postprocess) {
    return fail(ErrorCode::kInvalidArgument, "bench: no post-process function given");
  }
  if (source.count() == 0) {
    return fail(ErrorCode::kInvalidArgument, "bench: the frame source has no inputs");
  }
  if (engine.in_flight() != 0) {
    return fail(ErrorCode::kInvalidArgument,
                "bench: the engine has {} frame(s) in flight; run_scenario needs an idle engine",
                engine.in_flight());
  }
  const std::size_t in_flight = in_flight_for(options, engine.in_flight_limit());
  const std::size_t workers = workers_for(options, source.measured());
  const std::size_t needed = in_flight + workers + 2;
  if (engine.pool_frames() < needed) {
    return fail(ErrorCode::kInvalidArgument,
                "bench: the engine's pool has {} frames; {} with {} in flight and {} "
                "preprocessing worker{} needs at least {} (see required_pool_frames)",
                engine.pool_frames(), scenario_name(options.scenario), in_flight, workers,
                workers == 1 ? "" : "s", needed);
  }
  auto run = std::make_unique<Run>(engine, source, postprocess, options, in_flight, workers);
  return run->execute();
}

}  // namespace hdeploy::bench

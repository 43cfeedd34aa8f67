#pragma once
// Child processes without a shell: posix_spawn with an argv vector, stdout captured, stderr
// handed over line by line. Used to run the Python exporter, Hailo's `hailo` CLI, `vcgencmd`.

#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "hdeploy/core/result.hpp"

namespace hdeploy {

// While alive, SIGINT and SIGTERM set a process-wide flag instead of killing hdeploy, so that
// run_process stops its child (SIGTERM) and the caller can clean up before returning; the
// previous handlers come back on destruction. The flag is cleared when the outermost guard is
// made and when it is destroyed. Make and destroy guards on one thread, innermost first.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  InterruptGuard(InterruptGuard&&) = delete;
  InterruptGuard& operator=(InterruptGuard&&) = delete;

  // True once SIGINT or SIGTERM arrived while a guard is alive. Any thread.
  static bool interrupted();

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// How a child ended, and everything it wrote to stdout.
struct ProcessOutcome {
  int exit_status = -1;      // valid when term_signal == 0 and !timed_out
  int term_signal = 0;       // the signal that ended it, 0 if it exited
  bool timed_out = false;    // ProcessOptions::timeout passed; the child got SIGKILL
  bool interrupted = false;  // InterruptGuard::interrupted(); the child got SIGTERM
  std::string stdout_text;   // byte for byte

  // Exited by itself with status 0.
  [[nodiscard]] bool succeeded() const {
    return !timed_out && !interrupted && term_signal == 0 && exit_status == 0;
  }
};

// Everything but argv; members have defaults, so `{.timeout = 5s}` reads well at a call site.
struct ProcessOptions {
  // "NAME=value" entries added to hdeploy's own environment, replacing NAME if it is set.
  std::vector<std::string> env_overrides{};
  // Called on the calling thread for each stderr line, without its '\n' (a last line without
  // one is delivered too); may be empty, then stderr is read and dropped.
  std::function<void(const std::string& line)> on_stderr_line{};
  // Zero: wait as long as it takes.
  std::chrono::milliseconds timeout{0};
  // When set, stdout is delivered like stderr, line by line on the calling thread, instead of
  // being captured (ProcessOutcome::stdout_text stays empty): long tools stream into a log.
  std::function<void(const std::string& line)> on_stdout_line{};
  // When not empty, the child starts in this folder (it must exist; kNotFound otherwise).
  std::filesystem::path working_directory{};
};

// Runs argv[0] (searched on PATH when it has no '/') with stdin from /dev/null and blocks until
// it exits, reading stdout and stderr together (neither pipe can fill and stall the child).
// A child that exits non-zero or is killed is a successful call: inspect the ProcessOutcome.
// Safe to call from several threads at once. Errors: kNotFound (no such program, or no such
// working directory; the message names it), kInvalidArgument (empty argv), kIo (cannot spawn).
Result<ProcessOutcome> run_process(const std::vector<std::string>& argv,
                                   const ProcessOptions& options = {});

}  // namespace hdeploy

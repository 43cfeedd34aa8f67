#include "hdeploy/core/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string_view>

extern char** environ;  // NOLINT: POSIX

namespace hdeploy {
namespace {
using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t g_interrupted = 0;  // NOLINT: written by the signal handler
int g_guard_depth = 0;                         // NOLINT: guards live on one thread
extern "C" void on_interrupt(int /*signal*/) { g_interrupted = 1; }

// The environment of hdeploy plus `overrides` ("NAME=value" replaces NAME).
std::vector<std::string> child_environment(const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const bool replaced = std::any_of(overrides.begin(), overrides.end(), [&](const auto& o) {
      const auto name_end = o.find('=') + 1;  // overrides are checked to hold '='
      return entry.substr(0, name_end) == std::string_view(o).substr(0, name_end);
    });
    if (!replaced) env.emplace_back(entry);
  }
  env.insert(env.end(), overrides.begin(), overrides.end());
  return env;
}

// Null-terminated pointers into `strings`, which must outlive the result.
std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

class Pipe {
 public:
  Pipe() {
    if (::pipe2(fds_, O_CLOEXEC) != 0) fds_[0] = fds_[1] = -1;
  }
  ~Pipe() {
    close_read();
    close_write();
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  Pipe(Pipe&&) = delete;
  Pipe& operator=(Pipe&&) = delete;
  [[nodiscard]] bool ok() const { return fds_[0] >= 0; }
  [[nodiscard]] int read_end() const { return fds_[0]; }
  [[nodiscard]] int write_end() const { return fds_[1]; }
  void close_read() { close_fd(fds_[0]); }
  void close_write() { close_fd(fds_[1]); }

 private:
  static void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  int fds_[2] = {-1, -1};
};

// Splits stderr into lines as it arrives.
class LineSplitter {
 public:
  explicit LineSplitter(const std::function<void(const std::string&)>& on_line)
      : on_line_(on_line) {}
  void append(const char* data, std::size_t size) {
    buffer_.append(data, size);
    std::size_t start = 0;
    for (std::size_t nl; (nl = buffer_.find('\n', start)) != std::string::npos; start = nl + 1) {
      if (on_line_) on_line_(buffer_.substr(start, nl - start));
    }
    buffer_.erase(0, start);
  }
  void finish() {
    if (!buffer_.empty() && on_line_) on_line_(buffer_);
    buffer_.clear();
  }

 private:
  const std::function<void(const std::string&)>& on_line_;
  std::string buffer_;
};

}  // namespace

InterruptGuard::InterruptGuard() {
  if (g_guard_depth++ == 0) g_interrupted = 0;
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &old_int_);
  sigaction(SIGTERM, &action, &old_term_);
}

InterruptGuard::~InterruptGuard() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
  if (--g_guard_depth == 0) g_interrupted = 0;  // a later run_process must not see it
}

bool InterruptGuard::interrupted() { return g_interrupted != 0; }

namespace {

// Whether posix_spawnp can run `program`: a path that exists and may be executed, or a name
// found in an executable file on PATH (as execvp searches, an empty PATH entry being the current
// folder). Checked before spawning, because glibc reports a failed exec as an error of the
// spawn only where the spawn has vfork semantics: under qemu-user (the arm64 tests on amd64) the
// child exits 127 or 126 instead.
Status check_program(const std::string& program) {
  if (program.find('/') != std::string::npos) {
    if (::access(program.c_str(), F_OK) != 0) {
      return fail(ErrorCode::kNotFound, "{}: cannot run: {}", program, std::strerror(ENOENT));
    }
    if (::access(program.c_str(), X_OK) != 0) {
      return fail(ErrorCode::kIo, "{}: cannot run: {}", program, std::strerror(EACCES));
    }
    return {};
  }
  const char* path_env = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe): read only
  std::string_view dirs = path_env != nullptr ? path_env : "/bin:/usr/bin";
  while (true) {
    const auto end = std::min(dirs.find(':'), dirs.size());
    const std::string dir(dirs.substr(0, end));
    const std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return {};
    if (end == dirs.size()) break;
    dirs.remove_prefix(end + 1);
  }
  return fail(ErrorCode::kNotFound, "{}: cannot run: {}", program, std::strerror(ENOENT));
}

}  // namespace

Result<ProcessOutcome> run_process(const std::vector<std::string>& argv,
                                   const ProcessOptions& options) {
  if (argv.empty() || argv[0].empty()) {
    return fail(ErrorCode::kInvalidArgument, "run_process: no program given");
  }
  for (const auto& o : options.env_overrides) {
    if (o.find('=') == std::string::npos || o.front() == '=') {
      return fail(ErrorCode::kInvalidArgument, "{}: environment override '{}' is not NAME=value",
                  argv[0], o);
    }
  }
  HDEPLOY_TRY(check_program(argv[0]));
  if (!options.working_directory.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(options.working_directory, ec)) {
      return fail(ErrorCode::kNotFound, "{}: working directory {} does not exist", argv[0],
                  options.working_directory.string());
    }
  }
  Pipe out;
  Pipe err;
  if (!out.ok() || !err.ok()) {
    return fail(ErrorCode::kIo, "{}: cannot create a pipe: {}", argv[0], std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.write_end(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.write_end(), STDERR_FILENO);
  if (!options.working_directory.empty()) {
    // glibc >= 2.29; the child changes folder after the dup2s, before exec.
    posix_spawn_file_actions_addchdir_np(&actions, options.working_directory.c_str());
  }
  std::vector<std::string> args = argv;
  std::vector<std::string> env = child_environment(options.env_overrides);
  std::vector<char*> c_argv = c_strings(args);
  std::vector<char*> c_env = c_strings(env);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, c_argv[0], &actions, nullptr, c_argv.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return fail(rc == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo, "{}: cannot run: {}", argv[0],
                std::strerror(rc));
  }
  out.close_write();
  err.close_write();

  ProcessOutcome outcome;
  LineSplitter err_lines(options.on_stderr_line);
  LineSplitter out_lines(options.on_stdout_line);
  const bool stream_stdout = static_cast<bool>(options.on_stdout_line);
  const bool has_deadline = options.timeout.count() > 0;
  const auto deadline = Clock::now() + options.timeout;
  constexpr std::chrono::milliseconds kPollInterval{200};
  // Once a killed child is reaped, what its own children still hold open is read for this long.
  constexpr std::chrono::milliseconds kDrainAfterKill{100};
  Clock::time_point reaped_at{};
  bool out_open = true;
  bool err_open = true;
  bool killed = false;
  bool reaped = false;
  int status = 0;
  char chunk[4096];
  while (out_open || err_open) {
    if (!killed) {
      const bool interrupted = InterruptGuard::interrupted();
      if (interrupted || (has_deadline && Clock::now() >= deadline)) {
        outcome.interrupted = interrupted;
        outcome.timed_out = !interrupted;
        ::kill(pid, interrupted ? SIGTERM : SIGKILL);
        killed = true;
      }
    } else if (!reaped) {
      // A killed child's own children may keep the pipes open: stop soon after it is gone.
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        reaped = true;
        reaped_at = Clock::now();
      }
    } else if (Clock::now() - reaped_at > kDrainAfterKill) {
      break;
    }
    auto wait = kPollInterval;
    if (killed) {
      wait = std::chrono::milliseconds(10);
    } else if (has_deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      wait = std::clamp(left, std::chrono::milliseconds(0), kPollInterval);
    }
    pollfd fds[2] = {{out_open ? out.read_end() : -1, POLLIN, 0},
                     {err_open ? err.read_end() : -1, POLLIN, 0}};
    const int n = ::poll(fds, 2, static_cast<int>(wait.count()));
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t got = ::read(fds[i].fd, chunk, sizeof chunk);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        (i == 0 ? out_open : err_open) = false;
        continue;
      }
      if (i == 0 && stream_stdout) {
        out_lines.append(chunk, static_cast<std::size_t>(got));
      } else if (i == 0) {
        outcome.stdout_text.append(chunk, static_cast<std::size_t>(got));
      } else {
        err_lines.append(chunk, static_cast<std::size_t>(got));
      }
    }
  }
  err_lines.finish();
  out_lines.finish();
  if (!reaped) {
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (WIFSIGNALED(status)) outcome.term_signal = WTERMSIG(status);
  if (WIFEXITED(status)) outcome.exit_status = WEXITSTATUS(status);
  return outcome;
}

}  // namespace hdeploy

// hdeploy export MODEL_SPEC: PyTorch → ONNX plus a reference input/output pair, through
// python/hdeploy_export.py (PyTorch exists only in Python).
//
// C++ owns everything but the torch work: it reads and validates the spec (one TOML parser),
// checks the output before torch starts, finds an interpreter that imports torch, hands the
// script a JSON config, runs it with posix_spawn (argv vector, no shell), relays its progress,
// verifies what it wrote (SHA-256 of every file) and only then renames the temporary sibling
// folder into place, so an export folder is either complete or absent.

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "command.hpp"
#include "hdeploy/core/file.hpp"
#include "hdeploy/core/model_spec.hpp"
#include "hdeploy/core/sha256.hpp"

#ifndef HDEPLOY_VERSION
#define HDEPLOY_VERSION "0.0.0"
#endif

extern char** environ;  // NOLINT: POSIX

namespace hdeploy::cli {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kMinOpset = 11;  // the Hailo Dataflow Compiler parses opsets 11-17
constexpr int kMaxOpset = 17;
constexpr const char* kScriptName = "hdeploy_export.py";
constexpr const char* kScriptPrefix = "hdeploy_export: ";
constexpr const char* kScriptErrorPrefix = "hdeploy_export: error: ";
constexpr const char* kImagenetLabels = "torchvision:imagenet";
constexpr int kImagenetClasses = 1000;
constexpr std::chrono::seconds kProbeTimeout{120};
// Files the exporter must write; export.json lists them with their SHA-256.
const std::vector<std::string> kRequiredFiles{"model.onnx", "labels.txt", "reference/image.png",
                                              "reference/input.npy", "reference/output.npy"};
// The interpreter's own config lives in the temporary folder, removed before the rename.
constexpr const char* kConfigName = ".hdeploy-export-config.json";

// --------------------------------------------------------------------------------------------
// Child processes: posix_spawn with an argv vector, stdout captured, stderr split into lines.

volatile std::sig_atomic_t g_interrupted = 0;  // NOLINT: set by the signal handler only
extern "C" void on_interrupt(int /*signal*/) { g_interrupted = 1; }

// While alive, SIGINT/SIGTERM set a flag instead of killing hdeploy, so that the child is
// stopped and the temporary folder removed; the old handlers come back on destruction.
class InterruptGuard {
 public:
  InterruptGuard() {
    g_interrupted = 0;
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~InterruptGuard() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

struct ProcessOutcome {
  int exit_status = -1;  // valid when term_signal == 0 and !timed_out
  int term_signal = 0;
  bool timed_out = false;
  bool interrupted = false;
  std::string stdout_text;
};

// The environment of hdeploy plus `overrides` ("NAME=value" replaces NAME).
std::vector<std::string> child_environment(const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const bool replaced = std::any_of(overrides.begin(), overrides.end(), [&](const auto& o) {
      const auto eq = o.find('=');
      return entry.substr(0, eq + 1) == std::string_view(o).substr(0, eq + 1);
    });
    if (!replaced) env.emplace_back(entry);
  }
  env.insert(env.end(), overrides.begin(), overrides.end());
  return env;
}

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

// Runs argv[0] (searched on PATH when it has no '/'), stdin from /dev/null. Calls
// `on_stderr_line` for each line the child writes to stderr. `timeout` of zero: none.
// Errors: kNotFound (no such program), kIo (cannot spawn).
Result<ProcessOutcome> run_process(std::vector<std::string> argv,
                                   const std::vector<std::string>& env_overrides,
                                   const std::function<void(const std::string&)>& on_stderr_line,
                                   std::chrono::seconds timeout) {
  Pipe out;
  Pipe err;
  if (!out.ok() || !err.ok()) {
    return fail(ErrorCode::kIo, "cannot create a pipe: {}", std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.write_end(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.write_end(), STDERR_FILENO);
  std::vector<std::string> env = child_environment(env_overrides);
  std::vector<char*> c_argv = c_strings(argv);
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
  std::string err_buffer;
  auto flush_lines = [&](bool all) {
    std::size_t start = 0;
    for (std::size_t nl; (nl = err_buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
      on_stderr_line(err_buffer.substr(start, nl - start));
    }
    err_buffer.erase(0, start);
    if (all && !err_buffer.empty()) {
      on_stderr_line(err_buffer);
      err_buffer.clear();
    }
  };
  const auto deadline = Clock::now() + timeout;
  bool out_open = true;
  bool err_open = true;
  bool killed = false;
  char chunk[4096];
  while (out_open || err_open) {
    if (!killed && (g_interrupted != 0 || (timeout.count() > 0 && Clock::now() > deadline))) {
      outcome.interrupted = g_interrupted != 0;
      outcome.timed_out = !outcome.interrupted;
      ::kill(pid, outcome.interrupted ? SIGTERM : SIGKILL);
      killed = true;
    }
    pollfd fds[2] = {{out_open ? out.read_end() : -1, POLLIN, 0},
                     {err_open ? err.read_end() : -1, POLLIN, 0}};
    const int n = ::poll(fds, 2, 200);
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
      if (i == 0) {
        outcome.stdout_text.append(chunk, static_cast<std::size_t>(got));
      } else {
        err_buffer.append(chunk, static_cast<std::size_t>(got));
        flush_lines(false);
      }
    }
  }
  flush_lines(true);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) outcome.term_signal = WTERMSIG(status);
  if (WIFEXITED(status)) outcome.exit_status = WEXITSTATUS(status);
  return outcome;
}

// --------------------------------------------------------------------------------------------
// Finding a Python that imports torch, torchvision and onnx.

struct PythonInterpreter {
  std::string executable;  // as invoked: a path
  std::string python_version;
  std::string torch_version;
  std::string torchvision_version;
  std::string onnx_version;
};

constexpr const char* kProbeCode =
    "import json, sys\n"
    "import torch, torchvision, onnx\n"
    "print(json.dumps({'python': '.'.join(map(str, sys.version_info[:3])), "
    "'torch': torch.__version__, 'torchvision': torchvision.__version__, "
    "'onnx': onnx.__version__}))\n";

// Runs the probe; the error says why this interpreter cannot export (one short reason).
Result<PythonInterpreter> probe_python(const std::string& executable) {
  std::string last_error_line;
  auto outcome = run_process(
      {executable, "-c", kProbeCode}, {"PYTHONDONTWRITEBYTECODE=1"},
      [&](const std::string& line) {
        if (line.find_first_not_of(" \t") != std::string::npos) last_error_line = line;
      },
      kProbeTimeout);
  if (!outcome) return fail(ErrorCode::kNotFound, "not found");
  if (outcome->timed_out) {
    return fail(ErrorCode::kFailed, "importing torch took over {} s", kProbeTimeout.count());
  }
  if (outcome->interrupted) return fail(ErrorCode::kFailed, "interrupted");
  if (outcome->exit_status != 0) {
    return fail(ErrorCode::kFailed, "{}",
                last_error_line.empty() ? fmt::format("exit status {}", outcome->exit_status)
                                        : last_error_line);
  }
  std::string last_line = outcome->stdout_text;
  while (!last_line.empty() && last_line.back() == '\n') last_line.pop_back();
  last_line =
      last_line.substr(last_line.rfind('\n') == std::string::npos ? 0 : last_line.rfind('\n') + 1);
  const json j = json::parse(last_line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("torch")) {
    return fail(ErrorCode::kFailed, "unexpected probe output '{}'", last_line);
  }
  return PythonInterpreter{executable, j.value("python", ""), j.value("torch", ""),
                           j.value("torchvision", ""), j.value("onnx", "")};
}

// The first `python3` on PATH, as a path ("" if none).
std::string python3_on_path() {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return {};
  std::stringstream dirs(path);
  std::error_code ec;
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const fs::path candidate = fs::path(dir.empty() ? "." : dir) / "python3";
    if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate.string();
    }
  }
  return {};
}

constexpr const char* kPythonFix =
    "install Debian's python3-torch python3-torchvision python3-onnx (apt-get install "
    "python3-torch python3-torchvision python3-onnx) or pass --python PY (or set "
    "HDEPLOY_PYTHON) naming a Python that has torch, torchvision and onnx";

// --python, else $HDEPLOY_PYTHON (both used as given, no fallback), else the first of python3
// on PATH, /usr/bin/python3, /usr/local/bin/python3 that imports torch, torchvision and onnx.
Result<PythonInterpreter> find_python(const std::string& flag) {
  std::string chosen;
  std::string origin;
  if (!flag.empty()) {
    chosen = flag;
    origin = "--python";
  } else if (const char* env = std::getenv("HDEPLOY_PYTHON"); env != nullptr && *env != '\0') {
    chosen = env;
    origin = "HDEPLOY_PYTHON";
  }
  if (!chosen.empty()) {
    auto probed = probe_python(chosen);
    if (!probed) {
      return fail(ErrorCode::kNotFound, "{} {} cannot export: {}; {}", origin, chosen,
                  probed.error().message, kPythonFix);
    }
    return probed;
  }
  std::vector<std::pair<std::string, std::string>> candidates;  // (label, path)
  const std::string on_path = python3_on_path();
  candidates.emplace_back("python3 on PATH", on_path);
  candidates.emplace_back("", "/usr/bin/python3");
  candidates.emplace_back("", "/usr/local/bin/python3");
  std::set<fs::path> seen;
  std::vector<std::string> tried;
  for (const auto& [label, path] : candidates) {
    const std::string name = label.empty() ? path : fmt::format("{} ({})", label, path);
    std::error_code ec;
    if (path.empty() || !fs::exists(path, ec)) {
      tried.push_back(fmt::format("{}: not found", label.empty() ? path : label));
      continue;
    }
    const fs::path canonical = fs::canonical(path, ec);
    if (!ec && !seen.insert(canonical).second) continue;  // the same interpreter again
    auto probed = probe_python(path);
    if (probed) return probed;
    tried.push_back(fmt::format("{}: {}", name, probed.error().message));
    log_info(fmt::format("skipping {}: {}", name, probed.error().message));
  }
  std::string listing;
  for (const auto& t : tried) listing += (listing.empty() ? "" : "; ") + t;
  return fail(ErrorCode::kNotFound,
              "no Python with torch, torchvision and onnx found (tried {}); {}", listing,
              kPythonFix);
}

// --------------------------------------------------------------------------------------------
// Output folder handling.

// Removes a folder tree unless released: the temporary export folder and any parent folders
// hdeploy created for it.
class RemoveOnFailure {
 public:
  RemoveOnFailure() = default;
  RemoveOnFailure(const RemoveOnFailure&) = delete;
  RemoveOnFailure& operator=(const RemoveOnFailure&) = delete;
  ~RemoveOnFailure() {
    std::error_code ec;
    // Innermost first: the temporary folder, then the parents made for it.
    for (; !paths_.empty(); paths_.pop_back()) fs::remove_all(paths_.back(), ec);
  }
  void add(fs::path path) { paths_.push_back(std::move(path)); }
  void release() { paths_.clear(); }

 private:
  std::vector<fs::path> paths_;
};

// True if `dir` has any entry.
bool has_entries(const fs::path& dir) {
  std::error_code ec;
  return fs::directory_iterator(dir, ec) != fs::directory_iterator();
}

// The output folder may be (re)written: refuses a non-empty folder without --force, and checks
// that the folder that will hold it (the first existing ancestor) is a writable folder.
Status check_output_dir(const fs::path& out, bool force) {
  std::error_code ec;
  const auto status = fs::symlink_status(out, ec);
  if (fs::exists(status)) {
    if (!fs::is_directory(status)) {
      return fail(ErrorCode::kInvalidArgument,
                  "--out {}: exists and is not a folder; choose a folder path", out.string());
    }
    if (!force && (fs::exists(out / "model.onnx", ec) || has_entries(out))) {
      return fail(ErrorCode::kAlreadyExists,
                  "{}: already exists and is not empty; pass --force to replace it or choose "
                  "another --out",
                  out.string());
    }
    // --force replaces the whole folder: never one that holds the working or home folder.
    const fs::path target = fs::weakly_canonical(out, ec);
    const char* home = std::getenv("HOME");
    for (const fs::path& inside :
         {fs::weakly_canonical(fs::current_path(ec), ec),
          fs::weakly_canonical(home != nullptr ? fs::path(home) : fs::path("/"), ec)}) {
      const auto [t, i] = std::mismatch(target.begin(), target.end(), inside.begin(), inside.end());
      if (t == target.end()) {
        return fail(ErrorCode::kInvalidArgument,
                    "--out {}: holds {}; --force would delete it; export into a new folder",
                    out.string(), inside.string());
      }
    }
  }
  fs::path dir = out.parent_path();
  while (!dir.empty() && !fs::exists(dir, ec) && dir.has_parent_path() &&
         dir.parent_path() != dir) {
    dir = dir.parent_path();
  }
  if (!fs::is_directory(dir, ec)) {
    return fail(ErrorCode::kIo, "{}: cannot be written: {} is not a folder", out.string(),
                dir.string());
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return fail(ErrorCode::kIo, "{}: cannot be written: folder {} is not writable ({})",
                out.string(), dir.string(), std::strerror(errno));
  }
  return {};
}

// Creates the missing parents of `out` (registering the topmost for removal on failure) and an
// empty sibling DIR.tmp-XXXXXX with the usual umask-derived permissions.
Result<fs::path> make_temporary_sibling(const fs::path& out, RemoveOnFailure& cleanup) {
  std::error_code ec;
  const fs::path parent = out.parent_path();
  fs::path topmost_missing;
  for (fs::path p = parent; !p.empty() && !fs::exists(p, ec) && p.parent_path() != p;
       p = p.parent_path()) {
    topmost_missing = p;
  }
  if (!topmost_missing.empty()) {
    fs::create_directories(parent, ec);
    if (ec) {
      return fail(ErrorCode::kIo, "{}: cannot create folder {}: {}", out.string(), parent.string(),
                  ec.message());
    }
    cleanup.add(topmost_missing);
  }
  std::string pattern = (parent / (out.filename().string() + ".tmp-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return fail(ErrorCode::kIo, "{}: cannot create a temporary folder in {}: {}", out.string(),
                parent.string(), std::strerror(errno));
  }
  cleanup.add(pattern);
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::chmod(pattern.c_str(), 0777 & ~mask);
  return fs::path(pattern);
}

// Puts the finished folder `tmp` at `out`; an old `out` is removed only once the new one is in
// place (and restored if the rename fails).
Status move_into_place(const fs::path& tmp, const fs::path& out) {
  std::error_code ec;
  fs::path old;
  if (fs::exists(fs::symlink_status(out, ec))) {
    if (has_entries(out)) {
      std::string pattern = out.string() + ".old-XXXXXX";
      if (::mkdtemp(pattern.data()) == nullptr) {
        return fail(ErrorCode::kIo, "{}: cannot make room for the new export: {}", out.string(),
                    std::strerror(errno));
      }
      old = pattern;
      fs::rename(out, old, ec);  // replaces the empty folder mkdtemp made
      if (ec) {
        std::error_code ignored;
        fs::remove(old, ignored);
        return fail(ErrorCode::kIo, "{}: cannot move the old export aside: {}", out.string(),
                    ec.message());
      }
    }
  }
  fs::rename(tmp, out, ec);  // onto an empty folder or nothing
  if (ec) {
    std::error_code ignored;
    if (!old.empty()) fs::rename(old, out, ignored);
    return fail(ErrorCode::kIo, "{}: cannot rename {} into place: {}", out.string(), tmp.string(),
                ec.message());
  }
  if (!old.empty()) {
    fs::remove_all(old, ec);
    if (ec)
      log_warning(
          fmt::format("could not remove the old export {}: {}", old.string(), ec.message()));
  }
  return {};
}

std::string resize_mode_name(ResizeMode mode) {
  switch (mode) {
    case ResizeMode::kShorterSide:
      return "shorter_side";
    case ResizeMode::kExact:
      return "exact";
    case ResizeMode::kNone:
      return "none";
  }
  return "none";
}

// A float from the spec as the decimal the user wrote (0.485F → 0.485, not 0.48500001…).
double as_written(float value) { return std::strtod(fmt::format("{}", value).c_str(), nullptr); }

// Lines of a labels file, without trailing empty lines.
Result<std::size_t> count_labels(const fs::path& path) {
  HDEPLOY_ASSIGN_OR_RETURN(std::string text, read_text_file(path));
  std::vector<std::string> lines;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  while (!lines.empty() && lines.back().find_first_not_of(" \t\r") == std::string::npos) {
    lines.pop_back();
  }
  return lines.size();
}

// --------------------------------------------------------------------------------------------

class ExportCommand : public Command {
 public:
  ExportCommand(CLI::App& root, const CliContext& ctx) : ctx_(ctx) {
    app_ = root.add_subcommand(
        "export",
        "Export a torchvision classifier to ONNX (for the Hailo parser) with a reference "
        "input/output pair, through PyTorch in Python");
    app_->add_option("model", spec_name_,
                     "model spec: a shipped name (resnet18, mobilenet_v2) or a .toml path")
        ->required();
    app_->add_option("--weights", weights_,
                     "none (seeded random init with BatchNorm statistics: for pipeline tests), "
                     "PATH (a state_dict .pth) or pretrained (torchvision's default weights, "
                     "downloaded)")
        ->capture_default_str();
    app_->add_option("--opset", opset_, "ONNX opset, 11-17 (the Hailo parser's range)")
        ->capture_default_str();
    app_->add_option("--out", out_,
                     "output folder: model.onnx, labels.txt, reference/, export.json "
                     "[default: exports/<model name>]");
    app_->add_option("--seed", seed_,
                     "seed for random weights (--weights none) and the reference image")
        ->capture_default_str();
    app_->add_option("--python", python_,
                     "Python interpreter with torch, torchvision and onnx [default: "
                     "$HDEPLOY_PYTHON, else the first of python3 on PATH, /usr/bin/python3, "
                     "/usr/local/bin/python3 that imports them]");
    app_->add_flag("--force", force_, "replace an existing output folder");
    app_->add_flag("--json", json_, "print one JSON object instead of text");
  }

  Status run() override {
    const auto start = Clock::now();
    if (opset_ < kMinOpset || opset_ > kMaxOpset) {
      return fail(ErrorCode::kInvalidArgument,
                  "--opset {}: must be {}-{} (what the Hailo Dataflow Compiler parses); 13 is "
                  "the default",
                  opset_, kMinOpset, kMaxOpset);
    }
    if (seed_ < 0) {
      return fail(ErrorCode::kInvalidArgument, "--seed {}: must be 0 or more", seed_);
    }
    HDEPLOY_ASSIGN_OR_RETURN(json weights, resolve_weights());
    HDEPLOY_ASSIGN_OR_RETURN(fs::path spec_path, resolve_model_spec(spec_name_, ctx_.models_dir()));
    HDEPLOY_ASSIGN_OR_RETURN(ModelSpec spec, load_model_spec(spec_path));
    spec_path = fs::absolute(spec_path).lexically_normal();
    if (spec.torchvision.empty()) {
      return fail(ErrorCode::kUnsupported,
                  "{}: no 'model.torchvision' builder; export builds torchvision classifiers "
                  "(set it, e.g. torchvision = \"resnet18\")",
                  spec_path.string());
    }
    HDEPLOY_ASSIGN_OR_RETURN(std::string labels, resolve_labels(spec, spec_path));

    const fs::path out = output_dir(spec);
    HDEPLOY_TRY(check_output_dir(out, force_));
    const fs::path script = ctx_.python_dir() / kScriptName;
    if (std::error_code ec; !fs::is_regular_file(script, ec)) {
      return fail(ErrorCode::kNotFound,
                  "{}: the exporter script is missing; reinstall hdeploy or set "
                  "HDEPLOY_DATA_DIR to the folder holding models/ and python/",
                  script.string());
    }

    HDEPLOY_ASSIGN_OR_RETURN(PythonInterpreter python, find_python(python_));
    log_info(fmt::format("python {} (Python {}, torch {}, torchvision {}, onnx {})",
                         python.executable, python.python_version, python.torch_version,
                         python.torchvision_version, python.onnx_version));

    RemoveOnFailure cleanup;
    HDEPLOY_ASSIGN_OR_RETURN(fs::path tmp, make_temporary_sibling(out, cleanup));
    const json config = {
        {"config_version", 1},
        {"hdeploy_version", HDEPLOY_VERSION},
        {"output_dir", tmp.string()},
        {"model",
         {{"name", spec.name},
          {"torchvision", spec.torchvision},
          {"num_classes", spec.num_classes},
          {"spec", spec_path.string()},
          {"labels", labels}}},
        {"input", {{"height", spec.input_height}, {"width", spec.input_width}}},
        {"preprocess",
         {{"resize_mode", resize_mode_name(spec.preprocess.resize_mode)},
          {"resize", spec.preprocess.resize},
          {"resize_height", spec.preprocess.resize_height},
          {"resize_width", spec.preprocess.resize_width},
          {"crop_height", spec.preprocess.crop_height},
          {"crop_width", spec.preprocess.crop_width},
          {"mean",
           {as_written(spec.preprocess.mean[0]), as_written(spec.preprocess.mean[1]),
            as_written(spec.preprocess.mean[2])}},
          {"std",
           {as_written(spec.preprocess.std[0]), as_written(spec.preprocess.std[1]),
            as_written(spec.preprocess.std[2])}}}},
        {"weights", weights},
        {"opset", opset_},
        {"seed", seed_},
        {"python", python.executable},
    };
    const fs::path config_path = tmp / kConfigName;
    HDEPLOY_TRY(write_text_file_atomic(config_path, config.dump(2) + "\n", Overwrite::kRefuse));

    HDEPLOY_TRY(run_exporter(python, script, config_path));
    std::error_code ec;
    fs::remove(config_path, ec);
    HDEPLOY_ASSIGN_OR_RETURN(json record, verify_outputs(tmp));
    HDEPLOY_TRY(move_into_place(tmp, out));
    cleanup.release();

    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    print_summary(out, record, python, seconds);
    return {};
  }

 private:
  Result<json> resolve_weights() const {
    if (weights_ == "none" || weights_ == "pretrained") {
      return json{{"kind", weights_}, {"path", nullptr}};
    }
    if (weights_.empty()) {
      return fail(ErrorCode::kInvalidArgument, "--weights: use none, pretrained or a file path");
    }
    const fs::path path = fs::absolute(weights_).lexically_normal();
    if (auto ok = check_readable_file(path); !ok) {
      return fail(ok.error().code,
                  "--weights: {}; give a state_dict file (.pth), none or pretrained",
                  ok.error().message);
    }
    return json{{"kind", "path"}, {"path", path.string()}};
  }

  // "torchvision:imagenet", or the labels file resolved against the spec's folder.
  static Result<std::string> resolve_labels(const ModelSpec& spec, const fs::path& spec_path) {
    if (spec.labels.empty() || spec.labels == kImagenetLabels) {
      if (spec.num_classes != kImagenetClasses) {
        return fail(ErrorCode::kInvalidArgument,
                    "{}: model.labels is '{}' ({} ImageNet classes) but model.num_classes = {}; "
                    "set model.labels to a file with {} class names, one per line",
                    spec_path.string(), kImagenetLabels, kImagenetClasses, spec.num_classes,
                    spec.num_classes);
      }
      return std::string(kImagenetLabels);
    }
    if (spec.labels.starts_with("torchvision:")) {
      return fail(ErrorCode::kInvalidArgument,
                  "{}: model.labels '{}' is unknown; use \"{}\" or a path to a file",
                  spec_path.string(), spec.labels, kImagenetLabels);
    }
    fs::path path = spec.labels;
    if (path.is_relative()) path = spec_path.parent_path() / path;
    path = path.lexically_normal();
    HDEPLOY_ASSIGN_OR_RETURN(std::size_t count, count_labels(path));
    if (count != static_cast<std::size_t>(spec.num_classes)) {
      return fail(ErrorCode::kInvalidArgument,
                  "{}: has {} labels but {} says model.num_classes = {}; give one class name "
                  "per line",
                  path.string(), count, spec_path.string(), spec.num_classes);
    }
    return path.string();
  }

  [[nodiscard]] fs::path output_dir(const ModelSpec& spec) const {
    fs::path out = out_.empty() ? fs::path("exports") / spec.name : fs::path(out_);
    out = fs::absolute(out).lexically_normal();
    if (!out.has_filename()) out = out.parent_path();  // "DIR/" → "DIR"
    return out;
  }

  // Runs the script, relaying "hdeploy_export: ..." progress lines; a failure becomes one line.
  [[nodiscard]] Status run_exporter(const PythonInterpreter& python, const fs::path& script,
                                    const fs::path& config_path) const {
    std::string error_line;
    std::vector<std::string> other_lines;  // warnings, tracebacks: shown only on failure
    InterruptGuard interrupt_guard;
    auto outcome = run_process(
        {python.executable, script.string(), "--config", config_path.string()},
        {"PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"},
        [&](const std::string& line) {
          if (line.starts_with(kScriptErrorPrefix)) {
            error_line = line.substr(std::strlen(kScriptErrorPrefix));
          } else if (line.starts_with(kScriptPrefix)) {
            log_info(line.substr(std::strlen(kScriptPrefix)));
          } else if (line.find_first_not_of(" \t") != std::string::npos) {
            other_lines.push_back(line);
          }
        },
        std::chrono::seconds(0));
    if (!outcome) return unexpected(std::move(outcome).error());
    if (outcome->interrupted) {
      return fail(ErrorCode::kFailed, "interrupted; nothing was written to --out");
    }
    if (outcome->term_signal == 0 && outcome->exit_status == 0) return {};
    if (!error_line.empty()) return fail(ErrorCode::kFailed, "{}", error_line);
    std::string tail;
    for (std::size_t i = other_lines.size() > 3 ? other_lines.size() - 3 : 0;
         i < other_lines.size(); ++i) {
      tail += (tail.empty() ? "" : " | ") + other_lines[i];
    }
    const std::string how = outcome->term_signal != 0
                                ? fmt::format("was killed by signal {}", outcome->term_signal)
                                : fmt::format("exited with status {}", outcome->exit_status);
    return fail(ErrorCode::kFailed, "{} {} {}{}{}", python.executable, script.string(), how,
                tail.empty() ? "" : ": ", tail);
  }

  // export.json must parse and list every required file with its true SHA-256.
  static Result<json> verify_outputs(const fs::path& tmp) {
    const fs::path record_path = tmp / "export.json";
    HDEPLOY_ASSIGN_OR_RETURN(std::string text, read_text_file(record_path));
    json record = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!record.is_object() || !record.contains("files") || !record["files"].is_object()) {
      return fail(ErrorCode::kInvalidFormat,
                  "the exporter wrote an invalid export.json (no 'files' object)");
    }
    const json& files = record["files"];
    for (const auto& name : kRequiredFiles) {
      if (!files.contains(name)) {
        return fail(ErrorCode::kFailed, "the exporter did not record {} in export.json", name);
      }
    }
    for (const auto& [name, hash] : files.items()) {
      const fs::path path = (tmp / name).lexically_normal();
      HDEPLOY_ASSIGN_OR_RETURN(std::string actual, sha256_file_hex(path));
      if (!hash.is_string() || hash.get<std::string>() != actual) {
        return fail(ErrorCode::kFailed,
                    "{}: SHA-256 {} does not match export.json; the export is corrupt", name,
                    actual);
      }
    }
    return record;
  }

  void print_summary(const fs::path& out, const json& record, const PythonInterpreter& python,
                     double seconds) const {
    const json& files = record["files"];
    const double logits_std =
        record.contains("reference") ? record["reference"].value("logits_std", 0.0) : 0.0;
    if (json_) {
      json j = {
          {"out_dir", out.string()},
          {"model", record.value("model", "")},
          {"files", files},
          {"python", {{"executable", python.executable}, {"version", python.python_version}}},
          {"versions", record.value("versions", json::object())},
          {"opset", record.value("opset", 0)},
          {"ir_version", record.value("ir_version", 0)},
          {"input", record.value("input", json::object())},
          {"output", record.value("output", json::object())},
          {"weights", record.value("weights", json::object())},
          {"logits_std", logits_std},
          {"seconds", seconds},
      };
      std::cout << j.dump(2) << '\n';
      return;
    }
    auto shape = [](const json& io) {
      std::string s;
      for (const auto& d : io.value("shape", json::array())) {
        s += (s.empty() ? "" : "x") + d.dump();
      }
      return s;
    };
    std::cout << fmt::format("exported {} to {} in {:.1f} s\n", record.value("model", ""),
                             out.string(), seconds);
    std::cout << fmt::format("  model.onnx   opset {}, ir_version {}, {} {} -> {} {}\n",
                             record.value("opset", 0), record.value("ir_version", 0),
                             record["input"].value("name", ""), shape(record["input"]),
                             record["output"].value("name", ""), shape(record["output"]));
    std::cout << fmt::format("  weights      {}\n", record["weights"].value("kind", ""));
    std::cout << fmt::format(
        "  reference    reference/input.npy -> reference/output.npy, "
        "logits std {:.3f}\n",
        logits_std);
    std::cout << fmt::format("  labels       labels.txt ({})\n", record.value("labels", ""));
    std::cout << fmt::format("  python       {} (torch {}, torchvision {}, onnx {})\n",
                             python.executable, python.torch_version, python.torchvision_version,
                             python.onnx_version);
    std::cout << fmt::format("  record       export.json (SHA-256 of {} files)\n", files.size());
  }

  const CliContext& ctx_;
  std::string spec_name_;
  std::string weights_ = "none";
  int opset_ = 13;
  std::string out_;
  std::int64_t seed_ = 0;
  std::string python_;
  bool force_ = false;
  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> make_export_command(CLI::App& root, const CliContext& ctx) {
  return std::make_unique<ExportCommand>(root, ctx);
}

}  // namespace hdeploy::cli

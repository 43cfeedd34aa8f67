#include "hdeploy/core/python.hpp"

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <utility>

#include "hdeploy/core/process.hpp"

namespace hdeploy {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

// The module names come as arguments (sys.argv[1:]), so nothing is quoted into the code.
constexpr const char* kProbeCode =
    "import importlib, json, sys\n"
    "versions = {}\n"
    "for name in sys.argv[1:]:\n"
    "    versions[name] = str(getattr(importlib.import_module(name), '__version__', ''))\n"
    "print(json.dumps({'python': '.'.join(map(str, sys.version_info[:3])), "
    "'modules': versions}))\n";

// "torch, torchvision and onnx".
std::string module_list(const std::vector<std::string>& modules) {
  std::string out;
  for (std::size_t i = 0; i < modules.size(); ++i) {
    if (i > 0) out += i + 1 == modules.size() ? " and " : ", ";
    out += modules[i];
  }
  return out.empty() ? "nothing" : out;
}

// Debian names Python packages python3-<top-level module, lowercase>, with a few exceptions.
std::string debian_packages(const std::vector<std::string>& modules) {
  std::string out;
  for (const auto& module : modules) {
    std::string top = module.substr(0, module.find('.'));
    for (char& c : top) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (top == "cv2") top = "opencv";
    out += (out.empty() ? "python3-" : " python3-") + top;
  }
  return out;
}

std::string python_fix(const std::vector<std::string>& modules) {
  const std::string packages = debian_packages(modules);
  return fmt::format("{}pass --python PY (or set HDEPLOY_PYTHON) naming a Python that has {}",
                     packages.empty()
                         ? ""
                         : fmt::format("install Debian's {0} (apt-get install {0}) or ", packages),
                     module_list(modules));
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

// The last line of `text` that is not empty.
std::string last_line(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const auto nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

}  // namespace

Result<PythonInterpreter> probe_python(const std::string& executable,
                                       const std::vector<std::string>& modules,
                                       std::chrono::milliseconds timeout) {
  std::string last_error_line;
  std::vector<std::string> argv{executable, "-c", kProbeCode};
  argv.insert(argv.end(), modules.begin(), modules.end());
  ProcessOptions options;
  options.env_overrides = {"PYTHONDONTWRITEBYTECODE=1"};
  options.on_stderr_line = [&](const std::string& line) {
    if (line.find_first_not_of(" \t") != std::string::npos) last_error_line = line;
  };
  options.timeout = timeout;
  auto outcome = run_process(argv, options);
  if (!outcome) return fail(ErrorCode::kNotFound, "not found");
  if (outcome->timed_out) {
    return fail(ErrorCode::kFailed, "importing {} took over {:g} s", module_list(modules),
                std::chrono::duration<double>(timeout).count());
  }
  if (outcome->interrupted) return fail(ErrorCode::kFailed, "interrupted");
  if (outcome->term_signal != 0) {
    return fail(ErrorCode::kFailed, "killed by signal {}", outcome->term_signal);
  }
  if (outcome->exit_status != 0) {
    return fail(ErrorCode::kFailed, "{}",
                last_error_line.empty() ? fmt::format("exit status {}", outcome->exit_status)
                                        : last_error_line);
  }
  const std::string line = last_line(outcome->stdout_text);
  const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  const bool valid = j.is_object() && j.contains("python") && j["python"].is_string() &&
                     j.contains("modules") && j["modules"].is_object();
  if (!valid) return fail(ErrorCode::kFailed, "unexpected probe output '{}'", line);
  PythonInterpreter python{executable, j["python"].get<std::string>(), {}};
  const json& versions = j["modules"];
  for (const auto& module : modules) {
    if (!versions.contains(module) || !versions[module].is_string()) {
      return fail(ErrorCode::kFailed, "unexpected probe output '{}'", line);
    }
    python.module_versions.emplace(module, versions[module].get<std::string>());
  }
  return python;
}

Result<PythonInterpreter> find_python(const std::string& flag,
                                      const std::vector<std::string>& modules,
                                      const std::function<void(const std::string& note)>& on_skip) {
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
    auto probed = probe_python(chosen, modules);
    if (!probed) {
      return fail(ErrorCode::kNotFound, "{} {} cannot be used: {}; {}", origin, chosen,
                  probed.error().message, python_fix(modules));
    }
    return probed;
  }
  const std::vector<std::pair<std::string, std::string>> candidates{
      {"python3 on PATH", python3_on_path()},  // (label, path)
      {"", "/usr/bin/python3"},
      {"", "/usr/local/bin/python3"}};
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
    auto probed = probe_python(path, modules);
    if (probed) return probed;
    tried.push_back(fmt::format("{}: {}", name, probed.error().message));
    if (on_skip) on_skip(fmt::format("skipping {}: {}", name, probed.error().message));
  }
  std::string listing;
  for (const auto& t : tried) listing += (listing.empty() ? "" : "; ") + t;
  return fail(ErrorCode::kNotFound, "no Python with {} found (tried {}); {}", module_list(modules),
              listing, python_fix(modules));
}

}  // namespace hdeploy

#pragma once
// Finding a Python interpreter that imports the modules a command needs (torch for export,
// numpy and PIL for calibration), with errors that say what was tried and how to fix it.

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "hdeploy/core/result.hpp"

namespace hdeploy {

// What `hdeploy export` needs.
inline const std::vector<std::string> kExportPythonModules{"torch", "torchvision", "onnx"};

// Importing torch can take a minute on a Raspberry Pi with a cold page cache.
inline constexpr std::chrono::milliseconds kPythonProbeTimeout{120'000};

// An interpreter that imported every requested module.
struct PythonInterpreter {
  std::string executable;      // as invoked: --python / $HDEPLOY_PYTHON as given, else a path
  std::string python_version;  // "3.11.2"
  std::map<std::string, std::string, std::less<>> module_versions;  // name → __version__

  // The version of a probed module; "" if it was not probed or has no __version__.
  [[nodiscard]] std::string module_version(std::string_view module) const {
    const auto it = module_versions.find(module);
    return it == module_versions.end() ? std::string() : it->second;
  }
};

// Runs `executable -c <probe> MODULE...` and reads the versions it prints. The error says in one
// short phrase why this interpreter will not do: "not found", its last stderr line (e.g.
// "ModuleNotFoundError: No module named 'torch'"), "importing ... took over N s". Blocks for up
// to `timeout`; thread-safe.
Result<PythonInterpreter> probe_python(
    const std::string& executable, const std::vector<std::string>& modules = kExportPythonModules,
    std::chrono::milliseconds timeout = kPythonProbeTimeout);

// `flag` (the --python value) if not empty, else $HDEPLOY_PYTHON if set: used as given, no
// fallback. Otherwise the first of python3 on PATH, /usr/bin/python3, /usr/local/bin/python3
// that imports `modules`; `on_skip` (if set) hears "skipping <candidate>: <reason>" for each
// that does not. Errors: kNotFound, naming the flag or variable, or listing every candidate
// tried, plus the fix (Debian packages to install, or --python / HDEPLOY_PYTHON).
Result<PythonInterpreter> find_python(
    const std::string& flag, const std::vector<std::string>& modules = kExportPythonModules,
    const std::function<void(const std::string& note)>& on_skip = {});

}  // namespace hdeploy

#pragma once
// Finding and loading backend plugins (backend_plugin.hpp). Used by the registry; public so
// that tests and `hdeploy --version` can load a given file and say why one is unusable.

#include <filesystem>
#include <string>
#include <vector>

#include "hdeploy/core/result.hpp"
#include "hdeploy/runtime/backend_plugin.hpp"

namespace hdeploy::runtime {

// A plugin file that passed every check. Plugins stay loaded until the process exits (a
// backend's code must outlive every backend object), so these pointers never dangle.
struct LoadedPlugin {
  std::filesystem::path file;
  std::string backend;  // "hailo"
  const BackendPluginV1* api = nullptr;
};

// "libhdeploy_<backend>.so".
std::string plugin_file_name(const std::string& backend);

// Where plugins are looked for, in order: the folders of $HDEPLOY_PLUGIN_PATH (colon-separated;
// when set, only those), else the folder of the running executable (a build tree), then
// <executable>/../<libdir>/hdeploy (an installed tree; libdir as configured, e.g.
// lib/aarch64-linux-gnu).
std::vector<std::filesystem::path> plugin_search_path();

// Sets the vendor runtime's environment before its library is loaded: for HailoRT,
// HAILORT_LOGGER_PATH=NONE (no ./hailort.log) and HAILORT_CONSOLE_LOGGER_LEVEL=critical (no
// "[HailoRT] [error]" lines before hdeploy's own), each only where the user has not set it.
// `verbose` leaves both unset, so HailoRT's own defaults and lines come through. Call it before
// any thread is started (setenv is not thread-safe); load_backend_plugin calls it too.
void prepare_plugin_environment(bool verbose);
// What the next load uses; false unless set.
void set_plugin_verbose(bool verbose);

// dlopen(RTLD_NOW | RTLD_LOCAL)s `file` and checks it: hdeploy_plugin_abi present, its API
// version and hdeploy version equal this build's, its backend equals `backend`, and
// hdeploy_backend_plugin_v1 present. Loading the same file again returns the same plugin.
// Errors, each one line naming the file: kNotFound (no such file); kUnsupported for a file
// that is not an hdeploy plugin, one of another API or hdeploy version (say which, and to
// install the plugin package of this hdeploy), one for another backend, or one whose vendor
// library is missing (naming the library and how to install it).
Result<LoadedPlugin> load_backend_plugin(const std::filesystem::path& file,
                                         const std::string& backend);

// The first plugin_file_name(backend) on plugin_search_path(), loaded. Errors: kNotFound
// listing the folders looked in; load_backend_plugin's for a file that is there.
Result<LoadedPlugin> find_backend_plugin(const std::string& backend);

}  // namespace hdeploy::runtime

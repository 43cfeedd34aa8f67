// Backend plugins: search path, vendor environment, dlopen and the entry-point checks.
#include "hdeploy/runtime/plugin_loader.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <string_view>

#include "hdeploy/version.hpp"

namespace hdeploy::runtime {
namespace {
namespace fs = std::filesystem;

std::mutex& plugins_mutex() {
  static std::mutex mutex;
  return mutex;
}
// Loaded plugins by canonical file; guarded by plugins_mutex(). Never unloaded.
std::map<fs::path, LoadedPlugin>& loaded_plugins() {
  static std::map<fs::path, LoadedPlugin> plugins;
  return plugins;
}
bool g_verbose = false;  // guarded by plugins_mutex()

// What a backend's vendor runtime is called and how a user installs it.
struct VendorRuntime {
  std::string name;
  std::string install;
};
VendorRuntime vendor_runtime(const std::string& backend) {
  if (backend == "hailo") {
    return {"HailoRT",
            "install HailoRT 4.20-4.23 (Raspberry Pi OS: sudo apt install hailo-all) and the "
            "hdeploy-hailo package built for it, or build hdeploy where HailoRT is installed"};
  }
  return {backend + "'s runtime", "install the hdeploy-" + backend + " package"};
}

void set_default_env(const char* name, const char* value) {
  if (std::getenv(name) == nullptr) ::setenv(name, value, 0);  // NOLINT(concurrency-mt-unsafe)
}

// dlerror()'s "libfoo.so.1: cannot open shared object file: ..." names the missing library.
std::string missing_library(std::string_view why) {
  constexpr std::string_view kMarker = ": cannot open shared object file";
  const auto at = why.find(kMarker);
  if (at == std::string_view::npos) return {};
  const std::string_view head = why.substr(0, at);
  const auto start = head.find_last_of(" :");
  return std::string(start == std::string_view::npos ? head : head.substr(start + 1));
}

}  // namespace

std::string plugin_file_name(const std::string& backend) { return "libhdeploy_" + backend + ".so"; }

std::vector<fs::path> plugin_search_path() {
  std::vector<fs::path> dirs;
  if (const char* env = std::getenv("HDEPLOY_PLUGIN_PATH"); env != nullptr && *env != '\0') {
    std::string_view rest(env);
    while (!rest.empty()) {
      const auto colon = rest.find(':');
      const std::string_view part = rest.substr(0, colon);
      if (!part.empty()) dirs.emplace_back(part);
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
    return dirs;
  }
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && exe.has_parent_path()) {
    dirs.push_back(exe.parent_path());
    dirs.push_back((exe.parent_path().parent_path() / HDEPLOY_INSTALL_LIBDIR / "hdeploy"));
  }
  return dirs;
}

void set_plugin_verbose(bool verbose) {
  std::lock_guard lock(plugins_mutex());
  g_verbose = verbose;
}

void prepare_plugin_environment(bool verbose) {
  if (verbose) return;
  set_default_env("HAILORT_LOGGER_PATH", "NONE");
  set_default_env("HAILORT_CONSOLE_LOGGER_LEVEL", "critical");
}

Result<LoadedPlugin> load_backend_plugin(const fs::path& file, const std::string& backend) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    return fail(ErrorCode::kNotFound, "{}: no such plugin file", file.string());
  }
  const fs::path canonical = fs::canonical(file, ec);
  const fs::path key = ec ? file : canonical;
  std::lock_guard lock(plugins_mutex());
  if (auto it = loaded_plugins().find(key); it != loaded_plugins().end()) {
    if (it->second.backend != backend) {
      return fail(ErrorCode::kUnsupported, "{}: is the {} plugin, not the {} one", file.string(),
                  it->second.backend, backend);
    }
    return it->second;
  }
  prepare_plugin_environment(g_verbose);
  const VendorRuntime vendor = vendor_runtime(backend);

  void* handle = ::dlopen(key.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* raw = ::dlerror();
    const std::string why = raw != nullptr ? raw : "unknown dlopen error";
    const std::string library = missing_library(why);
    if (!library.empty() && library != key.filename().string()) {
      return fail(ErrorCode::kUnsupported,
                  "{}: the {} backend needs {} ({}), which is not installed here: {}",
                  file.string(), backend, library, vendor.name, vendor.install);
    }
    return fail(ErrorCode::kUnsupported, "{}: cannot be loaded as a plugin: {}", file.string(),
                why);
  }
  // From here on the handle stays open whatever the outcome: closing a library that ran
  // initializers is not always safe, and a refused plugin is a one-off.
  using AbiFn = const BackendPluginAbi* (*)();
  auto* abi_fn = reinterpret_cast<AbiFn>(::dlsym(handle, kPluginAbiSymbol));  // NOLINT
  if (abi_fn == nullptr) {
    return fail(ErrorCode::kUnsupported, "{}: is not an hdeploy plugin (no {} entry point)",
                file.string(), kPluginAbiSymbol);
  }
  const BackendPluginAbi* abi = abi_fn();
  if (abi == nullptr || abi->hdeploy_version == nullptr || abi->backend == nullptr) {
    return fail(ErrorCode::kUnsupported, "{}: its {} returned nothing usable", file.string(),
                kPluginAbiSymbol);
  }
  if (abi->api_version != kBackendPluginApiVersion) {
    return fail(ErrorCode::kUnsupported,
                "{}: speaks plugin API version {}, this hdeploy {} speaks version {}: install "
                "the hdeploy-{} package of hdeploy {}",
                file.string(), abi->api_version, HDEPLOY_VERSION, kBackendPluginApiVersion, backend,
                HDEPLOY_VERSION);
  }
  if (std::string_view(abi->hdeploy_version) != HDEPLOY_VERSION) {
    return fail(ErrorCode::kUnsupported,
                "{}: was built for hdeploy {}, this is hdeploy {}: install the hdeploy-{} "
                "package of hdeploy {} (or rebuild the plugin with this tree)",
                file.string(), abi->hdeploy_version, HDEPLOY_VERSION, backend, HDEPLOY_VERSION);
  }
  if (std::string_view(abi->backend) != backend) {
    return fail(ErrorCode::kUnsupported, "{}: is the {} plugin, not the {} one", file.string(),
                abi->backend, backend);
  }
  using ApiFn = const BackendPluginV1* (*)();
  auto* api_fn = reinterpret_cast<ApiFn>(::dlsym(handle, kBackendPluginV1Symbol));  // NOLINT
  const BackendPluginV1* api = api_fn != nullptr ? api_fn() : nullptr;
  if (api == nullptr || api->runtime_version == nullptr || api->probe_device == nullptr ||
      api->open == nullptr || api->built_against == nullptr) {
    return fail(ErrorCode::kUnsupported, "{}: says API version {} but lacks a complete {}",
                file.string(), kBackendPluginApiVersion, kBackendPluginV1Symbol);
  }
  LoadedPlugin plugin{key, backend, api};
  loaded_plugins().emplace(key, plugin);
  return plugin;
}

Result<LoadedPlugin> find_backend_plugin(const std::string& backend) {
  const std::string name = plugin_file_name(backend);
  const std::vector<fs::path> dirs = plugin_search_path();
  std::string looked;
  for (const fs::path& dir : dirs) {
    std::error_code ec;
    const fs::path candidate = dir / name;
    if (fs::is_regular_file(candidate, ec)) return load_backend_plugin(candidate, backend);
    looked += (looked.empty() ? "" : ", ") + dir.string();
  }
  const VendorRuntime vendor = vendor_runtime(backend);
  return fail(ErrorCode::kNotFound,
              "the {} backend needs {} and its plugin {}, which is not in {}: this hdeploy has no "
              "{} support here; {}",
              backend, vendor.name, name, looked.empty() ? "any folder" : looked, vendor.name,
              vendor.install);
}

}  // namespace hdeploy::runtime

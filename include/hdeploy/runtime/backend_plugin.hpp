#pragma once
// The seam between hdeploy and a backend plugin: a shared library (libhdeploy_hailo.so, linked
// against HailoRT) that the registry loads with dlopen only when its backend is asked for.
// hdeploy itself never links a vendor runtime, so it starts on machines without one, and the
// vendor library reads its environment (HailoRT's log settings) only once hdeploy has set it.
//
// Two C entry points, looked up by name:
//   hdeploy_plugin_abi()        -> const BackendPluginAbi*: never changes layout, so any hdeploy
//                                  can read which plugin API and hdeploy version a file has;
//   hdeploy_backend_plugin_v1() -> const BackendPluginV1*: the functions of API version 1.
// A plugin is used only when both its API version and its hdeploy version equal the host's:
// the table passes C++ types (Result, Backend, std::filesystem::path), which is safe between
// builds of the same hdeploy sources with the same compiler (one Debian package set).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "hdeploy/core/result.hpp"
#include "hdeploy/runtime/backend.hpp"

namespace hdeploy::runtime {

inline constexpr std::uint32_t kBackendPluginApiVersion = 1;
inline constexpr const char* kPluginAbiSymbol = "hdeploy_plugin_abi";
inline constexpr const char* kBackendPluginV1Symbol = "hdeploy_backend_plugin_v1";

extern "C" {
// Plain C, fixed forever: what a file is, before anything else is trusted.
struct BackendPluginAbi {
  std::uint32_t api_version;    // kBackendPluginApiVersion of the plugin's build
  const char* hdeploy_version;  // HDEPLOY_VERSION of the plugin's build, e.g. "0.1.0"
  const char* backend;          // the backend it provides, e.g. "hailo"
};
}

// What a plugin backend is opened with.
struct PluginBackendOptions {
  // false: outputs stay UINT8 and the host dequantizes with the output's qp; true: the vendor
  // runtime dequantizes to FLOAT32.
  bool float_output = false;
  // How long submit waits for the device to accept a frame.
  std::chrono::milliseconds ready_timeout{1000};
};

// A device that answered a probe.
struct PluginDeviceInfo {
  std::string architecture;      // the device's own report (HailoRT: "HAILO8L"), not a board name
  std::string description;       // one line: id, firmware version where known
  std::string firmware_version;  // "4.20.0" (HailoRT: identify's fw_version); empty if unknown
};

// API version 1. Every function may be called from any thread; none throws.
struct BackendPluginV1 {
  // The vendor runtime this plugin was compiled against, e.g. "HailoRT 4.20.0".
  const char* built_against;
  // The version of the vendor library actually loaded, e.g. "4.20.0".
  Result<std::string> (*runtime_version)();
  // Opens the first free device without loading a model. Errors: kFailed / kNotFound with
  // the vendor's advice (driver missing, device busy).
  Result<PluginDeviceInfo> (*probe_device)();
  // Opens a device and loads `model` onto it (a .hef for hailo). Errors as the backend says.
  Result<std::unique_ptr<Backend>> (*open)(const std::filesystem::path& model,
                                           const PluginBackendOptions& options);
};

}  // namespace hdeploy::runtime

// The entry points' declarations. A plugin defines them with
// HDEPLOY_BACKEND_PLUGIN_ENTRY_POINTS(abi, api_v1), naming two objects of static storage.
extern "C" const hdeploy::runtime::BackendPluginAbi* hdeploy_plugin_abi();
extern "C" const hdeploy::runtime::BackendPluginV1* hdeploy_backend_plugin_v1();

#define HDEPLOY_BACKEND_PLUGIN_ENTRY_POINTS(abi, api_v1)                                      \
  extern "C" __attribute__((visibility("default"))) const hdeploy::runtime::BackendPluginAbi* \
  hdeploy_plugin_abi() {                                                                      \
    return &(abi);                                                                            \
  }                                                                                           \
  extern "C" __attribute__((visibility("default"))) const hdeploy::runtime::BackendPluginV1*  \
  hdeploy_backend_plugin_v1() {                                                               \
    return &(api_v1);                                                                         \
  }

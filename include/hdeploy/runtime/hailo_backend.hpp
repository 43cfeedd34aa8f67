#pragma once
// The `hailo` backend: HailoRT 4.20-4.23's async InferModel API on a Hailo-8/8L. Built only
// when CMake finds HailoRT (HDEPLOY_HAVE_HAILORT is then defined on hdeploy_runtime); the
// status translation below is always built, so it is tested everywhere.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "hdeploy/core/result.hpp"
#include "hdeploy/runtime/backend.hpp"

namespace hdeploy {

struct HailoBackendOptions {
  // false: outputs stay UINT8 and the host dequantizes with the output's qp (TensorSpec
  // quantization); true: HailoRT dequantizes to FLOAT32. Measure both on the device.
  bool float_output = false;
  // Where libhailort writes hailort.log, used only when the user has not set
  // HAILORT_LOGGER_PATH: empty means "NONE" (no log), so nothing lands in the working folder.
  std::string hailort_log_path;
  // How long submit waits for HailoRT to accept a frame (wait_for_async_ready).
  std::chrono::milliseconds ready_timeout{1000};
};

// One line for a HailoRT status seen while doing `what` with `hef`: the status name and
// number, plus what to do for the ones users meet (64 driver not installed, 73/74 device busy
// or absent, 26 HEF arch mismatch naming `hef_arch` and `device_arch` when known and the
// recompile flag, 76 library/driver/firmware version mismatch).
std::string describe_hailo_status(int status, const std::string& what,
                                  const std::filesystem::path& hef,
                                  const std::string& hef_arch = {},
                                  const std::string& device_arch = {});

#ifdef HDEPLOY_HAVE_HAILORT
// The version of the libhailort this process loaded ("4.20.0"), from
// hailo_get_library_version. Errors: kFailed with the status.
Result<std::string> hailort_library_version();

// Opens a device (VDevice::create), loads the HEF, configures it, and keeps
// get_async_queue_size() frames in flight. Inputs and outputs come from the HEF (UINT8 NHWC
// input; UINT8 NC output with its qp, or FLOAT32 with float_output). Frame buffers must be
// exactly the frame size and should be page-aligned with page-rounded allocations (Engine's
// pool is). Errors: kNotFound (no HEF), kUnsupported (HEF arch the device cannot run, an
// output format hdeploy cannot describe), kFailed (driver, device busy, version mismatch),
// each with describe_hailo_status's advice.
Result<std::unique_ptr<Backend>> create_hailo_backend(const std::filesystem::path& hef,
                                                      const HailoBackendOptions& options = {});
#endif

}  // namespace hdeploy

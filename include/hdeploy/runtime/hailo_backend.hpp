#pragma once
// The `hailo` backend's HailoRT status translation. The backend itself (HailoRT 4.20-4.23's
// async InferModel API) is the plugin libhdeploy_hailo.so, built where CMake finds HailoRT and
// opened through the registry (registry.hpp); this part needs no HailoRT header, so it is built
// into both and tested everywhere.

#include <filesystem>
#include <string>

namespace hdeploy::runtime {

// Whether a Hailo PCIe driver is loaded under `root` ("/" on a real system; tests pass a fake
// tree): /sys/class/hailo_chardev exists or a /dev/hailo* node does. HailoRT 4.23 answers
// HAILO_OUT_OF_PHYSICAL_DEVICES (74), "device busy", when there is no driver at all.
bool hailo_driver_loaded(const std::filesystem::path& root = "/");

// One line for a HailoRT status seen while doing `what` with `hef`: the status name and
// number, plus what to do for the ones users meet (64 driver not installed, 73/74 device busy
// or absent, 26 HEF arch mismatch naming `hef_arch` and `device_arch` when known and the
// recompile flag, 76 library/driver/firmware version mismatch). With `driver_loaded` false,
// 73/74 get the driver advice of 64 (the status is not believed: no driver was found).
std::string describe_hailo_status(int status, const std::string& what,
                                  const std::filesystem::path& hef,
                                  const std::string& hef_arch = {},
                                  const std::string& device_arch = {}, bool driver_loaded = true);

}  // namespace hdeploy::runtime

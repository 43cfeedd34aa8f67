// HailoRT status numbers -> actionable lines. No HailoRT header needed: the numbers are part of
// HailoRT's C ABI (hailort.h, HAILO_STATUS__X) and stable across 4.x.
#include <fmt/format.h>

#include "hdeploy/runtime/hailo_backend.hpp"

namespace hdeploy::runtime {
namespace {

const char* status_name(int status) {
  switch (status) {
    case 0:
      return "HAILO_SUCCESS";
    case 2:
      return "HAILO_INVALID_ARGUMENT";
    case 4:
      return "HAILO_TIMEOUT";
    case 6:
      return "HAILO_INVALID_OPERATION";
    case 26:
      return "HAILO_INVALID_HEF";
    case 61:
      return "HAILO_NOT_FOUND";
    case 63:
      return "HAILO_STREAM_ABORT";
    case 64:
      return "HAILO_DRIVER_NOT_INSTALLED";
    case 73:
      return "HAILO_DEVICE_IN_USE";
    case 74:
      return "HAILO_OUT_OF_PHYSICAL_DEVICES";
    case 76:
      return "HAILO_INVALID_DRIVER_VERSION";
    case 79:
      return "HAILO_NOT_SUPPORTED";
    case 82:
      return "HAILO_QUEUE_IS_FULL";
    default:
      return "HailoRT error";
  }
}

constexpr const char* kDriverAdvice =
    "the Hailo PCIe driver is not installed or not loaded: install hailo-all (Raspberry Pi OS; "
    "on trixie `sudo apt install dkms` first) or hailort-pcie-driver, reboot, and check that "
    "/dev/hailo0 exists";

}  // namespace

bool hailo_driver_loaded(const std::filesystem::path& root) {
  std::error_code ec;
  if (std::filesystem::exists(root / "sys/class/hailo_chardev", ec)) return true;
  for (std::filesystem::directory_iterator it(root / "dev", ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().filename().string().rfind("hailo", 0) == 0) return true;
  }
  return false;
}

std::string describe_hailo_status(int status, const std::string& what,
                                  const std::filesystem::path& hef, const std::string& hef_arch,
                                  const std::string& device_arch, bool driver_loaded) {
  // Without a model (a device probe) there is no file to name.
  const std::string target = hef.empty() ? std::string() : " for " + hef.filename().string();
  const std::string head =
      fmt::format("hailo: {} failed{}: {} ({})", what, target, status_name(status), status);
  switch (status) {
    case 64:
      return head + "; " + kDriverAdvice;
    case 73:
    case 74:
      if (!driver_loaded) {
        return head + "; no driver was found (no /sys/class/hailo_chardev, no /dev/hailo*): " +
               kDriverAdvice;
      }
      return head +
             "; no free Hailo device: another process holds it (check `lsof /dev/hailo0`, stop "
             "that process) or none is attached (`hailortcli scan`)";
    case 26: {
      const std::string hef_part = hef_arch.empty() ? "another architecture" : hef_arch;
      const std::string dev_part = device_arch.empty() ? "this device" : device_arch;
      return head + fmt::format(
                        "; the HEF was compiled for {} and cannot run on {} (a Hailo-8L runs only "
                        "HAILO8L HEFs); recompile it with `--hw-arch hailo8l` (hdeploy compile "
                        "--hw-arch hailo8l)",
                        hef_part, dev_part);
    }
    case 76:
      return head +
             "; the HailoRT library, the PCIe driver and the device firmware must be the same "
             "version: compare `hailortcli --version` with `hailortcli fw-control identify` and "
             "`modinfo hailo_pci`, then install matching versions";
    case 4:
      return head +
             "; the device did not answer in time (is it overheating or wedged? try "
             "`hailortcli fw-control identify`)";
    default:
      return head;
  }
}

}  // namespace hdeploy::runtime

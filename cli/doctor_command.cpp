// hdeploy doctor: one line per check of what a Hailo deployment needs on this machine (OS, Pi
// model, HailoRT and plugin, driver, PCIe link, device, versions, page size, governor,
// throttling, temperature, Python, Dataflow Compiler, and a HEF against all of it), each
// warning and failure with its fix. Exit 0 when nothing fails, 1 otherwise.

#include <iostream>

#include "command.hpp"
#include "hdeploy/core/file.hpp"
#include "hdeploy/doctor/doctor.hpp"
#include "hdeploy/hef/compatibility.hpp"

namespace hdeploy::cli {
namespace {
namespace fs = std::filesystem;

class DoctorCommand : public Command {
 public:
  explicit DoctorCommand(CLI::App& root) {
    app_ = root.add_subcommand(
        "doctor",
        "Check that this machine can run Hailo models with hdeploy: OS, Raspberry Pi, kernel "
        "page size, HailoRT and plugin, driver, PCIe link, device, library = driver = firmware "
        "versions, CPU governor, throttling, temperature, Python with torch, Dataflow Compiler; "
        "each warning and failure says how to fix it. Exit 0 when nothing fails, 1 otherwise");
    app_->add_option("--hef", hef_,
                     "also check this compiled model against the device and HailoRT here "
                     "(architecture, header version, compiler pairing)");
    app_->add_option("--device", device_,
                     "the device to check --hef against: hailo8, hailo8l, ... [default: the "
                     "device found here]");
    app_->add_option("--python", python_,
                     "the Python to check for torch, torchvision and onnx [default: "
                     "$HDEPLOY_PYTHON, else the first of python3 on PATH, /usr/bin/python3, "
                     "/usr/local/bin/python3 that imports them]");
    app_->add_flag("--no-probe", no_probe_,
                   "do not open the Hailo device (no firmware version or architecture)");
    app_->add_option("--root", root_,
                     "read /etc, /proc, /sys, /dev and /var/lib/dpkg under this folder (a "
                     "mounted system image; tests) [default: /]");
    app_->add_flag("--json", json_, "print one JSON object instead of text");
  }

  Status run() override {
    std::error_code ec;
    if (!fs::is_directory(root_, ec)) {
      return fail(ErrorCode::kUsage, "--root {}: not a folder", root_.string());
    }
    if (!hef_.empty()) HDEPLOY_TRY(check_readable_file(hef_));
    if (!device_.empty()) {
      auto device = hef::normalize_device(device_);
      if (!device) return unexpected(as_usage(device.error()));
      device_ = *device;
    }
    doctor::Options options;
    options.root = root_;
    options.python = python_;
    options.device = device_;
    options.probe_device = !no_probe_;
    if (!hef_.empty()) options.hef = hef_;
    options.on_progress = [](const std::string& line) { log_info("doctor: " + line); };
    const doctor::Report report = doctor::judge(doctor::gather_facts(options));
    if (json_) {
      print_json(doctor::to_json(report), 1);
    } else {
      std::cout << doctor::to_text(report);
    }
    if (!report.ok()) {
      return fail(ErrorCode::kFailed, "{} of {} checks failed (each says how to fix it)",
                  report.count(doctor::Level::kFail), report.checks.size());
    }
    return {};
  }

 private:
  fs::path hef_;
  std::string device_;
  std::string python_;
  fs::path root_ = "/";
  bool no_probe_ = false;
  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> make_doctor_command(CLI::App& root, const CliContext& /*ctx*/) {
  return std::make_unique<DoctorCommand>(root);
}

}  // namespace hdeploy::cli

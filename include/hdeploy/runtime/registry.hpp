#pragma once
// The one place that opens backends: the `auto` policy, the HEF-versus-device check, the sim's
// contracts, and the hailo plugin. infer, bench and pipeline all go through open_backend, so a
// choice and its errors read the same in every command. Nothing here prints: what was chosen and
// why comes back as notes for the caller to log.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hdeploy/core/model_spec.hpp"
#include "hdeploy/core/result.hpp"
#include "hdeploy/hef/hef_reader.hpp"
#include "hdeploy/runtime/backend.hpp"
#include "hdeploy/runtime/backend_plugin.hpp"
#include "hdeploy/runtime/cpu_backend.hpp"
#include "hdeploy/runtime/sim_backend.hpp"

namespace hdeploy::runtime {

// The device a HEF must run on when none is named.
inline constexpr const char* kDefaultDevice = "hailo8l";
// Where the sim's timing comes from when neither a HEF nor overrides give it.
inline constexpr const char* kSimDefaultTiming =
    "hdeploy's defaults (ResNet18 on a Pi 5 + Hailo-8L)";

// What a model file is, by its extension.
enum class ModelKind { kOnnx, kHef };

// Checks `model` is a readable .onnx or .hef. Errors: the read check's (kNotFound, kIo),
// kInvalidArgument for another extension.
Result<ModelKind> model_kind(const std::filesystem::path& model);

// The backends that can run a model kind: cpu (ONNX), sim (ONNX or HEF), hailo (HEF), auto.
// Errors: kInvalidArgument for an unknown name or a backend that cannot run this kind, saying
// what to give instead.
Status check_backend_choice(const std::string& backend, ModelKind kind,
                            const std::filesystem::path& model);

// A sim contract and where its parts came from.
struct SimContract {
  SimDeviceSpec spec;
  std::string contract_from;  // "resnet18.hef", "model spec resnet18 (output qp from ...)"
  std::string timing_from;    // "FPS: the HEF's bottleneck estimate, ...", kSimDefaultTiming
};

// Reads a HEF natively and checks it runs on `device` (kDefaultDevice when empty; only the
// arch). Errors: kInvalidFormat (unreadable), kUnsupported (wrong arch, with the recompile
// advice), kInvalidArgument (unknown device name).
Result<hef::HefInfo> read_hef_for_device(const std::filesystem::path& hef,
                                         const std::string& device);
// The same check on a HEF already read (HefReader::inspect_file), so a caller reads it once.
Result<hef::HefInfo> hef_for_device(hef::HefReport report, const std::filesystem::path& hef,
                                    const std::string& device);

// The sim contract of a HEF's first network group: uint8 NHWC RGB in, uint8 NC out with their
// qps; timing from the compiler's estimates where present, else the defaults. mean/std are the
// spec's when given (they matter only when the sim computes with ONNX), else ImageNet's.
// Errors: kUnsupported (no group, other formats).
Result<SimContract> sim_contract_from_hef(const hef::HefInfo& info,
                                          const std::filesystem::path& hef,
                                          const ModelSpec* spec = nullptr);

// The sim contract of an exported ONNX model: sim_spec_from_model with the output qp from the
// range of the export's reference/output.npy beside it. Errors: kFailed when the reference
// cannot be read (re-run export, or use a .hef).
Result<SimContract> sim_contract_from_export(const std::filesystem::path& onnx,
                                             const ModelSpec& spec);

// Overrides of the sim's timing; unset keeps the contract's.
struct SimTimingOverrides {
  std::optional<double> fps;
  std::optional<double> latency_ms;
  std::optional<std::size_t> queue_depth;
  bool any() const { return fps || latency_ms || queue_depth; }
};

struct BackendRequest {
  std::string backend = "auto";  // auto | cpu | sim | hailo
  std::filesystem::path model;   // .onnx (cpu, sim) or .hef (sim, hailo)
  // The ONNX the sim computes real outputs with; empty: MODEL when it is an .onnx, else the sim
  // is timing-only.
  std::filesystem::path onnx;
  std::string device;  // target arch a HEF must run on for the sim [kDefaultDevice]
  // The model spec, asked for only when the choice needs it (the sim of an ONNX model, or of a
  // HEF computing with ONNX); its errors are returned as they are.
  std::function<Result<ModelSpec>()> spec;
  // Refuse a sim that could only time frames (infer needs real outputs).
  bool need_outputs = false;
  CpuBackendOptions cpu;
  SimTimingOverrides sim_timing;
  PluginBackendOptions hailo;
  // Called with each note (OpenedBackend::notes) as it is made, so that a caller sees the
  // auto decision and the sim's contract even when opening then fails. May be empty.
  std::function<void(const std::string&)> on_note;
};

struct OpenedBackend {
  std::unique_ptr<Backend> backend;
  std::string kind;                 // "cpu", "sim" or "hailo"
  std::vector<std::string> notes;   // the auto decision and the sim's contract, for the log
  std::optional<hef::HefInfo> hef;  // the model's native HEF metadata, when it is a readable HEF
  std::optional<SimContract> sim;   // the sim's contract, when kind is "sim"
  bool timing_only = false;         // a sim without ONNX: outputs are not computed
};

// Opens the backend a request names. auto: an .onnx runs on cpu; a .hef on hailo when the hailo
// plugin loads and a device opens the HEF, else on the sim (the note says why). Errors:
// check_backend_choice's; model_kind's; for hailo, the plugin's (kNotFound: no plugin or
// HailoRT, with how to install; kUnsupported: wrong plugin version) and the device's; for the
// sim, read_hef_for_device's, the spec's, the contract's, kFailed for a timing-only sim when
// need_outputs (give it the ONNX model), and create_sim_backend's; for cpu, create_cpu_backend's.
Result<OpenedBackend> open_backend(const BackendRequest& request);

// One backend this build can use, or why not.
struct BackendAvailability {
  std::string name;
  bool available = false;
  std::string detail;  // "OpenCV 4.6.0 DNN"; "HailoRT 4.20.0, plugin /usr/lib/.../x.so"; or why not
};
// cpu, sim, hailo (loading the hailo plugin to ask its HailoRT version; no device is opened).
std::vector<BackendAvailability> list_backends();

// The HailoRT library version the hailo plugin loaded ("4.20.0"). Errors: find_backend_plugin's,
// the plugin's.
Result<std::string> hailort_version();

}  // namespace hdeploy::runtime

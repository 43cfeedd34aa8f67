#pragma once
// What `infer` and `bench` share: finding a model's spec, reading a HEF for a target device,
// the sim backend's contract from a HEF or from an export folder, and shared flag checks.

#include <CLI/CLI.hpp>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hdeploy/core/model_spec.hpp"
#include "hdeploy/core/result.hpp"
#include "hdeploy/hef/hef_reader.hpp"
#include "hdeploy/runtime/sim_backend.hpp"

namespace hdeploy::cli {

inline constexpr const char* kDefaultDevice = "hailo8l";

// Errors from lower layers that are not the user's command line: exit 1, not 2.
Error as_failure(const Error& e);

// `spec_name` (a shipped name or a .toml path) when given, else the spec named in export.json
// in one of `dirs` (the model's folder first). Errors: kInvalidArgument naming `model` and
// --model when there is none; the loader's.
Result<ModelSpec> find_model_spec(const std::string& spec_name,
                                  const std::vector<std::filesystem::path>& dirs,
                                  const std::filesystem::path& model,
                                  const std::filesystem::path& models_dir);

// Reads a HEF and checks it runs on `device` (hailo8l when empty; only the arch is checked).
// Errors: kInvalidFormat (unreadable, naming the file), kUnsupported (wrong arch, with the
// recompile advice), kInvalidArgument (unknown device name).
Result<hef::HefInfo> read_hef_for_device(const std::filesystem::path& hef,
                                         const std::string& device);

// The sim contract of a HEF's first network group (uint8 NHWC RGB in, uint8 NC out with their
// qps), its timing from the compiler's estimates where present; `timing_from` says where the
// timing came from. Errors: kUnsupported (other formats).
Result<SimDeviceSpec> sim_spec_from_hef(const hef::HefInfo& info, const ModelSpec& spec,
                                        const std::filesystem::path& hef, std::string& timing_from);
// The same without a model spec (bench with a fixed input needs none): mean/std are
// ImageNet's and unused by a timing-only sim.
Result<SimDeviceSpec> sim_spec_from_hef(const hef::HefInfo& info, const std::filesystem::path& hef,
                                        std::string& timing_from);

// The sim contract for an exported ONNX model: from the spec, with the output qp from the
// range of the export's reference/output.npy; `contract_from` describes it.
// Errors: kFailed when the reference cannot be read.
Result<SimDeviceSpec> sim_spec_from_export(const std::filesystem::path& onnx, const ModelSpec& spec,
                                           std::string& contract_from);

// A flag value that must be a finite number > 0 (--sim-fps, --fps, ...); a usage error
// otherwise.
CLI::Validator positive_number();

// What a model file is, by its extension.
enum class ModelKind { kOnnx, kHef };

// Checks `model` is a readable file named .onnx or .hef. Errors: the read check's (exit 1),
// kInvalidArgument for another extension.
Result<ModelKind> model_kind(const std::filesystem::path& model);

// --sim-fps, --sim-latency-ms, --sim-queue: the flags that override the sim's timing, shared by
// the commands that can run on the sim.
struct SimTimingFlags {
  std::optional<double> fps;
  std::optional<double> latency_ms;
  std::optional<int> queue;

  void add_to(CLI::App& app);
  bool any() const { return fps || latency_ms || queue; }
  // Overrides `sim`'s timing with the flags given and says so in `timing_from`.
  void apply(SimDeviceSpec& sim, std::string& timing_from) const;
};

inline constexpr const char* kSimDefaultTiming =
    "hdeploy's defaults (ResNet18 on a Pi 5 + Hailo-8L)";

}  // namespace hdeploy::cli

#pragma once
// What `infer` and `bench` share: finding a model's spec and the flags that shape a backend
// request (backends themselves are opened by the runtime's registry).

#include <CLI/CLI.hpp>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hdeploy/core/model_spec.hpp"
#include "hdeploy/core/result.hpp"
#include "hdeploy/runtime/registry.hpp"

namespace hdeploy::cli {

// `spec_name` (a shipped name or a .toml path) when given, else the spec named in export.json
// in one of `dirs` (the model's folder first). Errors: kUsage naming `model` and
// --model when there is none; the loader's.
Result<ModelSpec> find_model_spec(const std::string& spec_name,
                                  const std::vector<std::filesystem::path>& dirs,
                                  const std::filesystem::path& model,
                                  const std::filesystem::path& models_dir);

// A flag value that must be a finite number > 0 (--sim-fps, --fps, ...); a usage error
// otherwise.
CLI::Validator positive_number();

// --sim-fps, --sim-latency-ms, --sim-queue: the flags that override the sim's timing, shared by
// the commands that can run on the sim.
struct SimTimingFlags {
  std::optional<double> fps;
  std::optional<double> latency_ms;
  std::optional<int> queue;

  void add_to(CLI::App& app);
  // The flags given, for BackendRequest::sim_timing.
  runtime::SimTimingOverrides overrides() const;
};

// The backend request of a command that runs MODEL (infer, bench): the --backend choice checked
// against the model kind (a usage error when it cannot run it), the flags both commands share,
// and the registry's notes logged as they are made. The caller adds the spec and what is its own.
Result<runtime::BackendRequest> backend_request(const std::string& backend,
                                                const std::filesystem::path& model,
                                                const std::filesystem::path& onnx,
                                                const std::string& device, int threads,
                                                const SimTimingFlags& sim_flags);

}  // namespace hdeploy::cli

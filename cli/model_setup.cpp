#include "model_setup.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "hdeploy/core/file.hpp"

namespace hdeploy::cli {

using runtime::BackendRequest;
using runtime::check_backend_choice;
using runtime::model_kind;
using runtime::ModelKind;
using runtime::SimTimingOverrides;

namespace fs = std::filesystem;
using nlohmann::json;

CLI::Validator positive_number() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        std::size_t used = 0;
        double value = 0.0;
        try {
          value = std::stod(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != text.size() || !std::isfinite(value) || !(value > 0.0)) {
          return fmt::format("must be a number > 0, not '{}'", text);
        }
        return {};
      },
      "> 0", "POSITIVE");
}

Result<ModelSpec> find_model_spec(const std::string& spec_name, const std::vector<fs::path>& dirs,
                                  const fs::path& model, const fs::path& models_dir) {
  std::string name = spec_name;
  for (const fs::path& dir : dirs) {
    if (!name.empty()) break;
    const fs::path record = dir / "export.json";
    std::error_code ec;
    if (fs::is_regular_file(record, ec)) {
      HDEPLOY_ASSIGN_OR_RETURN(std::string text, read_text_file(record));
      const json j = json::parse(text, nullptr, false);
      if (j.is_object()) {
        if (j.contains("spec_path") && j["spec_path"].is_string() &&
            fs::is_regular_file(j["spec_path"].get<std::string>(), ec)) {
          name = j["spec_path"].get<std::string>();
        } else if (j.contains("model") && j["model"].is_string()) {
          name = j["model"].get<std::string>();
        }
      }
    }
  }
  if (name.empty()) {
    return fail(ErrorCode::kUsage,
                "{}: no export.json beside it names its model spec; pass --model SPEC "
                "(e.g. --model resnet18)",
                model.string());
  }
  HDEPLOY_ASSIGN_OR_RETURN(fs::path path, resolve_model_spec(name, models_dir));
  return load_model_spec(path);
}

void SimTimingFlags::add_to(CLI::App& app) {
  app.add_option("--sim-fps", fps,
                 "sim throughput ceiling, frames/s [default: the HEF's bottleneck FPS, else 1150]")
      ->check(positive_number());
  app.add_option("--sim-latency-ms", latency_ms,
                 "sim latency of one frame, ms [default: the HEF's estimate, else 2.445]")
      ->check(positive_number());
  app.add_option("--sim-queue", queue, "sim queue depth, frames [default: 4]")
      ->check(CLI::PositiveNumber);
}

SimTimingOverrides SimTimingFlags::overrides() const {
  SimTimingOverrides o;
  o.fps = fps;
  o.latency_ms = latency_ms;
  if (queue) o.queue_depth = static_cast<std::size_t>(*queue);
  return o;
}

Result<BackendRequest> backend_request(const std::string& backend, const fs::path& model,
                                       const fs::path& onnx, const std::string& device, int threads,
                                       const SimTimingFlags& sim_flags) {
  HDEPLOY_ASSIGN_OR_RETURN(const ModelKind kind, model_kind(model));
  if (auto choice = check_backend_choice(backend, kind, model); !choice) {
    return unexpected(as_usage(choice.error()));
  }
  BackendRequest request;
  request.backend = backend;
  request.model = model;
  request.onnx = onnx;
  request.device = device;
  request.cpu.threads = threads;
  request.sim_timing = sim_flags.overrides();
  request.on_note = [](const std::string& note) { log_info(note); };
  return request;
}

}  // namespace hdeploy::cli

// The backend registry: which backend runs a model, the sim's contracts, the hailo plugin.
#include "hdeploy/runtime/registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <opencv2/core/version.hpp>

#include "hdeploy/core/file.hpp"
#include "hdeploy/core/npy.hpp"
#include "hdeploy/hef/compatibility.hpp"
#include "hdeploy/runtime/plugin_loader.hpp"

namespace hdeploy::runtime {
namespace fs = std::filesystem;

namespace {

std::string join(const std::vector<std::string>& parts, const char* separator) {
  std::string joined;
  for (const auto& p : parts) joined += (joined.empty() ? "" : separator) + p;
  return joined;
}

// Keeps a note for the caller and passes it on at once when the request asks (so a note made
// before a failure is still seen).
void add_note(const BackendRequest& request, OpenedBackend& opened, std::string note) {
  if (request.on_note) request.on_note(note);
  opened.notes.push_back(std::move(note));
}

void apply_timing(const SimTimingOverrides& overrides, SimContract& contract) {
  if (overrides.fps) contract.spec.fps = *overrides.fps;
  if (overrides.latency_ms) contract.spec.latency_ms = *overrides.latency_ms;
  if (overrides.queue_depth) contract.spec.queue_depth = *overrides.queue_depth;
  if (overrides.any()) contract.timing_from += ", overridden by the request";
}

Result<ModelSpec> need_spec(const BackendRequest& request, const char* why) {
  if (!request.spec) {
    return fail(ErrorCode::kInvalidArgument, "{}: the sim needs the model spec {}",
                request.model.string(), why);
  }
  return request.spec();
}

// `report` is the HEF's, read once by open_backend (empty for an ONNX model).
Result<OpenedBackend> open_sim(const BackendRequest& request, ModelKind kind, const fs::path& onnx,
                               OpenedBackend opened, hef::HefReport report) {
  SimContract contract;
  if (kind == ModelKind::kHef) {
    HDEPLOY_ASSIGN_OR_RETURN(hef::HefInfo info,
                             hef_for_device(std::move(report), request.model, request.device));
    std::optional<ModelSpec> spec;
    if (!onnx.empty()) {
      HDEPLOY_ASSIGN_OR_RETURN(ModelSpec s, need_spec(request, "(its normalisation)"));
      spec = std::move(s);
    }
    HDEPLOY_ASSIGN_OR_RETURN(contract,
                             sim_contract_from_hef(info, request.model, spec ? &*spec : nullptr));
    opened.hef = std::move(info);
  } else {
    HDEPLOY_ASSIGN_OR_RETURN(ModelSpec spec, need_spec(request, "(its input and classes)"));
    HDEPLOY_ASSIGN_OR_RETURN(contract, sim_contract_from_export(request.model, spec));
  }
  if (onnx.empty() && request.need_outputs) {
    return fail(ErrorCode::kFailed,
                "{}: the sim would be timing only: it has no ONNX model to compute outputs "
                "with; give it the ONNX model (.onnx) the HEF was compiled from",
                request.model.string());
  }
  apply_timing(request.sim_timing, contract);
  add_note(request, opened,
           fmt::format("sim: contract from {}; timing {:.0f} FPS, {:.3f} ms latency from {}{}",
                       contract.contract_from, contract.spec.fps, contract.spec.latency_ms,
                       contract.timing_from,
                       onnx.empty() ? "; timing-only (no ONNX model): outputs not computed" : ""));
  SimBackendOptions options;
  options.onnx = onnx;
  options.cpu = request.cpu;
  HDEPLOY_ASSIGN_OR_RETURN(std::unique_ptr<SimBackend> sim,
                           create_sim_backend(contract.spec, options));
  opened.timing_only = sim->timing_only();
  opened.backend = std::move(sim);
  opened.kind = "sim";
  opened.sim = std::move(contract);
  return opened;
}

Result<std::unique_ptr<Backend>> open_hailo(const BackendRequest& request) {
  HDEPLOY_ASSIGN_OR_RETURN(const LoadedPlugin plugin, find_backend_plugin("hailo"));
  return plugin.api->open(request.model, request.hailo);
}

}  // namespace

Result<ModelKind> model_kind(const fs::path& model) {
  HDEPLOY_TRY(check_readable_file(model));
  if (model.extension() == ".hef") return ModelKind::kHef;
  if (model.extension() == ".onnx") return ModelKind::kOnnx;
  return fail(ErrorCode::kInvalidArgument,
              "{}: expected an ONNX model (.onnx) or a Hailo compiled model (.hef)",
              model.string());
}

Status check_backend_choice(const std::string& backend, ModelKind kind, const fs::path& model) {
  if (backend == "auto" || backend == "sim") return {};
  if (backend == "cpu") {
    if (kind == ModelKind::kHef) {
      return fail(ErrorCode::kInvalidArgument,
                  "{}: the cpu backend runs ONNX models, not a HEF; give the .onnx, or run the "
                  "HEF on the sim with its ONNX model",
                  model.string());
    }
    return {};
  }
  if (backend == "hailo") {
    if (kind == ModelKind::kOnnx) {
      return fail(ErrorCode::kInvalidArgument,
                  "{}: the hailo backend runs a compiled .hef; compile the model first",
                  model.string());
    }
    return {};
  }
  return fail(ErrorCode::kInvalidArgument, "unknown backend '{}': auto, cpu, sim or hailo",
              backend);
}

Result<hef::HefInfo> read_hef_for_device(const fs::path& hef, const std::string& device_name) {
  return hef_for_device(hef::HefReader::inspect_file(hef), hef, device_name);
}

Result<hef::HefInfo> hef_for_device(hef::HefReport report, const fs::path& hef,
                                    const std::string& device_name) {
  HDEPLOY_ASSIGN_OR_RETURN(
      const std::string device,
      hef::normalize_device(device_name.empty() ? kDefaultDevice : device_name));
  if (report.error || !report.info) {
    const std::string why = report.error ? report.error->message : "no metadata";
    if (why.find(hef.string()) != std::string::npos) {
      return fail(ErrorCode::kInvalidFormat, "cannot read the HEF: {}", why);
    }
    return fail(ErrorCode::kInvalidFormat, "{}: cannot read the HEF: {}", hef.string(), why);
  }
  // Only the arch matters here; a recent runtime so version notes do not interfere.
  const hef::CompatibilityVerdict verdict =
      hef::check_compatibility(report, hef::RuntimeVersion{4, 23, 0}, device);
  if (!verdict.ok) {
    return fail(ErrorCode::kUnsupported, "{}: {} (or name another target device)", hef.string(),
                join(verdict.reasons, "; "));
  }
  return std::move(*report.info);
}

Result<SimContract> sim_contract_from_hef(const hef::HefInfo& info, const fs::path& hef,
                                          const ModelSpec* spec) {
  if (info.network_groups.empty() || info.network_groups[0].inputs.empty() ||
      info.network_groups[0].outputs.empty()) {
    return fail(ErrorCode::kUnsupported, "{}: has no network group with an input and an output",
                hef.string());
  }
  const hef::NetworkGroupInfo& group = info.network_groups[0];
  const hef::VStreamInfo& in = group.inputs[0];
  const hef::VStreamInfo& out = group.outputs[0];
  if (in.type != "UINT8" || in.order != "NHWC" || in.features != 3) {
    return fail(ErrorCode::kUnsupported,
                "{}: input {} is {} {} with {} channels; the sim emulates a uint8 NHWC RGB input",
                hef.string(), in.name, in.type, in.order, in.features);
  }
  if (out.type != "UINT8" || out.order != "NC" || out.nms) {
    return fail(ErrorCode::kUnsupported,
                "{}: output {} is {} {}; hdeploy classifies with a uint8 NC output", hef.string(),
                out.name, out.type, out.order);
  }
  auto qp = [](const hef::VStreamInfo& v) {
    Quantization q;
    if (v.qp_scale > 0.0F) {
      q.scale = v.qp_scale;
      q.zero_point = v.qp_zp;
    }
    return q;
  };
  SimContract contract;
  SimDeviceSpec& sim = contract.spec;
  sim.input.name = in.name;
  sim.input.dtype = DType::kUint8;
  sim.input.layout = Layout::kNHWC;
  sim.input.shape = {1, in.height, in.width, in.features};
  sim.input.quantization = qp(in);
  sim.output.name = out.name;
  sim.output.dtype = DType::kUint8;
  sim.output.layout = Layout::kNC;
  sim.output.shape = {1, static_cast<std::int64_t>(out.height) * out.width * out.features};
  sim.output.quantization = qp(out);
  sim.source = hef.filename().string();
  if (spec != nullptr) {
    sim.mean = spec->preprocess.mean;
    sim.std = spec->preprocess.std;
  }
  contract.contract_from = hef.filename().string();
  contract.timing_from = kSimDefaultTiming;
  std::vector<std::string> from;
  if (group.bottleneck_fps > 0.0) {
    sim.fps = group.bottleneck_fps;
    from.emplace_back("FPS: the HEF's bottleneck estimate");
  }
  if (group.latency > 0.0) {
    // Stored in seconds (0.0046 for a MobileNetV2 on Hailo-8, beside 2445 FPS).
    sim.latency_ms = group.latency * 1000.0;
    from.emplace_back("latency: the HEF's estimate");
  }
  if (!from.empty()) {
    contract.timing_from =
        from.size() == 2 ? join(from, ", ") : join(from, ", ") + " (the rest: defaults)";
  }
  return contract;
}

Result<SimContract> sim_contract_from_export(const fs::path& onnx, const ModelSpec& spec) {
  const fs::path reference = onnx.parent_path() / "reference" / "output.npy";
  auto array = read_npy(reference);
  if (!array || array->dtype != DType::kFloat32 || array->element_count() == 0) {
    return fail(ErrorCode::kFailed,
                "{}: the sim derives its output qp from {}, which {}; re-run export, or use a "
                ".hef",
                onnx.string(), reference.string(),
                array ? "holds no float32 values" : "cannot be read");
  }
  const auto values = array->as_float();
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  HDEPLOY_ASSIGN_OR_RETURN(SimDeviceSpec sim, sim_spec_from_model(spec, *lo, *hi));
  SimContract contract;
  contract.spec = std::move(sim);
  contract.contract_from =
      fmt::format("model spec {} (output qp from the range [{:.4g}, {:.4g}] of {})", spec.name, *lo,
                  *hi, reference.string());
  contract.timing_from = kSimDefaultTiming;
  return contract;
}

Result<OpenedBackend> open_backend(const BackendRequest& request) {
  HDEPLOY_ASSIGN_OR_RETURN(const ModelKind kind, model_kind(request.model));
  HDEPLOY_TRY(check_backend_choice(request.backend, kind, request.model));
  fs::path onnx = request.onnx;
  if (onnx.empty() && kind == ModelKind::kOnnx) onnx = request.model;
  if (!onnx.empty()) HDEPLOY_TRY(check_readable_file(onnx));

  OpenedBackend opened;
  // A HEF is read once: the sim's contract comes from it, and records keep its metadata.
  hef::HefReport report;
  if (kind == ModelKind::kHef) report = hef::HefReader::inspect_file(request.model);
  if (kind == ModelKind::kHef && request.backend != "sim") {
    // The device path does not need the native read to succeed (HailoRT reads the file itself).
    if (report.info) opened.hef = *report.info;
    auto hailo = open_hailo(request);
    if (hailo) {
      if (request.backend == "auto") {
        add_note(request, opened,
                 fmt::format("auto: a Hailo device answered; running {} on hailo",
                             request.model.string()));
      }
      opened.backend = std::move(*hailo);
      opened.kind = "hailo";
      return opened;
    }
    if (request.backend == "hailo") return unexpected(std::move(hailo).error());
    add_note(request, opened,
             fmt::format("auto: no Hailo device ({}); running {} on the sim", hailo.error().message,
                         request.model.string()));
    return open_sim(request, kind, onnx, std::move(opened), std::move(report));
  }
  if (request.backend == "sim") {
    return open_sim(request, kind, onnx, std::move(opened), std::move(report));
  }
  // cpu, or auto with an ONNX model.
  if (request.backend == "auto") {
    add_note(request, opened,
             fmt::format("auto: {} is an ONNX model; running it on the cpu backend",
                         request.model.string()));
  }
  HDEPLOY_ASSIGN_OR_RETURN(opened.backend, create_cpu_backend(request.model, request.cpu));
  opened.kind = "cpu";
  return opened;
}

std::vector<BackendAvailability> list_backends() {
  std::vector<BackendAvailability> list;
  list.push_back({"cpu", true, fmt::format("OpenCV {} DNN, ONNX models", CV_VERSION)});
  list.push_back({"sim", true, "an emulated Hailo device (contract from a HEF or a model spec)"});
  auto plugin = find_backend_plugin("hailo");
  if (!plugin) {
    list.push_back({"hailo", false, plugin.error().message});
    return list;
  }
  auto version = plugin->api->runtime_version();
  if (!version) {
    list.push_back(
        {"hailo", false, fmt::format("{}: {}", plugin->file.string(), version.error().message)});
    return list;
  }
  list.push_back({"hailo", true,
                  fmt::format("HailoRT {} (plugin built against {}, {})", *version,
                              plugin->api->built_against, plugin->file.string())});
  return list;
}

Result<std::string> hailort_version() {
  HDEPLOY_ASSIGN_OR_RETURN(const LoadedPlugin plugin, find_backend_plugin("hailo"));
  return plugin.api->runtime_version();
}

}  // namespace hdeploy::runtime

#include "model_setup.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "hdeploy/core/file.hpp"
#include "hdeploy/core/npy.hpp"
#include "hdeploy/hef/compatibility.hpp"

namespace hdeploy::cli {
namespace fs = std::filesystem;
using nlohmann::json;

Error as_failure(const Error& e) {
  if (e.code != ErrorCode::kInvalidArgument) return e;
  return Error{ErrorCode::kFailed, e.message};
}

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
    return fail(ErrorCode::kInvalidArgument,
                "{}: no export.json beside it names its model spec; pass --model SPEC "
                "(e.g. --model resnet18)",
                model.string());
  }
  HDEPLOY_ASSIGN_OR_RETURN(fs::path path, resolve_model_spec(name, models_dir));
  return load_model_spec(path);
}

Result<hef::HefInfo> read_hef_for_device(const fs::path& hef, const std::string& device_name) {
  HDEPLOY_ASSIGN_OR_RETURN(
      const std::string device,
      hef::normalize_device(device_name.empty() ? kDefaultDevice : device_name));
  hef::HefReport report = hef::HefReader::inspect_file(hef);
  if (report.error || !report.info) {
    const std::string why = report.error ? report.error->message : "no metadata";
    // A file that is not a usable HEF is a failure (exit 1), not a usage error.
    if (why.find(hef.string()) != std::string::npos) {
      return fail(ErrorCode::kInvalidFormat, "cannot read the HEF: {}", why);
    }
    return fail(ErrorCode::kInvalidFormat, "{}: cannot read the HEF: {}", hef.string(), why);
  }
  // Only the arch matters here; a recent runtime so version notes do not interfere.
  const hef::CompatibilityVerdict verdict =
      hef::check_compatibility(report, hef::RuntimeVersion{4, 23, 0}, device);
  if (!verdict.ok) {
    std::string reasons;
    for (const auto& r : verdict.reasons) reasons += (reasons.empty() ? "" : "; ") + r;
    return fail(ErrorCode::kUnsupported, "{}: {} (or pass --device for another target)",
                hef.string(), reasons);
  }
  return std::move(*report.info);
}

Result<SimDeviceSpec> sim_spec_from_hef(const hef::HefInfo& info, const fs::path& hef,
                                        std::string& timing_from) {
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
  SimDeviceSpec sim;
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
  timing_from = kSimDefaultTiming;
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
    std::string joined;
    for (const auto& f : from) joined += (joined.empty() ? "" : ", ") + f;
    timing_from = from.size() == 2 ? joined : joined + " (the rest: defaults)";
  }
  return sim;
}

Result<SimDeviceSpec> sim_spec_from_hef(const hef::HefInfo& info, const ModelSpec& spec,
                                        const fs::path& hef, std::string& timing_from) {
  HDEPLOY_ASSIGN_OR_RETURN(SimDeviceSpec sim, sim_spec_from_hef(info, hef, timing_from));
  sim.mean = spec.preprocess.mean;
  sim.std = spec.preprocess.std;
  return sim;
}

Result<SimDeviceSpec> sim_spec_from_export(const fs::path& onnx, const ModelSpec& spec,
                                           std::string& contract_from) {
  const fs::path reference = onnx.parent_path() / "reference" / "output.npy";
  auto array = read_npy(reference);
  if (!array || array->dtype != DType::kFloat32 || array->element_count() == 0) {
    return fail(ErrorCode::kFailed,
                "{}: the sim derives its output qp from {}, which {}; re-run export, or pass a "
                ".hef",
                onnx.string(), reference.string(),
                array ? "holds no float32 values" : "cannot be read");
  }
  const auto values = array->as_float();
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  auto made = sim_spec_from_model(spec, *lo, *hi);
  if (!made) return unexpected(as_failure(made.error()));
  contract_from = fmt::format("model spec {} (output qp from the range [{:.4g}, {:.4g}] of {})",
                              spec.name, *lo, *hi, reference.string());
  return std::move(*made);
}

Result<ModelKind> model_kind(const fs::path& model) {
  HDEPLOY_TRY(check_readable_file(model));
  if (model.extension() == ".hef") return ModelKind::kHef;
  if (model.extension() == ".onnx") return ModelKind::kOnnx;
  return fail(ErrorCode::kInvalidArgument,
              "{}: expected an ONNX model (.onnx) or a Hailo compiled model (.hef)",
              model.string());
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

void SimTimingFlags::apply(SimDeviceSpec& sim, std::string& timing_from) const {
  if (fps) sim.fps = *fps;
  if (latency_ms) sim.latency_ms = *latency_ms;
  if (queue) sim.queue_depth = static_cast<std::size_t>(*queue);
  if (any()) timing_from += ", overridden by --sim-* flags";
}

}  // namespace hdeploy::cli

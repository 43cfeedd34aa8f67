// hdeploy inspect FILE: what a .hef (or .onnx) holds, read natively on any machine, and for a HEF
// whether it will run on a given HailoRT version and device. The HEF text is what
// `hailortcli parse-hef --parse-streams` prints, followed by the verdict.

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "hdeploy/core/file.hpp"
#include "hdeploy/core/json_text.hpp"
#include "hdeploy/hef/compatibility.hpp"
#include "hdeploy/hef/hef_reader.hpp"
#include "hdeploy/onnx/model.hpp"
#include "hdeploy/runtime/registry.hpp"

namespace hdeploy::cli {

using onnx::OnnxModel;
using onnx::OnnxValueInfo;
using runtime::hailort_version;

namespace {
namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kFallbackRuntime = "4.20.0";
constexpr const char* kFallbackDevice = "hailo8l";

bool starts_with_hef_magic(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::array<unsigned char, 4> magic{};
  if (!in.read(reinterpret_cast<char*>(magic.data()), magic.size())) return false;
  return magic[0] == 0x01 && magic[1] == 'H' && magic[2] == 'E' && magic[3] == 'F';
}

json vstream_json(const hef::VStreamInfo& v) {
  json j = {{"name", v.name}, {"network", v.network_name}, {"type", v.type}, {"order", v.order}};
  if (v.nms) {
    j["nms"] = {{"classes", v.nms->number_of_classes},
                {"max_bboxes_per_class", v.nms->max_bboxes_per_class}};
  } else {
    j["shape"] = {v.height, v.width, v.features};
  }
  j["frame_size"] = v.frame_size;
  j["qp_zp"] = v.qp_zp;
  j["qp_scale"] = v.qp_scale;
  return j;
}

json verdict_json(const hef::CompatibilityVerdict& v) {
  return {{"runtime", v.runtime},
          {"device", v.device},
          {"ok", v.ok},
          {"reasons", v.reasons},
          {"notes", v.notes}};
}

json hef_json(const fs::path& file, const hef::HefReport& report,
              const hef::CompatibilityVerdict& verdict) {
  json j = {{"file", file.string()}, {"format", "hef"}};
  if (report.header) {
    const auto& h = *report.header;
    j["header_version"] = h.version;
    j["header"] = {{"proto_size", h.proto_size},
                   {"ccws_size", h.ccws_size},
                   {"declared_file_size", h.declared_file_size},
                   {"actual_file_size", h.actual_file_size},
                   {"missing_bytes", h.missing_bytes()},
                   {"checksum", hef::to_string(h.checksum_kind)},
                   {"expected_checksum", h.expected_checksum},
                   {"computed_checksum", h.computed_checksum}};
    // null when the checksum could not be computed (an incomplete file).
    j["checksum_ok"] = h.computed_checksum.empty() ? json(nullptr) : json(h.checksum_ok);
  }
  if (report.proto_header) {
    j["arch"] = report.proto_header->arch;
    j["hw_arch_value"] = report.proto_header->hw_arch_value;
    j["compiler_version"] = report.proto_header->compiler_version;
    j["sdk_version"] = report.proto_header->sdk_version;
    j["timestamp"] = report.proto_header->timestamp;
  }
  if (report.info) {
    const auto& info = *report.info;
    json groups = json::array();
    for (const auto& g : info.network_groups) {
      json jg = {{"name", g.name},         {"multi_context", g.multi_context},
                 {"contexts", g.contexts}, {"bottleneck_fps", g.bottleneck_fps},
                 {"latency", g.latency},   {"networks", g.networks}};
      jg["inputs"] = json::array();
      for (const auto& v : g.inputs) jg["inputs"].push_back(vstream_json(v));
      jg["outputs"] = json::array();
      for (const auto& v : g.outputs) jg["outputs"].push_back(vstream_json(v));
      jg["post_process_ops"] = json::array();
      for (const auto& op : g.ops) {
        jg["post_process_ops"].push_back({{"type", op.type},
                                          {"name", op.name},
                                          {"score_threshold", op.score_threshold},
                                          {"iou_threshold", op.iou_threshold},
                                          {"classes", op.classes},
                                          {"max_proposals_per_class", op.max_proposals_per_class},
                                          {"inputs", op.input_streams}});
      }
      groups.push_back(std::move(jg));
    }
    j["network_groups"] = std::move(groups);
    json extensions = json::array();
    for (const auto& e : info.extensions) {
      extensions.push_back(
          {{"type", e.type_index}, {"name", e.name}, {"supported_by_4_20", e.supported_by_4_20}});
    }
    j["extensions"] = std::move(extensions);
    j["description"] = info.description;
  }
  j["compatible"] = verdict_json(verdict);
  if (report.error) j["error"] = report.error->message;
  return j;
}

std::string dims_text(const OnnxValueInfo& v) {
  std::string out;
  for (std::size_t i = 0; i < v.dims.size(); ++i) {
    if (i > 0) out += "x";
    if (v.dims[i] >= 0) {
      out += std::to_string(v.dims[i]);
    } else {
      out += (i < v.dim_params.size() && !v.dim_params[i].empty()) ? v.dim_params[i] : "?";
    }
  }
  return out;
}

class InspectCommand : public Command {
 public:
  explicit InspectCommand(CLI::App& root) {
    app_ = root.add_subcommand(
        "inspect",
        "Show what a .hef (Hailo compiled model) or .onnx file holds, read natively without "
        "HailoRT; for a HEF also whether it will run on a HailoRT version and device");
    app_->add_option("FILE", file_, "a .hef or .onnx file")->required();
    app_->add_option(
        "--runtime", runtime_,
        "HailoRT version of the target [default: the HailoRT the hailo plugin loads here, else " +
            std::string(kFallbackRuntime) + "]");
    app_->add_option("--device", device_,
                     "target device: hailo8, hailo8l, hailo10h, hailo15h, hailo15m, hailo15l "
                     "[default: " +
                         std::string(kFallbackDevice) + "]");
    app_->add_flag("--json", json_, "print one JSON object instead of text");
    app_->add_flag("--require-compatible", require_compatible_,
                   "exit 1 when the HEF will not run on the target (default: only report it)");
  }

  Status run() override {
    HDEPLOY_TRY(check_readable_file(file_));
    const bool looks_onnx = file_.extension() == ".onnx";
    if (starts_with_hef_magic(file_) || (!looks_onnx && file_.extension() == ".hef")) {
      return run_hef();
    }
    if (looks_onnx) return run_onnx();
    // Unknown extension, no HEF magic: try ONNX, else say what it is not.
    auto model = OnnxModel::load(file_);
    if (model) return print_onnx(*model);
    return fail(ErrorCode::kInvalidFormat,
                "{}: neither a HEF (no 01 'H' 'E' 'F' magic) nor an ONNX model", file_.string());
  }

 private:
  Status run_hef() {
    if (runtime_.empty()) {
      // The HailoRT the hailo plugin loads here; without one, the newest 4.x this hdeploy knows.
      auto loaded = hailort_version();
      runtime_ = loaded ? *loaded : std::string(kFallbackRuntime);
    }
    auto runtime = hef::parse_runtime_version(runtime_);
    if (!runtime) return unexpected(as_usage(runtime.error()));
    auto device = hef::normalize_device(device_.empty() ? kFallbackDevice : device_);
    if (!device) return unexpected(as_usage(device.error()));
    const hef::HefReport report = hef::HefReader::inspect_file(file_);
    const hef::CompatibilityVerdict verdict = hef::check_compatibility(report, *runtime, *device);

    if (json_) {
      print_json(hef_json(file_, report, verdict), 1);
    } else {
      print_hef_text(report, verdict);
    }
    if (report.error) return unexpected(*report.error);
    if (require_compatible_ && !verdict.ok) {
      return fail(ErrorCode::kFailed, "{} will not run on {} with HailoRT {}", file_.string(),
                  *device, verdict.runtime);
    }
    return {};
  }

  void print_hef_text(const hef::HefReport& report, const hef::CompatibilityVerdict& verdict) {
    if (report.info) {
      std::cout << report.info->description;
    } else {
      // What could be learned before the read failed.
      if (report.header) {
        const auto& h = *report.header;
        std::cout << fmt::format(
            "HEF header version {}: {} bytes of metadata, {} declared in all, {} in the file",
            h.version, h.proto_size, h.declared_file_size, h.actual_file_size);
        if (h.missing_bytes() > 0)
          std::cout << fmt::format(" ({} bytes missing)", h.missing_bytes());
        std::cout << '\n';
      }
      if (report.proto_header) {
        std::cout << "Architecture HEF was compiled for: " << report.proto_header->arch << '\n';
      }
    }
    if (report.proto_header) {
      std::cout << "Compiler version: " << report.proto_header->compiler_version << '\n';
    }
    if (report.header && report.info) {
      const auto& h = report.info->header;
      std::cout << fmt::format("HEF header version {}, {} checksum {}\n", h.version,
                               hef::to_string(h.checksum_kind), h.checksum_ok ? "ok" : "MISMATCH");
    }
    if (verdict.ok) {
      std::cout << fmt::format("Compatibility: will run on {} with HailoRT {}\n", verdict.device,
                               verdict.runtime);
    } else {
      std::cout << fmt::format("Compatibility: will NOT run on {} with HailoRT {}\n",
                               verdict.device, verdict.runtime);
      for (const auto& r : verdict.reasons) std::cout << "  - " << r << '\n';
    }
    for (const auto& n : verdict.notes) std::cout << "  note: " << n << '\n';
  }

  Status run_onnx() {
    HDEPLOY_ASSIGN_OR_RETURN(OnnxModel model, OnnxModel::load(file_));
    return print_onnx(model);
  }

  Status print_onnx(const OnnxModel& model) {
    const auto counts = model.op_counts();
    if (json_) {
      json j = {{"file", file_.string()},
                {"format", "onnx"},
                {"ir_version", model.ir_version()},
                {"opset", model.opset()},
                {"producer", model.producer()}};
      for (const char* key : {"inputs", "outputs"}) {
        json list = json::array();
        for (const auto& v : std::string(key) == "inputs" ? model.inputs() : model.outputs()) {
          list.push_back({{"name", v.name}, {"type", v.elem_type}, {"shape", v.dims}});
        }
        j[key] = std::move(list);
      }
      j["op_counts"] = counts;
      print_json(j, 1);
      return {};
    }
    std::cout << fmt::format("ONNX model {}: ir_version {}, opset {}, producer {}\n",
                             file_.string(), model.ir_version(), model.opset(), model.producer());
    for (const auto& v : model.inputs()) {
      std::cout << fmt::format("    Input  {} {}({})\n", v.name, v.elem_type, dims_text(v));
    }
    for (const auto& v : model.outputs()) {
      std::cout << fmt::format("    Output {} {}({})\n", v.name, v.elem_type, dims_text(v));
    }
    std::cout << "Op counts:\n";
    for (const auto& [op, n] : counts) std::cout << fmt::format("    {} {}\n", op, n);
    return {};
  }

  fs::path file_;
  std::string runtime_;
  std::string device_;
  bool json_ = false;
  bool require_compatible_ = false;
};

}  // namespace

std::unique_ptr<Command> make_inspect_command(CLI::App& root, const CliContext& /*ctx*/) {
  return std::make_unique<InspectCommand>(root);
}

}  // namespace hdeploy::cli

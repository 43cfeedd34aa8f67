// hdeploy infer MODEL IMAGE...: classify images on any backend the runtime's registry opens:
// cpu (an ONNX model through OpenCV DNN), sim (an emulated Hailo device whose contract comes from
// a HEF or from the model spec) or hailo (HailoRT, through the hailo plugin), with the model
// spec's preprocessing and softmax and top-k on the host.
//
// One Engine loop serves every backend: the preprocessing's InputConversion writes the
// backend's input contract (float32 NCHW normalised for cpu; uint8 NHWC RGB for sim and hailo,
// quantized with the input's qp by HailoRT's own rule when it is not identity), and the output
// is dequantized with its qp when it is uint8. With an ONNX model beside a device run (sim, or
// hailo with --onnx), each image also runs on the CPU to report the quantization error.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "command.hpp"
#include "hdeploy/core/json_text.hpp"
#include "hdeploy/core/model_spec.hpp"
#include "hdeploy/preprocess/input_conversion.hpp"
#include "hdeploy/preprocess/preprocessor.hpp"
#include "hdeploy/runtime/classification.hpp"
#include "hdeploy/runtime/cpu_backend.hpp"
#include "hdeploy/runtime/engine.hpp"
#include "hdeploy/runtime/registry.hpp"
#include "model_setup.hpp"

namespace hdeploy::cli {

using preprocess::DecodeOptions;
using preprocess::InputConversion;
using preprocess::Preprocessor;
using runtime::Backend;
using runtime::BackendRequest;
using runtime::ClassScore;
using runtime::CpuBackendOptions;
using runtime::create_cpu_backend;
using runtime::dequantize_output;
using runtime::Engine;
using runtime::EngineFrame;
using runtime::EngineOptions;
using runtime::FrameBuffers;
using runtime::kDefaultDevice;
using runtime::load_labels;
using runtime::open_backend;
using runtime::OpenedBackend;
using runtime::top_k;

namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// A classification as JSON.
json classes_json(const std::vector<ClassScore>& top) {
  json classes = json::array();
  for (const auto& c : top) {
    classes.push_back({{"index", c.index},
                       {"label", c.label},
                       {"probability", c.probability},
                       {"logit", c.logit}});
  }
  return classes;
}

class InferCommand : public Command {
 public:
  InferCommand(CLI::App& root, const CliContext& ctx) : ctx_(ctx) {
    app_ = root.add_subcommand(
        "infer", "Classify images: preprocess as the model spec says, run, softmax and top-k");
    app_->add_option("MODEL", model_path_,
                     "ONNX model (.onnx, as written by export) or Hailo compiled model (.hef)")
        ->required();
    app_->add_option("IMAGES", images_, "image files (JPEG or PNG)")->required();
    app_->add_option("--backend", backend_name_,
                     "auto: cpu for an .onnx; for a .hef hailo when the hailo plugin loads and a "
                     "device answers, else sim; cpu: OpenCV DNN; sim: emulated Hailo device; "
                     "hailo: HailoRT (the hailo plugin)")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "cpu", "sim", "hailo"}));
    app_->add_option("--onnx", onnx_path_,
                     "ONNX model the sim computes real outputs with, and the CPU reference for "
                     "the quantization error of a device run [default: MODEL when it is an "
                     ".onnx]; without one the sim is timing-only and infer refuses it");
    app_->add_option("--model", spec_name_,
                     "model spec: a shipped name (resnet18, mobilenet_v2) or a .toml path "
                     "[default: the spec recorded in export.json beside the model]");
    app_->add_option("--labels", labels_path_,
                     "class names, one per line [default: labels.txt beside the model]");
    app_->add_option("--top-k", top_k_, "how many classes to print per image")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000));
    app_->add_option("--max-pixels", max_pixels_,
                     "refuse images with more pixels than this (decompression-bomb guard)")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app_->add_option("--threads", threads_, "OpenCV threads for the CPU backend (0: all cores)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    app_->add_option("--device", device_,
                     "target Hailo device a HEF must run on (sim): hailo8, hailo8l, ... "
                     "[default: " +
                         std::string(kDefaultDevice) + "]");
    sim_flags_.add_to(*app_);
    app_->add_flag("--json", json_, "print one JSON object instead of text");
  }

  Status run() override {
    HDEPLOY_ASSIGN_OR_RETURN(
        BackendRequest request,
        backend_request(backend_name_, model_path_, onnx_path_, device_, threads_, sim_flags_));
    request.spec = [this] { return find_spec(); };
    request.need_outputs = true;
    HDEPLOY_ASSIGN_OR_RETURN(OpenedBackend opened, open_backend(request));
    // An ONNX model is its own CPU reference (backend_request checked the extension).
    if (onnx_path_.empty() && model_path_.extension() == ".onnx") onnx_path_ = model_path_;
    return classify(*opened.backend, opened.kind);
  }

 private:
  // Every backend through the Engine (page-aligned buffers, the backend's own contract).
  Status classify(Backend& backend, const std::string& kind) {
    HDEPLOY_ASSIGN_OR_RETURN(const ModelSpec spec, find_spec());
    std::vector<std::string> labels;
    HDEPLOY_TRY(find_labels(spec, labels));
    const TensorSpec in = backend.inputs().at(0);
    const TensorSpec out = backend.outputs().at(0);
    const Preprocessor preprocessor = make_preprocessor(spec);
    auto conversion =
        InputConversion::create(in, preprocessor.output_height(), preprocessor.output_width());
    if (!conversion) {
      return fail(ErrorCode::kFailed, "{}: {} (spec {}; name the model's own spec with --model)",
                  model_path_.string(), conversion.error().message, spec.name);
    }
    HDEPLOY_TRY(check_labels(labels, out.element_count()));
    log_info(fmt::format("model {} on {}, spec {}", model_path_.string(), backend.description(),
                         spec.name));

    // The CPU reference for a device run: the same image through the ONNX model.
    std::unique_ptr<Backend> cpu;
    std::optional<InputConversion> cpu_conversion;
    std::vector<float> cpu_input;
    std::vector<float> cpu_logits;
    FrameBuffers cpu_frame;
    if (kind != "cpu" && !onnx_path_.empty()) {
      CpuBackendOptions cpu_options;
      cpu_options.threads = threads_;
      HDEPLOY_ASSIGN_OR_RETURN(cpu, create_cpu_backend(onnx_path_, cpu_options));
      auto made = InputConversion::create(cpu->inputs().at(0), preprocessor.output_height(),
                                          preprocessor.output_width());
      if (!made) {
        return fail(ErrorCode::kFailed, "{}: {} (spec {})", onnx_path_.string(),
                    made.error().message, spec.name);
      }
      cpu_conversion = *made;
      cpu_input.resize(cpu->inputs().at(0).element_count());
      cpu_logits.resize(cpu->outputs().at(0).element_count());
      if (cpu_logits.size() != out.element_count()) {
        return fail(ErrorCode::kFailed, "{}: has {} outputs but the device has {}",
                    onnx_path_.string(), cpu_logits.size(), out.element_count());
      }
      cpu_frame.inputs.push_back({reinterpret_cast<const std::uint8_t*>(cpu_input.data()),
                                  cpu_input.size() * sizeof(float)});
      cpu_frame.outputs.push_back(
          {reinterpret_cast<std::uint8_t*>(cpu_logits.data()), cpu_logits.size() * sizeof(float)});
    }

    HDEPLOY_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine,
                             Engine::create(backend, EngineOptions{1, 1}));
    json results = json::array();
    int failures = 0;
    for (const auto& image : images_) {
      const auto t0 = Clock::now();
      auto prepared = preprocessor.prepare(image);
      if (!prepared) {
        report_failure(image, prepared.error(), results, failures);
        continue;
      }
      HDEPLOY_ASSIGN_OR_RETURN(EngineFrame * frame, engine->acquire());
      if (auto written = conversion->write(preprocessor, *prepared, frame->input()); !written) {
        engine->release(*frame);
        return written;
      }
      const double preprocess_ms = ms_since(t0);
      const auto t1 = Clock::now();
      const Status ran = engine->run(*frame);
      const double device_ms = ms_since(t1);
      if (!ran) {
        engine->release(*frame);
        return ran;
      }
      auto logits = dequantize_output(frame->output(), out);
      engine->release(*frame);
      if (!logits) return unexpected(logits.error());
      const auto top = top_k(*logits, static_cast<std::size_t>(top_k_), labels);
      const double infer_ms = ms_since(t1);
      json result = {{"image", image.string()},
                     {"top_k", classes_json(top)},
                     {"preprocess_ms", preprocess_ms},
                     {"device_ms", device_ms},
                     {"inference_ms", infer_ms}};
      std::optional<std::pair<double, bool>> qerr;
      if (cpu) {
        HDEPLOY_TRY(
            cpu_conversion->write(preprocessor, *prepared,
                                  std::span(reinterpret_cast<std::uint8_t*>(cpu_input.data()),
                                            cpu_input.size() * sizeof(float))));
        HDEPLOY_TRY(cpu->infer(cpu_frame));
        double max_abs = 0.0;
        for (std::size_t i = 0; i < cpu_logits.size(); ++i) {
          max_abs = std::max(max_abs, std::abs(static_cast<double>((*logits)[i]) - cpu_logits[i]));
        }
        const auto cpu_top = top_k(cpu_logits, 1);
        const bool agrees =
            !top.empty() && !cpu_top.empty() && top.front().index == cpu_top.front().index;
        result["quantization_error_max_abs"] = max_abs;
        result["top1_agrees_with_cpu"] = agrees;
        result["cpu_top1"] = cpu_top.empty() ? -1 : cpu_top.front().index;
        qerr.emplace(max_abs, agrees);
      }
      results.push_back(std::move(result));
      if (!json_) {
        print_text(image, top, preprocess_ms,
                   kind == "cpu" ? std::nullopt : std::optional(device_ms), infer_ms);
        if (qerr) {
          fmt::print("  quantization error vs cpu: max |logit difference| {:.4g}, top-1 {}\n",
                     qerr->first, qerr->second ? "agrees" : "DIFFERS");
        }
      }
    }
    engine.reset();
    return finish(spec, backend, results, failures);
  }

  Preprocessor make_preprocessor(const ModelSpec& spec) const {
    DecodeOptions decode;
    decode.max_pixels = max_pixels_;
    decode.apply_exif_orientation = spec.preprocess.exif_orientation;
    return Preprocessor(spec, decode);
  }

  Status check_labels(const std::vector<std::string>& labels, std::size_t outputs) const {
    if (!labels.empty() && labels.size() != outputs) {
      return fail(ErrorCode::kFailed,
                  "{}: has {} labels but the model has {} outputs; pass the right --labels",
                  labels_source_.string(), labels.size(), outputs);
    }
    return {};
  }

  void report_failure(const fs::path& image, const Error& error, json& results,
                      int& failures) const {
    ++failures;
    std::cerr << "hdeploy infer: error: " << error.message << '\n';
    results.push_back({{"image", image.string()}, {"error", error.message}});
  }

  Status finish(const ModelSpec& spec, const Backend& backend, const json& results,
                int failures) const {
    if (json_) {
      json report = {
          {"model", model_path_.string()},     {"spec", spec.name},
          {"backend", backend.name()},         {"backend_description", backend.description()},
          {"labels", labels_source_.string()}, {"results", results}};
      if (!onnx_path_.empty()) report["onnx"] = onnx_path_.string();
      const TensorSpec& out = backend.outputs().at(0);
      if (out.quantization) {
        report["output_quantization"] = {{"scale", out.quantization->scale},
                                         {"zero_point", out.quantization->zero_point}};
      }
      print_json(report, 2);
    }
    if (failures > 0) {
      return fail(ErrorCode::kFailed, "{} of {} image{} could not be classified (see above)",
                  failures, images_.size(), images_.size() == 1 ? "" : "s");
    }
    return {};
  }

  // The directories a spec or labels may sit beside: the model's, then the ONNX's.
  std::vector<fs::path> model_dirs() const {
    std::vector<fs::path> dirs{model_path_.parent_path()};
    if (!onnx_path_.empty() && onnx_path_.parent_path() != model_path_.parent_path()) {
      dirs.push_back(onnx_path_.parent_path());
    }
    return dirs;
  }

  // --model, else the spec named in export.json beside the model (or the ONNX).
  Result<ModelSpec> find_spec() const {
    return find_model_spec(spec_name_, model_dirs(), model_path_, ctx_.models_dir());
  }

  Status find_labels(const ModelSpec& spec, std::vector<std::string>& labels) {
    std::error_code ec;
    if (!labels_path_.empty()) {
      labels_source_ = labels_path_;
    } else {
      for (const fs::path& dir : model_dirs()) {
        if (fs::is_regular_file(dir / "labels.txt", ec)) {
          labels_source_ = dir / "labels.txt";
          break;
        }
      }
    }
    if (labels_source_.empty()) {
      log_warning(
          fmt::format("no labels.txt beside {} and no --labels: printing class indices "
                      "(spec {} names labels '{}')",
                      model_path_.string(), spec.name, spec.labels));
      return {};
    }
    HDEPLOY_ASSIGN_OR_RETURN(labels, load_labels(labels_source_));
    return {};
  }

  static void print_ranks(const std::vector<ClassScore>& top) {
    int rank = 1;
    for (const auto& c : top) {
      fmt::print("  {}. {:6.2f}%  {} ({})\n", rank++, 100.0 * c.probability,
                 c.label.empty() ? "class" : c.label, c.index);
    }
  }

  // "(preprocess, [device,] inference)": the device time only where a device (sim, hailo) ran.
  static void print_text(const fs::path& image, const std::vector<ClassScore>& top,
                         double preprocess_ms, std::optional<double> device_ms, double infer_ms) {
    if (device_ms) {
      fmt::print("{}  (preprocess {:.2f} ms, device {:.2f} ms, inference {:.2f} ms)\n",
                 image.string(), preprocess_ms, *device_ms, infer_ms);
    } else {
      fmt::print("{}  (preprocess {:.2f} ms, inference {:.2f} ms)\n", image.string(), preprocess_ms,
                 infer_ms);
    }
    print_ranks(top);
  }

  const CliContext& ctx_;
  fs::path model_path_;
  std::vector<fs::path> images_;
  std::string backend_name_ = "auto";
  fs::path onnx_path_;
  std::string spec_name_;
  fs::path labels_path_;
  fs::path labels_source_;
  int top_k_ = 5;
  std::uint64_t max_pixels_ = DecodeOptions{}.max_pixels;
  int threads_ = 0;
  std::string device_;
  SimTimingFlags sim_flags_;
  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> make_infer_command(CLI::App& root, const CliContext& ctx) {
  return std::make_unique<InferCommand>(root, ctx);
}

}  // namespace hdeploy::cli

// hdeploy infer MODEL IMAGE...: classify images on the cpu backend (an ONNX model), the sim
// backend (an emulated Hailo device whose contract comes from a HEF or from the model spec) or
// the hailo backend (HailoRT, when this build has it), with the model spec's preprocessing and
// softmax and top-k on the host.
//
// Sim/hailo input: Preprocessor::to_hailo_input's uint8 NHWC pixels (0-255). When the HEF's
// input qp is not identity, the host quantizes each pixel value v as round(v / scale + zp),
// clipped to 0..255 (the convention the sim dequantizes with: the qp maps device bytes to pixel
// values before the on-chip normalisation). Outputs are dequantized with the output qp, then
// softmax and top-k.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "command.hpp"
#include "hdeploy/core/file.hpp"
#include "hdeploy/core/model_spec.hpp"
#include "hdeploy/core/npy.hpp"
#include "hdeploy/hef/compatibility.hpp"
#include "hdeploy/hef/hef_reader.hpp"
#include "hdeploy/preprocess/preprocessor.hpp"
#include "hdeploy/runtime/classification.hpp"
#include "hdeploy/runtime/cpu_backend.hpp"
#include "hdeploy/runtime/engine.hpp"
#include "hdeploy/runtime/hailo_backend.hpp"
#include "hdeploy/runtime/sim_backend.hpp"
#include "model_setup.hpp"

namespace hdeploy::cli {
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
    app_->add_option("model", model_path_,
                     "ONNX model (.onnx, as written by export) or Hailo compiled model (.hef)")
        ->required();
    app_->add_option("images", images_, "image files (JPEG or PNG)")->required();
    app_->add_option("--backend", backend_name_,
                     "auto: hailo when this build has HailoRT and a device answers, else cpu for "
                     "an .onnx, sim for a .hef; cpu: OpenCV DNN; sim: emulated Hailo device; "
                     "hailo: HailoRT")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "cpu", "sim", "hailo"}));
    app_->add_option("--onnx", onnx_path_,
                     "ONNX model the sim computes real outputs with [default: MODEL when it is "
                     "an .onnx]; without one the sim is timing-only and infer refuses it");
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
    HDEPLOY_ASSIGN_OR_RETURN(const ModelKind kind, model_kind(model_path_));
    const bool is_hef = kind == ModelKind::kHef;
    const bool is_onnx = kind == ModelKind::kOnnx;
    if (onnx_path_.empty() && is_onnx) onnx_path_ = model_path_;
    if (!onnx_path_.empty()) HDEPLOY_TRY(check_readable_file(onnx_path_));

    std::string backend = backend_name_;
    if (backend == "auto") {
#ifdef HDEPLOY_HAVE_HAILORT
      if (is_hef) {
        auto hailo = create_hailo_backend(model_path_);
        if (hailo) {
          log_info(fmt::format("--backend auto: a Hailo device answered; running {} on hailo",
                               model_path_.string()));
          return run_device(std::move(*hailo), nullptr);
        }
        log_info(fmt::format("--backend auto: no Hailo device ({}); running {} on the sim",
                             hailo.error().message, model_path_.string()));
      } else {
        log_info(fmt::format("--backend auto: {} is an ONNX model; running it on the cpu backend",
                             model_path_.string()));
      }
#else
      log_info(
          fmt::format("--backend auto: this build has no HailoRT; running {} on the {} backend",
                      model_path_.string(), is_hef ? "sim" : "cpu"));
#endif
      backend = is_hef ? "sim" : "cpu";
    }
    if (backend == "cpu") {
      if (is_hef) {
        return fail(ErrorCode::kFailed,
                    "{}: the cpu backend runs ONNX models; pass the .onnx, or use --backend sim "
                    "--onnx MODEL.onnx",
                    model_path_.string());
      }
      return run_cpu();
    }
    if (backend == "hailo") {
#ifdef HDEPLOY_HAVE_HAILORT
      if (!is_hef) {
        return fail(ErrorCode::kFailed,
                    "{}: the hailo backend runs a .hef; compile the model first",
                    model_path_.string());
      }
      auto hailo = create_hailo_backend(model_path_);
      if (!hailo) return unexpected(as_failure(hailo.error()));
      return run_device(std::move(*hailo), nullptr);
#else
      return fail(ErrorCode::kUnsupported,
                  "{}: --backend hailo needs HailoRT, and this build has no HailoRT support; use "
                  "--backend sim to emulate the device",
                  model_path_.string());
#endif
    }
    return run_sim(is_hef);
  }

 private:
  // The CPU backend on an ONNX model: float32 NCHW in, float logits out.
  Status run_cpu() {
    HDEPLOY_ASSIGN_OR_RETURN(ModelSpec spec, find_spec());
    std::vector<std::string> labels;
    HDEPLOY_TRY(find_labels(spec, labels));

    CpuBackendOptions options;
    options.threads = threads_;
    HDEPLOY_ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend,
                             create_cpu_backend(model_path_, options));
    const TensorSpec& in = backend->inputs().at(0);
    const TensorSpec& out = backend->outputs().at(0);
    HDEPLOY_TRY(check_cpu_input(in, spec, model_path_));
    HDEPLOY_TRY(check_labels(labels, out.element_count()));
    log_info(fmt::format("model {} on {}, spec {}", model_path_.string(), backend->description(),
                         spec.name));

    const Preprocessor preprocessor = make_preprocessor(spec);
    std::vector<float> input(in.element_count());
    std::vector<float> logits(out.element_count());
    FrameBuffers frame;
    frame.inputs.push_back({reinterpret_cast<const std::uint8_t*>(input.data()), in.byte_size()});
    frame.outputs.push_back({reinterpret_cast<std::uint8_t*>(logits.data()), out.byte_size()});

    json results = json::array();
    int failures = 0;
    for (const auto& image : images_) {
      const auto t0 = Clock::now();
      auto prepared = preprocessor.prepare(image);
      if (!prepared) {
        report_failure(image, prepared.error(), results, failures);
        continue;
      }
      preprocessor.to_cpu_input(*prepared, input);
      const double preprocess_ms = ms_since(t0);
      const auto t1 = Clock::now();
      HDEPLOY_TRY(backend->infer(frame));
      const double infer_ms = ms_since(t1);
      const auto top = top_k(logits, static_cast<std::size_t>(top_k_), labels);
      results.push_back({{"image", image.string()},
                         {"top_k", classes_json(top)},
                         {"preprocess_ms", preprocess_ms},
                         {"device_ms", infer_ms},
                         {"inference_ms", infer_ms}});
      if (!json_) print_text(image, top, preprocess_ms, infer_ms);
    }
    return finish(spec, *backend, results, failures);
  }

  // The sim: contract and timing from the HEF (MODEL.hef) or the model spec (MODEL.onnx).
  Status run_sim(bool is_hef) {
    SimDeviceSpec sim;
    std::string contract_from;
    std::string timing_from = kSimDefaultTiming;
    std::optional<ModelSpec> spec;
    if (is_hef) {
      HDEPLOY_ASSIGN_OR_RETURN(const hef::HefInfo info, read_hef_for_device(model_path_, device_));
      if (onnx_path_.empty()) return refuse_timing_only();
      HDEPLOY_ASSIGN_OR_RETURN(ModelSpec s, find_spec());
      spec = std::move(s);
      HDEPLOY_ASSIGN_OR_RETURN(sim, sim_spec_from_hef(info, *spec, model_path_, timing_from));
      contract_from = model_path_.filename().string();
    } else {
      if (onnx_path_.empty()) return refuse_timing_only();
      HDEPLOY_ASSIGN_OR_RETURN(ModelSpec s, find_spec());
      spec = std::move(s);
      HDEPLOY_ASSIGN_OR_RETURN(sim, sim_spec_from_export(model_path_, *spec, contract_from));
    }
    sim_flags_.apply(sim, timing_from);
    log_info(fmt::format("sim: contract from {}; timing {:.0f} FPS, {:.3f} ms latency from {}",
                         contract_from, sim.fps, sim.latency_ms, timing_from));

    SimBackendOptions options;
    options.onnx = onnx_path_;
    options.cpu.threads = threads_;
    auto backend = create_sim_backend(sim, options);
    if (!backend) return unexpected(as_failure(backend.error()));
    // The reference: the same ONNX on the CPU backend, to report the quantization error.
    CpuBackendOptions cpu_options;
    cpu_options.threads = threads_;
    auto cpu = create_cpu_backend(onnx_path_, cpu_options);
    if (!cpu) return unexpected(as_failure(cpu.error()));
    HDEPLOY_TRY(check_cpu_input((*cpu)->inputs().at(0), *spec, onnx_path_));
    return run_device(std::move(*backend), std::move(*cpu), std::move(spec));
  }

  Status refuse_timing_only() const {
    return fail(ErrorCode::kFailed,
                "{}: the sim backend has no ONNX model to compute outputs (timing only); pass "
                "--onnx MODEL.onnx",
                model_path_.string());
  }

  // sim or hailo through the Engine (page-aligned buffers): uint8 NHWC in, quantized out.
  // With `cpu`, each image also runs there to measure the quantization error.
  Status run_device(std::unique_ptr<Backend> backend, std::unique_ptr<Backend> cpu,
                    std::optional<ModelSpec> known_spec = std::nullopt) {
    ModelSpec spec;
    if (known_spec) {
      spec = std::move(*known_spec);
    } else {
      HDEPLOY_ASSIGN_OR_RETURN(spec, find_spec());
    }
    std::vector<std::string> labels;
    HDEPLOY_TRY(find_labels(spec, labels));
    const TensorSpec in = backend->inputs().at(0);
    const TensorSpec out = backend->outputs().at(0);
    if (in.shape.size() != 4 || in.shape[1] != spec.input_height ||
        in.shape[2] != spec.input_width || in.shape[3] != 3) {
      return fail(ErrorCode::kFailed,
                  "{}: the device input is {} but spec {} says {}x{}x3; pass the spec the model "
                  "was compiled with (--model)",
                  model_path_.string(), in.describe(), spec.name, spec.input_height,
                  spec.input_width);
    }
    HDEPLOY_TRY(check_labels(labels, out.element_count()));
    log_info(fmt::format("model {} on {}, spec {}", model_path_.string(), backend->description(),
                         spec.name));

    HDEPLOY_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine,
                             Engine::create(*backend, EngineOptions{1, 1}));
    const Preprocessor preprocessor = make_preprocessor(spec);
    const Quantization in_qp = in.quantization.value_or(Quantization{});
    std::vector<float> cpu_input;
    std::vector<float> cpu_logits;
    FrameBuffers cpu_frame;
    if (cpu) {
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
      const std::span<std::uint8_t> bytes = frame->input();
      preprocessor.to_hailo_input(*prepared, bytes);
      if (!in_qp.is_identity()) {
        for (auto& b : bytes) {
          const float q = std::round(static_cast<float>(b) / in_qp.scale + in_qp.zero_point);
          b = static_cast<std::uint8_t>(std::clamp(q, 0.0F, 255.0F));
        }
      }
      const double preprocess_ms = ms_since(t0);
      const auto t1 = Clock::now();
      const Status ran = engine->run(*frame);
      const double device_ms = ms_since(t1);
      if (!ran) {
        engine->release(*frame);
        return unexpected(as_failure(ran.error()));
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
        preprocessor.to_cpu_input(*prepared, cpu_input);
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
        print_device_text(image, top, preprocess_ms, device_ms, infer_ms);
        if (qerr) {
          fmt::print("  quantization error vs cpu: max |logit difference| {:.4g}, top-1 {}\n",
                     qerr->first, qerr->second ? "agrees" : "DIFFERS");
        }
      }
    }
    engine.reset();
    return finish(spec, *backend, results, failures);
  }

  Preprocessor make_preprocessor(const ModelSpec& spec) const {
    DecodeOptions decode;
    decode.max_pixels = max_pixels_;
    decode.apply_exif_orientation = spec.preprocess.exif_orientation;
    return Preprocessor(spec, decode);
  }

  static Status check_cpu_input(const TensorSpec& in, const ModelSpec& spec,
                                const fs::path& model) {
    if (in.shape.size() != 4 || in.shape[2] != spec.input_height ||
        in.shape[3] != spec.input_width) {
      return fail(ErrorCode::kInvalidArgument,
                  "{}: the model input is {} but spec {} says {}x{}; pass the spec the model "
                  "was exported with (--model)",
                  model.string(), in.describe(), spec.name, spec.input_height, spec.input_width);
    }
    return {};
  }

  Status check_labels(const std::vector<std::string>& labels, std::size_t outputs) const {
    if (!labels.empty() && labels.size() != outputs) {
      return fail(ErrorCode::kInvalidArgument,
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
      std::cout << report.dump(2) << '\n';
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

  static void print_text(const fs::path& image, const std::vector<ClassScore>& top,
                         double preprocess_ms, double infer_ms) {
    fmt::print("{}  (preprocess {:.2f} ms, inference {:.2f} ms)\n", image.string(), preprocess_ms,
               infer_ms);
    print_ranks(top);
  }

  static void print_device_text(const fs::path& image, const std::vector<ClassScore>& top,
                                double preprocess_ms, double device_ms, double infer_ms) {
    fmt::print("{}  (preprocess {:.2f} ms, device {:.2f} ms, inference {:.2f} ms)\n",
               image.string(), preprocess_ms, device_ms, infer_ms);
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

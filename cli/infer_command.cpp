// hdeploy infer MODEL.onnx IMAGE...: classify images on the CPU backend, with the model spec's
// preprocessing, softmax and top-k on the host.

#include <chrono>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "hdeploy/core/file.hpp"
#include "hdeploy/core/model_spec.hpp"
#include "hdeploy/preprocess/preprocessor.hpp"
#include "hdeploy/runtime/classification.hpp"
#include "hdeploy/runtime/cpu_backend.hpp"

namespace hdeploy::cli {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

class InferCommand : public Command {
 public:
  InferCommand(CLI::App& root, const CliContext& ctx) : ctx_(ctx) {
    app_ = root.add_subcommand(
        "infer", "Classify images: preprocess as the model spec says, run, softmax and top-k");
    app_->add_option("model", model_path_, "ONNX model file (.onnx), as written by export")
        ->required();
    app_->add_option("images", images_, "image files (JPEG or PNG)")->required();
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
    app_->add_flag("--json", json_, "print one JSON object instead of text");
  }

  Status run() override {
    if (model_path_.extension() != ".onnx") {
      return fail(ErrorCode::kInvalidArgument,
                  "{}: expected an ONNX model (.onnx); this build runs ONNX models on the CPU "
                  "backend",
                  model_path_.string());
    }
    HDEPLOY_TRY(check_readable_file(model_path_));
    HDEPLOY_ASSIGN_OR_RETURN(ModelSpec spec, find_spec());
    std::vector<std::string> labels;
    HDEPLOY_TRY(find_labels(spec, labels));

    CpuBackendOptions options;
    options.threads = threads_;
    HDEPLOY_ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend,
                             create_cpu_backend(model_path_, options));
    const TensorSpec& in = backend->inputs().at(0);
    const TensorSpec& out = backend->outputs().at(0);
    if (in.shape.size() != 4 || in.shape[2] != spec.input_height ||
        in.shape[3] != spec.input_width) {
      return fail(ErrorCode::kInvalidArgument,
                  "{}: the model input is {} but spec {} says {}x{}; pass the spec the model "
                  "was exported with (--model)",
                  model_path_.string(), in.describe(), spec.name, spec.input_height,
                  spec.input_width);
    }
    if (!labels.empty() && labels.size() != out.element_count()) {
      return fail(ErrorCode::kInvalidArgument,
                  "{}: has {} labels but the model has {} outputs; pass the right --labels",
                  labels_source_.string(), labels.size(), out.element_count());
    }
    log_info(fmt::format("model {} on {}, spec {}", model_path_.string(), backend->description(),
                         spec.name));

    DecodeOptions decode;
    decode.max_pixels = max_pixels_;
    decode.apply_exif_orientation = spec.preprocess.exif_orientation;
    const Preprocessor preprocessor(spec, decode);
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
        ++failures;
        std::cerr << "hdeploy infer: error: " << prepared.error().message << '\n';
        results.push_back({{"image", image.string()}, {"error", prepared.error().message}});
        continue;
      }
      preprocessor.to_cpu_input(*prepared, input);
      const double preprocess_ms = ms_since(t0);
      const auto t1 = Clock::now();
      HDEPLOY_TRY(backend->infer(frame));
      const double infer_ms = ms_since(t1);
      const auto top = top_k(logits, static_cast<std::size_t>(top_k_), labels);
      json classes = json::array();
      for (const auto& c : top) {
        classes.push_back({{"index", c.index},
                           {"label", c.label},
                           {"probability", c.probability},
                           {"logit", c.logit}});
      }
      results.push_back({{"image", image.string()},
                         {"top_k", classes},
                         {"preprocess_ms", preprocess_ms},
                         {"inference_ms", infer_ms}});
      if (!json_) print_text(image, top, preprocess_ms, infer_ms);
    }
    if (json_) {
      json report = {
          {"model", model_path_.string()},     {"spec", spec.name},
          {"backend", backend->name()},        {"backend_description", backend->description()},
          {"labels", labels_source_.string()}, {"results", results}};
      std::cout << report.dump(2) << '\n';
    }
    if (failures > 0) {
      return fail(ErrorCode::kFailed, "{} of {} image{} could not be classified (see above)",
                  failures, images_.size(), images_.size() == 1 ? "" : "s");
    }
    return {};
  }

 private:
  // --model, else the spec named in export.json beside the model.
  Result<ModelSpec> find_spec() const {
    std::string name = spec_name_;
    if (name.empty()) {
      const fs::path record = model_path_.parent_path() / "export.json";
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
      if (name.empty()) {
        return fail(ErrorCode::kInvalidArgument,
                    "{}: no export.json beside it names its model spec; pass --model SPEC "
                    "(e.g. --model resnet18)",
                    model_path_.string());
      }
    }
    HDEPLOY_ASSIGN_OR_RETURN(fs::path path, resolve_model_spec(name, ctx_.models_dir()));
    return load_model_spec(path);
  }

  Status find_labels(const ModelSpec& spec, std::vector<std::string>& labels) {
    std::error_code ec;
    if (!labels_path_.empty()) {
      labels_source_ = labels_path_;
    } else if (fs::is_regular_file(model_path_.parent_path() / "labels.txt", ec)) {
      labels_source_ = model_path_.parent_path() / "labels.txt";
    } else {
      log_warning(
          fmt::format("no labels.txt beside {} and no --labels: printing class indices "
                      "(spec {} names labels '{}')",
                      model_path_.string(), spec.name, spec.labels));
      return {};
    }
    HDEPLOY_ASSIGN_OR_RETURN(labels, load_labels(labels_source_));
    return {};
  }

  static void print_text(const fs::path& image, const std::vector<ClassScore>& top,
                         double preprocess_ms, double infer_ms) {
    fmt::print("{}  (preprocess {:.2f} ms, inference {:.2f} ms)\n", image.string(), preprocess_ms,
               infer_ms);
    int rank = 1;
    for (const auto& c : top) {
      fmt::print("  {}. {:6.2f}%  {} ({})\n", rank++, 100.0 * c.probability,
                 c.label.empty() ? "class" : c.label, c.index);
    }
  }

  const CliContext& ctx_;
  fs::path model_path_;
  std::vector<fs::path> images_;
  std::string spec_name_;
  fs::path labels_path_;
  fs::path labels_source_;
  int top_k_ = 5;
  std::uint64_t max_pixels_ = DecodeOptions{}.max_pixels;
  int threads_ = 0;
  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> make_infer_command(CLI::App& root, const CliContext& ctx) {
  return std::make_unique<InferCommand>(root, ctx);
}

}  // namespace hdeploy::cli

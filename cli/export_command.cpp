// hdeploy export MODEL_SPEC: PyTorch → ONNX plus a reference input/output pair, through
// python/hdeploy_export.py (PyTorch exists only in Python).
//
// C++ owns everything but the torch work: it reads and validates the spec (one TOML parser),
// checks the output before torch starts, finds an interpreter that imports torch, hands the
// script a JSON config, runs it with posix_spawn (argv vector, no shell), relays its progress,
// verifies what it wrote (SHA-256 of every file) and only then renames the temporary sibling
// folder into place, so an export folder is either complete or absent.

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "command.hpp"
#include "hdeploy/core/file.hpp"
#include "hdeploy/core/json_text.hpp"
#include "hdeploy/core/model_spec.hpp"
#include "hdeploy/core/process.hpp"
#include "hdeploy/core/python.hpp"
#include "hdeploy/core/sha256.hpp"
#include "hdeploy/version.hpp"

namespace hdeploy::cli {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kMinOpset = 11;  // the Hailo Dataflow Compiler parses opsets 11-17
constexpr int kMaxOpset = 17;
constexpr const char* kScriptName = "hdeploy_export.py";
constexpr const char* kScriptPrefix = "hdeploy_export: ";
constexpr const char* kScriptErrorPrefix = "hdeploy_export: error: ";
constexpr const char* kImagenetLabels = "torchvision:imagenet";
constexpr int kImagenetClasses = 1000;
// Files the exporter must write; export.json lists them with their SHA-256.
const std::vector<std::string> kRequiredFiles{"model.onnx", "labels.txt", "reference/image.png",
                                              "reference/input.npy", "reference/output.npy"};
// The interpreter's own config lives in the temporary folder, removed before the rename.
constexpr const char* kConfigName = ".hdeploy-export-config.json";

// --------------------------------------------------------------------------------------------
// Output folder handling.

// Removes a folder tree unless released: the temporary export folder and any parent folders
// hdeploy created for it.
class RemoveOnFailure {
 public:
  RemoveOnFailure() = default;
  RemoveOnFailure(const RemoveOnFailure&) = delete;
  RemoveOnFailure& operator=(const RemoveOnFailure&) = delete;
  ~RemoveOnFailure() {
    std::error_code ec;
    // Innermost first: the temporary folder, then the parents made for it.
    for (; !paths_.empty(); paths_.pop_back()) fs::remove_all(paths_.back(), ec);
  }
  void add(fs::path path) { paths_.push_back(std::move(path)); }
  void release() { paths_.clear(); }

 private:
  std::vector<fs::path> paths_;
};

// True if `dir` has any entry.
bool has_entries(const fs::path& dir) {
  std::error_code ec;
  return fs::directory_iterator(dir, ec) != fs::directory_iterator();
}

// The output folder may be (re)written: refuses a non-empty folder without --force, and checks
// that the folder that will hold it (the first existing ancestor) is a writable folder.
Status check_output_dir(const fs::path& out, bool force) {
  std::error_code ec;
  const auto status = fs::symlink_status(out, ec);
  if (fs::exists(status)) {
    if (!fs::is_directory(status)) {
      return fail(ErrorCode::kUsage, "--out {}: exists and is not a folder; choose a folder path",
                  out.string());
    }
    if (!force && (fs::exists(out / "model.onnx", ec) || has_entries(out))) {
      return fail(ErrorCode::kAlreadyExists,
                  "{}: already exists and is not empty; pass --force to replace it or choose "
                  "another --out",
                  out.string());
    }
    // --force replaces the whole folder: never one that holds the working or home folder.
    const fs::path target = fs::weakly_canonical(out, ec);
    const char* home = std::getenv("HOME");
    for (const fs::path& inside :
         {fs::weakly_canonical(fs::current_path(ec), ec),
          fs::weakly_canonical(home != nullptr ? fs::path(home) : fs::path("/"), ec)}) {
      const auto [t, i] = std::mismatch(target.begin(), target.end(), inside.begin(), inside.end());
      if (t == target.end()) {
        return fail(ErrorCode::kUsage,
                    "--out {}: holds {}; --force would delete it; export into a new folder",
                    out.string(), inside.string());
      }
    }
  }
  fs::path dir = out.parent_path();
  while (!dir.empty() && !fs::exists(dir, ec) && dir.has_parent_path() &&
         dir.parent_path() != dir) {
    dir = dir.parent_path();
  }
  if (!fs::is_directory(dir, ec)) {
    return fail(ErrorCode::kIo, "{}: cannot be written: {} is not a folder", out.string(),
                dir.string());
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return fail(ErrorCode::kIo, "{}: cannot be written: folder {} is not writable ({})",
                out.string(), dir.string(), std::strerror(errno));
  }
  return {};
}

// Creates the missing parents of `out` (registering the topmost for removal on failure) and an
// empty sibling DIR.tmp-XXXXXX with the usual umask-derived permissions.
Result<fs::path> make_temporary_sibling(const fs::path& out, RemoveOnFailure& cleanup) {
  std::error_code ec;
  const fs::path parent = out.parent_path();
  fs::path topmost_missing;
  for (fs::path p = parent; !p.empty() && !fs::exists(p, ec) && p.parent_path() != p;
       p = p.parent_path()) {
    topmost_missing = p;
  }
  if (!topmost_missing.empty()) {
    fs::create_directories(parent, ec);
    if (ec) {
      return fail(ErrorCode::kIo, "{}: cannot create folder {}: {}", out.string(), parent.string(),
                  ec.message());
    }
    cleanup.add(topmost_missing);
  }
  std::string pattern = (parent / (out.filename().string() + ".tmp-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return fail(ErrorCode::kIo, "{}: cannot create a temporary folder in {}: {}", out.string(),
                parent.string(), std::strerror(errno));
  }
  cleanup.add(pattern);
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::chmod(pattern.c_str(), 0777 & ~mask);
  return fs::path(pattern);
}

// Puts the finished folder `tmp` at `out`; an old `out` is removed only once the new one is in
// place (and restored if the rename fails).
Status move_into_place(const fs::path& tmp, const fs::path& out) {
  std::error_code ec;
  fs::path old;
  if (fs::exists(fs::symlink_status(out, ec))) {
    if (has_entries(out)) {
      std::string pattern = out.string() + ".old-XXXXXX";
      if (::mkdtemp(pattern.data()) == nullptr) {
        return fail(ErrorCode::kIo, "{}: cannot make room for the new export: {}", out.string(),
                    std::strerror(errno));
      }
      old = pattern;
      fs::rename(out, old, ec);  // replaces the empty folder mkdtemp made
      if (ec) {
        std::error_code ignored;
        fs::remove(old, ignored);
        return fail(ErrorCode::kIo, "{}: cannot move the old export aside: {}", out.string(),
                    ec.message());
      }
    }
  }
  fs::rename(tmp, out, ec);  // onto an empty folder or nothing
  if (ec) {
    std::error_code ignored;
    if (!old.empty()) fs::rename(old, out, ignored);
    return fail(ErrorCode::kIo, "{}: cannot rename {} into place: {}", out.string(), tmp.string(),
                ec.message());
  }
  if (!old.empty()) {
    fs::remove_all(old, ec);
    if (ec)
      log_warning(
          fmt::format("could not remove the old export {}: {}", old.string(), ec.message()));
  }
  return {};
}

// A float from the spec as the decimal the user wrote (0.485F → 0.485, not 0.48500001…).
double as_written(float value) { return std::strtod(fmt::format("{}", value).c_str(), nullptr); }

// Lines of a labels file, without trailing empty lines.
Result<std::size_t> count_labels(const fs::path& path) {
  HDEPLOY_ASSIGN_OR_RETURN(std::string text, read_text_file(path));
  std::vector<std::string> lines;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  while (!lines.empty() && lines.back().find_first_not_of(" \t\r") == std::string::npos) {
    lines.pop_back();
  }
  return lines.size();
}

// --------------------------------------------------------------------------------------------

class ExportCommand : public Command {
 public:
  ExportCommand(CLI::App& root, const CliContext& ctx) : ctx_(ctx) {
    app_ = root.add_subcommand(
        "export",
        "Export a torchvision classifier to ONNX (for the Hailo parser) with a reference "
        "input/output pair, through PyTorch in Python");
    app_->add_option("MODEL", spec_name_,
                     "model spec: a shipped name (resnet18, mobilenet_v2) or a .toml path")
        ->required();
    app_->add_option("--weights", weights_,
                     "none (seeded random init with BatchNorm statistics: for pipeline tests), "
                     "PATH (a state_dict .pth) or pretrained (torchvision's default weights, "
                     "downloaded)")
        ->capture_default_str();
    app_->add_option("--opset", opset_, "ONNX opset, 11-17 (the Hailo parser's range)")
        ->capture_default_str();
    app_->add_option("--out", out_,
                     "output folder: model.onnx, labels.txt, reference/, export.json "
                     "[default: exports/<model name>]");
    app_->add_option("--seed", seed_,
                     "seed for random weights (--weights none) and the reference image")
        ->capture_default_str();
    app_->add_option("--python", python_,
                     "Python interpreter with torch, torchvision and onnx [default: "
                     "$HDEPLOY_PYTHON, else the first of python3 on PATH, /usr/bin/python3, "
                     "/usr/local/bin/python3 that imports them]");
    app_->add_flag("--force", force_, "replace an existing output folder");
    app_->add_flag("--json", json_, "print one JSON object instead of text");
  }

  Status run() override {
    const auto start = Clock::now();
    if (opset_ < kMinOpset || opset_ > kMaxOpset) {
      return fail(ErrorCode::kUsage,
                  "--opset {}: must be {}-{} (what the Hailo Dataflow Compiler parses); 13 is "
                  "the default",
                  opset_, kMinOpset, kMaxOpset);
    }
    if (seed_ < 0) {
      return fail(ErrorCode::kUsage, "--seed {}: must be 0 or more", seed_);
    }
    HDEPLOY_ASSIGN_OR_RETURN(json weights, resolve_weights());
    HDEPLOY_ASSIGN_OR_RETURN(fs::path spec_path, resolve_model_spec(spec_name_, ctx_.models_dir()));
    HDEPLOY_ASSIGN_OR_RETURN(ModelSpec spec, load_model_spec(spec_path));
    spec_path = fs::absolute(spec_path).lexically_normal();
    if (spec.torchvision.empty()) {
      return fail(ErrorCode::kUnsupported,
                  "{}: no 'model.torchvision' builder; export builds torchvision classifiers "
                  "(set it, e.g. torchvision = \"resnet18\")",
                  spec_path.string());
    }
    HDEPLOY_ASSIGN_OR_RETURN(std::string labels, resolve_labels(spec, spec_path));

    const fs::path out = output_dir(spec);
    HDEPLOY_TRY(check_output_dir(out, force_));
    const fs::path script = ctx_.python_dir() / kScriptName;
    if (std::error_code ec; !fs::is_regular_file(script, ec)) {
      return fail(ErrorCode::kNotFound,
                  "{}: the exporter script is missing; reinstall hdeploy or set "
                  "HDEPLOY_DATA_DIR to the folder holding models/ and python/",
                  script.string());
    }

    HDEPLOY_ASSIGN_OR_RETURN(PythonInterpreter python,
                             find_python(python_, kExportPythonModules, log_info));
    log_info(fmt::format("python {} (Python {}, torch {}, torchvision {}, onnx {})",
                         python.executable, python.python_version, python.module_version("torch"),
                         python.module_version("torchvision"), python.module_version("onnx")));

    RemoveOnFailure cleanup;
    HDEPLOY_ASSIGN_OR_RETURN(fs::path tmp, make_temporary_sibling(out, cleanup));
    const json config = {
        {"config_version", 1},
        {"hdeploy_version", HDEPLOY_VERSION},
        {"output_dir", tmp.string()},
        {"model",
         {{"name", spec.name},
          {"torchvision", spec.torchvision},
          {"num_classes", spec.num_classes},
          {"spec", spec_path.string()},
          {"labels", labels}}},
        {"input", {{"height", spec.input_height}, {"width", spec.input_width}}},
        {"preprocess",
         {{"resize_mode", to_string(spec.preprocess.resize_mode)},
          {"resize", spec.preprocess.resize},
          {"resize_height", spec.preprocess.resize_height},
          {"resize_width", spec.preprocess.resize_width},
          {"crop_height", spec.preprocess.crop_height},
          {"crop_width", spec.preprocess.crop_width},
          {"mean",
           {as_written(spec.preprocess.mean[0]), as_written(spec.preprocess.mean[1]),
            as_written(spec.preprocess.mean[2])}},
          {"std",
           {as_written(spec.preprocess.std[0]), as_written(spec.preprocess.std[1]),
            as_written(spec.preprocess.std[2])}}}},
        {"weights", weights},
        {"opset", opset_},
        {"seed", seed_},
        {"python", python.executable},
    };
    const fs::path config_path = tmp / kConfigName;
    HDEPLOY_TRY(
        write_text_file_atomic(config_path, json_text(config, 2) + "\n", Overwrite::kRefuse));

    HDEPLOY_TRY(run_exporter(python, script, config_path));
    std::error_code ec;
    fs::remove(config_path, ec);
    HDEPLOY_ASSIGN_OR_RETURN(json record, verify_outputs(tmp));
    HDEPLOY_TRY(move_into_place(tmp, out));
    cleanup.release();

    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    print_summary(out, record, python, seconds);
    return {};
  }

 private:
  Result<json> resolve_weights() const {
    if (weights_ == "none" || weights_ == "pretrained") {
      return json{{"kind", weights_}, {"path", nullptr}};
    }
    if (weights_.empty()) {
      return fail(ErrorCode::kUsage, "--weights: use none, pretrained or a file path");
    }
    const fs::path path = fs::absolute(weights_).lexically_normal();
    if (auto ok = check_readable_file(path); !ok) {
      return fail(ok.error().code,
                  "--weights: {}; give a state_dict file (.pth), none or pretrained",
                  ok.error().message);
    }
    return json{{"kind", "path"}, {"path", path.string()}};
  }

  // "torchvision:imagenet", or the labels file resolved against the spec's folder.
  static Result<std::string> resolve_labels(const ModelSpec& spec, const fs::path& spec_path) {
    if (spec.labels.empty() || spec.labels == kImagenetLabels) {
      if (spec.num_classes != kImagenetClasses) {
        return fail(ErrorCode::kFailed,
                    "{}: model.labels is '{}' ({} ImageNet classes) but model.num_classes = {}; "
                    "set model.labels to a file with {} class names, one per line",
                    spec_path.string(), kImagenetLabels, kImagenetClasses, spec.num_classes,
                    spec.num_classes);
      }
      return std::string(kImagenetLabels);
    }
    if (spec.labels.starts_with("torchvision:")) {
      return fail(ErrorCode::kFailed,
                  "{}: model.labels '{}' is unknown; use \"{}\" or a path to a file",
                  spec_path.string(), spec.labels, kImagenetLabels);
    }
    fs::path path = spec.labels;
    if (path.is_relative()) path = spec_path.parent_path() / path;
    path = path.lexically_normal();
    HDEPLOY_ASSIGN_OR_RETURN(std::size_t count, count_labels(path));
    if (count != static_cast<std::size_t>(spec.num_classes)) {
      return fail(ErrorCode::kFailed,
                  "{}: has {} labels but {} says model.num_classes = {}; give one class name "
                  "per line",
                  path.string(), count, spec_path.string(), spec.num_classes);
    }
    return path.string();
  }

  [[nodiscard]] fs::path output_dir(const ModelSpec& spec) const {
    fs::path out = out_.empty() ? fs::path("exports") / spec.name : fs::path(out_);
    out = fs::absolute(out).lexically_normal();
    if (!out.has_filename()) out = out.parent_path();  // "DIR/" → "DIR"
    return out;
  }

  // Runs the script, relaying "hdeploy_export: ..." progress lines; a failure becomes one line.
  [[nodiscard]] Status run_exporter(const PythonInterpreter& python, const fs::path& script,
                                    const fs::path& config_path) const {
    std::string error_line;
    std::vector<std::string> other_lines;  // warnings, tracebacks: shown only on failure
    InterruptGuard interrupt_guard;
    ProcessOptions options;
    options.env_overrides = {"PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"};
    options.on_stderr_line = [&](const std::string& line) {
      if (line.starts_with(kScriptErrorPrefix)) {
        error_line = line.substr(std::strlen(kScriptErrorPrefix));
      } else if (line.starts_with(kScriptPrefix)) {
        log_info(line.substr(std::strlen(kScriptPrefix)));
      } else if (line.find_first_not_of(" \t") != std::string::npos) {
        other_lines.push_back(line);
      }
    };
    auto outcome = run_process(
        {python.executable, script.string(), "--config", config_path.string()}, options);
    if (!outcome) return unexpected(std::move(outcome).error());
    if (outcome->interrupted) {
      return fail(ErrorCode::kFailed, "interrupted; nothing was written to --out");
    }
    if (outcome->term_signal == 0 && outcome->exit_status == 0) return {};
    if (!error_line.empty()) return fail(ErrorCode::kFailed, "{}", error_line);
    std::string tail;
    for (std::size_t i = other_lines.size() > 3 ? other_lines.size() - 3 : 0;
         i < other_lines.size(); ++i) {
      tail += (tail.empty() ? "" : " | ") + other_lines[i];
    }
    const std::string how = outcome->term_signal != 0
                                ? fmt::format("was killed by signal {}", outcome->term_signal)
                                : fmt::format("exited with status {}", outcome->exit_status);
    return fail(ErrorCode::kFailed, "{} {} {}{}{}", python.executable, script.string(), how,
                tail.empty() ? "" : ": ", tail);
  }

  // export.json must parse and list every required file with its true SHA-256.
  static Result<json> verify_outputs(const fs::path& tmp) {
    const fs::path record_path = tmp / "export.json";
    HDEPLOY_ASSIGN_OR_RETURN(std::string text, read_text_file(record_path));
    json record = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!record.is_object() || !record.contains("files") || !record["files"].is_object()) {
      return fail(ErrorCode::kInvalidFormat,
                  "the exporter wrote an invalid export.json (no 'files' object)");
    }
    const json& files = record["files"];
    for (const auto& name : kRequiredFiles) {
      if (!files.contains(name)) {
        return fail(ErrorCode::kFailed, "the exporter did not record {} in export.json", name);
      }
    }
    for (const auto& [name, hash] : files.items()) {
      const fs::path path = (tmp / name).lexically_normal();
      HDEPLOY_ASSIGN_OR_RETURN(std::string actual, sha256_file_hex(path));
      if (!hash.is_string() || hash.get<std::string>() != actual) {
        return fail(ErrorCode::kFailed,
                    "{}: SHA-256 {} does not match export.json; the export is corrupt", name,
                    actual);
      }
    }
    return record;
  }

  void print_summary(const fs::path& out, const json& record, const PythonInterpreter& python,
                     double seconds) const {
    const json& files = record["files"];
    const double logits_std =
        record.contains("reference") ? record["reference"].value("logits_std", 0.0) : 0.0;
    if (json_) {
      json j = {
          {"out_dir", out.string()},
          {"model", record.value("model", "")},
          {"files", files},
          {"python", {{"executable", python.executable}, {"version", python.python_version}}},
          {"versions", record.value("versions", json::object())},
          {"opset", record.value("opset", 0)},
          {"ir_version", record.value("ir_version", 0)},
          {"input", record.value("input", json::object())},
          {"output", record.value("output", json::object())},
          {"weights", record.value("weights", json::object())},
          {"logits_std", logits_std},
          {"seconds", seconds},
      };
      print_json(j, 2);
      return;
    }
    auto shape = [](const json& io) {
      std::string s;
      for (const auto& d : io.value("shape", json::array())) {
        s += (s.empty() ? "" : "x") + d.dump();
      }
      return s;
    };
    std::cout << fmt::format("exported {} to {} in {:.1f} s\n", record.value("model", ""),
                             out.string(), seconds);
    std::cout << fmt::format("  model.onnx   opset {}, ir_version {}, {} {} -> {} {}\n",
                             record.value("opset", 0), record.value("ir_version", 0),
                             record["input"].value("name", ""), shape(record["input"]),
                             record["output"].value("name", ""), shape(record["output"]));
    std::cout << fmt::format("  weights      {}\n", record["weights"].value("kind", ""));
    std::cout << fmt::format(
        "  reference    reference/input.npy -> reference/output.npy, "
        "logits std {:.3f}\n",
        logits_std);
    std::cout << fmt::format("  labels       labels.txt ({})\n", record.value("labels", ""));
    std::cout << fmt::format("  python       {} (torch {}, torchvision {}, onnx {})\n",
                             python.executable, python.module_version("torch"),
                             python.module_version("torchvision"), python.module_version("onnx"));
    std::cout << fmt::format("  record       export.json (SHA-256 of {} files)\n", files.size());
  }

  const CliContext& ctx_;
  std::string spec_name_;
  std::string weights_ = "none";
  int opset_ = 13;
  std::string out_;
  std::int64_t seed_ = 0;
  std::string python_;
  bool force_ = false;
  bool json_ = false;
};

}  // namespace

std::unique_ptr<Command> make_export_command(CLI::App& root, const CliContext& ctx) {
  return std::make_unique<ExportCommand>(root, ctx);
}

}  // namespace hdeploy::cli

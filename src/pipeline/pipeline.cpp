#include "hdeploy/pipeline/pipeline.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>

#include "hdeploy/core/file.hpp"
#include "hdeploy/core/sha256.hpp"
#include "hdeploy/core/utc_time.hpp"
#include "hdeploy/pipeline/synthetic_images.hpp"
#include "hdeploy/preprocess/image_files.hpp"

namespace hdeploy::pipeline {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

Result<ProcessOutcome> ProcessStageExecutor::run(
    Stage /*stage*/, const std::vector<std::string>& args,
    const std::function<void(const std::string&)>& on_stderr_line) {
  std::vector<std::string> argv{exe_.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions options;
  options.on_stderr_line = on_stderr_line;
  return run_process(argv, options);
}

Result<double> parse_duration_seconds(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[digits])) != 0 || text[digits] == '.')) {
    ++digits;
  }
  const std::string number(text.substr(0, digits));
  const std::string_view unit = text.substr(digits);
  char* end = nullptr;
  const double value = number.empty() ? -1 : std::strtod(number.c_str(), &end);
  double scale = 0;
  if (unit == "s" || unit.empty()) scale = 1;
  if (unit == "ms") scale = 1e-3;
  if (unit == "m") scale = 60;
  if (number.empty() || end != number.c_str() + number.size() || value <= 0 || scale == 0) {
    return fail(ErrorCode::kInvalidArgument,
                "duration '{}': expected a positive number with s, ms or m (e.g. 10s)", text);
  }
  return value * scale;
}

namespace {

constexpr std::string_view kKeyVersion = "hdeploy-pipeline-key-1";

// A path as the manifest names it: relative to the pipeline folder when inside it.
std::string manifest_path(const fs::path& path, const fs::path& dir) {
  const std::string p = path.lexically_normal().string();
  const std::string d = dir.lexically_normal().string() + "/";
  return p.starts_with(d) ? p.substr(d.size()) : p;
}

Result<std::vector<fs::path>> list_images(const fs::path& dir) {
  HDEPLOY_ASSIGN_OR_RETURN(std::vector<fs::path> images, list_image_files(dir, false));
  if (images.empty()) {
    return fail(ErrorCode::kNotFound,
                "{}: no .jpg, .jpeg or .png files; add images, or run without an image folder "
                "for a synthetic set",
                dir.string());
  }
  return images;
}

// Every regular file under `dir/rel`, as manifest path → SHA-256.
Result<std::map<std::string, std::string>> hash_tree(const fs::path& dir, const std::string& rel,
                                                     FileHashes& hashes) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  const fs::path root = dir / rel;
  if (!fs::exists(root, ec)) return out;
  if (fs::is_regular_file(root, ec)) {
    HDEPLOY_ASSIGN_OR_RETURN(out[rel], hashes.sha256(root));
    return out;
  }
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    HDEPLOY_ASSIGN_OR_RETURN(std::string hash, hashes.sha256(it->path()));
    out[manifest_path(it->path(), dir)] = std::move(hash);
  }
  if (ec) return fail(ErrorCode::kIo, "{}: cannot list: {}", root.string(), ec.message());
  return out;
}

// The last line that looks like an error from the child, else the last line.
std::string last_error_line(const std::vector<std::string>& lines) {
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (it->find("error:") != std::string::npos) return *it;
  }
  return lines.empty() ? std::string() : lines.back();
}

const json& at_or_null(const json& j, std::string_view key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  const auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string str_or(const json& j, std::string_view key, const std::string& fallback = "") {
  const json& v = at_or_null(j, key);
  return v.is_string() ? v.get<std::string>() : fallback;
}

// A path from a stage's JSON, relative to the pipeline folder when inside it.
json rel_path(const json& v, const fs::path& dir) {
  return v.is_string() ? json(manifest_path(v.get<std::string>(), dir)) : json(nullptr);
}

// The percentile value from a bench latency SUMMARY, or null.
json percentile(const json& summary, const std::string& p) {
  const json& v = at_or_null(at_or_null(at_or_null(summary, "percentiles"), p), "value");
  return v.is_number() ? v : json(nullptr);
}

}  // namespace

json summarize_stage(Stage stage, const json& j, const fs::path& dir) {
  json s = json::object();
  switch (stage) {
    case Stage::kExport:
      s = {{"opset", at_or_null(j, "opset")},
           {"ir_version", at_or_null(j, "ir_version")},
           {"weights", at_or_null(at_or_null(j, "weights"), "kind")},
           {"logits_std", at_or_null(j, "logits_std")},
           {"onnx", "export/model.onnx"}};
      break;
    case Stage::kCheck: {
      const json& p = at_or_null(j, "parity");
      s = {{"ok", at_or_null(j, "ok")},
           {"structure_ok", at_or_null(at_or_null(j, "structure"), "ok")},
           {"parity_ran", at_or_null(p, "ran")},
           {"parity_pass", at_or_null(p, "pass")},
           {"parity_reason", at_or_null(p, "reason")},
           {"max_abs_diff", at_or_null(p, "max_abs_diff")},
           {"top1_agree", at_or_null(p, "top1_agree")},
           {"topk_identical", at_or_null(p, "topk_identical")}};
      break;
    }
    case Stage::kCalib:
      s = {{"npy", rel_path(at_or_null(j, "npy"), dir)},
           {"shape", at_or_null(j, "shape")},
           {"count_requested", at_or_null(j, "count_requested")},
           {"count_used", at_or_null(j, "count_used")},
           {"skipped", at_or_null(j, "skipped").is_array() ? at_or_null(j, "skipped").size() : 0},
           {"warnings", at_or_null(j, "warnings")}};
      break;
    case Stage::kCompile: {
      const json& check = at_or_null(j, "hef_check");
      s = {{"status", at_or_null(j, "status")},
           {"why", at_or_null(j, "why")},
           {"hef", rel_path(at_or_null(j, "hef"), dir)},
           {"arch", at_or_null(check, "arch")},
           {"hef_ok", at_or_null(check, "ok")},
           {"dfc_version", at_or_null(at_or_null(j, "dfc"), "version")},
           {"optimization_level", at_or_null(j, "optimization_level")},
           {"gpu", at_or_null(j, "gpu")},
           {"pairing", at_or_null(j, "pairing")},
           {"warnings", at_or_null(j, "warnings")}};
      break;
    }
    case Stage::kInspect: {
      const json& compatible = at_or_null(j, "compatible");
      s = {{"arch", at_or_null(j, "arch")},
           {"compiler_version", at_or_null(j, "compiler_version")},
           {"compatible", at_or_null(compatible, "ok")},
           {"device", at_or_null(compatible, "device")},
           {"runtime", at_or_null(compatible, "runtime")},
           {"reasons", at_or_null(compatible, "reasons")}};
      break;
    }
    case Stage::kInfer: {
      json top1 = json::array();
      for (const auto& r : at_or_null(j, "results")) {
        const json& top = at_or_null(r, "top_k");
        json entry = {{"image", fs::path(str_or(r, "image")).filename().string()}};
        if (top.is_array() && !top.empty()) {
          entry["label"] = at_or_null(top[0], "label");
          entry["probability"] = at_or_null(top[0], "probability");
        } else {
          entry["error"] = at_or_null(r, "error");
        }
        top1.push_back(std::move(entry));
      }
      s = {{"backend", at_or_null(j, "backend")},
           {"backend_description", at_or_null(j, "backend_description")},
           {"top1", top1}};
      break;
    }
    case Stage::kBench: {
      const json& context = at_or_null(j, "context");
      const json& results = at_or_null(j, "results");
      const json& throughput = at_or_null(results, "throughput");
      const json& latency = at_or_null(results, "latency");
      const json& process = at_or_null(at_or_null(j, "system"), "process");
      s = {{"backend", at_or_null(context, "backend")},
           {"backend_description", at_or_null(context, "backend_description")},
           {"scenario", at_or_null(at_or_null(j, "config"), "scenario")},
           {"frames", at_or_null(results, "frames")},
           {"fps", at_or_null(throughput, "fps")},
           {"fps_why", at_or_null(throughput, "why")},
           {"p50_ms", percentile(latency, "50")},
           {"p99_ms", percentile(latency, "99")},
           {"latency_why", at_or_null(latency, "why")},
           {"cpu_percent_of_all_cores", at_or_null(process, "cpu_percent_of_all_cores")},
           {"cores", at_or_null(at_or_null(j, "system"), "cores")},
           {"record", "bench/run/run.json"}};
      break;
    }
    case Stage::kReport: {
      json files = json::object();
      for (const auto& [k, v] : at_or_null(j, "files").items()) files[k] = rel_path(v, dir);
      s = {{"files", files}};
      break;
    }
  }
  return s;
}

namespace {

// What one stage will do: its command (absolute paths; the manifest records them relative),
// the files whose content decides whether it must run again, and the folders it writes.
struct StagePlan {
  std::vector<std::string> args;
  std::vector<fs::path> inputs;
  std::vector<std::string> output_dirs;  // relative to the pipeline folder
  std::string not_run_why;               // set: the stage cannot run here; nothing is executed
  std::string key_extra;
  std::string label;  // where it runs, e.g. "sim, not hardware: contract from the spec"
};

class PipelineRun {
 public:
  PipelineRun(const PipelineOptions& o, StageExecutor& executor, const LogLine& log)
      : o_(o), dir_(o.out_dir), executor_(executor), log_(log) {}

  Result<PipelineOutcome> run() {
    HDEPLOY_TRY(check_options());
    HDEPLOY_TRY(open_folder());
    HDEPLOY_TRY(verify_received());
    HDEPLOY_TRY(prepare_images());
    HDEPLOY_TRY(prepare_hef());
    HDEPLOY_TRY(save());

    for (Stage stage : kStages) {
      if (!in_range(stage)) continue;
      if (InterruptGuard::interrupted()) {
        outcome_.interrupted = true;
        outcome_.failed_stage = stage;
        outcome_.failure = fmt::format("interrupted before stage {}", stage_name(stage));
        break;
      }
      HDEPLOY_ASSIGN_OR_RETURN(StageRecord record, run_stage(stage));
      const bool failed = record.status == StageStatus::kFailed;
      log_(fmt::format("[{}/{}] {}: {}", static_cast<int>(stage) + 1, kStages.size(),
                       stage_name(stage), describe(record)));
      if (failed) {
        outcome_.failed_stage = stage;
        outcome_.failure = fmt::format("stage {} failed: {}; its log is {}", stage_name(stage),
                                       record.why, (dir_ / "logs" / log_name(stage)).string());
      }
      manifest_.set(std::move(record));
      HDEPLOY_TRY(save());
      if (failed) break;
    }

    outcome_.table = success_table(manifest_, o_.have_hailort);
    if (synthetic_ && !images_.empty()) {
      outcome_.notes.push_back(fmt::format(
          "images: no --images given; {} synthetic images (seed {}) were generated in images/ "
          "for calibration and inference: pipeline testing only, not an accuracy measure",
          images_.size(), o_.seed));
    }
    const std::string title =
        fmt::format("hdeploy pipeline {}: success table ({})", o_.spec_name, dir_.string());
    HDEPLOY_TRY(write_text_file_atomic(dir_ / "success.md",
                                       render_success_table(outcome_.table, outcome_.notes, title),
                                       Overwrite::kAllow));
    outcome_.manifest = manifest_;
    return std::move(outcome_);
  }

 private:
  static std::string log_name(Stage stage) { return std::string(stage_name(stage)) + ".log"; }

  bool in_range(Stage stage) const {
    return (!o_.from || stage >= *o_.from) && (!o_.until || stage <= *o_.until);
  }

  Status check_options() const {
    if (o_.from && o_.until && *o_.from > *o_.until) {
      return fail(ErrorCode::kInvalidArgument,
                  "the first stage ({}) comes after the last ({}); the stages run in the order {}",
                  stage_name(*o_.from), stage_name(*o_.until),
                  "export check calib compile inspect infer bench report");
    }
    HDEPLOY_TRY(parse_duration_seconds(o_.bench_duration));
    if (o_.calib_count < 1) {
      return fail(ErrorCode::kInvalidArgument, "a calibration count of {}: must be 1 or more",
                  o_.calib_count);
    }
    if (o_.out_dir.is_relative()) {
      return fail(ErrorCode::kInternal, "pipeline folder {} must be absolute", dir_.string());
    }
    return {};
  }

  Status open_folder() {
    std::error_code ec;
    const fs::path manifest_file = dir_ / "manifest.json";
    const bool has_manifest = fs::exists(manifest_file, ec);
    if (fs::exists(dir_, ec) && !fs::is_directory(dir_, ec)) {
      return fail(ErrorCode::kInvalidFormat, "{}: exists and is not a folder; name a folder",
                  dir_.string());
    }
    const bool non_empty =
        fs::is_directory(dir_, ec) && fs::directory_iterator(dir_, ec) != fs::directory_iterator();
    if (!has_manifest && o_.from && *o_.from != Stage::kExport) {
      return fail(ErrorCode::kFailed,
                  "{}: no manifest.json; --from {} needs the folder made by an earlier run "
                  "(copy the whole pipeline folder from the build host)",
                  manifest_file.string(), stage_name(*o_.from));
    }
    if (non_empty && !has_manifest && !o_.force) {
      return fail(ErrorCode::kAlreadyExists,
                  "{}: not empty and holds no pipeline manifest.json; choose another --out or "
                  "pass --force to use it anyway",
                  dir_.string());
    }
    if (has_manifest) {
      auto previous = read_manifest(manifest_file);
      if (previous) {
        if (previous->spec_name != o_.spec_name && !o_.force) {
          return fail(ErrorCode::kAlreadyExists,
                      "{}: holds the pipeline of model '{}', not '{}'; choose another --out or "
                      "pass --force",
                      dir_.string(), previous->spec_name, o_.spec_name);
        }
        manifest_ = std::move(*previous);
      } else if (!o_.force || o_.from) {
        return unexpected(std::move(previous).error());
      }
    }
    fs::create_directories(dir_ / "logs", ec);
    if (ec) {
      return fail(ErrorCode::kIo, "{}: cannot create the pipeline folder: {}", dir_.string(),
                  ec.message());
    }
    HDEPLOY_ASSIGN_OR_RETURN(std::string spec_hash, hashes_.sha256(o_.spec_path));
    manifest_.hdeploy_version = o_.hdeploy_version;
    manifest_.hdeploy_commit = o_.hdeploy_commit;
    manifest_.spec_name = o_.spec_name;
    manifest_.spec_path = o_.spec_path.string();
    manifest_.spec_sha256 = spec_hash;
    manifest_.options = {
        {"spec", o_.spec_arg},
        {"images", o_.images_dir.empty() ? json("synthetic") : json(o_.images_dir.string())},
        {"hef", o_.hef.empty() ? json(nullptr) : json(o_.hef.string())},
        {"from", o_.from ? json(stage_name(*o_.from)) : json(nullptr)},
        {"until", o_.until ? json(stage_name(*o_.until)) : json(nullptr)},
        {"weights", o_.weights},
        {"calib_count", o_.calib_count},
        {"seed", o_.seed},
        {"backend", o_.backend},
        {"bench_duration", o_.bench_duration},
        {"hw_arch", o_.hw_arch},
        {"force", o_.force}};
    return {};
  }

  // --from: every earlier stage must have a record and its outputs must be intact.
  Status verify_received() {
    if (!o_.from) return {};
    for (Stage stage : kStages) {
      if (stage >= *o_.from) break;
      const StageRecord* record = manifest_.find(stage);
      if (record == nullptr || record->status == StageStatus::kFailed) {
        return fail(ErrorCode::kFailed,
                    "{}: stage {} has {} in the manifest; --from {} needs it: run the pipeline "
                    "--until {} first (on the build host) and copy the folder",
                    (dir_ / "manifest.json").string(), stage_name(stage),
                    record == nullptr ? "no record" : "failed", stage_name(*o_.from),
                    stage_name(stage));
      }
      auto checked = verify_outputs(*record, dir_, hashes_);
      if (!checked) {
        return fail(ErrorCode::kFailed,
                    "{}; copy the pipeline folder again from the build host, or rerun that stage "
                    "(--from {})",
                    checked.error().message, stage_name(stage));
      }
      outcome_.verified_files += *checked;
    }
    log_(fmt::format("--from {}: verified {} files received (SHA-256 as in the manifest)",
                     stage_name(*o_.from), outcome_.verified_files));
    return {};
  }

  bool needs_images() const {
    return in_range(Stage::kCalib) || in_range(Stage::kInfer) || in_range(Stage::kBench);
  }

  Status prepare_images() {
    if (!o_.images_dir.empty()) {
      images_dir_ = o_.images_dir;
      HDEPLOY_ASSIGN_OR_RETURN(images_, list_images(images_dir_));
      return {};
    }
    synthetic_ = true;
    images_dir_ = dir_ / "images";
    if (!needs_images()) return {};
    HDEPLOY_ASSIGN_OR_RETURN(images_, write_synthetic_images(images_dir_, o_.synthetic_images,
                                                             static_cast<std::uint32_t>(o_.seed)));
    log_(fmt::format(
        "no --images: using {} synthetic images (gradients, shapes, noise, stripes; JPEG and PNG; "
        "seed {}) in {} for calibration and inference",
        images_.size(), o_.seed, images_dir_.string()));
    return {};
  }

  Status prepare_hef() {
    if (o_.hef.empty()) return {};
    HDEPLOY_TRY(check_readable_file(o_.hef));
    HDEPLOY_ASSIGN_OR_RETURN(auto bytes, read_file(o_.hef));
    const fs::path copy = dir_ / "hef" / o_.hef.filename();
    auto existing = read_file(copy);
    if (!existing || *existing != bytes) {
      HDEPLOY_TRY(write_file_atomic(copy, bytes, Overwrite::kAllow));
    }
    given_hef_ = manifest_path(copy, dir_);
    log_(fmt::format("--hef: using {} (copied to {}); the compile stage does not run",
                     o_.hef.string(), given_hef_));
    return {};
  }

  Status save() { return write_manifest(dir_ / "manifest.json", manifest_); }

  // The HEF later stages use, relative to the folder, and why there is none.
  std::pair<std::string, std::string> hef() const {
    if (!given_hef_.empty()) return {given_hef_, ""};
    const StageRecord* compile = manifest_.find(Stage::kCompile);
    if (compile == nullptr) return {"", "the compile stage has not run"};
    const json& s = compile->summary;
    if (str_or(s, "status") == "compiled" && at_or_null(s, "hef").is_string()) {
      return {s["hef"].get<std::string>(), ""};
    }
    const std::string why = str_or(s, "why", compile->why);
    return {"", fmt::format("no HEF (compile {}{}{})", str_or(s, "status", "not run"),
                            why.empty() ? "" : ": ", why)};
  }

  std::string abs(const std::string& rel) const { return (dir_ / rel).string(); }

  std::string spec_arg() const { return o_.spec_arg; }

  Result<StagePlan> plan(Stage stage) const {
    StagePlan p;
    const auto [hef_rel, hef_why] = hef();
    const std::string onnx = abs("export/model.onnx");
    switch (stage) {
      case Stage::kExport:
        p.args = {"export", spec_arg(), "--out", abs("export"), "--weights", o_.weights};
        if (!o_.python.empty()) p.args.insert(p.args.end(), {"--python", o_.python});
        p.args.insert(p.args.end(), {"--force", "--json"});
        p.inputs = {o_.spec_path};
        if (o_.weights != "none" && o_.weights != "pretrained") p.inputs.emplace_back(o_.weights);
        p.output_dirs = {"export"};
        break;
      case Stage::kCheck:
        p.args = {"check", onnx, "--json"};
        p.inputs = {onnx, abs("export/reference/input.npy"), abs("export/reference/output.npy")};
        break;
      case Stage::kCalib:
        p.args = {"calib",  images_dir_.string(),    "--model", spec_arg(),
                  "-o",     abs("calib/calib.npy"),  "--count", std::to_string(o_.calib_count),
                  "--seed", std::to_string(o_.seed), "--force", "--json"};
        p.inputs = images_;
        p.inputs.push_back(o_.spec_path);
        p.output_dirs = {"calib"};
        break;
      case Stage::kCompile:
        if (!given_hef_.empty()) {
          p.not_run_why = fmt::format("--hef given ({})", given_hef_);
          break;
        }
        p.args = {
            "compile",   onnx,       "--model", spec_arg(),    "--calib", abs("calib/calib.npy"),
            "--hw-arch", o_.hw_arch, "--out",   abs("compile")};
        if (!o_.dfc.empty()) p.args.insert(p.args.end(), {"--dfc", o_.dfc});
        if (!o_.dfc_python.empty()) p.args.insert(p.args.end(), {"--dfc-python", o_.dfc_python});
        if (!o_.hailort.empty()) p.args.insert(p.args.end(), {"--hailort", o_.hailort});
        p.args.insert(p.args.end(), {"--force", "--json"});
        p.inputs = {onnx, abs("calib/calib.npy"), o_.spec_path};
        p.output_dirs = {"compile"};
        // The Dataflow Compiler is looked for on PATH: a newly installed one must be found.
        p.key_extra = "PATH=" + o_.dfc_search_path;
        break;
      case Stage::kInspect:
        if (hef_rel.empty()) {
          p.not_run_why = hef_why;
          break;
        }
        p.args = {"inspect", abs(hef_rel), "--device", o_.hw_arch};
        if (!o_.hailort.empty()) p.args.insert(p.args.end(), {"--runtime", o_.hailort});
        p.args.emplace_back("--json");
        p.inputs = {abs(hef_rel)};
        break;
      case Stage::kInfer: {
        const std::size_t n =
            std::min<std::size_t>(images_.size(), static_cast<std::size_t>(o_.infer_images));
        if (hef_rel.empty()) {
          p.args = {"infer", onnx};
          p.label = "sim, not hardware: contract from the spec and export (no HEF)";
        } else {
          p.args = {"infer", abs(hef_rel)};
          p.label = fmt::format("{}: contract from {}", o_.backend, hef_rel);
        }
        for (std::size_t i = 0; i < n; ++i) p.args.push_back(images_[i].string());
        p.args.insert(p.args.end(), {"--model", spec_arg()});
        if (hef_rel.empty()) {
          p.args.insert(p.args.end(), {"--backend", "sim"});
        } else {
          p.args.insert(p.args.end(),
                        {"--onnx", onnx, "--backend", o_.backend, "--device", o_.hw_arch});
          p.inputs.emplace_back(abs(hef_rel));
        }
        p.args.emplace_back("--json");
        p.inputs.insert(p.inputs.end(), images_.begin(), images_.begin() + static_cast<long>(n));
        p.inputs.insert(p.inputs.end(), {onnx, abs("export/labels.txt"), o_.spec_path});
        break;
      }
      case Stage::kBench: {
        const std::string model = hef_rel.empty() ? onnx : abs(hef_rel);
        p.args = {"bench",      model,
                  "--backend",  hef_rel.empty() ? std::string("sim") : o_.backend,
                  "--images",   images_dir_.string(),
                  "--duration", o_.bench_duration,
                  "--model",    spec_arg()};
        if (!hef_rel.empty()) p.args.insert(p.args.end(), {"--device", o_.hw_arch});
        p.args.insert(p.args.end(), {"--out", abs("bench/run"), "--force", "--json"});
        p.inputs = images_;
        p.inputs.insert(p.inputs.end(), {model, onnx, o_.spec_path});
        p.output_dirs = {"bench"};
        p.label = hef_rel.empty()
                      ? "sim, not hardware: contract from the spec and export, default timing"
                      : fmt::format("{}: contract and timing from {}", o_.backend, hef_rel);
        break;
      }
      case Stage::kReport:
        p.args = {"report", abs("bench/run/run.json"), "--out", abs("report"), "--force", "--json"};
        p.inputs = {abs("bench/run/run.json")};
        p.output_dirs = {"report"};
        break;
    }
    return p;
  }

  std::vector<std::string> recorded_command(const StagePlan& p) const {
    std::vector<std::string> command{"hdeploy"};
    for (const auto& a : p.args) command.push_back(manifest_path(a, dir_));
    return command;
  }

  Result<StageRecord> run_stage(Stage stage) {
    HDEPLOY_ASSIGN_OR_RETURN(StagePlan p, plan(stage));
    StageRecord r;
    r.stage = stage;
    r.started = utc_now_iso8601();
    if (!p.not_run_why.empty()) {
      r.status = StageStatus::kNotRun;
      r.why = p.not_run_why;
      if (stage == Stage::kCompile && !given_hef_.empty()) {
        HDEPLOY_ASSIGN_OR_RETURN(r.outputs, hash_tree(dir_, given_hef_, hashes_));
        r.summary = {{"status", "given"}, {"hef", given_hef_}, {"why", r.why}};
      }
      return r;
    }
    r.command = recorded_command(p);
    // The key: the command, the content of every input, and the hdeploy build.
    std::string key_text =
        fmt::format("{}\n{}\n{}\n", kKeyVersion, o_.hdeploy_version, o_.hdeploy_commit);
    for (const auto& a : r.command) key_text += a + '\0';
    key_text += '\n' + p.key_extra + '\n';
    for (const auto& input : p.inputs) {
      const std::string name = manifest_path(input, dir_);
      auto hash = hashes_.sha256(input);
      if (!hash) {
        r.status = StageStatus::kFailed;
        r.why = fmt::format("input {} is missing or unreadable ({}); rerun the stages before {}",
                            input.string(), hash.error().message, stage_name(stage));
        return r;
      }
      r.inputs[name] = *hash;
      key_text += name + ' ' + *hash + '\n';
    }
    r.cache_key = sha256_hex(
        std::span(reinterpret_cast<const std::uint8_t*>(key_text.data()), key_text.size()));

    if (const StageRecord* previous = manifest_.find(stage);
        previous != nullptr && !o_.force && !o_.rerun.contains(stage) &&
        previous->status != StageStatus::kFailed && previous->cache_key == r.cache_key &&
        verify_outputs(*previous, dir_, hashes_)) {
      StageRecord skipped = *previous;
      skipped.status = StageStatus::kSkipped;
      skipped.why = fmt::format("inputs unchanged (key {})", r.cache_key.substr(0, 12));
      return skipped;
    }

    std::error_code ec;
    for (const auto& out : p.output_dirs) {
      hashes_.forget_under(dir_ / out);
      fs::remove_all(dir_ / out, ec);
    }
    std::vector<std::string> lines;
    const std::string prefix = fmt::format("{}: ", stage_name(stage));
    const auto t0 = Clock::now();
    log_(fmt::format("[{}/{}] {}: running {}", static_cast<int>(stage) + 1, kStages.size(),
                     stage_name(stage), fmt::join(r.command, " ")));
    auto outcome = executor_.run(stage, p.args, [&](const std::string& line) {
      lines.push_back(line);
      // The child's own "hdeploy: " prefix would repeat the parent's.
      constexpr std::string_view kChildPrefix = "hdeploy: ";
      std::string_view text = line;
      if (text.starts_with(kChildPrefix)) text.remove_prefix(kChildPrefix.size());
      // ... and so would its own "<stage>: " (bench prints "bench: ...").
      if (text.starts_with(prefix)) text.remove_prefix(prefix.size());
      log_(prefix + std::string(text));
    });
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    std::string log_text;
    for (const auto& l : lines) log_text += l + '\n';
    (void)write_text_file_atomic(dir_ / "logs" / log_name(stage), log_text, Overwrite::kAllow);
    if (!outcome) {
      r.status = StageStatus::kFailed;
      r.why = outcome.error().message;
      return r;
    }
    (void)write_text_file_atomic(dir_ / "logs" / (std::string(stage_name(stage)) + ".json"),
                                 outcome->stdout_text, Overwrite::kAllow);
    const json j = json::parse(outcome->stdout_text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded()) r.summary = summarize_stage(stage, j, dir_);
    if (!p.label.empty()) r.summary["label"] = p.label;
    collect_versions(stage, j, r);
    for (const auto& out : p.output_dirs) {
      HDEPLOY_ASSIGN_OR_RETURN(auto hashes, hash_tree(dir_, out, hashes_));
      r.outputs.insert(hashes.begin(), hashes.end());
    }

    if (outcome->interrupted) {
      r.status = StageStatus::kFailed;
      r.why = "interrupted (Ctrl-C); the child was stopped";
      outcome_.interrupted = true;
      return r;
    }
    const std::string status = str_or(j, "status");
    if (stage == Stage::kCompile && status == "not_run") {
      r.status = StageStatus::kNotRun;
      r.why = str_or(j, "why", "no Dataflow Compiler found");
      return r;
    }
    if (outcome->succeeded() && (stage != Stage::kCompile || status == "compiled")) {
      r.status = StageStatus::kRan;
      return r;
    }
    r.status = StageStatus::kFailed;
    if (stage == Stage::kCompile && !str_or(j, "why").empty()) {
      r.why = fmt::format("compile {}: {}", status, str_or(j, "why"));
    } else {
      const std::string how = outcome->term_signal != 0
                                  ? fmt::format("killed by signal {}", outcome->term_signal)
                                  : fmt::format("exit status {}", outcome->exit_status);
      const std::string line = last_error_line(lines);
      r.why = line.empty() ? how : fmt::format("{} ({})", line, how);
    }
    return r;
  }

  static void collect_versions(Stage stage, const json& j, StageRecord& r) {
    if (j.is_discarded()) return;
    if (stage == Stage::kExport) {
      r.versions = at_or_null(j, "versions").is_object() ? j["versions"] : json::object();
      r.versions["python"] = at_or_null(at_or_null(j, "python"), "version");
    } else if (stage == Stage::kCompile) {
      r.versions = {{"dfc", at_or_null(at_or_null(j, "dfc"), "version")},
                    {"dfc_frontend", at_or_null(at_or_null(j, "dfc"), "frontend")}};
    } else if (stage == Stage::kBench) {
      const json& libs = at_or_null(at_or_null(j, "context"), "libraries");
      if (libs.is_object()) r.versions = libs;
    }
  }

  static std::string describe(const StageRecord& r) {
    switch (r.status) {
      case StageStatus::kRan:
        return fmt::format("ran in {:.1f} s", r.seconds);
      case StageStatus::kSkipped:
        return "skipped: " + r.why;
      case StageStatus::kNotRun:
        return "not run: " + r.why;
      case StageStatus::kFailed:
        return "FAILED: " + r.why;
    }
    return "";
  }

  const PipelineOptions& o_;
  fs::path dir_;
  StageExecutor& executor_;
  const LogLine& log_;
  Manifest manifest_;
  FileHashes hashes_;  // every file read or written in this run, hashed once
  PipelineOutcome outcome_;
  fs::path images_dir_;
  std::vector<fs::path> images_;
  bool synthetic_ = false;
  std::string given_hef_;
};

}  // namespace

Result<PipelineOutcome> run_pipeline(const PipelineOptions& options, StageExecutor& executor,
                                     const LogLine& log) {
  PipelineRun run(options, executor, log);
  return run.run();
}

}  // namespace hdeploy::pipeline

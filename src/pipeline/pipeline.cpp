// Running the pipeline: options, the folder and its manifest, each stage's run, caching.

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
#include "pipeline_internal.hpp"
#include "stage_plan.hpp"

namespace hdeploy::pipeline {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using detail::at_or_null;
using detail::manifest_path;
using detail::plan_stage;
using detail::recorded_command;
using detail::StagePlan;
using detail::str_or;

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

Result<std::vector<fs::path>> list_images(const fs::path& dir) {
  HDEPLOY_ASSIGN_OR_RETURN(std::vector<fs::path> images, preprocess::list_image_files(dir, false));
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

}  // namespace

namespace {

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

  Result<StageRecord> run_stage(Stage stage) {
    const auto [hef_rel, hef_why] = hef();
    const StagePlan p =
        plan_stage(stage, {o_, dir_, images_dir_, images_, given_hef_, hef_rel, hef_why});
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
    r.command = recorded_command(p, dir_);
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

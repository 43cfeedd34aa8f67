#include "hdeploy/pipeline/manifest.hpp"

#include <algorithm>

#include "hdeploy/core/file.hpp"
#include "hdeploy/core/json_text.hpp"
#include "hdeploy/core/sha256.hpp"

namespace hdeploy::pipeline {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {
constexpr std::array<std::string_view, 8> kStageNames{"export",  "check", "calib", "compile",
                                                      "inspect", "infer", "bench", "report"};
constexpr std::array<std::string_view, 4> kStatusNames{"ran", "skipped", "not_run", "failed"};

std::string all_stage_names() {
  std::string names;
  for (auto n : kStageNames) names += (names.empty() ? "" : ", ") + std::string(n);
  return names;
}
}  // namespace

std::string_view stage_name(Stage stage) { return kStageNames[static_cast<std::size_t>(stage)]; }

Result<Stage> parse_stage(std::string_view name) {
  for (std::size_t i = 0; i < kStageNames.size(); ++i) {
    if (kStageNames[i] == name) return kStages[i];
  }
  return fail(ErrorCode::kInvalidArgument, "unknown stage '{}': use one of {}", name,
              all_stage_names());
}

Result<std::vector<Stage>> parse_stage_list(std::string_view comma_separated) {
  std::vector<Stage> stages;
  std::size_t start = 0;
  while (start <= comma_separated.size()) {
    const std::size_t end = std::min(comma_separated.find(',', start), comma_separated.size());
    HDEPLOY_ASSIGN_OR_RETURN(Stage stage, parse_stage(comma_separated.substr(start, end - start)));
    stages.push_back(stage);
    start = end + 1;
  }
  return stages;
}

std::string_view to_string(StageStatus status) {
  return kStatusNames[static_cast<std::size_t>(status)];
}

const StageRecord* Manifest::find(Stage stage) const {
  for (const auto& r : stages) {
    if (r.stage == stage) return &r;
  }
  return nullptr;
}

void Manifest::set(StageRecord record) {
  for (auto& r : stages) {
    if (r.stage == record.stage) {
      r = std::move(record);
      return;
    }
  }
  const auto at = std::find_if(stages.begin(), stages.end(),
                               [&](const StageRecord& r) { return r.stage > record.stage; });
  stages.insert(at, std::move(record));
}

json to_json(const Manifest& m) {
  json stages = json::array();
  for (const auto& r : m.stages) {
    stages.push_back({{"stage", stage_name(r.stage)},
                      {"status", to_string(r.status)},
                      {"why", r.why.empty() ? json(nullptr) : json(r.why)},
                      {"command", r.command},
                      {"started", r.started},
                      {"seconds", r.seconds},
                      {"cache_key", r.cache_key},
                      {"inputs", r.inputs},
                      {"outputs", r.outputs},
                      {"summary", r.summary},
                      {"versions", r.versions}});
  }
  return {{"format", Manifest::kFormat},
          {"version", Manifest::kVersion},
          {"hdeploy", {{"version", m.hdeploy_version}, {"commit", m.hdeploy_commit}}},
          {"spec", {{"name", m.spec_name}, {"path", m.spec_path}, {"sha256", m.spec_sha256}}},
          {"options", m.options},
          {"stages", stages}};
}

Result<Manifest> manifest_from_json(const json& j, const fs::path& source) {
  auto bad = [&](std::string_view what) {
    return fail(ErrorCode::kInvalidFormat,
                "{}: not a valid pipeline manifest ({}); rerun the pipeline with --force to start "
                "over",
                source.string(), what);
  };
  if (!j.is_object() || j.value("format", "") != Manifest::kFormat) return bad("format");
  if (j.value("version", 0) != Manifest::kVersion) return bad("version");
  Manifest m;
  try {
    m.hdeploy_version = j.at("hdeploy").value("version", "");
    m.hdeploy_commit = j.at("hdeploy").value("commit", "");
    m.spec_name = j.at("spec").value("name", "");
    m.spec_path = j.at("spec").value("path", "");
    m.spec_sha256 = j.at("spec").value("sha256", "");
    m.options = j.value("options", json::object());
    for (const auto& s : j.at("stages")) {
      StageRecord r;
      auto stage = parse_stage(s.at("stage").get<std::string>());
      if (!stage) return bad("stage name");
      r.stage = *stage;
      const std::string status = s.at("status").get<std::string>();
      const auto it = std::find(kStatusNames.begin(), kStatusNames.end(), status);
      if (it == kStatusNames.end()) return bad("stage status");
      r.status = static_cast<StageStatus>(it - kStatusNames.begin());
      r.why = s.at("why").is_string() ? s.at("why").get<std::string>() : "";
      r.command = s.at("command").get<std::vector<std::string>>();
      r.started = s.value("started", "");
      r.seconds = s.value("seconds", 0.0);
      r.cache_key = s.value("cache_key", "");
      r.inputs = s.at("inputs").get<std::map<std::string, std::string>>();
      r.outputs = s.at("outputs").get<std::map<std::string, std::string>>();
      r.summary = s.value("summary", json::object());
      r.versions = s.value("versions", json::object());
      m.set(std::move(r));
    }
  } catch (const json::exception& e) {
    return bad(e.what());
  }
  return m;
}

Result<Manifest> read_manifest(const fs::path& path) {
  HDEPLOY_ASSIGN_OR_RETURN(std::string text, read_text_file(path));
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return fail(ErrorCode::kInvalidFormat,
                "{}: not valid JSON; rerun the pipeline with --force to start over", path.string());
  }
  return manifest_from_json(j, path);
}

Status write_manifest(const fs::path& path, const Manifest& manifest) {
  return write_text_file_atomic(path, json_text(to_json(manifest), 2) + "\n", Overwrite::kAllow);
}

Result<std::string> FileHashes::sha256(const fs::path& path) {
  std::error_code ec;
  const fs::path key = fs::absolute(path, ec).lexically_normal();
  const std::uintmax_t size = fs::file_size(path, ec);
  const fs::file_time_type modified = ec ? fs::file_time_type{} : fs::last_write_time(path, ec);
  if (!ec) {
    if (const auto it = known_.find(key);
        it != known_.end() && it->second.size == size && it->second.modified == modified) {
      return it->second.sha256;
    }
  }
  HDEPLOY_ASSIGN_OR_RETURN(std::string hash, sha256_file_hex(path));
  ++files_hashed_;
  if (!ec) known_[key] = Known{size, modified, hash};
  return hash;
}

void FileHashes::forget_under(const fs::path& dir) {
  std::error_code ec;
  const fs::path root = fs::absolute(dir, ec).lexically_normal();
  std::erase_if(known_, [&](const auto& entry) {
    const auto [end, _] =
        std::mismatch(root.begin(), root.end(), entry.first.begin(), entry.first.end());
    return end == root.end();
  });
}

Result<int> verify_outputs(const StageRecord& record, const fs::path& dir, FileHashes& hashes) {
  int checked = 0;
  for (const auto& [rel, expected] : record.outputs) {
    const fs::path path = dir / rel;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      return fail(ErrorCode::kFailed, "{}: missing (stage {} recorded it in the manifest)",
                  path.string(), stage_name(record.stage));
    }
    HDEPLOY_ASSIGN_OR_RETURN(std::string actual, hashes.sha256(path));
    if (actual != expected) {
      return fail(ErrorCode::kFailed,
                  "{}: changed since stage {} wrote it (SHA-256 {}…, the manifest records {}…)",
                  path.string(), stage_name(record.stage), actual.substr(0, 12),
                  expected.substr(0, 12));
    }
    ++checked;
  }
  return checked;
}

}  // namespace hdeploy::pipeline

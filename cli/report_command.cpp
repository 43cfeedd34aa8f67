// hdeploy report RUN.json...: turns bench run records into report.md, report.html (charts,
// one self-contained file) and trace.csv, and compares every run with the first (the
// baseline). With --fail-on-regression it exits 1 when a run is significantly worse than the
// baseline by more than the threshold, after writing the reports.

#include <iostream>
#include <nlohmann/json.hpp>

#include "command.hpp"
#include "hdeploy/core/json_text.hpp"
#include "hdeploy/report/report.hpp"

namespace hdeploy::cli {
namespace {
namespace fs = std::filesystem;

class ReportCommand : public Command {
 public:
  explicit ReportCommand(CLI::App& root) {
    app_ = root.add_subcommand(
        "report",
        "Turn run records of `hdeploy bench` into report.md, report.html (charts, one "
        "self-contained file) and trace.csv (every frame); with several runs, compare each "
        "with the first (the baseline) and flag regressions");
    app_->add_option("RUNS", runs_,
                     "run records (DIR/run.json written by hdeploy bench); the first is the "
                     "baseline")
        ->required();
    app_->add_option("--out", out_,
                     "folder for report.md, report.html and trace.csv, created if missing "
                     "[default: the first record's folder]");
    app_->add_option("--fail-on-regression", threshold_text_,
                     "exit 1 (after writing the reports) when a run is significantly worse "
                     "than the baseline (end-to-end median or p99 latency higher, throughput "
                     "lower) by more than this share of the baseline value: 5% or 5 [default: "
                     "regressions beyond 5% are reported, exit 0]");
    app_->add_flag("--force", force_, "overwrite existing report files");
    app_->add_flag("--json", json_,
                   "print one JSON object (files, per-run key numbers, comparisons) instead of "
                   "text");
    app_->add_option("--chartjs", chartjs_,
                     "Chart.js to inline into report.html (chart.min.js, the UMD build) "
                     "[default: " +
                         report::default_chartjs_path().string() + " from libjs-chart.js]");
  }

  Status run() override {
    report::CompareOptions options;
    const bool fail_on_regression = !threshold_text_.empty();
    if (fail_on_regression) {
      auto threshold = report::parse_threshold_percent(threshold_text_);
      if (!threshold) return unexpected(as_usage(threshold.error()));
      options.regression_threshold_percent = *threshold;
    }
    // Everything that can fail is checked before any file is written.
    HDEPLOY_ASSIGN_OR_RETURN(
        const std::string chartjs,
        report::load_chartjs(chartjs_.empty() ? report::default_chartjs_path() : chartjs_));
    std::vector<report::RunRecord> runs;
    for (const fs::path& path : runs_) {
      HDEPLOY_ASSIGN_OR_RETURN(report::RunRecord run, report::load_run(path));
      runs.push_back(std::move(run));
    }
    std::vector<report::RunComparison> comparisons;
    for (std::size_t i = 1; i < runs.size(); ++i) {
      comparisons.push_back(report::compare_runs(runs.front(), runs[i], options));
    }
    fs::path dir = out_;
    if (dir.empty()) dir = runs_.front().has_parent_path() ? runs_.front().parent_path() : ".";
    const report::ReportFiles files = report::report_files(dir);
    HDEPLOY_TRY(report::write_report_files(files, report::render_markdown(runs, comparisons),
                                           report::render_html(runs, comparisons, chartjs),
                                           report::render_trace_csv(runs),
                                           force_ ? Overwrite::kAllow : Overwrite::kRefuse));

    const std::vector<std::string> regressions = report::regression_lines(comparisons);
    if (json_) {
      nlohmann::json out = report::summary_json(runs, comparisons);
      out["files"] = {{"markdown", files.markdown.string()},
                      {"html", files.html.string()},
                      {"trace_csv", files.trace_csv.string()}};
      out["threshold_percent"] = options.regression_threshold_percent;
      out["fail_on_regression"] = fail_on_regression;
      print_json(out, 1);
    } else {
      std::cout << "Wrote " << files.markdown.string() << ", " << files.html.string() << ", "
                << files.trace_csv.string() << '\n'
                << report::summary_text(runs, comparisons);
    }
    if (fail_on_regression && !regressions.empty()) {
      for (const auto& line : regressions) std::cerr << "hdeploy: regression: " << line << '\n';
      return fail(ErrorCode::kFailed, "{} regression{} beyond {}% against the baseline {}",
                  regressions.size(), regressions.size() == 1 ? "" : "s",
                  options.regression_threshold_percent, runs.front().name);
    }
    return {};
  }

 private:
  std::vector<fs::path> runs_;
  fs::path out_;
  std::string threshold_text_;
  bool force_ = false;
  bool json_ = false;
  fs::path chartjs_;
};

}  // namespace

std::unique_ptr<Command> make_report_command(CLI::App& root, const CliContext& /*ctx*/) {
  return std::make_unique<ReportCommand>(root);
}

}  // namespace hdeploy::cli

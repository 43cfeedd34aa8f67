#pragma once
// The report as a list of blocks, built once from the runs and printed as Markdown or HTML
// (one record set, many printers). Text in blocks is plain (unescaped); each printer escapes.

#include <span>
#include <string>
#include <vector>

#include "hdeploy/report/report.hpp"

namespace hdeploy::report::detail {

struct Block {
  enum class Kind {
    kHeading,    // text at `level` (1-3), `id` as its anchor
    kParagraph,  // text
    kAlert,      // text, shown prominently; css "partial", "regression" or "warning"
    kSummary,    // rows of {group, label, value}: the hailortcli-style summary
    kTable,      // header + rows
    kList,       // rows[i][0]
    kChart,      // a canvas `id` with title `text` (HTML only)
  };
  Kind kind = Kind::kParagraph;
  int level = 2;
  std::string text;
  std::string id;
  std::string css;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  bool html_only = false;
};

std::vector<Block> build_document(std::span<const RunRecord> runs,
                                  std::span<const RunComparison> comparisons);

// "#2 name": how runs are labelled everywhere.
std::string run_label(std::span<const RunRecord> runs, std::size_t index);

}  // namespace hdeploy::report::detail

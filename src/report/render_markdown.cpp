// report.md: the document printed as Markdown, the summary in hailortcli benchmark's style.

#include <fmt/format.h>

#include "document.hpp"
#include "hdeploy/report/report.hpp"

namespace hdeploy::report {
namespace {

// Text from a record inside a table cell or paragraph: no raw HTML (no '<' opens a tag), no
// cell or line breaks, no code spans.
std::string md_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '|':
        out += "\\|";
        break;
      case '<':
        out += "&lt;";
        break;
      case '`':
        out += "\\`";
        break;
      case '\n':
      case '\r':
        out += ' ';
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Text inside the summary's code fence: it must not close the fence or add lines.
std::string fence_safe(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == '`') c = '\'';
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

void print_table(std::string& out, const detail::Block& b) {
  auto row = [&out](const std::vector<std::string>& cells, std::size_t width) {
    out += '|';
    for (std::size_t i = 0; i < width; ++i) {
      out += ' ';
      out += i < cells.size() && !cells[i].empty() ? md_escape(cells[i]) : std::string(" ");
      out += " |";
    }
    out += '\n';
  };
  std::size_t width = b.header.size();
  for (const auto& r : b.rows) width = std::max(width, r.size());
  row(b.header, width);
  out += '|';
  for (std::size_t i = 0; i < width; ++i) out += "---|";
  out += '\n';
  for (const auto& r : b.rows) row(r, width);
  out += '\n';
}

void print_summary(std::string& out, const detail::Block& b) {
  out += "```text\n=======\nSummary\n=======\n";
  for (const auto& r : b.rows) {
    if (r.size() < 3) continue;
    const std::string left = fmt::format("{:<8}{}", fence_safe(r[0]), fence_safe(r[1]));
    out += fmt::format("{:<34}= {}\n", left, fence_safe(r[2]));
  }
  out += "```\n\n";
}

}  // namespace

std::string render_markdown(std::span<const RunRecord> runs,
                            std::span<const RunComparison> comparisons) {
  using Kind = detail::Block::Kind;
  std::string out;
  for (const detail::Block& b : detail::build_document(runs, comparisons)) {
    if (b.html_only) continue;
    switch (b.kind) {
      case Kind::kHeading:
        out += std::string(static_cast<std::size_t>(std::clamp(b.level, 1, 6)), '#');
        out += ' ';
        out += md_escape(b.text);
        out += "\n\n";
        break;
      case Kind::kParagraph:
        out += md_escape(b.text);
        out += "\n\n";
        break;
      case Kind::kAlert:
        out += "> **";
        out += md_escape(b.text);
        out += "**\n\n";
        break;
      case Kind::kSummary:
        print_summary(out, b);
        break;
      case Kind::kTable:
        print_table(out, b);
        break;
      case Kind::kList:
        for (const auto& r : b.rows) {
          out += "- ";
          out += r.empty() ? std::string() : md_escape(r[0]);
          out += '\n';
        }
        out += '\n';
        break;
      case Kind::kChart:
        break;
    }
  }
  while (out.size() > 1 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n') {
    out.pop_back();
  }
  return out;
}

}  // namespace hdeploy::report

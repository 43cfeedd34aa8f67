// report.html: the document as one self-contained page. Chart.js and the chart data are
// inlined; nothing is fetched (no CDN, no web fonts). Every string from a record is escaped for
// where it lands: HTML text, attribute, or JSON inside a <script> element.

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "chart_data.hpp"
#include "document.hpp"
#include "hdeploy/report/report.hpp"
#include "html_script.hpp"
#include "json_access.hpp"

namespace hdeploy::report {
namespace {

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// JSON for a <script type="application/json"> element: '<', '>' and '&' (which can only occur
// inside JSON strings) become \u escapes so no "</script>" or "<!--" can end the element, and
// U+2028/U+2029 are escaped for older JavaScript parsers.
std::string json_for_script(const nlohmann::json& j) {
  const std::string dumped = detail::dump_safe(j);
  std::string out;
  out.reserve(dumped.size() + 64);
  for (std::size_t i = 0; i < dumped.size(); ++i) {
    const char c = dumped[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xE2' && i + 2 < dumped.size() && dumped[i + 1] == '\x80' &&
               (dumped[i + 2] == '\xA8' || dumped[i + 2] == '\xA9')) {
      out += dumped[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

bool starts_with_nocase(std::string_view text, std::size_t at, std::string_view prefix) {
  if (text.size() - at < prefix.size()) return false;
  for (std::size_t k = 0; k < prefix.size(); ++k) {
    if (std::tolower(static_cast<unsigned char>(text[at + k])) != prefix[k]) return false;
  }
  return true;
}

// A script's text made safe to inline: "</script" and "<!--" cannot end or confuse the
// element, and the URLs in license banners (/*! ... */) lose their scheme so that the page
// holds no link at all ("www.chartjs.org" still credits the project).
std::string inline_script(std::string_view js) {
  std::string out;
  out.reserve(js.size() + 64);
  bool in_banner = false;
  for (std::size_t i = 0; i < js.size(); ++i) {
    if (!in_banner && js.compare(i, 3, "/*!") == 0) in_banner = true;
    if (in_banner && js.compare(i, 2, "*/") == 0) in_banner = false;
    if (js[i] == '<' && starts_with_nocase(js, i, "</script")) {
      out += "<\\/";
      ++i;  // skip '/'
      continue;
    }
    if (js.compare(i, 4, "<!--") == 0) {
      out += "<\\!--";
      i += 3;
      continue;
    }
    if (in_banner) {
      if (starts_with_nocase(js, i, "https://")) {
        i += 7;
        continue;
      }
      if (starts_with_nocase(js, i, "http://")) {
        i += 6;
        continue;
      }
    }
    out += js[i];
  }
  return out;
}

constexpr const char* kStyle = R"CSS(
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1180px; padding: 0 1em;
       color: #1b1b1b; background: #ffffff; }
h1 { margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.8em; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.9em; }
th, td { border: 1px solid #d0d0d0; padding: 0.25em 0.55em; text-align: left; vertical-align: top; }
th { background: #f0f3f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.summary td:first-child { font-weight: 600; white-space: nowrap; }
.alert { padding: 0.7em 1em; margin: 0.8em 0; border-radius: 4px; font-weight: 600; }
.alert.partial { background: #fff3cd; border: 2px solid #e0a800; font-size: 1.15em; }
.alert.regression { background: #f8d7da; border: 2px solid #c82333; font-size: 1.1em; }
.alert.warning { background: #fff8e1; border: 1px solid #e0a800; }
#errors { color: #b00020; background: #fde7ea; padding: 0.5em; white-space: pre-wrap; }
#errors:empty { display: none; }
figure { margin: 1em 0 1.6em; }
figcaption { font-weight: 600; margin-bottom: 0.3em; }
.chart { position: relative; height: 340px; }
nav a { margin-right: 1em; }
)CSS";

bool looks_numeric(const std::string& cell) {
  if (cell.empty()) return false;
  const char c = cell.front();
  return std::isdigit(static_cast<unsigned char>(c)) || ((c == '+' || c == '-') && cell.size() > 1);
}

void print_table(std::string& out, const detail::Block& b, const char* css) {
  // Numbers line up on the right in tables of numbers, not in lists of items and values.
  const bool align_numbers =
      !(b.header.size() == 2 && b.header[1] == "value") && std::string_view(css) != "summary";
  out += fmt::format("<table class=\"{}\">\n", css);
  if (!b.header.empty()) {
    out += "<tr>";
    for (const auto& h : b.header) out += "<th>" + html_escape(h) + "</th>";
    out += "</tr>\n";
  }
  for (const auto& row : b.rows) {
    out += "<tr>";
    for (std::size_t i = 0; i < row.size(); ++i) {
      const bool num = align_numbers && i > 0 && looks_numeric(row[i]);
      out += num ? "<td class=\"num\">" : "<td>";
      out += html_escape(row[i]);
      out += "</td>";
    }
    out += "</tr>\n";
  }
  out += "</table>\n";
}

}  // namespace

std::string render_html(std::span<const RunRecord> runs, std::span<const RunComparison> comparisons,
                        std::string_view chartjs) {
  using Kind = detail::Block::Kind;
  const std::vector<detail::Block> doc = detail::build_document(runs, comparisons);
  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>hdeploy report";
  if (!runs.empty()) out += " — " + html_escape(detail::run_label(runs, 0));
  out += "</title>\n<style>";
  out += kStyle;
  out += "</style>\n</head>\n<body>\n<pre id=\"errors\"></pre>\n<script>";
  out += detail::kErrorHookScript;
  out += "</script>\n<nav>";
  for (const auto& b : doc) {
    if (b.kind == Kind::kHeading && b.level == 2 && !b.id.empty()) {
      out += fmt::format("<a href=\"#{}\">{}</a>", html_escape(b.id), html_escape(b.text));
    }
  }
  out += "</nav>\n";
  for (const auto& b : doc) {
    switch (b.kind) {
      case Kind::kHeading: {
        const int level = std::clamp(b.level, 1, 6);
        out += b.id.empty() ? fmt::format("<h{}>", level)
                            : fmt::format("<h{} id=\"{}\">", level, html_escape(b.id));
        out += html_escape(b.text) + fmt::format("</h{}>\n", level);
        break;
      }
      case Kind::kParagraph:
        out += "<p>" + html_escape(b.text) + "</p>\n";
        break;
      case Kind::kAlert:
        out += fmt::format("<div class=\"alert {}\">{}</div>\n", html_escape(b.css),
                           html_escape(b.text));
        break;
      case Kind::kSummary: {
        detail::Block table = b;
        std::string group;
        for (auto& row : table.rows) {
          if (row.size() < 3) continue;
          if (!row[0].empty()) group = row[0];
          std::string label = group;
          if (!row[1].empty()) label += " " + row[1];
          row = {label, row[2]};
        }
        print_table(out, table, "summary");
        break;
      }
      case Kind::kTable:
        print_table(out, b, "data");
        break;
      case Kind::kList:
        out += "<ul>\n";
        for (const auto& r : b.rows)
          out += "<li>" + (r.empty() ? "" : html_escape(r[0])) + "</li>\n";
        out += "</ul>\n";
        break;
      case Kind::kChart:
        out += fmt::format(
            "<figure><figcaption>{}</figcaption><div class=\"chart\"><canvas id=\"{}\" "
            "role=\"img\" aria-label=\"{}\"></canvas></div></figure>\n",
            html_escape(b.text), html_escape(b.id), html_escape(b.text));
        break;
    }
  }
  out += R"(<script type="application/json" id="report-data">)";
  out += json_for_script(detail::chart_data(runs));
  out += "</script>\n<script>\n";
  out += inline_script(chartjs);
  out += "\n</script>\n<script>";
  out += detail::kChartScript;
  out += "</script>\n</body>\n</html>\n";
  return out;
}

}  // namespace hdeploy::report

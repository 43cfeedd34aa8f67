// trace.csv: every frame of every run, timestamps and derived stage times in milliseconds.

#include <fmt/format.h>

#include <array>
#include <cstdlib>
#include <iterator>

#include "hdeploy/report/report.hpp"

namespace hdeploy::report {
namespace {

// RFC 4180 quoting, plus a leading apostrophe for text a spreadsheet would run as a formula.
std::string csv_field(std::string_view text) {
  std::string value(text);
  if (!value.empty() && (value[0] == '=' || value[0] == '+' || value[0] == '-' || value[0] == '@' ||
                         value[0] == '\t' || value[0] == '\r')) {
    value.insert(value.begin(), '\'');
  }
  if (value.find_first_of(",\"\n\r") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

// Exact decimal milliseconds of integer nanoseconds: 1234567 -> "1.234567".
void append_ms(fmt::memory_buffer& out, std::int64_t ns) {
  const bool negative = ns < 0;
  const auto magnitude =
      negative ? -static_cast<std::uint64_t>(ns) : static_cast<std::uint64_t>(ns);
  fmt::format_to(std::back_inserter(out), "{}{}.{:06}", negative ? "-" : "", magnitude / 1'000'000,
                 magnitude % 1'000'000);
}

void append_timestamp(fmt::memory_buffer& out, std::int64_t ns) {
  out.push_back(',');
  if (ns >= 0) append_ms(out, ns);
}

}  // namespace

std::string render_trace_csv(std::span<const RunRecord> runs) {
  fmt::memory_buffer out;
  fmt::format_to(std::back_inserter(out),
                 "run,run_name,sequence,flags,source_index,queue_depth,scheduled_ms,"
                 "preprocess_start_ms,preprocess_end_ms,submit_ms,complete_ms,"
                 "postprocess_start_ms,postprocess_end_ms,preprocess_ms,queue_wait_ms,device_ms,"
                 "postprocess_ms,end_to_end_ms\n");
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const FrameColumns& f = runs[r].frames;
    const std::string name = csv_field(runs[r].name);
    for (std::size_t i = 0; i < f.size(); ++i) {
      fmt::format_to(std::back_inserter(out), "{},{},{},{},", r + 1, name, f.sequence[i],
                     f.flags[i]);
      if (f.source_index[i] >= 0) fmt::format_to(std::back_inserter(out), "{}", f.source_index[i]);
      out.push_back(',');
      if (f.queue_depth[i] >= 0) fmt::format_to(std::back_inserter(out), "{}", f.queue_depth[i]);
      for (const auto* column :
           {&f.scheduled_ns, &f.preprocess_start_ns, &f.preprocess_end_ns, &f.submit_ns,
            &f.complete_ns, &f.postprocess_start_ns, &f.postprocess_end_ns}) {
        append_timestamp(out, (*column)[i]);
      }
      for (Stage stage : {Stage::kPreprocess, Stage::kQueueWait, Stage::kDevice,
                          Stage::kPostprocess, Stage::kEndToEnd}) {
        out.push_back(',');
        if (auto ns = bench::stage_time_ns(f, i, stage)) append_ms(out, *ns);
      }
      out.push_back('\n');
    }
  }
  return fmt::to_string(out);
}

}  // namespace hdeploy::report

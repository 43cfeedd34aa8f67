// The human-readable description of a HEF: the text `hailortcli parse-hef --parse-streams`
// prints, from the network groups metadata_derivation.cpp derived.

#include <fmt/format.h>

#include <string>
#include <vector>

#include "metadata_internal.hpp"

namespace hdeploy::hef {

namespace {

std::string shape_text(const StreamInfo& s) {
  if (s.is_nms) {
    return fmt::format("{}, {}(maximum frame size: {})", s.type, s.order, s.hw_frame_size);
  }
  if (s.order == "NC") return fmt::format("{}, {}({})", s.type, s.order, s.hw_features);
  if (s.order == "NHW")
    return fmt::format("{}, {}({}x{})", s.type, s.order, s.hw_height, s.hw_width);
  return fmt::format("{}, {}({}x{}x{})", s.type, s.order, s.hw_height, s.hw_width, s.hw_features);
}

std::string shape_text(const VStreamInfo& v) {
  if (v.nms) {
    return fmt::format(
        "{}, {}(number of classes: {}, maximum bounding boxes per class: {}, maximum frame size: "
        "{})",
        v.type, v.order, v.nms->number_of_classes, v.nms->max_bboxes_per_class, v.frame_size);
  }
  if (v.order == "NC") return fmt::format("{}, {}({})", v.type, v.order, v.features);
  if (v.order == "NHW") return fmt::format("{}, {}({}x{})", v.type, v.order, v.height, v.width);
  return fmt::format("{}, {}({}x{}x{})", v.type, v.order, v.height, v.width, v.features);
}

}  // namespace

std::string describe(const std::string& arch, const std::vector<GroupResult>& groups) {
  const std::string tab = "    ";
  std::string out = "Architecture HEF was compiled for: " + arch + "\n";
  for (const auto& g : groups) {
    const auto& info = g.info;
    out +=
        "Network group name: " + info.name + ", " +
        (info.multi_context ? "Multi Context - Number of contexts: " + std::to_string(info.contexts)
                            : std::string("Single Context")) +
        "\n";
    for (const auto& network : info.networks) {
      const bool all = network == g.default_network;
      auto in_network = [&](const Layer& l) { return all || l.network_name == network; };
      out += tab + "Network name: " + network + "\n";
      out += tab + tab + "Stream infos:\n";
      for (int pass = 0; pass < 2; ++pass) {
        for (const auto& layer : g.layers) {
          if (layer.is_input != (pass == 0) || !in_network(layer)) continue;
          for (const auto& s : layer.streams) {
            out += tab + tab + tab + (s.is_input ? "Input  " : "Output ") + s.name + " " +
                   shape_text(s) + "\n";
          }
        }
      }
      out += tab + tab + "VStream infos:\n";
      for (const auto& v : info.inputs) {
        if (all || v.network_name == network) {
          out += tab + tab + tab + "Input  " + v.name + " " + shape_text(v) + "\n";
        }
      }
      for (const auto& v : info.outputs) {
        if (all || v.network_name == network || v.nms) {
          out += tab + tab + tab + "Output " + v.name + " " + shape_text(v) + "\n";
        }
      }
      // HailoRT prints the last op's description, one ", "-separated item per line.
      if (!info.ops.empty()) {
        out += tab + tab + tab + "Operation:\n";
        std::string text = info.ops.back().description;
        std::size_t pos = 0;
        while ((pos = text.find(',')) != std::string::npos) {
          out += tab + tab + tab + tab + text.substr(0, pos) + "\n";
          text.erase(0, pos + 2);
        }
        out += tab + tab + tab + tab + text + "\n";
      }
    }
  }
  return out;
}

}  // namespace hdeploy::hef

#include "hdeploy/core/model_spec.hpp"

#include <toml++/toml.h>

#include <set>
#include <sstream>

#include "hdeploy/core/file.hpp"

namespace hdeploy {
namespace fs = std::filesystem;
namespace {

// Reads optional scalars and arrays with type checking; the first error wins.
class SpecReader {
 public:
  SpecReader(const toml::table& root, std::string source)
      : root_(root), source_(std::move(source)) {}

  template <typename T>
  void get(std::string_view key, T& out) {
    auto node = root_.at_path(key);
    if (!node) return;
    if (auto v = node.value<T>()) {
      out = *v;
    } else {
      wrong_type(key, type_name<T>());
    }
  }

  void get_floats(std::string_view key, std::array<float, 3>& out) {
    auto node = root_.at_path(key);
    if (!node) return;
    const auto* arr = node.as_array();
    if (arr == nullptr || arr->size() != 3) return wrong_type(key, "an array of 3 numbers");
    for (std::size_t i = 0; i < 3; ++i) {
      auto v = (*arr)[i].value<double>();
      if (!v) return wrong_type(key, "an array of 3 numbers");
      out[i] = static_cast<float>(*v);
    }
  }

  // An array of strings (absent: `out` unchanged).
  void get_strings(std::string_view key, std::vector<std::string>& out) {
    auto node = root_.at_path(key);
    if (!node) return;
    const auto* arr = node.as_array();
    if (arr == nullptr) return wrong_type(key, "an array of strings");
    std::vector<std::string> values;
    for (const auto& item : *arr) {
      auto v = item.value<std::string>();
      if (!v) return wrong_type(key, "an array of strings");
      values.push_back(*v);
    }
    out = std::move(values);
  }

  // [h, w] or a single integer for a square.
  void get_size(std::string_view key, int& h, int& w) {
    auto node = root_.at_path(key);
    if (!node) return;
    if (auto v = node.value<int>()) {
      h = w = *v;
      return;
    }
    const auto* arr = node.as_array();
    if (arr == nullptr || arr->size() != 2 || !(*arr)[0].value<int>() || !(*arr)[1].value<int>()) {
      return wrong_type(key, "an integer or [height, width]");
    }
    h = *(*arr)[0].value<int>();
    w = *(*arr)[1].value<int>();
  }

  void invalid(std::string message) {
    if (!error_) error_ = make_error(ErrorCode::kInvalidArgument, "{}: {}", source_, message);
  }
  std::optional<Error>& error() { return error_; }

 private:
  template <typename T>
  static const char* type_name() {
    if constexpr (std::is_same_v<T, std::string>) return "a string";
    if constexpr (std::is_same_v<T, bool>) return "true or false";
    if constexpr (std::is_integral_v<T>) return "an integer";
    return "a number";
  }
  void wrong_type(std::string_view key, std::string_view expected) {
    invalid(fmt::format("'{}' must be {}", key, expected));
  }

  const toml::table& root_;
  std::string source_;
  std::optional<Error> error_;
};

}  // namespace

const char* to_string(ResizeMode mode) {
  switch (mode) {
    case ResizeMode::kShorterSide:
      return "shorter_side";
    case ResizeMode::kExact:
      return "exact";
    case ResizeMode::kNone:
      return "none";
  }
  return "none";
}

Result<ModelSpec> parse_model_spec(std::string_view toml_text, const fs::path& source) {
  const std::string name = source.empty() ? std::string("<spec>") : source.string();
  toml::table root;
  try {
    root = toml::parse(toml_text, name);
  } catch (const toml::parse_error& e) {
    return fail(ErrorCode::kInvalidFormat, "{}:{}:{}: invalid TOML: {}", name,
                e.source().begin.line, e.source().begin.column, e.description());
  }
  ModelSpec spec;
  spec.source = source;
  SpecReader r(root, name);
  r.get("model.name", spec.name);
  r.get("model.torchvision", spec.torchvision);
  r.get("model.num_classes", spec.num_classes);
  r.get("model.labels", spec.labels);
  r.get_size("input.size", spec.input_height, spec.input_width);
  r.get("input.color", spec.color);

  auto& p = spec.preprocess;
  std::string resize_mode = "shorter_side";
  r.get("preprocess.resize_mode", resize_mode);
  if (resize_mode == "shorter_side") {
    p.resize_mode = ResizeMode::kShorterSide;
    r.get("preprocess.resize", p.resize);
  } else if (resize_mode == "exact") {
    p.resize_mode = ResizeMode::kExact;
    r.get_size("preprocess.resize", p.resize_height, p.resize_width);
  } else if (resize_mode == "none") {
    p.resize_mode = ResizeMode::kNone;
  } else {
    r.invalid(fmt::format("'preprocess.resize_mode' is '{}'; use shorter_side, exact or none",
                          resize_mode));
  }
  r.get("preprocess.interpolation", p.interpolation);
  r.get("preprocess.antialias", p.antialias);
  p.crop_height = spec.input_height;
  p.crop_width = spec.input_width;
  r.get_size("preprocess.center_crop", p.crop_height, p.crop_width);
  r.get_floats("preprocess.mean", p.mean);
  r.get_floats("preprocess.std", p.std);
  r.get("preprocess.exif_orientation", p.exif_orientation);

  r.get("hailo.hw_arch", spec.hailo.hw_arch);
  r.get("hailo.optimization_level", spec.hailo.optimization_level);
  r.get("hailo.compression_level", spec.hailo.compression_level);
  r.get("hailo.end_node", spec.hailo.end_node);
  r.get_strings("hailo.model_script", spec.hailo.model_script);

  if (spec.name.empty()) r.invalid("'model.name' is required");
  if (spec.num_classes < 1) r.invalid("'model.num_classes' must be at least 1");
  if (spec.input_height < 8 || spec.input_width < 8 || spec.input_height > 8192 ||
      spec.input_width > 8192) {
    r.invalid("'input.size' must be between 8 and 8192 pixels per side");
  }
  if (spec.color != "RGB") r.invalid("'input.color' must be \"RGB\"");
  if (p.resize_mode == ResizeMode::kShorterSide && (p.resize < 1 || p.resize > 16384)) {
    r.invalid("'preprocess.resize' must be between 1 and 16384 pixels");
  }
  if (p.resize_mode == ResizeMode::kExact && (p.resize_height < 1 || p.resize_width < 1 ||
                                              p.resize_height > 16384 || p.resize_width > 16384)) {
    r.invalid("'preprocess.resize' must be [height, width] between 1 and 16384 pixels");
  }
  if (p.interpolation != "bilinear" || !p.antialias) {
    r.invalid(
        "only 'preprocess.interpolation = \"bilinear\"' with antialias = true (PIL's, as "
        "torchvision applies it to PIL images) is supported");
  }
  if (p.crop_height != spec.input_height || p.crop_width != spec.input_width) {
    r.invalid("'preprocess.center_crop' must equal 'input.size'");
  }
  for (float s : p.std) {
    if (!(s > 0.0F)) r.invalid("'preprocess.std' values must be positive");
  }
  static const std::set<std::string> kArchs{"hailo8",   "hailo8l",  "hailo8r",
                                            "hailo10h", "hailo15h", "hailo15m"};
  if (!kArchs.contains(spec.hailo.hw_arch)) {
    r.invalid(fmt::format("'hailo.hw_arch' is '{}'; use hailo8l (Raspberry Pi AI Kit) or hailo8",
                          spec.hailo.hw_arch));
  }
  if (spec.hailo.optimization_level < 0 || spec.hailo.optimization_level > 4) {
    r.invalid("'hailo.optimization_level' must be 0-4");
  }
  if (spec.hailo.compression_level < 0 || spec.hailo.compression_level > 5) {
    r.invalid("'hailo.compression_level' must be 0-5");
  }
  for (const auto& line : spec.hailo.model_script) {
    // One command per entry: a newline would smuggle a second, unchecked command in.
    if (line.find_first_of("\r\n") != std::string::npos ||
        line.find_first_not_of(" \t") == std::string::npos) {
      r.invalid(
          "'hailo.model_script' entries must be single, non-empty lines (one .alls command "
          "each)");
    }
  }
  if (r.error()) return unexpected(std::move(*r.error()));
  return spec;
}

Result<ModelSpec> load_model_spec(const fs::path& path) {
  HDEPLOY_ASSIGN_OR_RETURN(auto text, read_text_file(path));
  return parse_model_spec(text, path);
}

Result<fs::path> resolve_model_spec(const std::string& name_or_path, const fs::path& models_dir) {
  std::error_code ec;
  const fs::path as_path(name_or_path);
  if (as_path.extension() == ".toml" || name_or_path.find('/') != std::string::npos) {
    HDEPLOY_TRY(check_readable_file(as_path));
    return as_path;
  }
  const fs::path shipped = models_dir / (name_or_path + ".toml");
  if (fs::is_regular_file(shipped, ec)) return shipped;
  std::string names;
  for (const auto& entry : fs::directory_iterator(models_dir, ec)) {
    if (entry.path().extension() == ".toml") {
      names += names.empty() ? "" : ", ";
      names += entry.path().stem().string();
    }
  }
  return fail(ErrorCode::kNotFound,
              "unknown model '{}': not a .toml file and not a shipped spec (shipped: {}); "
              "pass a spec file path or one of those names",
              name_or_path, names.empty() ? "none found in " + models_dir.string() : names);
}

}  // namespace hdeploy

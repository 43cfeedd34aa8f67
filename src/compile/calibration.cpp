#include "hdeploy/compile/calibration.hpp"

#include <algorithm>
#include <cassert>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "hdeploy/core/json_text.hpp"
#include "hdeploy/core/npy.hpp"
#include "hdeploy/core/process.hpp"
#include "hdeploy/core/sha256.hpp"
#include "hdeploy/preprocess/image_files.hpp"
#include "hdeploy/version.hpp"

namespace hdeploy::compile {

using preprocess::decode_image;
using preprocess::Image;
using preprocess::list_image_files;
using preprocess::Preprocessor;

namespace fs = std::filesystem;
namespace {

// Image files larger than this are skipped unread (a 89 MP PNG is far smaller).
constexpr std::uintmax_t kMaxImageFileBytes = 1ULL << 29;

// The decoders' messages start with the file name; the manifest lists the path already.
std::string reason_without_name(const std::string& message, const std::string& name) {
  const std::string prefix = name + ": ";
  if (message.starts_with(prefix)) return message.substr(prefix.size());
  return message;
}

// One candidate after decode and preprocessing, or why it could not be used.
struct Prepared {
  std::size_t index = 0;
  bool ready = false;
  bool ok = false;
  std::vector<float> pixels;  // H*W*3, the uint8 NHWC values as floats
  std::string sha256;
  int width = 0;
  int height = 0;
  std::string reason;
};

Prepared prepare_candidate(const fs::path& path, const Preprocessor& preprocessor) {
  Prepared out;
  const std::string name = path.string();
  auto bytes = read_file(path, kMaxImageFileBytes);
  if (!bytes) {
    out.reason = reason_without_name(bytes.error().message, name);
    return out;
  }
  out.sha256 = sha256_hex(*bytes);
  // prepare() split in two so the decoded size can be recorded: the same decode options
  // (max pixels, EXIF) and the same resize and crop as infer.
  auto decoded = decode_image(*bytes, name, preprocessor.decode_options());
  if (!decoded) {
    out.reason = reason_without_name(decoded.error().message, name);
    return out;
  }
  out.width = decoded->width;
  out.height = decoded->height;
  const Image prepared = preprocessor.resize_and_crop(*decoded);
  const int h = preprocessor.output_height();
  const int w = preprocessor.output_width();
  if (prepared.width != w || prepared.height != h) {
    out.reason = fmt::format("preprocessing produced {}x{}, the model takes {}x{}", prepared.width,
                             prepared.height, w, h);
    return out;
  }
  std::vector<std::uint8_t> nhwc(static_cast<std::size_t>(h) * static_cast<std::size_t>(w) * 3);
  preprocessor.to_hailo_input(prepared, nhwc);
  out.pixels.assign(nhwc.begin(), nhwc.end());
  out.ok = true;
  return out;
}

// Workers decode candidates in order into a ring of slots at most `window` ahead of the
// consumer, so rows come out in the seeded order and at most `window` images are in memory.
class PreparePool {
 public:
  PreparePool(const std::vector<fs::path>& order, const Preprocessor& preprocessor,
              unsigned threads)
      : order_(order), preprocessor_(preprocessor), slots_(std::size_t{threads} * 2 + 2) {
    workers_.reserve(threads);
    for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~PreparePool() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    for (auto& t : workers_) t.join();
  }
  PreparePool(const PreparePool&) = delete;
  PreparePool& operator=(const PreparePool&) = delete;
  PreparePool(PreparePool&&) = delete;
  PreparePool& operator=(PreparePool&&) = delete;

  // Waits for candidate `index` (called with 0, 1, 2, ...); nullopt when interrupted.
  std::optional<Prepared> take(std::size_t index) {
    std::unique_lock lock(mutex_);
    Prepared& slot = slots_[index % slots_.size()];
    while (!(slot.ready && slot.index == index)) {
      if (InterruptGuard::interrupted()) return std::nullopt;
      changed_.wait_for(lock, std::chrono::milliseconds(100));
    }
    Prepared out = std::move(slot);
    slot = Prepared{};
    consumed_ = index + 1;
    lock.unlock();
    changed_.notify_all();
    return out;
  }

 private:
  void work() {
    for (;;) {
      std::size_t index = 0;
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [this] {
          return stop_ || next_ >= order_.size() || next_ < consumed_ + slots_.size();
        });
        if (stop_ || next_ >= order_.size()) return;
        index = next_++;
      }
      if (InterruptGuard::interrupted()) return;
      Prepared done = prepare_candidate(order_[index], preprocessor_);
      done.index = index;
      done.ready = true;
      {
        std::lock_guard lock(mutex_);
        slots_[index % slots_.size()] = std::move(done);
      }
      changed_.notify_all();
    }
  }

  const std::vector<fs::path>& order_;
  const Preprocessor& preprocessor_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Prepared> slots_;  // guarded by mutex_
  std::size_t next_ = 0;         // next candidate to claim; guarded by mutex_
  std::size_t consumed_ = 0;     // candidates taken by the consumer; guarded by mutex_
  bool stop_ = false;            // guarded by mutex_
  std::vector<std::thread> workers_;
};

}  // namespace

std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t bound) {
  assert(bound > 0);
  // 2^64 mod bound: rejecting the draws below it leaves a multiple of `bound` equally likely
  // values, so `x % bound` is exactly uniform.
  const std::uint64_t threshold = (std::uint64_t{0} - bound) % bound;
  for (;;) {
    const std::uint64_t x = rng();
    if (x >= threshold) return x % bound;
  }
}

void seeded_shuffle(std::vector<fs::path>& items, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (std::size_t i = items.size(); i > 1; --i) {
    const auto j = static_cast<std::size_t>(uniform_below(rng, i));
    std::swap(items[i - 1], items[j]);
  }
}

fs::path calibration_manifest_path(const fs::path& npy) {
  fs::path out = npy;
  out.replace_filename(npy.stem().string() + ".manifest.json");
  return out;
}

nlohmann::json CalibrationSet::to_json() const {
  using nlohmann::json;
  json images = json::array();
  for (const CalibrationImage& image : used) {
    images.push_back({{"path", image.path.lexically_relative(image_dir).generic_string()},
                      {"sha256", image.sha256},
                      {"width", image.width},
                      {"height", image.height}});
  }
  json skips = json::array();
  for (const CalibrationSkip& skip : skipped) {
    skips.push_back({{"path", skip.path.lexically_relative(image_dir).generic_string()},
                     {"reason", skip.reason}});
  }
  json resize = {{"mode", to_string(preprocess.resize_mode)},
                 {"interpolation", preprocess.interpolation},
                 {"antialias", preprocess.antialias}};
  if (preprocess.resize_mode == ResizeMode::kShorterSide)
    resize["shorter_side"] = preprocess.resize;
  if (preprocess.resize_mode == ResizeMode::kExact) {
    resize["size"] = {preprocess.resize_height, preprocess.resize_width};
  }
  return json{
      {"format", "hdeploy-calibration"},
      {"version", 1},
      {"hdeploy_version", HDEPLOY_VERSION},
      {"model", {{"name", spec_name}, {"spec", spec_path.string()}}},
      {"preprocessing",
       {{"decode", "RGB as PIL's Image.open().convert(\"RGB\")"},
        {"exif_orientation", preprocess.exif_orientation},
        {"resize", resize},
        {"center_crop", {preprocess.crop_height, preprocess.crop_width}},
        {"normalization",
         "not applied: normalisation runs on chip (model script); values are the RGB pixels"},
        {"spec_mean", preprocess.mean},
        {"spec_std", preprocess.std}}},
      {"layout", "NHWC"},
      {"dtype", "float32"},
      {"range", {0, 255}},
      {"shape", shape},
      {"seed", seed},
      {"order", "paths sorted byte-wise, then Fisher-Yates with std::mt19937_64(seed)"},
      {"image_dir", image_dir.string()},
      {"candidates", candidates},
      {"count_requested", count_requested},
      {"count_used", used.size()},
      {"images", images},
      {"skipped", skips},
      {"npy", {{"file", npy_path.filename().string()}, {"sha256", npy_sha256}}},
      {"warnings", warnings},
  };
}

Result<CalibrationSet> make_calibration_set(const fs::path& image_dir,
                                            const Preprocessor& preprocessor, const fs::path& npy,
                                            const CalibrationOptions& options) {
  if (options.count == 0) {
    return fail(ErrorCode::kInvalidArgument, "--count 0: a calibration set needs at least 1 image");
  }
  CalibrationSet set;
  set.image_dir = image_dir;
  set.npy_path = npy;
  set.manifest_path = calibration_manifest_path(npy);
  set.count_requested = options.count;
  set.seed = options.seed;
  set.spec_name = preprocessor.spec().name;
  set.spec_path = preprocessor.spec().source;
  set.preprocess = preprocessor.spec().preprocess;
  HDEPLOY_TRY(check_writable_output(npy, options.overwrite));
  HDEPLOY_TRY(check_writable_output(set.manifest_path, options.overwrite));

  HDEPLOY_ASSIGN_OR_RETURN(std::vector<fs::path> order,
                           list_image_files(image_dir, /*recursive=*/true));
  if (order.empty()) {
    return fail(ErrorCode::kFailed,
                "{}: no .jpg, .jpeg or .png files (searched with subfolders); give a folder of "
                "images like those the model will see",
                image_dir.string());
  }
  set.candidates = order.size();
  seeded_shuffle(order, options.seed);

  const std::size_t planned = std::min(options.count, order.size());
  const auto h = static_cast<std::int64_t>(preprocessor.output_height());
  const auto w = static_cast<std::int64_t>(preprocessor.output_width());
  HDEPLOY_ASSIGN_OR_RETURN(
      NpyFileWriter writer,
      NpyFileWriter::create(npy, DType::kFloat32, {static_cast<std::int64_t>(planned), h, w, 3},
                            options.overwrite));

  unsigned threads = options.threads != 0 ? options.threads : std::thread::hardware_concurrency();
  threads = static_cast<unsigned>(std::clamp<std::size_t>(threads, 1, order.size()));
  bool interrupted = false;
  {
    PreparePool pool(order, preprocessor, threads);
    for (std::size_t k = 0; k < order.size() && set.used.size() < planned; ++k) {
      std::optional<Prepared> next = pool.take(k);
      if (!next) {
        interrupted = true;
        break;
      }
      if (next->ok) {
        const std::span<const std::uint8_t> row(
            reinterpret_cast<const std::uint8_t*>(next->pixels.data()),
            next->pixels.size() * sizeof(float));
        HDEPLOY_TRY(writer.append(row));
        set.used.push_back({order[k], std::move(next->sha256), next->width, next->height});
      } else {
        set.skipped.push_back({order[k], std::move(next->reason)});
      }
      if (options.on_progress) options.on_progress(set.used.size(), planned);
    }
  }
  if (interrupted || InterruptGuard::interrupted()) {
    return fail(ErrorCode::kFailed, "interrupted; {} was not written", npy.string());
  }
  if (set.used.empty()) {
    return fail(ErrorCode::kFailed,
                "{}: none of the {} images could be read (first: {}: {}); give decodable JPEG "
                "or PNG images",
                image_dir.string(), set.skipped.size(), set.skipped.front().path.string(),
                set.skipped.front().reason);
  }
  HDEPLOY_TRY(writer.shrink_leading_dimension(static_cast<std::int64_t>(set.used.size())));
  HDEPLOY_TRY(writer.commit());
  set.shape = writer.shape();
  set.npy_sha256 = writer.sha256();

  if (set.used.size() < options.count) {
    set.warnings.push_back(fmt::format(
        "{} images requested but {} has only {} readable ones (of {} found, {} skipped)",
        options.count, image_dir.string(), set.used.size(), set.candidates, set.skipped.size()));
  }
  if (set.used.size() < kRecommendedCalibrationImages) {
    set.warnings.push_back(fmt::format(
        "only {} calibration images: the Dataflow Compiler recommends at least {}, and with too "
        "few the quantised model's accuracy may collapse silently",
        set.used.size(), kRecommendedCalibrationImages));
  }
  bool escaped = false;
  const std::string manifest = json_text(set.to_json(), 2, &escaped) + "\n";
  if (escaped)
    set.warnings.push_back(fmt::format("{}: {}", set.manifest_path.string(), kEscapedNote));
  if (auto written = write_text_file_atomic(set.manifest_path, manifest, options.overwrite);
      !written) {
    std::error_code ec;
    fs::remove(npy, ec);  // never a calibration set without its manifest
    return unexpected(std::move(written).error());
  }
  return set;
}

}  // namespace hdeploy::compile

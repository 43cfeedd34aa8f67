// A fake "hailo" backend plugin for the plugin-loader and CLI tests, built in several variants
// (src/runtime/CMakeLists.txt), each defining one HDEPLOY_FAKE_PLUGIN_<variant>:
//   good            a complete plugin of this hdeploy; its device exists only when
//                   HDEPLOY_FAKE_DEVICE=1 (else open and probe fail, naming HailoRT's
//                   environment as the plugin saw it when it was loaded);
//   old_api         says plugin API version 0;
//   other_hdeploy   says it was built for hdeploy 0.0.1-other;
//   not_a_plugin    has no entry points;
//   needs_vendor    a good plugin that links libhdeploy_fake_vendor.so (stands for HailoRT).
// The fake device: input uint8 NHWC 1x224x224x3 with the qp (scale 1.2, zero point 3), so the
// host quantizes; output uint8 NC(10) with the qp (0.1, 128), byte i = (sum of the input bytes
// + 17 i) mod 256. With HDEPLOY_FAKE_RECORD=FILE it appends one line per frame: the FNV-1a
// hash of the input bytes in hex, so tests can check two commands sent the same bytes.
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "hdeploy/runtime/backend_plugin.hpp"
#include "hdeploy/version.hpp"

#ifdef HDEPLOY_FAKE_PLUGIN_needs_vendor
extern "C" const char* hdeploy_fake_vendor_version();
#endif

namespace hdeploy::runtime {
namespace {

// HailoRT's environment when the plugin was loaded (its static initializers run at dlopen,
// as libhailort's logger initializer does).
std::string env_or_unset(const char* name) {
  const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe)
  return v != nullptr ? v : "unset";
}
const std::string kEnvAtLoad =
    "HAILORT_LOGGER_PATH=" + env_or_unset("HAILORT_LOGGER_PATH") +
    ", HAILORT_CONSOLE_LOGGER_LEVEL=" + env_or_unset("HAILORT_CONSOLE_LOGGER_LEVEL");

bool device_present() {
  const char* v = std::getenv("HDEPLOY_FAKE_DEVICE");  // NOLINT(concurrency-mt-unsafe)
  return v != nullptr && std::string(v) == "1";
}

Error no_device() {
  return Error{ErrorCode::kFailed, "fake hailo: no device (" + kEnvAtLoad + ")"};
}

class FakeDevice final : public Backend {
 public:
  FakeDevice() {
    TensorSpec in;
    in.name = "fake/input_layer1";
    in.dtype = DType::kUint8;
    in.layout = Layout::kNHWC;
    in.shape = {1, 224, 224, 3};
    in.quantization = Quantization{1.2F, 3.0F};
    inputs_.push_back(in);
    TensorSpec out;
    out.name = "fake/fc1";
    out.dtype = DType::kUint8;
    out.layout = Layout::kNC;
    out.shape = {1, 10};
    out.quantization = Quantization{0.1F, 128.0F};
    outputs_.push_back(out);
    if (const char* r = std::getenv("HDEPLOY_FAKE_RECORD")) record_ = r;  // NOLINT
    worker_ = std::thread([this] { run(); });
  }
  ~FakeDevice() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    worker_.join();
  }
  FakeDevice(const FakeDevice&) = delete;
  FakeDevice& operator=(const FakeDevice&) = delete;

  std::string name() const override { return "hailo"; }
  std::string description() const override { return "fake Hailo device (test plugin)"; }
  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }
  std::size_t max_in_flight() const override { return 4; }

  Status submit(const FrameBuffers& frame, Completion done) override {
    HDEPLOY_TRY(validate_frame(frame, inputs_, outputs_, "hailo"));
    std::lock_guard lock(mutex_);
    if (queue_.size() >= max_in_flight()) {
      return fail(ErrorCode::kInvalidArgument, "fake hailo: more than {} frames in flight",
                  max_in_flight());
    }
    queue_.emplace_back(frame, std::move(done));
    wake_.notify_all();
    return {};
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto [frame, done] = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      std::uint64_t sum = 0;
      std::uint64_t hash = 1469598103934665603ULL;
      for (std::uint8_t b : frame.inputs[0]) {
        sum += b;
        hash = (hash ^ b) * 1099511628211ULL;
      }
      for (std::size_t i = 0; i < frame.outputs[0].size(); ++i) {
        frame.outputs[0][i] = static_cast<std::uint8_t>((sum + 17 * i) % 256);
      }
      if (!record_.empty()) {
        if (std::FILE* f = std::fopen(record_.c_str(), "a")) {
          std::fprintf(f, "%016llx\n", static_cast<unsigned long long>(hash));
          std::fclose(f);
        }
      }
      done({});
      lock.lock();
    }
  }

  std::vector<TensorSpec> inputs_;
  std::vector<TensorSpec> outputs_;
  std::string record_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<FrameBuffers, Completion>> queue_;  // guarded by mutex_
  bool stopping_ = false;                                  // guarded by mutex_
  std::thread worker_;
};

Result<std::string> runtime_version() {
#ifdef HDEPLOY_FAKE_PLUGIN_needs_vendor
  return std::string(hdeploy_fake_vendor_version());
#else
  return std::string("9.9.9");
#endif
}

Result<PluginDeviceInfo> probe_device() {
  if (!device_present()) return unexpected(no_device());
  // HDEPLOY_FAKE_FIRMWARE: the firmware version the fake device reports (default 9.9.9).
  const char* env = std::getenv("HDEPLOY_FAKE_FIRMWARE");  // NOLINT(concurrency-mt-unsafe)
  const std::string firmware = env != nullptr && *env != '\0' ? env : "9.9.9";
  return PluginDeviceInfo{.architecture = "HAILO8L",
                          .description = "fake-0000:01:00.0 HAILO8L, firmware " + firmware,
                          .firmware_version = firmware};
}

Result<std::unique_ptr<Backend>> open(const std::filesystem::path& model,
                                      const PluginBackendOptions& /*options*/) {
  if (!device_present()) return unexpected(no_device());
  std::error_code ec;
  if (!std::filesystem::is_regular_file(model, ec)) {
    return fail(ErrorCode::kNotFound, "fake hailo: HEF {} not found", model.string());
  }
  return std::unique_ptr<Backend>(std::make_unique<FakeDevice>());
}

#ifdef HDEPLOY_FAKE_PLUGIN_old_api
constexpr std::uint32_t kApi = 0;
#else
constexpr std::uint32_t kApi = kBackendPluginApiVersion;
#endif
#ifdef HDEPLOY_FAKE_PLUGIN_other_hdeploy
constexpr const char* kBuiltFor = "0.0.1-other";
#else
constexpr const char* kBuiltFor = HDEPLOY_VERSION;
#endif
constexpr BackendPluginAbi kAbi{kApi, kBuiltFor, "hailo"};
constexpr BackendPluginV1 kApiV1{"HailoRT 9.9.9 (fake)", &runtime_version, &probe_device, &open};

}  // namespace
}  // namespace hdeploy::runtime

#ifndef HDEPLOY_FAKE_PLUGIN_not_a_plugin
HDEPLOY_BACKEND_PLUGIN_ENTRY_POINTS(hdeploy::runtime::kAbi, hdeploy::runtime::kApiV1)
#endif

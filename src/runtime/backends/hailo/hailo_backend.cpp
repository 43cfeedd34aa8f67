// The hailo backend plugin (libhdeploy_hailo.so): HailoRT 4.20-4.23's async InferModel API
// behind the backend_plugin.hpp entry points. The only hdeploy code that includes HailoRT's
// headers or links libhailort; the registry dlopens it after setting HailoRT's environment.
// Facts it relies on are in shared/HAILO.md (checked against HailoRT v4.20.0 and v4.23.0).
#include "hdeploy/runtime/hailo_backend.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "hdeploy/runtime/backend_plugin.hpp"
#include "hdeploy/version.hpp"

// HailoRT's public headers are not -Wpedantic clean (an anonymous struct in hailort.h,
// std::iterator and std::is_pod in buffer.hpp); CMake includes them as system headers, this
// keeps a plain -I build (the 4.20.0 header check) warning-free too.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <hailo/hailort.hpp>
#pragma GCC diagnostic pop

namespace hdeploy::runtime {
namespace {

constexpr const char* kName = "hailo";

std::string arch_name(hailo_device_architecture_t arch) {
  auto name = hailort::Hef::device_arch_to_string(arch);
  return name ? name.value() : fmt::format("architecture {}", static_cast<int>(arch));
}

ErrorCode code_for(hailo_status status) {
  switch (status) {
    case HAILO_INVALID_HEF:
      return ErrorCode::kUnsupported;
    case HAILO_INVALID_ARGUMENT:
      return ErrorCode::kInvalidArgument;
    case HAILO_NOT_FOUND:
    case HAILO_FILE_OPERATION_FAILURE:
      return ErrorCode::kNotFound;
    default:
      return ErrorCode::kFailed;
  }
}

Unexpected hailo_error(hailo_status status, const std::string& what,
                       const std::filesystem::path& hef, const std::string& hef_arch = {},
                       const std::string& device_arch = {}) {
  // 4.23 says "no free device" (74) when there is no driver at all: look before believing it.
  const bool driver = status != HAILO_OUT_OF_PHYSICAL_DEVICES || hailo_driver_loaded();
  return unexpected(Error{
      code_for(status),
      describe_hailo_status(static_cast<int>(status), what, hef, hef_arch, device_arch, driver)});
}

// The host-side view of one HailoRT stream as a TensorSpec.
Result<TensorSpec> spec_of(const hailort::InferModel::InferStream& stream, bool is_input) {
  TensorSpec spec;
  spec.name = stream.name();
  const hailo_format_t format = stream.format();
  switch (format.type) {
    case HAILO_FORMAT_TYPE_UINT8:
      spec.dtype = DType::kUint8;
      break;
    case HAILO_FORMAT_TYPE_UINT16:
      spec.dtype = DType::kUint16;
      break;
    case HAILO_FORMAT_TYPE_FLOAT32:
      spec.dtype = DType::kFloat32;
      break;
    default:
      return fail(ErrorCode::kUnsupported,
                  "hailo: stream '{}' has format type {}; hdeploy reads "
                  "uint8, uint16 and float32",
                  spec.name, static_cast<int>(format.type));
  }
  const hailo_3d_image_shape_t shape = stream.shape();
  if (format.order == HAILO_FORMAT_ORDER_NC) {
    spec.layout = Layout::kNC;
    spec.shape = {1, static_cast<std::int64_t>(shape.features)};
  } else if (format.order == HAILO_FORMAT_ORDER_NHWC) {
    spec.layout = Layout::kNHWC;
    spec.shape = {1, static_cast<std::int64_t>(shape.height),
                  static_cast<std::int64_t>(shape.width),
                  static_cast<std::int64_t>(shape.features)};
  } else {
    return fail(ErrorCode::kUnsupported,
                "hailo: {} '{}' has format order {}; hdeploy runs classifiers (NHWC input, NC "
                "output)",
                is_input ? "input" : "output", spec.name, static_cast<int>(format.order));
  }
  if (spec.dtype != DType::kFloat32) {
    const auto quant = stream.get_quant_infos();
    if (!quant.empty()) spec.quantization = Quantization{quant[0].qp_scale, quant[0].qp_zp};
  }
  if (spec.byte_size() != stream.get_frame_size()) {
    return fail(ErrorCode::kUnsupported,
                "hailo: stream '{}' has a frame of {} bytes, but {} is {} bytes (padded or "
                "unusual format order)",
                spec.name, stream.get_frame_size(), spec.describe(), spec.byte_size());
  }
  return spec;
}

class HailoBackend final : public Backend {
 public:
  // Members are destroyed in reverse order: configured_ (after every job completed), then
  // infer_model_, then vdevice_ (the InferModel holds only a reference to it).
  HailoBackend(std::unique_ptr<hailort::VDevice> vdevice,
               std::shared_ptr<hailort::InferModel> infer_model,
               hailort::ConfiguredInferModel configured, std::size_t queue_size,
               std::vector<TensorSpec> inputs, std::vector<TensorSpec> outputs,
               std::filesystem::path hef, std::chrono::milliseconds ready_timeout,
               std::string description)
      : vdevice_(std::move(vdevice)),
        infer_model_(std::move(infer_model)),
        configured_(std::move(configured)),
        queue_size_(queue_size),
        inputs_(std::move(inputs)),
        outputs_(std::move(outputs)),
        hef_(std::move(hef)),
        ready_timeout_(ready_timeout),
        description_(std::move(description)) {}

  // Aborts what is still queued on the device (those completions get kFailed) and waits until
  // every callback has returned, so no callback touches a destroyed object.
  ~HailoBackend() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    (void)configured_.shutdown();
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [&] { return outstanding_ == 0; });
  }

  HailoBackend(const HailoBackend&) = delete;
  HailoBackend& operator=(const HailoBackend&) = delete;

  std::string name() const override { return kName; }
  std::string description() const override { return description_; }

  Result<double> chip_temperature_c() override {
    auto devices = vdevice_->get_physical_devices();
    if (!devices) {
      return hailo_error(devices.status(), "listing the physical devices", hef_);
    }
    if (devices->empty())
      return fail(ErrorCode::kFailed, "the virtual device has no physical device");
    double hottest = -273.15;
    for (hailort::Device& device : *devices) {
      auto info = device.get_chip_temperature();
      if (!info) {
        return hailo_error(info.status(), "reading the chip temperature", hef_);
      }
      hottest = std::max({hottest, static_cast<double>(info->ts0_temperature),
                          static_cast<double>(info->ts1_temperature)});
    }
    return hottest;
  }
  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }
  std::size_t max_in_flight() const override { return queue_size_; }

  Status submit(const FrameBuffers& frame, Completion done) override {
    HDEPLOY_TRY(validate_frame(frame, inputs_, outputs_, kName));
    if (!done) return fail(ErrorCode::kInvalidArgument, "{}: submit needs a completion", kName);
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return fail(ErrorCode::kFailed, "{}: the backend has shut down", kName);
      if (in_queue_ >= queue_size_) {
        return fail(ErrorCode::kInvalidArgument,
                    "{}: {} frames are already in flight, the device queue size "
                    "(get_async_queue_size); wait for a completion before submitting another",
                    kName, in_queue_);
      }
      ++in_queue_;
      ++outstanding_;
    }
    Status status = start(frame, done);
    if (!status) {
      std::lock_guard lock(mutex_);
      --in_queue_;
      --outstanding_;
      idle_.notify_all();
    }
    return status;
  }

 private:
  // The HailoRT calls of one frame; on error nothing was queued.
  Status start(const FrameBuffers& frame, Completion& done) {
    auto bindings = configured_.create_bindings();
    if (!bindings) return hailo_error(bindings.status(), "create_bindings", hef_);
    for (std::size_t i = 0; i < inputs_.size(); ++i) {
      auto stream = bindings.value().input(inputs_[i].name);
      if (!stream) return hailo_error(stream.status(), "binding input " + inputs_[i].name, hef_);
      // HailoRT only reads input buffers; MemoryView has no const form.
      auto* data = const_cast<std::uint8_t*>(frame.inputs[i].data());  // NOLINT
      const hailo_status s = stream.value().set_buffer(
          hailort::MemoryView(static_cast<void*>(data), frame.inputs[i].size()));
      if (s != HAILO_SUCCESS) return hailo_error(s, "set_buffer " + inputs_[i].name, hef_);
    }
    for (std::size_t i = 0; i < outputs_.size(); ++i) {
      auto stream = bindings.value().output(outputs_[i].name);
      if (!stream) return hailo_error(stream.status(), "binding output " + outputs_[i].name, hef_);
      const hailo_status s = stream.value().set_buffer(
          hailort::MemoryView(frame.outputs[i].data(), frame.outputs[i].size()));
      if (s != HAILO_SUCCESS) return hailo_error(s, "set_buffer " + outputs_[i].name, hef_);
    }
    const hailo_status ready = configured_.wait_for_async_ready(ready_timeout_);
    if (ready != HAILO_SUCCESS) return hailo_error(ready, "wait_for_async_ready", hef_);
    auto job = configured_.run_async(
        bindings.value(),
        [this, done = std::move(done)](const hailort::AsyncInferCompletionInfo& info) {
          on_complete(info.status, done);
        });
    if (!job) return hailo_error(job.status(), "run_async", hef_);
    // A job neither detached nor waited blocks in its destructor: detach, the callback reports.
    job.value().detach();
    return {};
  }

  // HailoRT's callback thread: posts only.
  void on_complete(hailo_status status, const Completion& done) {
    Status result;
    if (status != HAILO_SUCCESS) {
      result =
          status == HAILO_STREAM_ABORT
              ? fail(ErrorCode::kFailed, "{}: backend shut down before the frame completed", kName)
              : hailo_error(status, "inference", hef_);
    }
    {
      // Released before the completion runs, so a caller woken by it may submit at once.
      std::lock_guard lock(mutex_);
      --in_queue_;
    }
    done(std::move(result));
    std::lock_guard lock(mutex_);
    --outstanding_;
    idle_.notify_all();  // under the lock: the destructor may run as soon as it is released
  }

  std::unique_ptr<hailort::VDevice> vdevice_;
  std::shared_ptr<hailort::InferModel> infer_model_;
  hailort::ConfiguredInferModel configured_;
  const std::size_t queue_size_;
  const std::vector<TensorSpec> inputs_;
  const std::vector<TensorSpec> outputs_;
  const std::filesystem::path hef_;
  const std::chrono::milliseconds ready_timeout_;
  const std::string description_;

  std::mutex mutex_;
  std::condition_variable idle_;
  std::size_t in_queue_ = 0;     // submitted, completion not yet started; guarded by mutex_
  std::size_t outstanding_ = 0;  // submitted, completion not yet returned; guarded by mutex_
  bool stopping_ = false;        // guarded by mutex_
};

Result<std::string> library_version() {
  hailo_version_t version{};
  const hailo_status status = hailo_get_library_version(&version);
  if (status != HAILO_SUCCESS) {
    return hailo_error(status, "reading the HailoRT library version", {});
  }
  return fmt::format("{}.{}.{}", version.major, version.minor, version.revision);
}

Result<std::unique_ptr<Backend>> open_backend(const std::filesystem::path& hef,
                                              const PluginBackendOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(hef, ec)) {
    return fail(ErrorCode::kNotFound, "hailo: HEF {} not found", hef.string());
  }
  // The HEF's arch, for the arch-mismatch message; reading works without a device.
  std::string hef_arch;
  if (auto parsed = hailort::Hef::create(hef.string())) {
    if (auto arch = parsed.value().get_hef_device_arch()) hef_arch = arch_name(arch.value());
  } else {
    return hailo_error(parsed.status(), "reading the HEF", hef);
  }

  auto vdevice = hailort::VDevice::create();
  if (!vdevice) return hailo_error(vdevice.status(), "opening the device (VDevice::create)", hef);
  std::unique_ptr<hailort::VDevice> device = vdevice.release();

  std::string device_arch;
  if (auto physical = device->get_physical_devices()) {
    if (!physical.value().empty()) {
      if (auto arch = physical.value().front().get().get_architecture()) {
        device_arch = arch_name(arch.value());
      }
    }
  }

  auto created = device->create_infer_model(hef.string());
  if (!created) {
    return hailo_error(created.status(), "create_infer_model", hef, hef_arch, device_arch);
  }
  std::shared_ptr<hailort::InferModel> infer_model = created.release();
  if (options.float_output) {
    for (auto& output : infer_model->outputs()) {
      auto stream = infer_model->output(output.name());
      if (stream) stream.value().set_format_type(HAILO_FORMAT_TYPE_FLOAT32);
    }
  }
  // Read the specs after the format change: frame sizes follow the format.
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  for (const auto& stream : infer_model->inputs()) {
    HDEPLOY_ASSIGN_OR_RETURN(TensorSpec spec, spec_of(stream, true));
    inputs.push_back(std::move(spec));
  }
  for (const auto& stream : infer_model->outputs()) {
    HDEPLOY_ASSIGN_OR_RETURN(TensorSpec spec, spec_of(stream, false));
    outputs.push_back(std::move(spec));
  }

  auto configured = infer_model->configure();
  if (!configured) {
    // HAILO_INVALID_HEF here is "HEF format is not compatible with device".
    return hailo_error(configured.status(), "configuring the device", hef, hef_arch, device_arch);
  }
  hailort::ConfiguredInferModel configured_model = configured.release();
  auto queue_size = configured_model.get_async_queue_size();
  if (!queue_size) return hailo_error(queue_size.status(), "get_async_queue_size", hef);
  const std::size_t depth = queue_size.value();
  if (depth == 0) {
    return fail(ErrorCode::kFailed, "hailo: {} reports an async queue size of 0",
                hef.filename().string());
  }

  const std::string library = library_version().value_or(std::string("4.x"));
  std::string description = fmt::format(
      "HailoRT {} async, {} on {}, queue {}, output {}", library, hef.filename().string(),
      device_arch.empty() ? std::string("Hailo device") : device_arch, depth,
      options.float_output ? "float32 (dequantized by HailoRT)" : "uint8 (dequantized on host)");
  return std::unique_ptr<Backend>(std::make_unique<HailoBackend>(
      std::move(device), std::move(infer_model), std::move(configured_model), depth,
      std::move(inputs), std::move(outputs), hef, options.ready_timeout, std::move(description)));
}

// The first free device, without a model: its architecture (identify's Device Architecture,
// not the board name) and firmware version.
Result<PluginDeviceInfo> probe_device() {
  auto vdevice = hailort::VDevice::create();
  if (!vdevice) {
    return hailo_error(vdevice.status(), "opening the device (VDevice::create)", {});
  }
  auto physical = vdevice.value()->get_physical_devices();
  if (!physical) return hailo_error(physical.status(), "listing the physical devices", {});
  if (physical.value().empty()) {
    return fail(ErrorCode::kFailed, "hailo: the virtual device has no physical device");
  }
  hailort::Device& device = physical.value().front().get();
  PluginDeviceInfo info;
  auto identity = device.identify();
  if (!identity) return hailo_error(identity.status(), "identifying the device", {});
  info.architecture = arch_name(identity->device_architecture);
  info.firmware_version = fmt::format("{}.{}.{}", identity->fw_version.major,
                                      identity->fw_version.minor, identity->fw_version.revision);
  info.description = fmt::format("{} {}, firmware {}", device.get_dev_id(), info.architecture,
                                 info.firmware_version);
  return info;
}

// CMake passes the version of the HailoRT package it found.
#ifndef HDEPLOY_HAILORT_BUILT_AGAINST
#define HDEPLOY_HAILORT_BUILT_AGAINST "HailoRT 4.x"
#endif

constexpr BackendPluginAbi kAbi{kBackendPluginApiVersion, HDEPLOY_VERSION, kName};
constexpr BackendPluginV1 kApiV1{HDEPLOY_HAILORT_BUILT_AGAINST, &library_version, &probe_device,
                                 &open_backend};

}  // namespace
}  // namespace hdeploy::runtime

HDEPLOY_BACKEND_PLUGIN_ENTRY_POINTS(hdeploy::runtime::kAbi, hdeploy::runtime::kApiV1)

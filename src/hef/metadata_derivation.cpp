// Derivation: from the decoded HEF metadata to what HailoRT 4.20 reports to the host (network
// groups, streams, vstreams, post-process ops); build_hef_info, the module's entry point.
//
// The rules here are HailoRT's, re-implemented: a network group's layers come from its core op
// (for multi-layout archs such as HAILO8L, from the first partial layout); the boundary edge
// layers of every context are its streams; the host format is the device format's default host
// order; outputs are sorted by the compiler's sorted output order; outputs consumed by a host
// post-process op are replaced by the op's output.

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "hef_view.hpp"
#include "metadata_internal.hpp"

namespace hdeploy::hef {

namespace {

using google::protobuf::RepeatedPtrField;

// A core op seen the same way whether it is stored in the network group itself (older files)
// or as an op of the network group (files with HAILO_NET_FLOW).
struct CoreOpView {
  const pb::NetworkGroupMetadata* metadata = nullptr;
  const RepeatedPtrField<pb::Context>* contexts = nullptr;
  const RepeatedPtrField<std::string>* sorted_outputs = nullptr;
  const pb::FusedLayersMetadata* fused = nullptr;
  const RepeatedPtrField<std::string>* networks_names = nullptr;
  std::vector<CoreOpView> partials;
};

template <typename T>
CoreOpView view_of(const T& source) {
  CoreOpView v;
  v.metadata = &source.network_group_metadata();
  v.contexts = &source.contexts();
  v.sorted_outputs = &source.sorted_outputs_order();
  v.fused = &source.fused_layers_metadata();
  v.networks_names = &source.networks_names();
  return v;
}

struct Features {
  bool net_flow = false;
  bool multi_network = false;
  bool output_scale_by_feature = false;
  bool hw_padding_in_dfc = false;
};

bool has_extension(const RepeatedPtrField<pb::Extension>& list, std::uint32_t type) {
  return std::any_of(list.begin(), list.end(),
                     [type](const pb::Extension& e) { return e.type_index() == type; });
}

// Extension type indices (ProtoHEFExtensionType).
constexpr std::uint32_t kExtMultiNetworkVariableBatch = 8;
constexpr std::uint32_t kExtHwPadding = 11;
constexpr std::uint32_t kExtNetFlow = 13;
constexpr std::uint32_t kExtOutputScalePerFeature = 25;

bool extension_supported_by_4_20(std::uint32_t type) {
  // HailoRT 4.20.0 knows extensions 0-29 except TEST_ONE (7) and the optional-only
  // MULTI_NETWORK_VARIABLE_BATCH_SIZE (8).
  return type <= 29 && type != 7 && type != 8;
}

struct Context {
  const Features& features;
  const CoreOpView& core_op;
  std::uint32_t hw_arch = 0;
};

std::uint32_t max_periph_bytes(std::uint32_t hw_arch) {
  // Hailo-8 family 64 KiB inbound stream; Hailo-10/15 8 KiB periph buffers.
  return (hw_arch <= 3) ? 0x10000U : 0x2000U;
}

Result<Type> format_type(std::uint32_t data_bytes, const std::string& layer) {
  if (data_bytes == 1) return Type::kUint8;
  if (data_bytes == 2) return Type::kUint16;
  return fail(ErrorCode::kInvalidFormat, "edge layer '{}' has {} data bytes (expected 1 or 2)",
              layer, data_bytes);
}

std::uint64_t product(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  // Inputs are at most 2^32 each; saturate instead of wrapping.
  const std::uint64_t ab = a * b;
  if (b != 0 && ab / b != a) return std::numeric_limits<std::uint32_t>::max();
  if (c != 0 && ab > std::numeric_limits<std::uint64_t>::max() / c) {
    return std::numeric_limits<std::uint32_t>::max();
  }
  return ab * c;
}

std::uint32_t clamp32(std::uint64_t v) {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(v, 0xFFFFFFFFU));
}

VStreamInfo vstream_of(const Layer& layer) {
  VStreamInfo v;
  v.name = layer.name;
  v.network_name = layer.network_name;
  v.is_input = layer.is_input;
  const int order = host_order(layer.order);
  v.order = order_name(order);
  v.qp_zp = layer.qp_zp;
  v.qp_scale = layer.qp_scale;
  v.limvals_min = layer.limvals_min;
  v.limvals_max = layer.limvals_max;
  if (is_nms_order(order)) {
    // NMS on a vstream is always FLOAT32: per class a count then 5 floats per box.
    v.type = type_name(Type::kFloat32);
    NmsShape shape;
    shape.number_of_classes = layer.nms_classes;
    shape.max_bboxes_per_class = clamp32(std::uint64_t{layer.nms_max_bboxes} * layer.nms_chunks);
    v.nms = shape;
    v.frame_size = clamp32(
        product(1 + 5 * std::uint64_t{shape.max_bboxes_per_class}, shape.number_of_classes, 4));
  } else {
    v.type = type_name(layer.type);
    v.height = layer.height;
    v.width = layer.width;
    v.features = layer.features;
    v.frame_size = clamp32(
        product(product(layer.height, layer.width, layer.features), 1, type_bytes(layer.type)));
  }
  return v;
}

StreamInfo stream_of(const Layer& layer) {
  StreamInfo s;
  s.name = layer.name;
  s.is_input = layer.is_input;
  s.type = type_name(layer.type);
  s.order = order_name(layer.order);
  s.hw_height = layer.hw_height;
  s.hw_width = layer.hw_width;
  s.hw_features = layer.hw_features;
  if (layer.order == kNmsOnChip) {
    s.is_nms = true;
    // Per class a 16-bit count and the boxes; no burst mode assumed.
    const std::uint64_t per_class =
        2 + std::uint64_t{layer.nms_bbox_size} * std::max<std::uint32_t>(1, layer.nms_max_bboxes);
    s.hw_frame_size =
        clamp32(product(per_class, layer.nms_classes, layer.nms_chunks) + layer.nms_bbox_size);
  } else {
    const std::uint64_t raw = product(product(layer.hw_height, layer.hw_width, layer.hw_features),
                                      1, type_bytes(layer.type));
    s.hw_frame_size = clamp32((raw + 7) / 8 * 8);
  }
  return s;
}

// Fills the parts common to info and mux layers (HailoRT's fill_layer_info_with_base_info).
Status fill_base(const pb::EdgeLayerBase& base, bool transposed, bool is_mux_part, Context& ctx,
                 Layer& layer) {
  layer.order = device_order(base.format());
  if (layer.order == kInvalidOrder) {
    return fail(ErrorCode::kInvalidFormat, "edge layer '{}' has an unknown format code {}",
                layer.name, base.format());
  }
  if (layer.order != kNmsOnChip) {
    layer.height = base.height();
    layer.width = base.width();
    layer.features = base.features();
  } else {
    const auto& nms = base.additional_info().nms_info();
    layer.height = clamp32(nms.number_of_classes());
    layer.width = 5;
    layer.features = clamp32(product(nms.max_output_size(), nms.input_division_factor(), 1));
    layer.nms_classes = clamp32(nms.number_of_classes());
    layer.nms_max_bboxes = clamp32(nms.max_output_size());
    layer.nms_chunks = nms.input_division_factor() == 0 ? 1 : clamp32(nms.input_division_factor());
    layer.nms_bbox_size = clamp32(nms.bbox_size());
    layer.defused_nms = nms.is_defused();
    layer.defused_original_name = nms.defuse_info().original_name();
  }
  if ((ctx.core_op.metadata->transposed_net() || transposed) && layer.order != kNc) {
    std::swap(layer.height, layer.width);
  }
  if (base.host_argmax()) {
    return fail(ErrorCode::kUnsupported,
                "edge layer '{}' uses the legacy host argmax, which HailoRT no longer runs; "
                "recompile with a current Dataflow Compiler",
                layer.name);
  }
  HDEPLOY_ASSIGN_OR_RETURN(layer.type, format_type(base.data_bytes(), layer.name));

  // HailoRT transfers NHCW layers unpadded when the layer allows it ("core hw padding").
  bool hw_padding = false;
  if (!is_mux_part && !ctx.features.hw_padding_in_dfc && layer.order == kNhcw) {
    std::uint32_t h = layer.height;
    std::uint32_t w = layer.width;
    if (ctx.core_op.metadata->transposed_net() || transposed) std::swap(h, w);
    std::uint32_t max_periph = max_periph_bytes(ctx.hw_arch);
    if (base.max_shmifo_size() != 0) max_periph = std::min(max_periph, base.max_shmifo_size());
    const std::uint64_t row = std::uint64_t{w} * layer.features;
    hw_padding = base.core_buffers_per_frame() == h && row % 8 == 0 &&
                 row * type_bytes(layer.type) <= std::uint64_t{max_periph} - 1;
  }
  if (hw_padding) {
    layer.hw_height = base.height();
    layer.hw_width = base.width();
    layer.hw_features = base.features();
  } else {
    layer.hw_height = base.padded_height();
    layer.hw_width = base.padded_width();
    layer.hw_features = base.padded_features();
  }
  return {};
}

Result<Layer> layer_from_info(const pb::EdgeLayerInfo& info, bool is_input,
                              const std::string& network_name, bool is_mux_part, Context& ctx);
Result<Layer> layer_from_mux(const pb::EdgeLayerMux& mux, bool is_input,
                             const std::string& network_name, Context& ctx);

Status add_predecessors(const RepeatedPtrField<pb::Edge>& edges, bool is_input,
                        const std::string& network_name, Context& ctx, Layer& parent, int depth) {
  if (depth > 16) {
    return fail(ErrorCode::kInvalidFormat, "edge layer '{}' nests muxes too deeply", parent.name);
  }
  for (const auto& edge : edges) {
    if (edge.has_layer_info()) {
      HDEPLOY_ASSIGN_OR_RETURN(
          Layer child, layer_from_info(edge.layer_info(), is_input, network_name, true, ctx));
      parent.vstreams.insert(parent.vstreams.end(), child.vstreams.begin(), child.vstreams.end());
    } else if (edge.has_layer_mux()) {
      HDEPLOY_ASSIGN_OR_RETURN(Layer child,
                               layer_from_mux(edge.layer_mux(), is_input, network_name, ctx));
      parent.vstreams.insert(parent.vstreams.end(), child.vstreams.begin(), child.vstreams.end());
    } else {
      return fail(ErrorCode::kInvalidFormat, "mux layer '{}' has a predecessor of unknown kind",
                  parent.name);
    }
  }
  return {};
}

Result<Layer> layer_from_info(const pb::EdgeLayerInfo& info, bool is_input,
                              const std::string& network_name, bool is_mux_part, Context& ctx) {
  Layer layer;
  layer.name = info.name();
  layer.network_name = network_name;
  layer.is_input = is_input;
  layer.qp_zp = info.numeric_info().qp_zp();
  layer.qp_scale = info.numeric_info().qp_scale();
  layer.limvals_min = info.numeric_info().limvals_min();
  layer.limvals_max = info.numeric_info().limvals_max();
  HDEPLOY_TRY(fill_base(info.edge_layer_base(), info.transposed(), is_mux_part, ctx, layer));
  if (ctx.features.output_scale_by_feature && !is_input) {
    // Per-feature quantization: HailoRT reports the single qp as 0/0.
    layer.qp_zp = layer.qp_scale = layer.limvals_min = layer.limvals_max = 0;
  }
  const bool defused = ctx.core_op.fused->network_has_fused_layers() && layer.order == kNmsOnChip &&
                       layer.defused_nms;
  if (defused) {
    const pb::EdgeLayerFused* fused = nullptr;
    for (const auto& candidate : ctx.core_op.fused->fused_layers()) {
      if (candidate.layer_info().name() == layer.defused_original_name) {
        fused = &candidate;
        break;
      }
    }
    if (fused == nullptr) {
      return fail(ErrorCode::kInvalidFormat, "defused NMS layer '{}' names a missing layer '{}'",
                  layer.name, layer.defused_original_name);
    }
    Layer f;
    f.name = fused->layer_info().name();
    f.network_name = network_name;
    f.order = device_order(fused->layer_info().edge_layer_base().format());
    f.nms_classes = clamp32(fused->nms_info().number_of_classes());
    f.nms_max_bboxes = clamp32(fused->nms_info().max_output_size());
    f.nms_chunks = fused->nms_info().input_division_factor() == 0
                       ? 1
                       : clamp32(fused->nms_info().input_division_factor());
    f.qp_zp = layer.qp_zp;
    f.qp_scale = layer.qp_scale;
    f.limvals_min = layer.limvals_min;
    f.limvals_max = layer.limvals_max;
    layer.vstreams.push_back(vstream_of(f));
  } else {
    layer.vstreams.push_back(vstream_of(layer));
  }
  layer.streams.push_back(stream_of(layer));
  return layer;
}

Result<Layer> layer_from_mux(const pb::EdgeLayerMux& mux, bool is_input,
                             const std::string& network_name, Context& ctx) {
  static thread_local int depth = 0;
  Layer layer;
  layer.name = mux.name();
  layer.network_name = network_name;
  layer.is_input = is_input;
  HDEPLOY_TRY(fill_base(mux.edge_layer_base(), false, true, ctx, layer));
  ++depth;
  Status status = add_predecessors(mux.predecessors(), is_input, network_name, ctx, layer, depth);
  --depth;
  HDEPLOY_TRY(std::move(status));
  layer.streams.push_back(stream_of(layer));
  return layer;
}

Result<Layer> layer_from_planes(const pb::EdgeLayerPlanes& planes, bool is_input,
                                const std::string& network_name, Context& ctx) {
  Layer layer;
  layer.name = planes.name();
  layer.network_name = network_name;
  layer.is_input = is_input;
  static constexpr int kPlaneOrders[] = {kNv12, kNv21, kI420};
  if (planes.planes_format() > 2) {
    return fail(ErrorCode::kInvalidFormat, "planes layer '{}' has unknown planes format {}",
                layer.name, planes.planes_format());
  }
  if (planes.planes().empty()) {
    return fail(ErrorCode::kInvalidFormat, "planes layer '{}' has no planes", layer.name);
  }
  std::optional<Type> type;
  for (const auto& plane : planes.planes()) {
    if (!plane.has_layer_info()) {
      return fail(ErrorCode::kInvalidFormat, "planes layer '{}' has a plane that is not a layer",
                  layer.name);
    }
    HDEPLOY_ASSIGN_OR_RETURN(
        Layer child, layer_from_info(plane.layer_info(), is_input, network_name, false, ctx));
    if (type && *type != child.type) {
      return fail(ErrorCode::kInvalidFormat, "planes of '{}' differ in data type", layer.name);
    }
    type = child.type;
    layer.streams.insert(layer.streams.end(), child.streams.begin(), child.streams.end());
  }
  VStreamInfo v;
  v.name = layer.name;
  v.network_name = network_name;
  v.is_input = is_input;
  v.type = type_name(*type);
  v.order = order_name(kPlaneOrders[planes.planes_format()]);
  v.height = planes.height();
  v.width = planes.width();
  v.features = planes.features();
  // NV12/NV21/I420 frames are 1.5 bytes per pixel.
  v.frame_size = clamp32(product(planes.height(), planes.width(), 3) / 2 * type_bytes(*type));
  layer.vstreams.push_back(v);
  return layer;
}

std::string network_name_of(const std::string& group, const std::string& partial) {
  return group + "/" + partial;
}

Result<std::vector<Layer>> boundary_layers(const CoreOpView& core_op, Context& ctx) {
  std::vector<Layer> layers;
  for (const auto& context : *core_op.contexts) {
    for (const auto& edge : context.metadata().edge_layers()) {
      if (edge.context_switch_info().edge_connection_type() != 0) continue;  // not boundary
      const bool is_input = edge.direction() == 0;
      std::string partial;
      if (ctx.features.multi_network) {
        const std::uint32_t index = edge.network_index();
        if (index > 0xFF || static_cast<int>(index) >= core_op.networks_names->size()) {
          return fail(
              ErrorCode::kInvalidFormat, "edge layer in network group '{}' names network {} of {}",
              core_op.metadata->network_group_name(), index, core_op.networks_names->size());
        }
        partial = core_op.networks_names->Get(static_cast<int>(index));
      } else {
        partial = core_op.metadata->network_group_name();
      }
      const std::string network = network_name_of(core_op.metadata->network_group_name(), partial);
      Layer layer;
      switch (edge.edge_layer_type()) {
        case 0: {
          HDEPLOY_ASSIGN_OR_RETURN(
              layer, layer_from_info(edge.layer_info(), is_input, network, false, ctx));
          break;
        }
        case 1: {
          HDEPLOY_ASSIGN_OR_RETURN(layer, layer_from_mux(edge.layer_mux(), is_input, network, ctx));
          break;
        }
        case 2: {
          HDEPLOY_ASSIGN_OR_RETURN(layer,
                                   layer_from_planes(edge.layer_planes(), is_input, network, ctx));
          break;
        }
        default:
          return fail(ErrorCode::kInvalidFormat, "edge layer of unknown type {}",
                      edge.edge_layer_type());
      }
      if (edge.has_pad_index()) layer.pad_index = edge.pad_index();
      layers.push_back(std::move(layer));
    }
  }
  return layers;
}

const char* nms_type(const pb::NmsOp& nms) {
  switch (nms.nms_op_case()) {
    case pb::NmsOp::kYoloNmsOp:
      return "YOLOV5";
    case pb::NmsOp::kYoloxNmsOp:
      return "YOLOX";
    case pb::NmsOp::kSsdNmsOp:
      return "SSD";
    case pb::NmsOp::kIouOp:
      return "IOU";
    case pb::NmsOp::kYoloSegOp:
      return "YOLOV5SEG";
    case pb::NmsOp::kYolov8NmsOp:
      return "YOLOV8";
    default:
      return "Nan";
  }
}

const char* nms_op_name(const pb::NmsOp& nms) {
  const bool bbox_only = nms.bbox_decoding_only();
  switch (nms.nms_op_case()) {
    case pb::NmsOp::kYoloNmsOp:
      return bbox_only ? "YOLOv5Bbox-Only-Post-Process" : "YOLOv5-Post-Process";
    case pb::NmsOp::kYoloxNmsOp:
      return "YOLOX-Post-Process";
    case pb::NmsOp::kSsdNmsOp:
      return "SSD-Post-Process";
    case pb::NmsOp::kIouOp:
      return "IoU-Post-Process";
    case pb::NmsOp::kYoloSegOp:
      return "YOLOv5Seg-Post-Process";
    case pb::NmsOp::kYolov8NmsOp:
      return bbox_only ? "YOLOv8Bbox-Only-Post-Process" : "YOLOV8-Post-Process";
    default:
      return "Unknown-Post-Process";
  }
}

Result<GroupResult> build_group(const pb::NetworkGroup& group, const Features& features,
                                std::uint32_t hw_arch) {
  // The core op: an op of the group for net-flow files, else the group itself.
  CoreOpView core_op;
  if (features.net_flow) {
    const pb::Op* core = nullptr;
    for (const auto& op : group.ops()) {
      if (op.has_core_op()) {
        core = &op;
        break;
      }
    }
    if (core == nullptr) {
      return fail(ErrorCode::kInvalidFormat, "network group '{}' has no core op",
                  group.network_group_metadata().network_group_name());
    }
    core_op = view_of(core->core_op());
    for (const auto& partial : core->core_op().partial_core_ops()) {
      core_op.partials.push_back(view_of(partial.core_op()));
    }
  } else {
    core_op = view_of(group);
    for (const auto& partial : group.partial_network_groups()) {
      core_op.partials.push_back(view_of(partial.network_group()));
    }
  }
  const bool multi_layout = hw_arch == 3 || hw_arch == 4;  // HAILO8L, HAILO15M
  if (multi_layout && core_op.partials.empty()) {
    return fail(ErrorCode::kInvalidFormat,
                "network group '{}' of a multi-layout arch has no partial layouts",
                core_op.metadata->network_group_name());
  }
  // HailoRT reports any layout; the first one is what it picks on a matching device.
  const CoreOpView& chosen = multi_layout ? core_op.partials.front() : core_op;

  const std::string group_name = group.partial_network_groups().empty()
                                     ? group.network_group_metadata().network_group_name()
                                     : group.partial_network_groups(0)
                                           .network_group()
                                           .network_group_metadata()
                                           .network_group_name();
  GroupResult result;
  NetworkGroupInfo& info = result.info;
  info.name = chosen.metadata->network_group_name();
  info.contexts = static_cast<std::uint32_t>(chosen.contexts->size());
  info.multi_context = info.contexts > 1;
  info.bottleneck_fps = chosen.metadata->bottleneck_fps();
  info.latency = chosen.metadata->latency();
  if (chosen.contexts->empty()) {
    return fail(ErrorCode::kInvalidFormat, "network group '{}' has no contexts", info.name);
  }

  // Network names (HailoRT's sorted network names).
  if (features.multi_network) {
    if (!group.networks_names().empty()) {
      for (const auto& n : *core_op.networks_names) {
        info.networks.push_back(network_name_of(group_name, n));
      }
    } else if (!group.partial_network_groups().empty()) {
      for (const auto& n : group.partial_network_groups(0).network_group().networks_names()) {
        info.networks.push_back(network_name_of(group_name, n));
      }
    }
  }
  result.default_network = network_name_of(group_name, group_name);
  if (info.networks.empty()) info.networks.push_back(result.default_network);

  Context ctx{features, chosen, hw_arch};
  HDEPLOY_ASSIGN_OR_RETURN(result.layers, boundary_layers(chosen, ctx));

  // Sorted output order.
  std::vector<std::string> sorted;
  if (core_op.fused->network_has_fused_layers()) {
    sorted.assign(core_op.fused->updated_sorted_output_names().begin(),
                  core_op.fused->updated_sorted_output_names().end());
  } else if (!features.net_flow && !group.partial_network_groups().empty() &&
             !group.partial_network_groups(0).network_group().sorted_outputs_order().empty()) {
    const auto& names = group.partial_network_groups(0).network_group().sorted_outputs_order();
    sorted.assign(names.begin(), names.end());
  } else if (!group.sorted_outputs_order().empty()) {
    sorted.assign(group.sorted_outputs_order().begin(), group.sorted_outputs_order().end());
  } else {
    const CoreOpView& source = core_op.contexts->empty() ? chosen : core_op;
    const auto& names = source.contexts->rbegin()->metadata().sorted_outputs_order();
    if (names.empty()) {
      return fail(ErrorCode::kInvalidFormat,
                  "network group '{}' does not state its sorted output order", info.name);
    }
    sorted.assign(names.begin(), names.end());
  }

  // Post-process ops that run on the host (net-flow files on single-layout archs).
  std::set<std::string> consumed;  // core outputs an op replaces
  std::vector<VStreamInfo> op_outputs;
  if (features.net_flow) {
    std::map<std::uint32_t, std::uint32_t> dst_to_src;
    for (const auto& edge : group.pad_edges()) dst_to_src[edge.dst()] = edge.src();
    std::map<std::uint32_t, const Layer*> pad_to_layer;
    for (const auto& layer : result.layers) {
      if (!layer.is_input && layer.pad_index) pad_to_layer[*layer.pad_index] = &layer;
    }
    for (const auto& op : group.ops()) {
      if (!op.has_nms_op() && !op.has_logits_op()) continue;
      PostProcessOp pp;
      for (const auto& pad : op.input_pads()) {
        auto src = dst_to_src.find(pad.index());
        if (src == dst_to_src.end() || pad_to_layer.count(src->second) == 0) {
          return fail(ErrorCode::kInvalidFormat,
                      "post-process op '{}' is not connected to a core output", op.name());
        }
        pp.input_streams.push_back(pad_to_layer[src->second]->name);
      }
      if (op.output_pads().empty()) {
        return fail(ErrorCode::kInvalidFormat, "post-process op '{}' has no output", op.name());
      }
      if (op.has_nms_op()) {
        const auto& nms = op.nms_op();
        pp.type = nms_type(nms);
        pp.name = nms_op_name(nms);
        pp.score_threshold = nms.nms_score_th();
        pp.iou_threshold = nms.nms_iou_th();
        pp.classes = nms.classes();
        pp.max_proposals_per_class = nms.max_proposals_per_class();
        pp.background_removal = nms.background_removal();
        pp.background_removal_index = nms.background_removal_index();
        pp.bbox_decoding_only = nms.bbox_decoding_only();
        pp.description = fmt::format(
            "Op {}, Name: {}, Score threshold: {:.3f}, IoU threshold: {:.2f}, Classes: {}, "
            "Cross classes: false, NMS results order: BY_CLASS, Max bboxes per class: {}",
            pp.type, pp.name, static_cast<float>(pp.score_threshold),
            static_cast<float>(pp.iou_threshold), pp.classes, pp.max_proposals_per_class);
        if (pp.background_removal) {
          pp.description +=
              fmt::format(", Background removal index: {}", pp.background_removal_index);
        }
        if (!pp.bbox_decoding_only) {
          VStreamInfo v;
          v.name = op.output_pads(0).name();
          v.network_name = result.default_network;
          v.type = "FLOAT32";
          v.order = order_name(kNmsByClass);
          NmsShape shape;
          shape.number_of_classes = pp.classes - (pp.background_removal && pp.classes > 0 ? 1 : 0);
          shape.max_bboxes_per_class = pp.max_proposals_per_class;
          v.nms = shape;
          v.frame_size = clamp32(product(1 + 5 * std::uint64_t{shape.max_bboxes_per_class},
                                         shape.number_of_classes, 4));
          // HailoRT reports a float output: zero point 0, scale 1.
          v.qp_zp = 0.0F;
          v.qp_scale = 1.0F;
          op_outputs.push_back(std::move(v));
          consumed.insert(pp.input_streams.begin(), pp.input_streams.end());
        }
      } else {
        pp.type = op.logits_op().logits_type() == 0 ? "ARGMAX" : "SOFTMAX";
        pp.name =
            op.logits_op().logits_type() == 0 ? "Argmax-Post-Process" : "Softmax-Post-Process";
        pp.description = fmt::format("Op {}, Name: {}", pp.type, pp.name);
      }
      info.ops.push_back(std::move(pp));
    }
  }

  for (const auto& layer : result.layers) {
    auto& streams = layer.is_input ? info.input_streams : info.output_streams;
    streams.insert(streams.end(), layer.streams.begin(), layer.streams.end());
    if (layer.is_input) {
      info.inputs.insert(info.inputs.end(), layer.vstreams.begin(), layer.vstreams.end());
      continue;
    }
    if (consumed.count(layer.name) != 0) continue;
    for (const auto& v : layer.vstreams) {
      const bool seen = std::any_of(info.outputs.begin(), info.outputs.end(),
                                    [&](const VStreamInfo& o) { return o.name == v.name; });
      if (!seen) info.outputs.push_back(v);
    }
  }
  info.outputs.insert(info.outputs.end(), op_outputs.begin(), op_outputs.end());
  auto rank = [&sorted](const std::string& name) {
    return static_cast<std::size_t>(std::find(sorted.begin(), sorted.end(), name) - sorted.begin());
  };
  std::stable_sort(
      info.outputs.begin(), info.outputs.end(),
      [&](const VStreamInfo& a, const VStreamInfo& b) { return rank(a.name) < rank(b.name); });
  if (info.inputs.empty() || info.outputs.empty()) {
    return fail(ErrorCode::kInvalidFormat, "network group '{}' has no {} layers", info.name,
                info.inputs.empty() ? "input" : "output");
  }
  return result;
}

}  // namespace

Result<HefInfo> build_hef_info(const pb::Hef& message, const HefHeader& header) {
  HefInfo info;
  info.header = header;
  info.proto_header = to_proto_header(message.header());

  Features features;
  const bool has_extensions = message.header().version() > 0;
  if (has_extensions) {
    features.net_flow = has_extension(message.extensions(), kExtNetFlow);
    features.output_scale_by_feature =
        has_extension(message.extensions(), kExtOutputScalePerFeature);
    features.multi_network =
        has_extension(message.optional_extensions(), kExtMultiNetworkVariableBatch);
    features.hw_padding_in_dfc = has_extension(message.optional_extensions(), kExtHwPadding);
  }
  for (const auto& e : message.extensions()) {
    info.extensions.push_back(
        {e.type_index(), e.name(), extension_supported_by_4_20(e.type_index())});
  }
  for (const auto& e : message.optional_extensions()) {
    info.optional_extensions.push_back({e.type_index(), e.name(), true});
  }
  if (message.network_groups().empty()) {
    return fail(ErrorCode::kInvalidFormat, "the HEF metadata has no network groups");
  }

  std::vector<GroupResult> groups;
  for (const auto& group : message.network_groups()) {
    HDEPLOY_ASSIGN_OR_RETURN(GroupResult g,
                             build_group(group, features, message.header().hw_arch()));
    for (const auto& existing : groups) {
      if (existing.info.name == g.info.name) {
        return fail(ErrorCode::kInvalidFormat, "network group '{}' appears twice", g.info.name);
      }
    }
    groups.push_back(std::move(g));
  }
  std::sort(groups.begin(), groups.end(),
            [](const GroupResult& a, const GroupResult& b) { return a.info.name < b.info.name; });
  info.description = describe(info.proto_header.arch, groups);
  for (auto& g : groups) info.network_groups.push_back(std::move(g.info));
  return info;
}

}  // namespace hdeploy::hef

#pragma once
// Internal to the hef module: from the decoded protobuf to HefInfo.

#include "hdeploy/hef/hef_reader.hpp"
#include "hef_subset.pb.h"

namespace hdeploy::hef {

HefProtoHeader to_proto_header(const pb::Header& header);

// Derives network groups, streams, vstreams and post-process ops as HailoRT 4.20 does, and the
// parse-hef description. Errors: kInvalidFormat (metadata that contradicts itself).
Result<HefInfo> build_hef_info(const pb::Hef& message, const HefHeader& header);

}  // namespace hdeploy::hef

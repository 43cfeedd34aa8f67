#include "hdeploy/core/result.hpp"

namespace hdeploy {

const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kUsage:
      return "usage error";
    case ErrorCode::kInvalidArgument:
      return "invalid argument";
    case ErrorCode::kNotFound:
      return "not found";
    case ErrorCode::kAlreadyExists:
      return "already exists";
    case ErrorCode::kIo:
      return "i/o error";
    case ErrorCode::kInvalidFormat:
      return "invalid format";
    case ErrorCode::kUnsupported:
      return "unsupported";
    case ErrorCode::kFailed:
      return "failed";
    case ErrorCode::kInternal:
      return "internal error";
  }
  return "unknown";
}

}  // namespace hdeploy

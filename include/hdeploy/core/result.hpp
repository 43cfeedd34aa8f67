#pragma once
// Result<T> and Status: hdeploy's error channel. Nothing throws across the library API; every
// fallible function returns one of these. Member names follow std::expected (C++23), which
// GCC 12 does not have.

#include <fmt/format.h>

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace hdeploy {

// What kind of failure. cli/main.cpp maps kUsage to exit 2 and every other code to 1.
enum class ErrorCode {
  kUsage,            // the command line is wrong (a flag or argument combination); cli/ only
  kInvalidArgument,  // a value given to a library function is wrong
  kNotFound,         // a file, model or label does not exist
  kAlreadyExists,    // an output exists and --force was not given
  kIo,               // reading or writing failed (permissions, disk, truncated file)
  kInvalidFormat,    // a file is not what it claims to be (corrupt ONNX, image, npy, TOML)
  kUnsupported,      // valid input hdeploy (or a backend) cannot handle
  kFailed,           // a check ran and did not pass, or an external tool failed
  kInternal,         // a bug in hdeploy
};

const char* to_string(ErrorCode code);

// An error: a code and one line for the user that names the file and what to do.
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

template <typename... Args>
Error make_error(ErrorCode code, fmt::format_string<Args...> format, Args&&... args) {
  return Error{code, fmt::format(format, std::forward<Args>(args)...)};
}

// Tag type so that `return unexpected(err)` reads like std::expected code.
struct Unexpected {
  Error error;
};
inline Unexpected unexpected(Error error) { return Unexpected{std::move(error)}; }
template <typename... Args>
Unexpected fail(ErrorCode code, fmt::format_string<Args...> format, Args&&... args) {
  return Unexpected{make_error(code, format, std::forward<Args>(args)...)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : storage_(std::in_place_index<0>, std::move(value)) {}         // NOLINT
  Result(Unexpected u) : storage_(std::in_place_index<1>, std::move(u.error)) {}  // NOLINT

  bool has_value() const { return storage_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(storage_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(storage_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(storage_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& {
    assert(!has_value());
    return std::get<1>(storage_);
  }
  Error&& error() && {
    assert(!has_value());
    return std::get<1>(std::move(storage_));
  }

  template <typename U>
  T value_or(U&& fallback) const& {
    return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, Error> storage_;
};

// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Unexpected u) : error_(std::move(u.error)) {}  // NOLINT

  bool has_value() const { return !error_.has_value(); }
  explicit operator bool() const { return has_value(); }
  void value() const { assert(has_value()); }
  const Error& error() const& {
    assert(!has_value());
    return *error_;
  }
  Error&& error() && {
    assert(!has_value());
    return std::move(*error_);
  }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

}  // namespace hdeploy

// Propagates an error from a Result-returning expression; `HDEPLOY_TRY(x)` in a function that
// returns any Result<U>.
#define HDEPLOY_TRY(expr)                                                   \
  do {                                                                      \
    auto&& hdeploy_try_result_ = (expr);                                    \
    if (!hdeploy_try_result_) {                                             \
      return ::hdeploy::unexpected(std::move(hdeploy_try_result_).error()); \
    }                                                                       \
  } while (false)

// Binds the value of a Result-returning expression to `lhs`, or propagates its error.
#define HDEPLOY_CONCAT_INNER_(a, b) a##b
#define HDEPLOY_CONCAT_(a, b) HDEPLOY_CONCAT_INNER_(a, b)
#define HDEPLOY_ASSIGN_OR_RETURN(lhs, expr) \
  HDEPLOY_ASSIGN_OR_RETURN_IMPL_(HDEPLOY_CONCAT_(hdeploy_result_, __LINE__), lhs, expr)
#define HDEPLOY_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)    \
  auto tmp = (expr);                                      \
  if (!tmp) {                                             \
    return ::hdeploy::unexpected(std::move(tmp).error()); \
  }                                                       \
  lhs = std::move(tmp).value()

// Status and Result<T>: how georep's C++ code reports failure.
//
// A Status carries a Code that tells the caller what to do next, not just what
// went wrong (after abseil's canonical codes):
//   kUnavailable        transient: retry the same call after a backoff
//   kAborted            the larger unit (batch, connection) must be redone
//   kFailedPrecondition do not retry until an operator fixes the state
//   kInvalidArgument    the input is wrong; retrying will not help
//   kNotFound           the named object does not exist
//   kAlreadyExists      the named object exists already
//   kCorruption         stored or received bytes fail their checks
//   kResourceExhausted  out of space, memory or a configured cap
//   kPermissionDenied   the account lacks the right to do this
//   kIOError            any other I/O failure
// No exceptions cross threads or the C boundary: functions that can fail return
// Status or Result<T>, both [[nodiscard]].
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace georep {

enum class Code : int {
  kOk = 0,
  kUnavailable,
  kAborted,
  kFailedPrecondition,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kCorruption,
  kResourceExhausted,
  kPermissionDenied,
  kIOError,
};

const char* CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  // Builds a Status from an errno value through the one errno table
  // (ErrnoToCode); `context` says what was being done ("open /x/y").
  static Status FromErrno(int err, const std::string& context);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // The errno this status came from, 0 if none.
  int err() const { return errno_; }
  // True when retrying the same call later may succeed.
  bool retryable() const { return code_ == Code::kUnavailable || code_ == Code::kAborted; }
  // "CODE: message", for logs and for status output.
  std::string ToString() const;
  // Prefixes the message with more context, keeping code and errno.
  Status Annotate(const std::string& context) const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
  int errno_ = 0;
};

// The single errno -> Code table used everywhere.
Code ErrnoToCode(int err);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}             // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}      // NOLINT: must not be ok()

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace georep

// Propagates a non-ok Status out of the current function.
#define GEOREP_RETURN_IF_ERROR(expr)           \
  do {                                         \
    ::georep::Status _st = (expr);             \
    if (!_st.ok()) return _st;                 \
  } while (0)

#include "common/status.h"

#include <cstring>

namespace georep {

const char* CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kUnavailable: return "UNAVAILABLE";
    case Code::kAborted: return "ABORTED";
    case Code::kFailedPrecondition: return "FAILED_PRECONDITION";
    case Code::kInvalidArgument: return "INVALID_ARGUMENT";
    case Code::kNotFound: return "NOT_FOUND";
    case Code::kAlreadyExists: return "ALREADY_EXISTS";
    case Code::kCorruption: return "CORRUPTION";
    case Code::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case Code::kPermissionDenied: return "PERMISSION_DENIED";
    case Code::kIOError: return "IO_ERROR";
  }
  return "UNKNOWN";
}

Code ErrnoToCode(int err) {
  switch (err) {
    case 0: return Code::kOk;
    case EAGAIN: case EINTR: case EBUSY: case ETIMEDOUT: case ECONNREFUSED:
    case ECONNRESET: case ECONNABORTED: case ENOTCONN: case EHOSTUNREACH:
    case ENETUNREACH: case ENETDOWN: case EPIPE: case ESTALE:
      return Code::kUnavailable;
    case ENOENT: case ENODATA: case ENXIO: case ESRCH:
      return Code::kNotFound;
    case EEXIST: case ENOTEMPTY:
      return Code::kAlreadyExists;
    case EINVAL: case ENAMETOOLONG: case EBADF: case ENOTDIR: case EISDIR:
    case ELOOP: case ERANGE: case E2BIG: case EOVERFLOW:
      return Code::kInvalidArgument;
    case EACCES: case EPERM:
      return Code::kPermissionDenied;
    case ENOSPC: case EDQUOT: case ENOMEM: case EMFILE: case ENFILE: case EFBIG:
      return Code::kResourceExhausted;
    case EROFS: case ENOTSUP: case ENODEV:
      return Code::kFailedPrecondition;
    case EBADMSG: case EILSEQ:
      return Code::kCorruption;
    default:
      return Code::kIOError;
  }
}

Status Status::FromErrno(int err, const std::string& context) {
  Status s(ErrnoToCode(err), context + ": " + std::strerror(err));
  s.errno_ = err;
  return s;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(code_)) + ": " + message_;
}

Status Status::Annotate(const std::string& context) const {
  if (ok()) return *this;
  Status s(code_, context + ": " + message_);
  s.errno_ = errno_;
  return s;
}

}  // namespace georep

// journal_capi.h on top of journal::JournalWriter. Everything that crosses
// the C boundary is caught here: the brick process is C and must never see a
// C++ exception.
#include "xlator/journal_capi.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include "common/status.h"
#include "journal/record.h"
#include "journal/writer.h"

namespace {

using georep::Code;
using georep::Status;
using georep::journal::FsyncPolicy;
using georep::journal::JournalWriter;
using georep::journal::Op;
using georep::journal::Origin;
using georep::journal::Record;
using georep::journal::WriterOptions;

// An errno for a Status without one (the errno table maps the other way).
int ErrnoOf(const Status& st) {
  if (st.err() != 0) return st.err();
  switch (st.code()) {
    case Code::kOk: return 0;
    case Code::kUnavailable: return EAGAIN;
    case Code::kAborted: return ECANCELED;
    case Code::kFailedPrecondition: return EPERM;
    case Code::kInvalidArgument: return EINVAL;
    case Code::kNotFound: return ENOENT;
    case Code::kAlreadyExists: return EEXIST;
    case Code::kCorruption: return EBADMSG;
    case Code::kResourceExhausted: return ENOSPC;
    case Code::kPermissionDenied: return EACCES;
    case Code::kIOError: return EIO;
  }
  return EIO;
}

void SetErr(char* err, size_t err_len, const std::string& msg) {
  if (err == nullptr || err_len == 0) return;
  std::snprintf(err, err_len, "%s", msg.c_str());
}

bool IsInternalOrigin(uint8_t origin) {
  return origin == GEOREP_ORIGIN_REBALANCE || origin == GEOREP_ORIGIN_SELF_HEAL ||
         origin == GEOREP_ORIGIN_OTHER_INTERNAL;
}

// Checks and converts the C options; on error returns the message.
bool ToWriterOptions(const georep_journal_options* in, WriterOptions* out, std::string* why) {
  if (in == nullptr) {
    *why = "no options given";
    return false;
  }
  if (in->brick_path == nullptr || in->brick_path[0] != '/') {
    *why = "brick_path must be an absolute path";
    return false;
  }
  if (in->segment_size == 0) {
    *why = "segment_size must be greater than 0";
    return false;
  }
  switch (in->fsync_policy) {
    case GEOREP_FSYNC_NEVER: out->fsync = FsyncPolicy::kNever; break;
    case GEOREP_FSYNC_INTERVAL: out->fsync = FsyncPolicy::kInterval; break;
    case GEOREP_FSYNC_ALWAYS: out->fsync = FsyncPolicy::kAlways; break;
    default:
      *why = "unknown fsync policy " + std::to_string(in->fsync_policy);
      return false;
  }
  if (in->fsync_policy == GEOREP_FSYNC_INTERVAL && in->fsync_interval_ms == 0) {
    *why = "fsync_interval_ms must be at least 1 with the interval policy";
    return false;
  }
  out->brick_path = in->brick_path;
  out->brick_id = in->brick_id != nullptr ? in->brick_id : "";
  out->segment_size = in->segment_size;
  out->max_journal_size = in->max_journal_size;
  out->fsync_interval_ms = in->fsync_interval_ms;
  return true;
}

Record ToRecord(const georep_event& ev) {
  Record r;
  r.op = static_cast<Op>(ev.op);
  r.origin = static_cast<Origin>(ev.origin);
  r.flags = ev.flags;
  std::memcpy(r.gfid.data(), ev.gfid, 16);
  std::memcpy(r.pargfid.data(), ev.pargfid, 16);
  std::memcpy(r.pargfid2.data(), ev.pargfid2, 16);
  std::memcpy(r.gfid2.data(), ev.gfid2, 16);
  if (ev.name != nullptr) r.name = ev.name;
  if (ev.name2 != nullptr) r.name2 = ev.name2;
  if (ev.target != nullptr) r.target = ev.target;
  if (ev.xattr_names != nullptr && ev.xattr_names_len > 0) {
    // The glue terminates every key; the record keeps them '\0'-separated
    // without the trailing terminator.
    size_t len = ev.xattr_names_len;
    if (ev.xattr_names[len - 1] == '\0') --len;
    r.xattr_names.assign(ev.xattr_names, len);
  }
  r.mode = ev.mode;
  r.uid = ev.uid;
  r.gid = ev.gid;
  r.rdev = ev.rdev;
  r.offset = ev.offset;
  r.length = ev.length;
  r.attr_mask = ev.attr_mask;
  r.aux = ev.aux;
  r.atime_ns = ev.atime_ns;
  r.mtime_ns = ev.mtime_ns;
  return r;
}

bool ValidOp(uint8_t op) { return op >= GEOREP_OP_CREATE && op <= GEOREP_OP_REMOVEXATTR; }
bool ValidOrigin(uint8_t o) { return o <= GEOREP_ORIGIN_OTHER_INTERNAL; }

}  // namespace

struct georep_journal {
  std::unique_ptr<JournalWriter> writer;
  std::atomic<int> record_internal{1};
};

extern "C" int georep_journal_open(const georep_journal_options* options, georep_journal_t** out,
                                   char* err, size_t err_len) {
  if (out == nullptr) return -EINVAL;
  *out = nullptr;
  try {
    WriterOptions wo;
    std::string why;
    if (!ToWriterOptions(options, &wo, &why)) {
      SetErr(err, err_len, why);
      return -EINVAL;
    }
    if (options->on_warning != nullptr) {
      // Copies of the pointer and cookie: the C options struct need not
      // outlive this call. The C function cannot throw, and c_str() does not.
      georep_journal_warning_fn fn = options->on_warning;
      void* cookie = options->warning_cookie;
      wo.on_warning = [fn, cookie](const std::string& message) noexcept {
        fn(cookie, message.c_str());
      };
    }
    auto writer = JournalWriter::Open(wo);
    if (!writer.ok()) {
      SetErr(err, err_len, writer.status().ToString());
      return -ErrnoOf(writer.status());
    }
    auto j = std::make_unique<georep_journal>();
    j->writer = std::move(writer.value());
    j->record_internal.store(options->record_internal ? 1 : 0);
    *out = j.release();
    return 0;
  } catch (const std::bad_alloc&) {
    SetErr(err, err_len, "out of memory");
    return -ENOMEM;
  } catch (const std::exception& e) {
    SetErr(err, err_len, std::string("unexpected error: ") + e.what());
    return -EIO;
  } catch (...) {
    SetErr(err, err_len, "unexpected error");
    return -EIO;
  }
}

extern "C" int georep_journal_append(georep_journal_t* j, const georep_event* ev) {
  if (j == nullptr || ev == nullptr || !j->writer) return -EINVAL;
  if (!ValidOp(ev->op) || !ValidOrigin(ev->origin)) return -EINVAL;
  if (IsInternalOrigin(ev->origin) && j->record_internal.load(std::memory_order_relaxed) == 0)
    return 0;
  try {
    Record r = ToRecord(*ev);
    Status st = j->writer->Append(&r);
    return st.ok() ? 0 : -ErrnoOf(st);
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  } catch (...) {
    return -EIO;
  }
}

extern "C" int georep_journal_reconfigure(georep_journal_t* j,
                                          const georep_journal_options* options, char* err,
                                          size_t err_len) {
  if (j == nullptr || !j->writer) return -EINVAL;
  try {
    WriterOptions wo;
    std::string why;
    if (!ToWriterOptions(options, &wo, &why)) {
      SetErr(err, err_len, why);
      return -EINVAL;
    }
    Status st = j->writer->Reconfigure(wo);
    if (!st.ok()) {
      SetErr(err, err_len, st.ToString());
      return -ErrnoOf(st);
    }
    j->record_internal.store(options->record_internal ? 1 : 0);
    return 0;
  } catch (const std::bad_alloc&) {
    SetErr(err, err_len, "out of memory");
    return -ENOMEM;
  } catch (...) {
    SetErr(err, err_len, "unexpected error");
    return -EIO;
  }
}

extern "C" int georep_journal_stats(georep_journal_t* j, struct georep_journal_stats* out) {
  if (j == nullptr || out == nullptr || !j->writer) return -EINVAL;
  try {
    auto s = j->writer->Stats();
    out->next_seq = s.next_seq;
    out->records = s.records;
    out->append_errors = s.append_errors;
    out->segments = s.segments;
    out->bytes = s.bytes;
    return 0;
  } catch (...) {
    return -EIO;
  }
}

extern "C" void georep_journal_close(georep_journal_t* j) {
  if (j == nullptr) return;
  try {
    if (j->writer) {
      // Close flushes and syncs; a failure here cannot be reported to
      // anyone (fini has no return value) and the records are already in
      // the kernel, so the status is deliberately dropped.
      (void)j->writer->Close();
    }
  } catch (...) {
  }
  delete j;
}

#include "sync/protocol/codec.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <type_traits>

#include "common/crc32c.h"

namespace georep::protocol {

// The variants' alternative order is the wire numbering.
static_assert(std::variant_size_v<Op> == kMaxOpType);
static_assert(std::is_same_v<std::variant_alternative_t<0, Op>, EntryCreateOp>);
static_assert(std::is_same_v<std::variant_alternative_t<5, Op>, DataOp>);
static_assert(std::is_same_v<std::variant_alternative_t<12, Op>, RemovexattrOp>);
static_assert(std::variant_size_v<Message> == kMaxMessageType);
static_assert(std::is_same_v<std::variant_alternative_t<3, Message>, Batch>);
static_assert(std::is_same_v<std::variant_alternative_t<11, Message>, Bye>);
static_assert(std::is_same_v<std::variant_alternative_t<13, Message>, ListReply>);

namespace {

template <class>
inline constexpr bool kAlwaysFalse = false;

// ---- Encoding -------------------------------------------------------------------

// A DATA payload left out of the encoded bytes (EncodeFrameParts): it
// belongs at `offset` of the output.
struct DeferredPayload {
  size_t offset;
  const std::string* data;
};

class Writer {
 public:
  // With `deferred`, DATA payloads are recorded there instead of appended.
  explicit Writer(std::string* out, std::vector<DeferredPayload>* deferred = nullptr)
      : out_(out), deferred_(deferred) {}
  void U8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void U32(uint32_t v) {
    char b[4];
    for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
    out_->append(b, 4);
  }
  void U64(uint64_t v) {
    char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
    out_->append(b, 8);
  }
  void I32(int32_t v) { U32(static_cast<uint32_t>(v)); }
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void Id(const Gfid& g) { out_->append(reinterpret_cast<const char*>(g.data()), g.size()); }
  void Str(const std::string& s) {
    U32(static_cast<uint32_t>(s.size()));
    out_->append(s);
  }
  // A DATA op's payload: encoded as Str, or deferred.
  void Payload(const std::string& s) {
    U32(static_cast<uint32_t>(s.size()));
    if (deferred_ != nullptr) {
      deferred_->push_back({out_->size(), &s});
    } else {
      out_->append(s);
    }
  }

 private:
  std::string* out_;
  std::vector<DeferredPayload>* deferred_;
};

constexpr size_t kStrOverhead = 4;
constexpr size_t kIdSize = 16;

void EncodeOp(const Op& op, Writer* w) {
  w->U8(static_cast<uint8_t>(TypeOf(op)));
  std::visit(
      [w](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, EntryCreateOp>) {
          w->Id(o.pargfid);
          w->Str(o.name);
          w->Id(o.gfid);
          w->U32(o.mode);
          w->U32(o.uid);
          w->U32(o.gid);
          w->U64(o.rdev);
          w->Str(o.target);
        } else if constexpr (std::is_same_v<T, LinkOp>) {
          w->Id(o.gfid);
          w->Id(o.pargfid);
          w->Str(o.name);
        } else if constexpr (std::is_same_v<T, RenameOp>) {
          w->Id(o.gfid);
          w->Id(o.old_pargfid);
          w->Str(o.old_name);
          w->Id(o.new_pargfid);
          w->Str(o.new_name);
          w->Id(o.replaced_gfid);
        } else if constexpr (std::is_same_v<T, UnlinkOp> || std::is_same_v<T, RmdirOp>) {
          w->Id(o.pargfid);
          w->Str(o.name);
          w->Id(o.gfid);
        } else if constexpr (std::is_same_v<T, DataOp>) {
          w->Id(o.gfid);
          w->U64(o.offset);
          w->Payload(o.data);
        } else if constexpr (std::is_same_v<T, TruncateOp>) {
          w->Id(o.gfid);
          w->U64(o.size);
        } else if constexpr (std::is_same_v<T, PunchHoleOp> || std::is_same_v<T, ZerofillOp>) {
          w->Id(o.gfid);
          w->U64(o.offset);
          w->U64(o.length);
        } else if constexpr (std::is_same_v<T, AllocateOp>) {
          w->Id(o.gfid);
          w->U8(o.keep_size ? 1 : 0);
          w->U64(o.offset);
          w->U64(o.length);
        } else if constexpr (std::is_same_v<T, SetattrOp>) {
          w->Id(o.gfid);
          w->U32(o.mask);
          w->U32(o.mode);
          w->U32(o.uid);
          w->U32(o.gid);
          w->I64(o.atime_ns);
          w->I64(o.mtime_ns);
        } else if constexpr (std::is_same_v<T, SetxattrOp>) {
          w->Id(o.gfid);
          w->Str(o.name);
          w->Str(o.value);
        } else if constexpr (std::is_same_v<T, RemovexattrOp>) {
          w->Id(o.gfid);
          w->Str(o.name);
        } else {
          static_assert(kAlwaysFalse<T>, "every op type is encoded");
        }
      },
      op);
}

void EncodeBody(const Message& m, std::string* out,
                std::vector<DeferredPayload>* deferred = nullptr) {
  Writer w(out, deferred);
  w.U8(static_cast<uint8_t>(TypeOf(m)));
  std::visit(
      [&w](const auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, Hello>) {
          w.U32(msg.version);
          w.Str(msg.session_id);
          w.Str(msg.primary_volume);
          w.Str(msg.primary_brick_id);
          w.Str(msg.secondary_volume);
        } else if constexpr (std::is_same_v<T, HelloOk>) {
          w.U32(msg.version);
          w.Id(msg.secondary_volume_id);
          w.U32(msg.max_body_size);
          w.Str(msg.receiver_version);
        } else if constexpr (std::is_same_v<T, Error>) {
          w.U32(static_cast<uint32_t>(msg.code));
          w.Str(msg.message);
        } else if constexpr (std::is_same_v<T, Batch>) {
          w.U64(msg.batch_id);
          w.U32(msg.flags);
          w.U32(static_cast<uint32_t>(msg.ops.size()));
          for (const Op& op : msg.ops) EncodeOp(op, &w);
        } else if constexpr (std::is_same_v<T, Ack>) {
          w.U64(msg.batch_id);
          w.U32(msg.op_count);
          w.U32(static_cast<uint32_t>(msg.failures.size()));
          for (const OpFailure& f : msg.failures) {
            w.U32(f.index);
            w.I32(f.err);
            w.Str(f.message);
          }
        } else if constexpr (std::is_same_v<T, StatRequest>) {
          w.U64(msg.request_id);
          w.Id(msg.gfid);
        } else if constexpr (std::is_same_v<T, StatReply>) {
          w.U64(msg.request_id);
          w.Id(msg.gfid);
          w.I32(msg.err);
          w.U32(msg.mode);
          w.U32(msg.uid);
          w.U32(msg.gid);
          w.U32(msg.nlink);
          w.U64(msg.size);
          w.U64(msg.blocks);
          w.I64(msg.atime_ns);
          w.I64(msg.mtime_ns);
        } else if constexpr (std::is_same_v<T, ChecksumRequest>) {
          w.U64(msg.request_id);
          w.Id(msg.gfid);
          w.U64(msg.offset);
          w.U64(msg.length);
        } else if constexpr (std::is_same_v<T, ChecksumReply>) {
          w.U64(msg.request_id);
          w.Id(msg.gfid);
          w.I32(msg.err);
          w.U64(msg.bytes_read);
          w.U32(msg.crc32c);
        } else if constexpr (std::is_same_v<T, Ping> || std::is_same_v<T, Pong>) {
          w.U64(msg.token);
        } else if constexpr (std::is_same_v<T, Bye>) {
          // no fields
        } else if constexpr (std::is_same_v<T, ListRequest>) {
          w.U64(msg.request_id);
          w.Id(msg.gfid);
          w.U64(msg.cookie);
        } else if constexpr (std::is_same_v<T, ListReply>) {
          w.U64(msg.request_id);
          w.Id(msg.gfid);
          w.I32(msg.err);
          w.U64(msg.next_cookie);
          w.U8(msg.eof ? 1 : 0);
          w.U32(static_cast<uint32_t>(msg.entries.size()));
          for (const ListEntry& e : msg.entries) {
            w.Str(e.name);
            w.Id(e.gfid);
            w.U32(e.mode);
            w.U64(e.size);
            w.I64(e.mtime_ns);
          }
        } else {
          static_assert(kAlwaysFalse<T>, "every message type is encoded");
        }
      },
      m);
}

// ---- Decoding -------------------------------------------------------------------

// Reads fields from a body; the first failure sticks and every later read
// returns zero values, so decoders check ok() once per structure.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool ok() const { return ok_; }
  size_t remaining() const { return in_.size() - pos_; }
  void Fail(ErrorCode code, std::string why) {
    if (!ok_) return;
    ok_ = false;
    code_ = code;
    why_ = std::move(why);
  }
  ErrorCode code() const { return code_; }
  const std::string& why() const { return why_; }

  uint8_t U8(const char* field) {
    if (!Need(1, field)) return 0;
    return static_cast<uint8_t>(in_[pos_++]);
  }
  uint32_t U32(const char* field) {
    if (!Need(4, field)) return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
    pos_ += 4;
    return v;
  }
  uint64_t U64(const char* field) {
    if (!Need(8, field)) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
    pos_ += 8;
    return v;
  }
  int32_t I32(const char* field) { return static_cast<int32_t>(U32(field)); }
  int64_t I64(const char* field) { return static_cast<int64_t>(U64(field)); }
  Gfid Id(const char* field) {
    Gfid g{};
    if (!Need(kIdSize, field)) return g;
    std::memcpy(g.data(), in_.data() + pos_, kIdSize);
    pos_ += kIdSize;
    return g;
  }
  // A length-prefixed byte string of at most `max` bytes (empty on failure).
  std::string Str(const char* field, size_t max = SIZE_MAX) {
    std::string s;
    StrInto(field, max, &s, nullptr);
    return s;
  }
  // Like Str, into `out` (left as it is on failure); a large one into a
  // buffer from `buffers` when given (assign copies into it without zeroing).
  void StrInto(const char* field, size_t max, std::string* out, BufferPool* buffers) {
    uint32_t n = U32(field);
    if (!ok_) return;
    if (n > max) {
      Fail(ErrorCode::kMalformed, std::string(field) + " is " + std::to_string(n) +
                                      " bytes, more than the limit of " + std::to_string(max));
      return;
    }
    if (!Need(n, field)) return;
    if (buffers != nullptr && n >= BufferPool::kMinKeptBytes) *out = buffers->Take();
    out->assign(in_.data() + pos_, n);
    pos_ += n;
  }
  void ExpectEnd(const char* what) {
    if (ok_ && pos_ != in_.size()) {
      Fail(ErrorCode::kMalformed, std::to_string(in_.size() - pos_) +
                                      " unexpected trailing bytes after " + what);
    }
  }

 private:
  bool Need(size_t n, const char* field) {
    if (!ok_) return false;
    if (in_.size() - pos_ < n) {
      Fail(ErrorCode::kMalformed, std::string("truncated field ") + field + ": needs " +
                                      std::to_string(n) + " bytes, " +
                                      std::to_string(in_.size() - pos_) + " left");
      return false;
    }
    return true;
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
  ErrorCode code_ = ErrorCode::kMalformed;
  std::string why_;
};

// Smallest encoding of any op: type byte + one GFID. Bounds the op count a
// batch may claim before anything is allocated for it.
constexpr size_t kMinOpSize = 1 + kIdSize;
// Smallest encoding of an OpFailure: index, errno, empty message.
constexpr size_t kMinFailureSize = 4 + 4 + kStrOverhead;
constexpr size_t kMinListEntrySize = kStrOverhead + kIdSize + 4 + 8 + 8;

bool DecodeOp(Reader* r, Op* out, BufferPool* buffers) {
  uint8_t type = r->U8("op type");
  if (!r->ok()) return false;
  switch (static_cast<OpType>(type)) {
    case OpType::kEntryCreate: {
      EntryCreateOp o;
      o.pargfid = r->Id("pargfid");
      o.name = r->Str("name");
      o.gfid = r->Id("gfid");
      o.mode = r->U32("mode");
      o.uid = r->U32("uid");
      o.gid = r->U32("gid");
      o.rdev = r->U64("rdev");
      o.target = r->Str("symlink target");
      *out = std::move(o);
      break;
    }
    case OpType::kLink: {
      LinkOp o;
      o.gfid = r->Id("gfid");
      o.pargfid = r->Id("pargfid");
      o.name = r->Str("name");
      *out = std::move(o);
      break;
    }
    case OpType::kRename: {
      RenameOp o;
      o.gfid = r->Id("gfid");
      o.old_pargfid = r->Id("old pargfid");
      o.old_name = r->Str("old name");
      o.new_pargfid = r->Id("new pargfid");
      o.new_name = r->Str("new name");
      o.replaced_gfid = r->Id("replaced gfid");
      *out = std::move(o);
      break;
    }
    case OpType::kUnlink: {
      UnlinkOp o;
      o.pargfid = r->Id("pargfid");
      o.name = r->Str("name");
      o.gfid = r->Id("gfid");
      *out = std::move(o);
      break;
    }
    case OpType::kRmdir: {
      RmdirOp o;
      o.pargfid = r->Id("pargfid");
      o.name = r->Str("name");
      o.gfid = r->Id("gfid");
      *out = std::move(o);
      break;
    }
    case OpType::kData: {
      DataOp o;
      o.gfid = r->Id("gfid");
      o.offset = r->U64("offset");
      r->StrInto("data", kMaxDataChunk, &o.data, buffers);
      *out = std::move(o);
      break;
    }
    case OpType::kTruncate: {
      TruncateOp o;
      o.gfid = r->Id("gfid");
      o.size = r->U64("size");
      *out = std::move(o);
      break;
    }
    case OpType::kPunchHole: {
      PunchHoleOp o;
      o.gfid = r->Id("gfid");
      o.offset = r->U64("offset");
      o.length = r->U64("length");
      *out = std::move(o);
      break;
    }
    case OpType::kZerofill: {
      ZerofillOp o;
      o.gfid = r->Id("gfid");
      o.offset = r->U64("offset");
      o.length = r->U64("length");
      *out = std::move(o);
      break;
    }
    case OpType::kAllocate: {
      AllocateOp o;
      o.gfid = r->Id("gfid");
      uint8_t keep = r->U8("keep_size");
      if (r->ok() && keep > 1) {
        r->Fail(ErrorCode::kMalformed, "keep_size must be 0 or 1, got " + std::to_string(keep));
      }
      o.keep_size = keep == 1;
      o.offset = r->U64("offset");
      o.length = r->U64("length");
      *out = std::move(o);
      break;
    }
    case OpType::kSetattr: {
      SetattrOp o;
      o.gfid = r->Id("gfid");
      o.mask = r->U32("mask");
      if (r->ok() && (o.mask & ~kSetattrKnownBits) != 0) {
        r->Fail(ErrorCode::kMalformed, "setattr mask has unknown bits " +
                                           std::to_string(o.mask & ~kSetattrKnownBits));
      }
      o.mode = r->U32("mode");
      o.uid = r->U32("uid");
      o.gid = r->U32("gid");
      o.atime_ns = r->I64("atime");
      o.mtime_ns = r->I64("mtime");
      *out = std::move(o);
      break;
    }
    case OpType::kSetxattr: {
      SetxattrOp o;
      o.gfid = r->Id("gfid");
      o.name = r->Str("xattr name");
      o.value = r->Str("xattr value");
      *out = std::move(o);
      break;
    }
    case OpType::kRemovexattr: {
      RemovexattrOp o;
      o.gfid = r->Id("gfid");
      o.name = r->Str("xattr name");
      *out = std::move(o);
      break;
    }
    default:
      r->Fail(ErrorCode::kUnknownOpType, "unknown op type " + std::to_string(type));
      return false;
  }
  return r->ok();
}

}  // namespace

size_t EncodedOpSize(const Op& op) {
  return std::visit(
      [](const auto& o) -> size_t {
        using T = std::decay_t<decltype(o)>;
        constexpr size_t t = 1;  // op type byte
        if constexpr (std::is_same_v<T, EntryCreateOp>) {
          return t + kIdSize + kStrOverhead + o.name.size() + kIdSize + 4 * 3 + 8 + kStrOverhead +
                 o.target.size();
        } else if constexpr (std::is_same_v<T, LinkOp>) {
          return t + 2 * kIdSize + kStrOverhead + o.name.size();
        } else if constexpr (std::is_same_v<T, RenameOp>) {
          return t + 4 * kIdSize + 2 * kStrOverhead + o.old_name.size() + o.new_name.size();
        } else if constexpr (std::is_same_v<T, UnlinkOp> || std::is_same_v<T, RmdirOp>) {
          return t + 2 * kIdSize + kStrOverhead + o.name.size();
        } else if constexpr (std::is_same_v<T, DataOp>) {
          return t + kIdSize + 8 + kStrOverhead + o.data.size();
        } else if constexpr (std::is_same_v<T, TruncateOp>) {
          return t + kIdSize + 8;
        } else if constexpr (std::is_same_v<T, PunchHoleOp> || std::is_same_v<T, ZerofillOp>) {
          return t + kIdSize + 16;
        } else if constexpr (std::is_same_v<T, AllocateOp>) {
          return t + kIdSize + 1 + 16;
        } else if constexpr (std::is_same_v<T, SetattrOp>) {
          return t + kIdSize + 4 * 4 + 16;
        } else if constexpr (std::is_same_v<T, SetxattrOp>) {
          return t + kIdSize + 2 * kStrOverhead + o.name.size() + o.value.size();
        } else if constexpr (std::is_same_v<T, RemovexattrOp>) {
          return t + kIdSize + kStrOverhead + o.name.size();
        } else {
          static_assert(kAlwaysFalse<T>, "every op type is sized");
        }
      },
      op);
}

namespace {

Status CheckDataChunks(const Message& m) {
  if (const Batch* b = std::get_if<Batch>(&m)) {
    for (size_t i = 0; i < b->ops.size(); ++i) {
      const DataOp* d = std::get_if<DataOp>(&b->ops[i]);
      if (d != nullptr && d->data.size() > kMaxDataChunk) {
        return Status(Code::kInvalidArgument,
                      "batch " + std::to_string(b->batch_id) + " op " + std::to_string(i) +
                          ": DATA chunk of " + std::to_string(d->data.size()) +
                          " bytes exceeds the protocol limit of " + std::to_string(kMaxDataChunk));
      }
    }
  }
  return Status::Ok();
}

Status CheckBodySize(const Message& m, size_t body_size, uint32_t max_body) {
  if (body_size <= max_body) return Status::Ok();
  return Status(Code::kInvalidArgument,
                std::string(MessageTypeName(TypeOf(m))) + " frame body of " +
                    std::to_string(body_size) + " bytes exceeds the limit of " +
                    std::to_string(max_body) + "; split it into smaller batches");
}

void PutHeader(char* at, size_t body_size, uint32_t crc) {
  std::string header;
  Writer w(&header);
  w.U32(static_cast<uint32_t>(body_size));
  w.U32(crc32c::Mask(crc));
  std::memcpy(at, header.data(), kFrameHeaderSize);
}

}  // namespace

Status EncodeFrame(const Message& m, std::string* out, uint32_t max_body) {
  GEOREP_RETURN_IF_ERROR(CheckDataChunks(m));
  const size_t start = out->size();
  out->append(kFrameHeaderSize, '\0');
  EncodeBody(m, out);
  const size_t body_size = out->size() - start - kFrameHeaderSize;
  if (Status st = CheckBodySize(m, body_size, max_body); !st.ok()) {
    out->resize(start);
    return st;
  }
  PutHeader(out->data() + start, body_size,
            crc32c::Value(out->data() + start + kFrameHeaderSize, body_size));
  return Status::Ok();
}

Status EncodeFrameParts(const Message& m, std::string* frame, std::vector<std::string_view>* parts,
                        uint32_t max_body) {
  GEOREP_RETURN_IF_ERROR(CheckDataChunks(m));
  frame->clear();
  parts->clear();
  frame->append(kFrameHeaderSize, '\0');
  std::vector<DeferredPayload> deferred;
  EncodeBody(m, frame, &deferred);
  size_t body_size = frame->size() - kFrameHeaderSize;
  for (const DeferredPayload& d : deferred) body_size += d.data->size();
  GEOREP_RETURN_IF_ERROR(CheckBodySize(m, body_size, max_body));
  // The frame's own bytes up to each payload, the payload, ..., the rest.
  size_t from = 0;
  for (const DeferredPayload& d : deferred) {
    if (d.offset > from) parts->emplace_back(frame->data() + from, d.offset - from);
    if (!d.data->empty()) parts->emplace_back(*d.data);
    from = d.offset;
  }
  if (frame->size() > from) parts->emplace_back(frame->data() + from, frame->size() - from);
  uint32_t crc = 0;
  size_t skip = kFrameHeaderSize;  // the header is not covered by the crc
  for (std::string_view p : *parts) {
    const size_t drop = std::min(skip, p.size());
    skip -= drop;
    crc = crc32c::Extend(crc, p.data() + drop, p.size() - drop);
  }
  PutHeader(frame->data(), body_size, crc);
  return Status::Ok();
}

Status DecodeBody(std::string_view body, Message* out, ErrorCode* code, BufferPool* buffers) {
  Reader r(body);
  const uint8_t type = r.U8("message type");
  Message m;
  switch (static_cast<MessageType>(type)) {
    case MessageType::kHello: {
      Hello h;
      h.version = r.U32("version");
      h.session_id = r.Str("session id");
      h.primary_volume = r.Str("primary volume");
      h.primary_brick_id = r.Str("primary brick id");
      h.secondary_volume = r.Str("secondary volume");
      m = std::move(h);
      break;
    }
    case MessageType::kHelloOk: {
      HelloOk h;
      h.version = r.U32("version");
      h.secondary_volume_id = r.Id("secondary volume id");
      h.max_body_size = r.U32("max body size");
      h.receiver_version = r.Str("receiver version");
      m = std::move(h);
      break;
    }
    case MessageType::kError: {
      Error e;
      // Unknown codes are kept as numbers: a newer peer may know more causes.
      e.code = static_cast<ErrorCode>(r.U32("error code"));
      e.message = r.Str("error message");
      m = std::move(e);
      break;
    }
    case MessageType::kBatch: {
      Batch b;
      b.batch_id = r.U64("batch id");
      b.flags = r.U32("batch flags");
      if (r.ok() && (b.flags & ~kBatchKnownFlags) != 0) {
        r.Fail(ErrorCode::kMalformed,
               "batch flags have unknown bits " + std::to_string(b.flags & ~kBatchKnownFlags));
      }
      const uint32_t count = r.U32("op count");
      if (r.ok() && count > r.remaining() / kMinOpSize) {
        r.Fail(ErrorCode::kMalformed, "batch claims " + std::to_string(count) +
                                          " ops but only " + std::to_string(r.remaining()) +
                                          " bytes follow");
      }
      if (r.ok()) b.ops.reserve(count);
      for (uint32_t i = 0; r.ok() && i < count; ++i) {
        Op op;
        if (!DecodeOp(&r, &op, buffers)) {
          r.Fail(ErrorCode::kMalformed, "op decoding failed");  // keeps the first cause
          break;
        }
        b.ops.push_back(std::move(op));
      }
      m = std::move(b);
      break;
    }
    case MessageType::kAck: {
      Ack a;
      a.batch_id = r.U64("batch id");
      a.op_count = r.U32("op count");
      const uint32_t count = r.U32("failure count");
      if (r.ok() && (count > a.op_count || count > r.remaining() / kMinFailureSize)) {
        r.Fail(ErrorCode::kMalformed, "ack claims " + std::to_string(count) + " failures for " +
                                          std::to_string(a.op_count) + " ops");
      }
      for (uint32_t i = 0; r.ok() && i < count; ++i) {
        OpFailure f;
        f.index = r.U32("failure index");
        f.err = r.I32("failure errno");
        f.message = r.Str("failure message");
        if (r.ok() && f.index >= a.op_count) {
          r.Fail(ErrorCode::kMalformed, "ack failure index " + std::to_string(f.index) +
                                            " is not below the op count " +
                                            std::to_string(a.op_count));
        }
        a.failures.push_back(std::move(f));
      }
      m = std::move(a);
      break;
    }
    case MessageType::kStatRequest: {
      StatRequest s;
      s.request_id = r.U64("request id");
      s.gfid = r.Id("gfid");
      m = s;
      break;
    }
    case MessageType::kStatReply: {
      StatReply s;
      s.request_id = r.U64("request id");
      s.gfid = r.Id("gfid");
      s.err = r.I32("errno");
      s.mode = r.U32("mode");
      s.uid = r.U32("uid");
      s.gid = r.U32("gid");
      s.nlink = r.U32("nlink");
      s.size = r.U64("size");
      s.blocks = r.U64("blocks");
      s.atime_ns = r.I64("atime");
      s.mtime_ns = r.I64("mtime");
      m = s;
      break;
    }
    case MessageType::kChecksumRequest: {
      ChecksumRequest c;
      c.request_id = r.U64("request id");
      c.gfid = r.Id("gfid");
      c.offset = r.U64("offset");
      c.length = r.U64("length");
      m = c;
      break;
    }
    case MessageType::kChecksumReply: {
      ChecksumReply c;
      c.request_id = r.U64("request id");
      c.gfid = r.Id("gfid");
      c.err = r.I32("errno");
      c.bytes_read = r.U64("bytes read");
      c.crc32c = r.U32("crc32c");
      m = c;
      break;
    }
    case MessageType::kPing: {
      Ping p;
      p.token = r.U64("token");
      m = p;
      break;
    }
    case MessageType::kPong: {
      Pong p;
      p.token = r.U64("token");
      m = p;
      break;
    }
    case MessageType::kBye:
      m = Bye{};
      break;
    case MessageType::kListRequest: {
      ListRequest l;
      l.request_id = r.U64("request id");
      l.gfid = r.Id("gfid");
      l.cookie = r.U64("cookie");
      m = l;
      break;
    }
    case MessageType::kListReply: {
      ListReply l;
      l.request_id = r.U64("request id");
      l.gfid = r.Id("gfid");
      l.err = r.I32("errno");
      l.next_cookie = r.U64("next cookie");
      const uint8_t eof = r.U8("eof");
      if (r.ok() && eof > 1) r.Fail(ErrorCode::kMalformed, "eof is " + std::to_string(eof) + ", not 0 or 1");
      l.eof = eof == 1;
      const uint32_t count = r.U32("entry count");
      if (r.ok() && (count > kMaxListEntries || count > r.remaining() / kMinListEntrySize)) {
        r.Fail(ErrorCode::kMalformed, "list reply claims " + std::to_string(count) +
                                          " entries (at most " + std::to_string(kMaxListEntries) +
                                          ") in " + std::to_string(r.remaining()) + " bytes");
      }
      for (uint32_t i = 0; r.ok() && i < count; ++i) {
        ListEntry e;
        e.name = r.Str("entry name", kMaxNameLength);
        e.gfid = r.Id("entry gfid");
        e.mode = r.U32("entry mode");
        e.size = r.U64("entry size");
        e.mtime_ns = r.I64("entry mtime");
        // The names become ops' names on the sender: the same rule as the
        // receiver's for entry names (one component, never a way out).
        if (r.ok() && (e.name.empty() || e.name == "." || e.name == ".." ||
                       e.name.find_first_of(std::string_view("/\0", 2)) != std::string::npos)) {
          r.Fail(ErrorCode::kMalformed, "list entry name \"" + PrintableName(e.name) +
                                            "\" is empty, '.', '..' or contains '/' or NUL");
        }
        l.entries.push_back(std::move(e));
      }
      m = std::move(l);
      break;
    }
    default:
      if (r.ok()) {
        r.Fail(ErrorCode::kUnknownMessageType, "unknown message type " + std::to_string(type));
      }
      break;
  }
  if (r.ok()) r.ExpectEnd(MessageTypeName(static_cast<MessageType>(type)));
  if (!r.ok()) {
    *code = r.code();
    const Code status_code = r.code() == ErrorCode::kMalformed ? Code::kCorruption
                                                              : Code::kInvalidArgument;
    return Status(status_code, r.why());
  }
  *out = std::move(m);
  return Status::Ok();
}

void FrameDecoder::Reserve(size_t n) {
  // Drop consumed bytes once they dominate the buffer, keeping appends
  // amortised O(n) without moving data on every frame.
  if (pos_ > 0 && (pos_ == end_ || pos_ >= end_ / 2)) {
    std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  // buf_'s size is its usable room; only growth zero-fills (rarely).
  if (buf_.size() - end_ < n) buf_.resize(std::max(end_ + n, 2 * buf_.size()));
}

void FrameDecoder::Append(std::string_view bytes) {
  Reserve(bytes.size());
  std::memcpy(buf_.data() + end_, bytes.data(), bytes.size());
  end_ += bytes.size();
}

ssize_t FrameDecoder::ReadFrom(int fd, size_t max) {
  Reserve(max);
  const ssize_t n = ::read(fd, buf_.data() + end_, max);
  if (n > 0) end_ += static_cast<size_t>(n);
  return n;
}

Result<std::optional<Message>> FrameDecoder::Next() {
  if (failed_) return error_;
  auto fail = [this](ErrorCode code, Code status_code, std::string why) -> Status {
    failed_ = true;
    error_code_ = code;
    error_ = Status(status_code, std::move(why));
    return error_;
  };
  if (buffered() < kFrameHeaderSize) return std::optional<Message>();
  const auto* h = reinterpret_cast<const uint8_t*>(buf_.data() + pos_);
  const uint32_t len = static_cast<uint32_t>(h[0]) | static_cast<uint32_t>(h[1]) << 8 |
                       static_cast<uint32_t>(h[2]) << 16 | static_cast<uint32_t>(h[3]) << 24;
  const uint32_t masked = static_cast<uint32_t>(h[4]) | static_cast<uint32_t>(h[5]) << 8 |
                          static_cast<uint32_t>(h[6]) << 16 | static_cast<uint32_t>(h[7]) << 24;
  if (len == 0) {
    return fail(ErrorCode::kMalformed, Code::kCorruption,
                "frame with an empty body (no message type)");
  }
  if (len > max_body_) {
    return fail(ErrorCode::kFrameTooLarge, Code::kResourceExhausted,
                "frame body of " + std::to_string(len) + " bytes exceeds the limit of " +
                    std::to_string(max_body_));
  }
  if (buffered() < kFrameHeaderSize + len) return std::optional<Message>();
  std::string_view body(buf_.data() + pos_ + kFrameHeaderSize, len);
  const uint32_t actual = crc32c::Value(body.data(), body.size());
  if (crc32c::Unmask(masked) != actual) {
    return fail(ErrorCode::kBadChecksum, Code::kCorruption,
                "frame of " + std::to_string(len) + " bytes fails its crc32c check");
  }
  Message m;
  ErrorCode code = ErrorCode::kMalformed;
  Status st = DecodeBody(body, &m, &code, buffers_);
  if (!st.ok()) {
    failed_ = true;
    error_code_ = code;
    error_ = st;
    return error_;
  }
  pos_ += kFrameHeaderSize + len;
  return std::optional<Message>(std::move(m));
}

Status WriteAll(int fd, std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "write to fd " + std::to_string(fd));
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status WriteFrame(int fd, const Message& m) {
  std::string frame;
  GEOREP_RETURN_IF_ERROR(EncodeFrame(m, &frame));
  return WriteAll(fd, frame);
}

Result<std::optional<Message>> ReadFrame(int fd, FrameDecoder* decoder, int timeout_ms) {
  // Read straight into the decoder's buffer: no intermediate copy.
  constexpr size_t kReadChunk = 256 * 1024;
  // Each iteration either returns or adds at least one byte to a frame that
  // is bounded by max_body, so the loop ends; each wait is bounded by timeout_ms.
  for (;;) {
    Result<std::optional<Message>> next = decoder->Next();
    if (!next.ok() || next->has_value()) return next;
    if (timeout_ms >= 0) {
      // Signals (GlusterFS's threads raise some) must not restart the full
      // wait: poll for what is left of one deadline.
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
      struct pollfd p = {fd, POLLIN, 0};
      int rc;
      for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              deadline - std::chrono::steady_clock::now())
                              .count();
        rc = ::poll(&p, 1, left > 0 ? static_cast<int>(left) : 0);
        if (rc >= 0 || errno != EINTR) break;
      }
      if (rc < 0) return Status::FromErrno(errno, "poll fd " + std::to_string(fd));
      if (rc == 0) {
        return Status::FromErrno(ETIMEDOUT, "no data from the peer for " +
                                                std::to_string(timeout_ms) + " ms");
      }
    }
    ssize_t n = decoder->ReadFrom(fd, kReadChunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "read from fd " + std::to_string(fd));
    }
    if (n == 0) {
      if (decoder->buffered() == 0) return std::optional<Message>();
      return Status(Code::kAborted, "peer closed the stream in the middle of a frame (" +
                                        std::to_string(decoder->buffered()) +
                                        " bytes of an incomplete frame)");
    }
  }
}

}  // namespace georep::protocol

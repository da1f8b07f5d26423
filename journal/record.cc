#include "journal/record.h"

#include <cstdio>
#include <cstring>
#include <ctime>

#include "journal/format.h"

namespace georep::journal {
namespace {

// ---- Little-endian primitives ----------------------------------------------

void PutU8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }
void PutU16(std::string* out, uint16_t v) {
  char b[2] = {static_cast<char>(v), static_cast<char>(v >> 8)};
  out->append(b, 2);
}
void PutU32(std::string* out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; i++) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 4);
}
void PutU64(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; i++) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 8);
}
void PutGfid(std::string* out, const Gfid& g) {
  out->append(reinterpret_cast<const char*>(g.data()), g.size());
}
void PutString32(std::string* out, const std::string& s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

// Bounds-checked cursor over a payload: every getter fails instead of reading
// past the end, so a damaged length can never make the decoder overrun.
class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}
  bool U8(uint8_t* v) {
    if (in_.size() < 1) return false;
    *v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool U16(uint16_t* v) {
    uint64_t x;
    if (!Fixed(2, &x)) return false;
    *v = static_cast<uint16_t>(x);
    return true;
  }
  bool U32(uint32_t* v) {
    uint64_t x;
    if (!Fixed(4, &x)) return false;
    *v = static_cast<uint32_t>(x);
    return true;
  }
  bool U64(uint64_t* v) { return Fixed(8, v); }
  bool GfidField(Gfid* g) {
    if (in_.size() < g->size()) return false;
    std::memcpy(g->data(), in_.data(), g->size());
    in_.remove_prefix(g->size());
    return true;
  }
  bool Bytes(size_t n, std::string* s) {
    if (in_.size() < n) return false;
    s->assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  bool String32(std::string* s) {
    uint32_t n;
    return U32(&n) && Bytes(n, s);
  }
  bool String16(std::string* s) {
    uint16_t n;
    return U16(&n) && Bytes(n, s);
  }
  bool done() const { return in_.empty(); }
  size_t left() const { return in_.size(); }

 private:
  bool Fixed(int n, uint64_t* v) {
    if (in_.size() < static_cast<size_t>(n)) return false;
    uint64_t x = 0;
    for (int i = 0; i < n; i++) x |= static_cast<uint64_t>(static_cast<uint8_t>(in_[i])) << (8 * i);
    *v = x;
    in_.remove_prefix(n);
    return true;
  }
  std::string_view in_;
};

Status Corrupt(const std::string& what) {
  return Status(Code::kCorruption, "journal record: " + what);
}

bool KnownOp(uint8_t v) { return v >= static_cast<uint8_t>(Op::kCreate) && v <= static_cast<uint8_t>(Op::kRemovexattr); }
bool KnownOrigin(uint8_t v) { return v <= static_cast<uint8_t>(Origin::kOtherInternal); }
constexpr uint16_t kKnownFlags = kFlagViaFd | kFlagDhtLinkto | kFlagInternalXattr;

// Appends s to out with C-style escapes for anything not printable ASCII, so
// that a hostile file name cannot forge extra dump lines or terminal codes.
void AppendQuoted(std::string* out, std::string_view s) {
  out->push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c >= 0x20 && c < 0x7f) {
      out->push_back(static_cast<char>(c));
    } else {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out->append(b);
    }
  }
  out->push_back('"');
}

}  // namespace

std::string FormatTimeNs(uint64_t ns) {
  time_t secs = static_cast<time_t>(ns / 1000000000ull);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char b[64];
  std::snprintf(b, sizeof b, "%04d-%02d-%02dT%02d:%02d:%02d.%09lluZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<unsigned long long>(ns % 1000000000ull));
  return b;
}


const char* OpName(Op op) {
  switch (op) {
    case Op::kCreate: return "CREATE";
    case Op::kMknod: return "MKNOD";
    case Op::kMkdir: return "MKDIR";
    case Op::kSymlink: return "SYMLINK";
    case Op::kLink: return "LINK";
    case Op::kRename: return "RENAME";
    case Op::kUnlink: return "UNLINK";
    case Op::kRmdir: return "RMDIR";
    case Op::kWrite: return "WRITE";
    case Op::kTruncate: return "TRUNCATE";
    case Op::kFallocate: return "FALLOCATE";
    case Op::kDiscard: return "DISCARD";
    case Op::kZerofill: return "ZEROFILL";
    case Op::kSetattr: return "SETATTR";
    case Op::kSetxattr: return "SETXATTR";
    case Op::kRemovexattr: return "REMOVEXATTR";
  }
  return "UNKNOWN";
}

bool IsEntryOp(Op op) {
  switch (op) {
    case Op::kCreate: case Op::kMknod: case Op::kMkdir: case Op::kSymlink:
    case Op::kLink: case Op::kRename: case Op::kUnlink: case Op::kRmdir:
      return true;
    default:
      return false;
  }
}

bool IsDataOp(Op op) {
  switch (op) {
    case Op::kWrite: case Op::kTruncate: case Op::kFallocate: case Op::kDiscard:
    case Op::kZerofill:
      return true;
    default:
      return false;
  }
}

const char* OriginName(Origin origin) {
  switch (origin) {
    case Origin::kClient: return "client";
    case Origin::kReplication: return "replication";
    case Origin::kRebalance: return "rebalance";
    case Origin::kSelfHeal: return "self-heal";
    case Origin::kOtherInternal: return "internal";
  }
  return "unknown";
}

void EncodeRecord(const Record& r, std::string* out) {
  uint32_t present = 0;
  if (!IsNullGfid(r.gfid)) present |= kFieldGfid;
  if (!IsNullGfid(r.pargfid)) present |= kFieldPargfid;
  if (!r.name.empty()) present |= kFieldName;
  if (!IsNullGfid(r.pargfid2)) present |= kFieldPargfid2;
  if (!r.name2.empty()) present |= kFieldName2;
  if (!IsNullGfid(r.gfid2)) present |= kFieldGfid2;
  if (r.mode != 0) present |= kFieldMode;
  if (r.uid != 0) present |= kFieldUid;
  if (r.gid != 0) present |= kFieldGid;
  if (r.rdev != 0) present |= kFieldRdev;
  if (r.offset != 0) present |= kFieldOffset;
  if (r.length != 0) present |= kFieldLength;
  if (r.attr_mask != 0) present |= kFieldAttrMask;
  if (r.aux != 0) present |= kFieldAux;
  if (r.atime_ns != 0) present |= kFieldAtime;
  if (r.mtime_ns != 0) present |= kFieldMtime;
  if (!r.target.empty()) present |= kFieldTarget;
  if (!r.xattr_names.empty()) present |= kFieldXattrNames;

  PutU8(out, static_cast<uint8_t>(RecordKind::kChange));
  PutU8(out, kRecordVersion);
  PutU64(out, r.seq);
  PutU64(out, r.time_ns);
  PutU8(out, static_cast<uint8_t>(r.op));
  PutU8(out, static_cast<uint8_t>(r.origin));
  PutU16(out, r.flags);
  PutU32(out, present);
  if (present & kFieldGfid) PutGfid(out, r.gfid);
  if (present & kFieldPargfid) PutGfid(out, r.pargfid);
  if (present & kFieldName) PutString32(out, r.name);
  if (present & kFieldPargfid2) PutGfid(out, r.pargfid2);
  if (present & kFieldName2) PutString32(out, r.name2);
  if (present & kFieldGfid2) PutGfid(out, r.gfid2);
  if (present & kFieldMode) PutU32(out, r.mode);
  if (present & kFieldUid) PutU32(out, r.uid);
  if (present & kFieldGid) PutU32(out, r.gid);
  if (present & kFieldRdev) PutU64(out, r.rdev);
  if (present & kFieldOffset) PutU64(out, r.offset);
  if (present & kFieldLength) PutU64(out, r.length);
  if (present & kFieldAttrMask) PutU32(out, r.attr_mask);
  if (present & kFieldAux) PutU32(out, r.aux);
  if (present & kFieldAtime) PutU64(out, r.atime_ns);
  if (present & kFieldMtime) PutU64(out, r.mtime_ns);
  if (present & kFieldTarget) PutString32(out, r.target);
  if (present & kFieldXattrNames) PutString32(out, r.xattr_names);
}

Status DecodeRecord(std::string_view payload, Record* out) {
  Decoder d(payload);
  Record r;
  uint8_t kind, version, op, origin;
  uint32_t present;
  if (!d.U8(&kind)) return Corrupt("empty payload");
  if (kind != static_cast<uint8_t>(RecordKind::kChange)) return Corrupt("not a change record");
  if (!d.U8(&version)) return Corrupt("truncated before version");
  if (version != kRecordVersion) {
    return Corrupt("unsupported change record version " + std::to_string(version) +
                   " (this build reads version " + std::to_string(kRecordVersion) + ")");
  }
  if (!d.U64(&r.seq) || !d.U64(&r.time_ns) || !d.U8(&op) || !d.U8(&origin) ||
      !d.U16(&r.flags) || !d.U32(&present)) {
    return Corrupt("truncated fixed part");
  }
  if (!KnownOp(op)) return Corrupt("unknown op " + std::to_string(op));
  if (!KnownOrigin(origin)) return Corrupt("unknown origin " + std::to_string(origin));
  if (r.flags & ~kKnownFlags) return Corrupt("unknown flag bits");
  if (present & ~kKnownFields) return Corrupt("unknown field bits");
  if (r.seq == 0) return Corrupt("sequence number 0");
  r.op = static_cast<Op>(op);
  r.origin = static_cast<Origin>(origin);

  bool ok = true;
  if (ok && (present & kFieldGfid)) ok = d.GfidField(&r.gfid);
  if (ok && (present & kFieldPargfid)) ok = d.GfidField(&r.pargfid);
  if (ok && (present & kFieldName)) ok = d.String32(&r.name);
  if (ok && (present & kFieldPargfid2)) ok = d.GfidField(&r.pargfid2);
  if (ok && (present & kFieldName2)) ok = d.String32(&r.name2);
  if (ok && (present & kFieldGfid2)) ok = d.GfidField(&r.gfid2);
  if (ok && (present & kFieldMode)) ok = d.U32(&r.mode);
  if (ok && (present & kFieldUid)) ok = d.U32(&r.uid);
  if (ok && (present & kFieldGid)) ok = d.U32(&r.gid);
  if (ok && (present & kFieldRdev)) ok = d.U64(&r.rdev);
  if (ok && (present & kFieldOffset)) ok = d.U64(&r.offset);
  if (ok && (present & kFieldLength)) ok = d.U64(&r.length);
  if (ok && (present & kFieldAttrMask)) ok = d.U32(&r.attr_mask);
  if (ok && (present & kFieldAux)) ok = d.U32(&r.aux);
  if (ok && (present & kFieldAtime)) ok = d.U64(&r.atime_ns);
  if (ok && (present & kFieldMtime)) ok = d.U64(&r.mtime_ns);
  if (ok && (present & kFieldTarget)) ok = d.String32(&r.target);
  if (ok && (present & kFieldXattrNames)) ok = d.String32(&r.xattr_names);
  if (!ok) return Corrupt("a field runs past the end of the payload");
  if (!d.done()) return Corrupt(std::to_string(d.left()) + " trailing bytes");
  *out = std::move(r);
  return Status::Ok();
}

void EncodeSegmentHeader(const SegmentHeader& h, std::string* out) {
  PutU8(out, static_cast<uint8_t>(RecordKind::kSegmentHeader));
  PutU32(out, kSegmentMagic);
  PutU16(out, h.version);
  PutU64(out, h.first_seq);
  PutU64(out, h.created_ns);
  // Brick ids are host:path strings; the u16 length caps them at 64 KiB.
  std::string id = h.brick_id.substr(0, 0xffff);
  PutU16(out, static_cast<uint16_t>(id.size()));
  out->append(id);
}

Status DecodeSegmentHeader(std::string_view payload, SegmentHeader* out) {
  Decoder d(payload);
  SegmentHeader h;
  uint8_t kind;
  uint32_t magic;
  if (!d.U8(&kind)) return Corrupt("empty segment header");
  if (kind != static_cast<uint8_t>(RecordKind::kSegmentHeader)) return Corrupt("not a segment header");
  if (!d.U32(&magic) || !d.U16(&h.version) || !d.U64(&h.first_seq) || !d.U64(&h.created_ns) ||
      !d.String16(&h.brick_id)) {
    return Corrupt("truncated segment header");
  }
  if (magic != kSegmentMagic) return Corrupt("bad segment magic");
  if (h.version == 0) return Corrupt("segment format version 0");
  if (!d.done()) return Corrupt(std::to_string(d.left()) + " trailing bytes after segment header");
  *out = std::move(h);
  return Status::Ok();
}

Result<RecordKind> PeekKind(std::string_view payload) {
  if (payload.empty()) return Corrupt("empty payload");
  auto k = static_cast<uint8_t>(payload[0]);
  if (k == static_cast<uint8_t>(RecordKind::kChange)) return RecordKind::kChange;
  if (k == static_cast<uint8_t>(RecordKind::kSegmentHeader)) return RecordKind::kSegmentHeader;
  return Corrupt("unknown record kind " + std::to_string(k));
}

std::string GfidToString(const Gfid& g) {
  char b[37];
  std::snprintf(b, sizeof b,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", g[0], g[1],
                g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14],
                g[15]);
  return b;
}

bool ParseGfid(std::string_view s, Gfid* out) {
  if (s.size() != 36) return false;
  Gfid g{};
  size_t j = 0;
  for (size_t i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
      continue;
    }
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = hex(s[i]), lo = hex(s[i + 1]);
    if (hi < 0 || lo < 0) return false;
    g[j++] = static_cast<uint8_t>(hi << 4 | lo);
    i++;
  }
  *out = g;
  return true;
}

bool IsNullGfid(const Gfid& g) {
  for (uint8_t b : g) {
    if (b != 0) return false;
  }
  return true;
}

std::string FormatRecord(const Record& r) {
  std::string s = "seq=" + std::to_string(r.seq) + " time=" + FormatTimeNs(r.time_ns) +
                  " op=" + OpName(r.op) + " origin=" + OriginName(r.origin);
  if (r.flags != 0) {
    s += " flags=";
    bool first = true;
    auto flag = [&](uint16_t bit, const char* name) {
      if (!(r.flags & bit)) return;
      if (!first) s += ",";
      s += name;
      first = false;
    };
    flag(kFlagViaFd, "via-fd");
    flag(kFlagDhtLinkto, "dht-linkto");
    flag(kFlagInternalXattr, "internal-xattr");
  }
  if (!IsNullGfid(r.gfid)) s += " gfid=" + GfidToString(r.gfid);
  if (!IsNullGfid(r.pargfid) || !r.name.empty()) {
    s += " entry=" + GfidToString(r.pargfid) + "/";
    AppendQuoted(&s, r.name);
  }
  if (!IsNullGfid(r.pargfid2) || !r.name2.empty()) {
    s += " entry2=" + GfidToString(r.pargfid2) + "/";
    AppendQuoted(&s, r.name2);
  }
  if (!IsNullGfid(r.gfid2)) s += " gfid2=" + GfidToString(r.gfid2);
  char b[64];
  if (r.mode != 0) {
    std::snprintf(b, sizeof b, " mode=0%o", r.mode);
    s += b;
  }
  if (r.uid != 0 || r.gid != 0 || IsEntryOp(r.op)) {
    s += " uid=" + std::to_string(r.uid) + " gid=" + std::to_string(r.gid);
  }
  if (r.rdev != 0) s += " rdev=" + std::to_string(r.rdev);
  if (IsDataOp(r.op) || r.offset != 0) s += " offset=" + std::to_string(r.offset);
  if (IsDataOp(r.op) || r.length != 0) s += " length=" + std::to_string(r.length);
  if (r.attr_mask != 0) {
    std::snprintf(b, sizeof b, " attr_mask=0x%x", r.attr_mask);
    s += b;
  }
  if (r.aux != 0) {
    std::snprintf(b, sizeof b, " aux=0x%x", r.aux);
    s += b;
  }
  if (r.atime_ns != 0) s += " atime=" + FormatTimeNs(r.atime_ns);
  if (r.mtime_ns != 0) s += " mtime=" + FormatTimeNs(r.mtime_ns);
  if (!r.target.empty()) {
    s += " target=";
    AppendQuoted(&s, r.target);
  }
  if (!r.xattr_names.empty()) {
    // Keys are '\0'-separated; show them comma-separated, each quoted.
    s += " xattrs=";
    size_t start = 0;
    bool first = true;
    while (start <= r.xattr_names.size()) {
      size_t end = r.xattr_names.find('\0', start);
      if (end == std::string::npos) end = r.xattr_names.size();
      if (end > start) {
        if (!first) s += ",";
        AppendQuoted(&s, std::string_view(r.xattr_names).substr(start, end - start));
        first = false;
      }
      start = end + 1;
    }
  }
  return s;
}

}  // namespace georep::journal

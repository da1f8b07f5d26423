#include "sync/protocol/messages.h"

#include <cstdio>
#include <type_traits>

namespace georep::protocol {

OpType TypeOf(const Op& op) { return static_cast<OpType>(op.index() + 1); }

MessageType TypeOf(const Message& m) { return static_cast<MessageType>(m.index() + 1); }

const char* OpTypeName(OpType type) {
  switch (type) {
    case OpType::kEntryCreate: return "ENTRY_CREATE";
    case OpType::kLink: return "LINK";
    case OpType::kRename: return "RENAME";
    case OpType::kUnlink: return "UNLINK";
    case OpType::kRmdir: return "RMDIR";
    case OpType::kData: return "DATA";
    case OpType::kTruncate: return "TRUNCATE";
    case OpType::kPunchHole: return "PUNCH_HOLE";
    case OpType::kZerofill: return "ZEROFILL";
    case OpType::kAllocate: return "ALLOCATE";
    case OpType::kSetattr: return "SETATTR";
    case OpType::kSetxattr: return "SETXATTR";
    case OpType::kRemovexattr: return "REMOVEXATTR";
  }
  return "UNKNOWN_OP";
}

const char* MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kHello: return "HELLO";
    case MessageType::kHelloOk: return "HELLO_OK";
    case MessageType::kError: return "ERROR";
    case MessageType::kBatch: return "BATCH";
    case MessageType::kAck: return "ACK";
    case MessageType::kStatRequest: return "STAT_REQUEST";
    case MessageType::kStatReply: return "STAT_REPLY";
    case MessageType::kChecksumRequest: return "CHECKSUM_REQUEST";
    case MessageType::kChecksumReply: return "CHECKSUM_REPLY";
    case MessageType::kPing: return "PING";
    case MessageType::kPong: return "PONG";
    case MessageType::kBye: return "BYE";
    case MessageType::kListRequest: return "LIST_REQUEST";
    case MessageType::kListReply: return "LIST_REPLY";
  }
  return "UNKNOWN_MESSAGE";
}

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kFrameTooLarge: return "FRAME_TOO_LARGE";
    case ErrorCode::kBadChecksum: return "BAD_CHECKSUM";
    case ErrorCode::kMalformed: return "MALFORMED";
    case ErrorCode::kUnknownMessageType: return "UNKNOWN_MESSAGE_TYPE";
    case ErrorCode::kUnknownOpType: return "UNKNOWN_OP_TYPE";
    case ErrorCode::kUnexpectedMessage: return "UNEXPECTED_MESSAGE";
    case ErrorCode::kVersionMismatch: return "VERSION_MISMATCH";
    case ErrorCode::kVolumeMismatch: return "VOLUME_MISMATCH";
    case ErrorCode::kVolumeUnavailable: return "VOLUME_UNAVAILABLE";
    case ErrorCode::kInternal: return "INTERNAL";
    case ErrorCode::kIdleTimeout: return "IDLE_TIMEOUT";
    case ErrorCode::kReceiverBusy: return "RECEIVER_BUSY";
  }
  return "UNKNOWN_ERROR_CODE";
}

std::string GfidToString(const Gfid& g) {
  char buf[37];
  std::snprintf(buf, sizeof buf,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", g[0], g[1],
                g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14],
                g[15]);
  return std::string(buf, 36);
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool ParseGfid(std::string_view s, Gfid* out) {
  if (s.size() != 36) return false;
  Gfid g{};
  size_t byte = 0;
  for (size_t i = 0; i < s.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
      ++i;
      continue;
    }
    int hi = HexValue(s[i]);
    int lo = HexValue(s[i + 1]);
    if (hi < 0 || lo < 0) return false;
    g[byte++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  if (byte != 16) return false;
  *out = g;
  return true;
}

bool IsNullGfid(const Gfid& g) {
  for (uint8_t b : g) {
    if (b != 0) return false;
  }
  return true;
}

Gfid RootGfid() {
  Gfid g{};
  g[15] = 1;
  return g;
}

std::string PrintableName(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f || c == '\\') {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\x%02x", c);
      out += esc;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

namespace {

std::string Entry(const Gfid& parent, const std::string& name) {
  return "<" + GfidToString(parent) + ">/" + PrintableName(name);
}

template <class>
inline constexpr bool kAlwaysFalse = false;

}  // namespace

std::string DescribeOp(const Op& op) {
  std::string out = OpTypeName(TypeOf(op));
  std::visit(
      [&out](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        char num[96];
        if constexpr (std::is_same_v<T, EntryCreateOp>) {
          std::snprintf(num, sizeof num, " mode=0%o uid=%u gid=%u", o.mode, o.uid, o.gid);
          out += " gfid=" + GfidToString(o.gfid) + " " + Entry(o.pargfid, o.name) + num;
        } else if constexpr (std::is_same_v<T, LinkOp>) {
          out += " gfid=" + GfidToString(o.gfid) + " " + Entry(o.pargfid, o.name);
        } else if constexpr (std::is_same_v<T, RenameOp>) {
          out += " gfid=" + GfidToString(o.gfid) + " " + Entry(o.old_pargfid, o.old_name) +
                 " -> " + Entry(o.new_pargfid, o.new_name);
        } else if constexpr (std::is_same_v<T, UnlinkOp> || std::is_same_v<T, RmdirOp>) {
          out += " gfid=" + GfidToString(o.gfid) + " " + Entry(o.pargfid, o.name);
        } else if constexpr (std::is_same_v<T, DataOp>) {
          std::snprintf(num, sizeof num, " offset=%llu length=%zu",
                        static_cast<unsigned long long>(o.offset), o.data.size());
          out += " gfid=" + GfidToString(o.gfid) + num;
        } else if constexpr (std::is_same_v<T, TruncateOp>) {
          std::snprintf(num, sizeof num, " size=%llu", static_cast<unsigned long long>(o.size));
          out += " gfid=" + GfidToString(o.gfid) + num;
        } else if constexpr (std::is_same_v<T, PunchHoleOp> || std::is_same_v<T, ZerofillOp> ||
                             std::is_same_v<T, AllocateOp>) {
          std::snprintf(num, sizeof num, " offset=%llu length=%llu",
                        static_cast<unsigned long long>(o.offset),
                        static_cast<unsigned long long>(o.length));
          out += " gfid=" + GfidToString(o.gfid) + num;
        } else if constexpr (std::is_same_v<T, SetattrOp>) {
          std::snprintf(num, sizeof num, " mask=0x%x mode=0%o uid=%u gid=%u", o.mask, o.mode,
                        o.uid, o.gid);
          out += " gfid=" + GfidToString(o.gfid) + num;
        } else if constexpr (std::is_same_v<T, SetxattrOp>) {
          out += " gfid=" + GfidToString(o.gfid) + " name=" + PrintableName(o.name) +
                 " value_length=" + std::to_string(o.value.size());
        } else if constexpr (std::is_same_v<T, RemovexattrOp>) {
          out += " gfid=" + GfidToString(o.gfid) + " name=" + PrintableName(o.name);
        } else {
          static_assert(kAlwaysFalse<T>, "every op type is described");
        }
      },
      op);
  return out;
}

}  // namespace georep::protocol

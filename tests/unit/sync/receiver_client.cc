// receiver_client: drives a georep-receiver from a line script, for the
// integration tests (tests/integration/receiver_*.sh). Not a unit test.
//
//   receiver_client SCRIPT -- COMMAND [ARGS...]
//
// Starts COMMAND (a georep-receiver) with pipes on its stdin/stdout, sends
// the frames the script describes, and prints every reply on stdout, one per
// line, then "EXIT <status>" of the receiver. Replies are read by a second
// thread, so pipelined batches never deadlock on full pipes.
//
// Script lines ('#' starts a comment; GFIDs are 36-char strings or "root"):
//   hello SESSION PVOL BRICK SVOL [VERSION]
//   batch [fsync] [replace] [inorder] [fresh]   ... ops ...   end
//   create PGFID NAME GFID MODE(octal, with type) UID GID [RDEV] [TARGET]
//   link GFID PGFID NAME
//   rename GFID OLDP OLDNAME NEWP NEWNAME [REPLACED_GFID]
//   unlink PGFID NAME GFID          rmdir PGFID NAME GFID
//   data GFID OFFSET TEXT           datahex GFID OFFSET HEX
//   datafile GFID OFFSET PATH       (1 MiB chunks, as many per batch as fit; pipelined)
//   zeros GFID OFFSET LENGTH        truncate GFID SIZE          punch GFID OFFSET LENGTH
//   setattr GFID [mode=OCTAL] [uid=N] [gid=N] [atime=NS] [mtime=NS]
//   setxattr GFID NAME VALUE        (VALUE "hex:..." for binary)
//   removexattr GFID NAME
//   stat GFID                       checksum GFID OFFSET LENGTH
//   list GFID [COOKIE]              one page of a directory: "LIST <gfid> err=..
//                                   eof=.. next=.. n=N" then "ENTRY <name> <gfid> <mode> size=.. mtime=.."
//   ping TOKEN                      bye
//   rawframe HEX                    a frame with this body and a correct crc
//   rawbytes HEX                    bytes as they are
//   sleep MS
//   await N                         wait (at most 120 s) until N replies arrived
// Names may use the escapes \xNN (e.g. a NUL byte) and \s (space).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/crc32c.h"
#include "sync/protocol/codec.h"

namespace {

using namespace georep;
using namespace georep::protocol;

std::atomic<int> g_replies{0};

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "receiver_client: %s\n", why.c_str());
  std::exit(100);
}

Gfid ParseId(const std::string& s) {
  if (s == "root") return RootGfid();
  if (s == "null") return Gfid{};
  Gfid g{};
  if (!ParseGfid(s, &g)) Die("bad gfid: " + s);
  return g;
}

std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == 's') {
      out.push_back(' ');
      ++i;
    } else if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] == 'x') {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 2, 2), nullptr, 16)));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string FromHex(const std::string& hex) {
  if (hex.size() % 2 != 0) Die("odd hex length: " + hex);
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::string Value(const std::string& v) {
  if (v.rfind("hex:", 0) == 0) return FromHex(v.substr(4));
  return Unescape(v);
}

uint64_t Num(const std::string& s, int base = 10) { return std::stoull(s, nullptr, base); }

std::string ErrnoName(int e) {
  const char* n = strerrorname_np(e);
  return n != nullptr ? n : std::to_string(e);
}

void PrintReply(const Message& m) {
  std::ostringstream out;
  std::visit(
      [&out](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, HelloOk>) {
          out << "HELLO_OK version=" << r.version << " volume_id=" << GfidToString(r.secondary_volume_id)
              << " max_body=" << r.max_body_size;
        } else if constexpr (std::is_same_v<T, Error>) {
          out << "ERROR " << ErrorCodeName(r.code) << " " << r.message;  // escaped by the receiver
        } else if constexpr (std::is_same_v<T, Ack>) {
          out << "ACK " << r.batch_id << " ops=" << r.op_count << " failures=" << r.failures.size();
          for (const OpFailure& f : r.failures) {
            out << "\nFAIL " << f.index << " " << ErrnoName(f.err) << " " << f.message;
          }
        } else if constexpr (std::is_same_v<T, StatReply>) {
          char mode[16];
          std::snprintf(mode, sizeof mode, "0%o", r.mode);
          out << "STAT " << GfidToString(r.gfid) << " err=" << (r.err ? ErrnoName(r.err) : "0")
              << " mode=" << mode << " uid=" << r.uid << " gid=" << r.gid << " size=" << r.size
              << " nlink=" << r.nlink << " blocks=" << r.blocks << " mtime=" << r.mtime_ns;
        } else if constexpr (std::is_same_v<T, ChecksumReply>) {
          out << "CHECKSUM " << GfidToString(r.gfid) << " err=" << (r.err ? ErrnoName(r.err) : "0")
              << " bytes=" << r.bytes_read << " crc=" << r.crc32c;
        } else if constexpr (std::is_same_v<T, ListReply>) {
          out << "LIST " << GfidToString(r.gfid) << " err=" << (r.err ? ErrnoName(r.err) : "0")
              << " eof=" << (r.eof ? 1 : 0) << " next=" << r.next_cookie << " n=" << r.entries.size();
          for (const ListEntry& e : r.entries) {
            char mode[16];
            std::snprintf(mode, sizeof mode, "0%o", e.mode);
            out << "\nENTRY " << PrintableName(e.name) << " " << GfidToString(e.gfid) << " " << mode
                << " size=" << e.size << " mtime=" << e.mtime_ns;
          }
        } else if constexpr (std::is_same_v<T, Pong>) {
          out << "PONG " << r.token;
        } else if constexpr (std::is_same_v<T, Bye>) {
          out << "BYE";
        } else {
          out << "UNEXPECTED " << MessageTypeName(TypeOf(Message(r)));
        }
      },
      m);
  std::cout << out.str() << std::endl;
}

class Client {
 public:
  explicit Client(int fd) : fd_(fd) {}

  void Send(const Message& m) {
    Status st = WriteFrame(fd_, m);
    if (!st.ok()) std::cerr << "receiver_client: send failed: " << st.ToString() << std::endl;
  }
  void SendRaw(const std::string& bytes) {
    Status st = WriteAll(fd_, bytes);
    if (!st.ok()) std::cerr << "receiver_client: send failed: " << st.ToString() << std::endl;
  }

  void Run(std::istream& in) {
    std::string line;
    int lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      std::istringstream words(line);
      std::vector<std::string> w;
      for (std::string x; words >> x;) {
        if (x[0] == '#') break;
        w.push_back(x);
      }
      if (w.empty()) continue;
      try {
        Line(w);
      } catch (const std::exception& e) {
        Die("script line " + std::to_string(lineno) + ": " + e.what());
      }
    }
  }

 private:
  void Need(const std::vector<std::string>& w, size_t n) {
    if (w.size() < n) throw std::runtime_error("'" + w[0] + "' needs " + std::to_string(n - 1) + " arguments");
  }

  void AddOp(Op op) {
    if (!in_batch_) throw std::runtime_error("op outside batch ... end");
    batch_.ops.push_back(std::move(op));
  }

  void Line(const std::vector<std::string>& w) {
    const std::string& c = w[0];
    if (c == "hello") {
      Need(w, 5);
      Send(Hello{w.size() > 5 ? static_cast<uint32_t>(Num(w[5])) : kProtocolVersion, w[1], w[2],
                 w[3], w[4]});
    } else if (c == "batch") {
      in_batch_ = true;
      batch_ = Batch{};
      batch_.batch_id = ++batch_id_;
      for (size_t i = 1; i < w.size(); ++i) {
        if (w[i] == "fsync") batch_.flags |= kBatchFsync;
        if (w[i] == "replace") batch_.flags |= kBatchReplaceStale;
        if (w[i] == "inorder") batch_.flags |= kBatchInOrder;
        if (w[i] == "fresh") batch_.flags |= kBatchFresh;
      }
    } else if (c == "end") {
      in_batch_ = false;
      Send(batch_);
    } else if (c == "create") {
      Need(w, 7);
      EntryCreateOp o{ParseId(w[1]), Unescape(w[2]), ParseId(w[3]), static_cast<uint32_t>(Num(w[4], 8)),
                      static_cast<uint32_t>(Num(w[5])), static_cast<uint32_t>(Num(w[6])), 0, ""};
      if (w.size() > 7) o.rdev = Num(w[7]);
      if (w.size() > 8) o.target = Unescape(w[8]);
      AddOp(o);
    } else if (c == "link") {
      Need(w, 4);
      AddOp(LinkOp{ParseId(w[1]), ParseId(w[2]), Unescape(w[3])});
    } else if (c == "rename") {
      Need(w, 6);
      AddOp(RenameOp{ParseId(w[1]), ParseId(w[2]), Unescape(w[3]), ParseId(w[4]), Unescape(w[5]),
                     w.size() > 6 ? ParseId(w[6]) : Gfid{}});
    } else if (c == "unlink") {
      Need(w, 4);
      AddOp(UnlinkOp{ParseId(w[1]), Unescape(w[2]), ParseId(w[3])});
    } else if (c == "rmdir") {
      Need(w, 4);
      AddOp(RmdirOp{ParseId(w[1]), Unescape(w[2]), ParseId(w[3])});
    } else if (c == "data") {
      Need(w, 4);
      AddOp(DataOp{ParseId(w[1]), Num(w[2]), Unescape(w[3])});
    } else if (c == "datahex") {
      Need(w, 4);
      AddOp(DataOp{ParseId(w[1]), Num(w[2]), FromHex(w[3])});
    } else if (c == "datafile") {
      Need(w, 4);
      std::ifstream f(w[3], std::ios::binary | std::ios::ate);
      if (!f) throw std::runtime_error("cannot read " + w[3]);
      std::string all(static_cast<size_t>(f.tellg()), '\0');
      f.seekg(0);
      if (!f.read(all.data(), static_cast<std::streamsize>(all.size()))) {
        throw std::runtime_error("cannot read " + w[3]);
      }
      // As many 1 MiB chunks per batch as fit under the body limit.
      const uint64_t base = Num(w[2]);
      const Gfid g = ParseId(w[1]);
      Batch b;
      size_t size = kBatchBodyOverhead;
      for (size_t off = 0; off < all.size(); off += kMaxDataChunk) {
        DataOp op{g, base + off, all.substr(off, kMaxDataChunk)};
        if (!b.ops.empty() && size + EncodedOpSize(op) > kMaxBodySize) {
          b.batch_id = ++batch_id_;
          Send(b);
          b.ops.clear();
          size = kBatchBodyOverhead;
        }
        size += EncodedOpSize(op);
        b.ops.push_back(std::move(op));
      }
      if (!b.ops.empty()) {
        b.batch_id = ++batch_id_;
        Send(b);
      }
    } else if (c == "zeros") {
      Need(w, 4);
      AddOp(DataOp{ParseId(w[1]), Num(w[2]), std::string(Num(w[3]), '\0')});
    } else if (c == "truncate") {
      Need(w, 3);
      AddOp(TruncateOp{ParseId(w[1]), Num(w[2])});
    } else if (c == "punch") {
      Need(w, 4);
      AddOp(PunchHoleOp{ParseId(w[1]), Num(w[2]), Num(w[3])});
    } else if (c == "setattr") {
      Need(w, 2);
      SetattrOp o{ParseId(w[1]), 0, 0, 0, 0, 0, 0};
      for (size_t i = 2; i < w.size(); ++i) {
        const auto eq = w[i].find('=');
        const std::string k = w[i].substr(0, eq), v = w[i].substr(eq + 1);
        if (k == "mode") { o.mask |= kSetMode; o.mode = static_cast<uint32_t>(Num(v, 8)); }
        else if (k == "uid") { o.mask |= kSetUid; o.uid = static_cast<uint32_t>(Num(v)); }
        else if (k == "gid") { o.mask |= kSetGid; o.gid = static_cast<uint32_t>(Num(v)); }
        else if (k == "atime") { o.mask |= kSetAtime; o.atime_ns = static_cast<int64_t>(Num(v)); }
        else if (k == "mtime") { o.mask |= kSetMtime; o.mtime_ns = static_cast<int64_t>(Num(v)); }
        else throw std::runtime_error("unknown setattr field " + k);
      }
      AddOp(o);
    } else if (c == "setxattr") {
      Need(w, 4);
      AddOp(SetxattrOp{ParseId(w[1]), w[2], Value(w[3])});
    } else if (c == "removexattr") {
      Need(w, 3);
      AddOp(RemovexattrOp{ParseId(w[1]), w[2]});
    } else if (c == "stat") {
      Need(w, 2);
      Send(StatRequest{++request_id_, ParseId(w[1])});
    } else if (c == "list") {
      Need(w, 2);
      Send(ListRequest{++request_id_, ParseId(w[1]), w.size() > 2 ? Num(w[2]) : 0});
    } else if (c == "checksum") {
      Need(w, 4);
      Send(ChecksumRequest{++request_id_, ParseId(w[1]), Num(w[2]), Num(w[3])});
    } else if (c == "ping") {
      Need(w, 2);
      Send(Ping{Num(w[1])});
    } else if (c == "bye") {
      Send(Bye{});
    } else if (c == "rawframe") {
      Need(w, 2);
      const std::string body = FromHex(w[1]);
      std::string frame(8, '\0');
      const uint32_t len = static_cast<uint32_t>(body.size());
      const uint32_t crc = crc32c::Mask(crc32c::Value(body.data(), body.size()));
      for (int i = 0; i < 4; ++i) {
        frame[i] = static_cast<char>(len >> (8 * i));
        frame[4 + i] = static_cast<char>(crc >> (8 * i));
      }
      SendRaw(frame + body);
    } else if (c == "rawbytes") {
      Need(w, 2);
      SendRaw(FromHex(w[1]));
    } else if (c == "await") {
      Need(w, 2);
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(120);
      while (g_replies.load() < static_cast<int>(Num(w[1]))) {
        if (std::chrono::steady_clock::now() > until) throw std::runtime_error("await timed out");
        usleep(10 * 1000);
      }
    } else if (c == "sleep") {
      Need(w, 2);
      usleep(static_cast<useconds_t>(Num(w[1]) * 1000));
    } else {
      throw std::runtime_error("unknown command " + c);
    }
  }

  int fd_;
  bool in_batch_ = false;
  Batch batch_;
  uint64_t batch_id_ = 0;
  uint64_t request_id_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || std::strcmp(argv[2], "--") != 0) {
    std::fprintf(stderr, "usage: receiver_client SCRIPT -- COMMAND [ARGS...]\n");
    return 100;
  }
  std::ifstream script(argv[1]);
  if (!script) Die(std::string("cannot read script ") + argv[1]);
  signal(SIGPIPE, SIG_IGN);

  int to_child[2], from_child[2];
  if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0) Die("pipe failed");
  // Larger pipes mean fewer context switches per MiB (ssh channels buffer
  // more than the default 64 KiB too); best effort.
  (void)fcntl(to_child[1], F_SETPIPE_SZ, 1 << 20);
  (void)fcntl(from_child[1], F_SETPIPE_SZ, 1 << 20);
  pid_t pid = fork();
  if (pid < 0) Die("fork failed");
  if (pid == 0) {
    dup2(to_child[0], STDIN_FILENO);
    dup2(from_child[1], STDOUT_FILENO);
    execvp(argv[3], argv + 3);
    std::perror("receiver_client: exec");
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);

  std::thread reader([fd = from_child[0]] {
    FrameDecoder d;
    // Ends at the receiver's end of output (it exits) or on a damaged reply.
    for (;;) {
      auto r = ReadFrame(fd, &d, 600 * 1000);
      if (!r.ok()) {
        std::cout << "READ_ERROR " << r.status().ToString() << std::endl;
        return;
      }
      if (!r->has_value()) return;
      PrintReply(**r);
      ++g_replies;
    }
  });

  Client client(to_child[1]);
  client.Run(script);
  close(to_child[1]);  // end of input: the receiver finishes and exits
  reader.join();
  close(from_child[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  std::cout << "EXIT " << (WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status))
            << std::endl;
  return 0;
}

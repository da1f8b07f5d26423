// Frames <-> messages. EncodeFrame is the only encoder and FrameDecoder the
// only decoder of the wire format described in PROTOCOL.md.
//
// Decoding never trusts the peer: every length is checked against what is
// left, the body's crc32c is checked before any field is read, unknown types
// and trailing bytes are errors, and a frame is only ever returned whole.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/buffer_pool.h"
#include "common/status.h"
#include "sync/protocol/messages.h"

namespace georep::protocol {

// Appends header + body of `m` to *out. Fails (kInvalidArgument, nothing
// appended) when the body would exceed `max_body` or a DataOp carries more
// than kMaxDataChunk bytes: both are sender bugs the caller must not send.
Status EncodeFrame(const Message& m, std::string* out, uint32_t max_body = kMaxBodySize);

// The same frame without copying DATA payloads: *frame receives every other
// byte (replacing its contents) and *parts the frame in order, as views into
// *frame and into the payloads of `m`, valid while both live and unchanged.
// Writing the parts one after another sends exactly EncodeFrame's bytes.
Status EncodeFrameParts(const Message& m, std::string* frame, std::vector<std::string_view>* parts,
                        uint32_t max_body = kMaxBodySize);

// Bytes `op` adds to a Batch body, so a sender can fill a batch up to
// kMaxBodySize: body size = kBatchBodyOverhead + sum of EncodedOpSize.
size_t EncodedOpSize(const Op& op);
constexpr size_t kBatchBodyOverhead = 1 + 8 + 4 + 4;  // type, batch id, flags, op count

// Decodes one complete body (type byte + fields). On failure *code says which
// protocol error it is. Exposed for tests; streams use FrameDecoder.
// DATA payloads are decoded into buffers taken from `buffers` when given.
Status DecodeBody(std::string_view body, Message* out, ErrorCode* code,
                  BufferPool* buffers = nullptr);

// Incremental decoder for a byte stream: Append what arrives, then call Next
// until it returns nullopt (needs more bytes). After an error every further
// Next returns the same error; the connection must be ended (send ERROR with
// error_code() and close).
class FrameDecoder {
 public:
  explicit FrameDecoder(uint32_t max_body = kMaxBodySize) : max_body_(max_body) {}

  void Append(std::string_view bytes);
  // One read(2) of up to `max` bytes from `fd` straight into the buffer:
  // what read returned (0 at end of stream, -1 with errno set).
  ssize_t ReadFrom(int fd, size_t max);
  // DATA payloads are decoded into buffers from `pool` (nullptr: fresh
  // strings); the caller gives them back once applied.
  void set_buffers(BufferPool* pool) { buffers_ = pool; }
  // A frame, nullopt when the buffered bytes hold no complete frame, or a
  // protocol error (kCorruption for damaged bytes, kInvalidArgument for
  // well-formed but unacceptable content, kResourceExhausted for too large).
  Result<std::optional<Message>> Next();

  // Bytes buffered and not yet returned as frames. Non-zero at end of stream
  // means the peer stopped in the middle of a frame.
  size_t buffered() const { return end_ - pos_; }
  // True once Next has returned a protocol error.
  bool failed() const { return failed_; }
  // The protocol error of the last failed Next (meaningless before one).
  ErrorCode error_code() const { return error_code_; }
  uint32_t max_body() const { return max_body_; }

 private:
  uint32_t max_body_;
  // Makes room for n more bytes after end_.
  void Reserve(size_t n);

  std::string buf_;   // [pos_, end_) holds unread bytes; the rest is room
  size_t pos_ = 0;
  size_t end_ = 0;
  BufferPool* buffers_ = nullptr;
  bool failed_ = false;
  Status error_;
  ErrorCode error_code_ = ErrorCode::kInternal;
};

// ---- Blocking file-descriptor helpers (pipes, sockets, stdin/stdout) --------

// Writes all of `bytes`, retrying on EINTR and short writes.
Status WriteAll(int fd, std::string_view bytes);
// Encodes `m` and writes it.
Status WriteFrame(int fd, const Message& m);

// Reads from `fd` into `decoder` until it yields a frame. Returns nullopt on
// end of stream at a frame boundary; kAborted ("peer closed mid-frame") when
// the stream ends inside a frame; a protocol error from the decoder as is.
// `timeout_ms` < 0 waits without limit; otherwise a wait longer than that for
// the next bytes is kUnavailable with err() == ETIMEDOUT.
Result<std::optional<Message>> ReadFrame(int fd, FrameDecoder* decoder, int timeout_ms = -1);

}  // namespace georep::protocol

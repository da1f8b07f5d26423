// The content digest the verifier compares regular files by.
//
// A file is cut into blocks of kContentBlockSize bytes (the last one shorter);
// each block is hashed with SHA-256, and the file digest is
//   SHA-256( "georep-content-v1" NUL | size as u64 little-endian |
//            block digest 0 | block digest 1 | ... )
// Blocks are independent, so the blocks of one large file are read and hashed
// by several threads at once; the result is still a collision-resistant
// digest of the whole byte sequence and its length. It is NOT the output of
// sha256sum for files; compare manifests made by this tool with each other.
//
// SHA-256 comes from OpenSSL's libcrypto, which libssh (already required by
// the sync engine) depends on: it uses the CPU's SHA extensions (about
// 1.5 GB/s per core here), far faster than a hand-written hash would be.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "sync/verify/entry.h"

namespace georep::verify {

// Bytes per hashed block; also the unit of parallel reading.
constexpr uint64_t kContentBlockSize = 4ull << 20;

using BlockDigest = std::array<uint8_t, 32>;

// Plain SHA-256 of a byte string.
BlockDigest Sha256(std::string_view bytes);

// Incremental SHA-256 of one block. Not copyable; one per thread.
class BlockHasher {
 public:
  BlockHasher();
  ~BlockHasher();
  BlockHasher(const BlockHasher&) = delete;
  BlockHasher& operator=(const BlockHasher&) = delete;

  void Update(const void* data, size_t len);
  // Returns the digest of everything since construction or the last Finish.
  BlockDigest Finish();

 private:
  void* ctx_;  // EVP_MD_CTX, kept opaque so that callers need no OpenSSL headers
};

uint64_t BlockCount(uint64_t size);

// Combines per-block digests (in block order) into the file digest.
ContentDigest CombineBlockDigests(uint64_t size, const std::vector<BlockDigest>& blocks);

// Reads up to `len` bytes at `offset`; returns the count (0 at end of file)
// or -errno.
using ReadAt = std::function<int64_t(void* buf, size_t len, uint64_t offset)>;

// Digest of block `index` of a file of `size` bytes, read in chunks of
// `chunk` bytes through `read`. A file that ends before `size` (it shrank
// while being read) yields kAborted: the caller rescans rather than trusting a
// digest of a moving target.
Result<BlockDigest> DigestBlock(const ReadAt& read, uint64_t size, uint64_t index, size_t chunk,
                                BlockHasher* hasher, std::vector<uint8_t>* buffer);

// The whole-file digest computed sequentially (tests and small callers).
Result<ContentDigest> DigestContent(const ReadAt& read, uint64_t size, size_t chunk);

}  // namespace georep::verify

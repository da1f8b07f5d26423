#include "sync/verify/content_hash.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace georep::verify {

namespace {
constexpr char kDomain[] = "georep-content-v1";  // with its NUL, separates this use of SHA-256
}  // namespace

BlockDigest Sha256(std::string_view bytes) {
  BlockHasher h;
  h.Update(bytes.data(), bytes.size());
  return h.Finish();
}

BlockHasher::BlockHasher() : ctx_(EVP_MD_CTX_new()) {
  // Allocation failure of a few hundred bytes leaves nothing sensible to do.
  if (ctx_ == nullptr || EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr) != 1) {
    throw std::bad_alloc();
  }
}

BlockHasher::~BlockHasher() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void BlockHasher::Update(const void* data, size_t len) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data, len);
}

BlockDigest BlockHasher::Finish() {
  BlockDigest out{};
  unsigned int len = 0;
  auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  EVP_DigestFinal_ex(ctx, out.data(), &len);
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  return out;
}

uint64_t BlockCount(uint64_t size) { return (size + kContentBlockSize - 1) / kContentBlockSize; }

ContentDigest CombineBlockDigests(uint64_t size, const std::vector<BlockDigest>& blocks) {
  BlockHasher h;
  h.Update(kDomain, sizeof kDomain);
  uint8_t le[8];
  for (int i = 0; i < 8; ++i) le[i] = static_cast<uint8_t>(size >> (8 * i));
  h.Update(le, sizeof le);
  for (const BlockDigest& b : blocks) h.Update(b.data(), b.size());
  return h.Finish();
}

Result<BlockDigest> DigestBlock(const ReadAt& read, uint64_t size, uint64_t index, size_t chunk,
                                BlockHasher* hasher, std::vector<uint8_t>* buffer) {
  const uint64_t begin = index * kContentBlockSize;
  const uint64_t end = std::min(size, begin + kContentBlockSize);
  if (begin >= end) return Status(Code::kInvalidArgument, "block index beyond the end of the file");
  if (buffer->size() < chunk) buffer->resize(chunk);
  uint64_t off = begin;
  while (off < end) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(chunk, end - off));
    const int64_t got = read(buffer->data(), want, off);
    if (got < 0) return Status::FromErrno(static_cast<int>(-got), "read at offset " + std::to_string(off));
    if (got == 0) {
      return Status(Code::kAborted, "file ended at " + std::to_string(off) + " bytes while " +
                                        std::to_string(size) + " were expected (it changed while being read)");
    }
    hasher->Update(buffer->data(), static_cast<size_t>(got));
    off += static_cast<uint64_t>(got);
  }
  return hasher->Finish();
}

Result<ContentDigest> DigestContent(const ReadAt& read, uint64_t size, size_t chunk) {
  BlockHasher hasher;
  std::vector<uint8_t> buffer;
  std::vector<BlockDigest> blocks;
  const uint64_t n = BlockCount(size);
  for (uint64_t i = 0; i < n; ++i) {
    Result<BlockDigest> b = DigestBlock(read, size, i, chunk, &hasher, &buffer);
    if (!b.ok()) return b.status();
    blocks.push_back(*b);
  }
  return CombineBlockDigests(size, blocks);
}

}  // namespace georep::verify

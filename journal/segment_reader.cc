#include "journal/segment_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/crc32c.h"
#include "journal/format.h"
#include "journal/framing.h"

namespace georep::journal::internal {

Result<std::unique_ptr<SegmentReader>> SegmentReader::Open(const std::string& path,
                                                           CorruptionReport* report) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open journal segment " + path);
  return std::unique_ptr<SegmentReader>(new SegmentReader(path, fd, report));
}

SegmentReader::SegmentReader(std::string path, int fd, CorruptionReport* report)
    : path_(std::move(path)), fd_(fd), report_(report), buf_(kBlockSize) {}

SegmentReader::~SegmentReader() { ::close(fd_); }

// Makes bytes [pos, pos+n) of pos's block available in buf_; false when the
// file does not (yet) hold them. Re-reads only the part of the block not yet
// buffered, so tailing a growing block costs one pread per call.
Result<bool> SegmentReader::Ensure(uint64_t pos, size_t n) {
  uint64_t block = pos / kBlockSize;
  if (block != buf_block_) {
    buf_block_ = block;
    buf_len_ = 0;
  }
  size_t need = static_cast<size_t>(pos % kBlockSize) + n;
  while (buf_len_ < need) {
    ssize_t r = ::pread(fd_, buf_.data() + buf_len_, kBlockSize - buf_len_,
                        static_cast<off_t>(block * kBlockSize + buf_len_));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "read journal segment " + path_);
    }
    if (r == 0) return false;
    buf_len_ += static_cast<size_t>(r);
  }
  return true;
}

Result<SegmentReader::Phys> SegmentReader::ReadPhysical(uint8_t* type, std::string_view* fragment,
                                                         const char** why) {
  while (true) {
    size_t rel = static_cast<size_t>(pos_ % kBlockSize);
    size_t left = kBlockSize - rel;
    if (left < kHeaderSize) {
      // Block trailer: the writer zero-fills it in the same write as the
      // record that follows, so it is present exactly when that record is.
      auto e = Ensure(pos_, left);
      if (!e.ok()) return e.status();
      if (!*e) return Phys::kEof;
      pos_ += left;
      continue;
    }
    auto e = Ensure(pos_, kHeaderSize);
    if (!e.ok()) return e.status();
    if (!*e) return Phys::kEof;
    const auto* h = reinterpret_cast<const uint8_t*>(buf_.data() + rel);
    uint32_t stored = static_cast<uint32_t>(h[0]) | static_cast<uint32_t>(h[1]) << 8 |
                      static_cast<uint32_t>(h[2]) << 16 | static_cast<uint32_t>(h[3]) << 24;
    size_t len = static_cast<size_t>(h[4]) | static_cast<size_t>(h[5]) << 8;
    uint8_t t = h[6];
    if (kHeaderSize + len > left) {
      *why = "fragment length runs past its block";
      return Phys::kBad;
    }
    e = Ensure(pos_, kHeaderSize + len);
    if (!e.ok()) return e.status();
    if (!*e) return Phys::kEof;
    if (t == 0 || t > kMaxFragmentType) {
      *why = "unknown fragment type";
      return Phys::kBad;
    }
    std::string_view frag(buf_.data() + rel + kHeaderSize, len);
    if (FragmentCrc(static_cast<FragmentType>(t), frag) != stored) {
      *why = "checksum mismatch";
      return Phys::kBad;
    }
    *type = t;
    *fragment = frag;
    pos_ += kHeaderSize + len;
    return Phys::kOk;
  }
}

// Whether a complete, checksum-valid physical record starts at `pos` (a block
// boundary). Only block boundaries are trusted as resynchronisation points:
// bytes inside a payload (file names, xattr keys) are user-controlled and may
// imitate a record, but a block always starts with a real header.
Result<bool> SegmentReader::ValidRecordAt(uint64_t pos) {
  auto e = Ensure(pos, kHeaderSize);
  if (!e.ok() || !*e) return e;
  const auto* h = reinterpret_cast<const uint8_t*>(buf_.data());
  uint32_t stored = static_cast<uint32_t>(h[0]) | static_cast<uint32_t>(h[1]) << 8 |
                    static_cast<uint32_t>(h[2]) << 16 | static_cast<uint32_t>(h[3]) << 24;
  size_t len = static_cast<size_t>(h[4]) | static_cast<size_t>(h[5]) << 8;
  uint8_t t = h[6];
  if (t == 0 || t > kMaxFragmentType || kHeaderSize + len > kBlockSize) return false;
  e = Ensure(pos, kHeaderSize + len);
  if (!e.ok() || !*e) return e;
  std::string_view frag(buf_.data() + kHeaderSize, len);
  return FragmentCrc(static_cast<FragmentType>(t), frag) == stored;
}

void SegmentReader::DropPartial() {
  assembling_ = false;
  assembly_.clear();
}

void SegmentReader::Damage(uint64_t start, uint64_t resume, uint64_t where) {
  report_->events++;
  report_->bytes_dropped += resume > start ? resume - start : 0;
  report_->last_segment = path_;
  report_->last_offset = where;
}

Result<SegmentReader::Outcome> SegmentReader::Next(bool sealed, std::string* payload) {
  if (ended_) return Outcome::kNoData;
  // Each iteration consumes at least one physical record or ends the call, so
  // the loop is bounded by the file's size.
  while (true) {
    uint64_t at = pos_;
    uint8_t type = 0;
    std::string_view frag;
    const char* why = "";
    auto phys = ReadPhysical(&type, &frag, &why);
    if (!phys.ok()) return phys.status();

    if (*phys == Phys::kEof) {
      if (sealed) {
        // Torn tail: the writer stopped in the middle of a write. Whatever
        // was being assembled never became a record.
        DropPartial();
        ended_ = true;
      }
      return Outcome::kNoData;
    }

    if (*phys == Phys::kBad) {
      // Damage, or a torn tail that happens to look like garbage. It is
      // damage only if a valid record starts at some later block boundary.
      uint64_t block = at / kBlockSize + 1;
      bool found = false;
      while (true) {
        auto v = ValidRecordAt(block * kBlockSize);
        if (!v.ok()) return v.status();
        if (*v) {
          found = true;
          break;
        }
        // Stop at the first block that does not hold a whole header: the
        // file ends there.
        auto more = Ensure(block * kBlockSize, kHeaderSize);
        if (!more.ok()) return more.status();
        if (!*more) break;
        block++;
      }
      if (!found) {
        if (sealed) {
          DropPartial();
          ended_ = true;
        } else {
          // Live segment: stay here and look again later. The writer never
          // appends after garbage, so either it is overwritten by the
          // writer's retry of a failed write, or valid data appears in a
          // later block and this becomes skippable damage.
          pos_ = at;
        }
        return Outcome::kNoData;
      }
      uint64_t resume = block * kBlockSize;
      Damage(assembling_ ? assembly_start_ : at, resume, at);
      (void)why;
      DropPartial();
      skipping_ = true;
      pos_ = resume;
      continue;
    }

    switch (static_cast<FragmentType>(type)) {
      case FragmentType::kFull:
        if (assembling_) {
          Damage(assembly_start_, at, at);
          DropPartial();
        }
        skipping_ = false;
        record_offset_ = at;
        payload->assign(frag.data(), frag.size());
        return Outcome::kRecord;
      case FragmentType::kFirst:
        if (assembling_) Damage(assembly_start_, at, at);
        skipping_ = false;
        assembling_ = true;
        assembly_start_ = at;
        assembly_.assign(frag.data(), frag.size());
        continue;
      case FragmentType::kMiddle:
      case FragmentType::kLast:
        if (!assembling_) {
          // The head of this record was lost: part of the damage just
          // skipped, or a new damaged region of its own.
          if (skipping_) {
            report_->bytes_dropped += pos_ - at;
          } else {
            Damage(at, pos_, at);
            skipping_ = true;
          }
          continue;
        }
        assembly_.append(frag.data(), frag.size());
        if (static_cast<FragmentType>(type) == FragmentType::kLast) {
          assembling_ = false;
          record_offset_ = assembly_start_;
          payload->swap(assembly_);
          assembly_.clear();
          return Outcome::kRecord;
        }
        if (assembly_.size() > kMaxRecordSize + kBlockSize) {
          // Valid fragments but no end in sight: cannot be a record the
          // writer produced. Drop it rather than grow without bound.
          Damage(assembly_start_, pos_, assembly_start_);
          DropPartial();
          skipping_ = true;
        }
        continue;
      case FragmentType::kZero:
        break;
    }
    // ReadPhysical rejects type 0 and unknown types; unreachable.
    return Status(Code::kCorruption, "unexpected fragment type in " + path_);
  }
}

}  // namespace georep::journal::internal

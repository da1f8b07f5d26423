#include "sync/daemon/materializer.h"

#include <algorithm>
#include <deque>
#include <future>
#include <utility>

#include "sync/protocol/codec.h"

namespace georep::daemon {

namespace {
// Room kept in a batch body beyond the op encodings (the batch header and
// a DataOp's own fields), so a full-sized chunk always fits an empty batch.
constexpr size_t kChunkHeadroom = 256;
constexpr uint64_t kChunkAlign = 4096;
// Ranges up to this size are read without SEEK_DATA/SEEK_HOLE.
constexpr uint64_t kSmallRange = 128 * 1024;
// Chunks of one extent read concurrently: 8 MiB in flight per worker with
// 4 MiB chunks (protocol 3). With 1 MiB chunks, 3 left the producer reading
// 3.4 s of 4.3 s for a 1 GiB file and 8 made it wait for the receiver
// instead. With 4 MiB chunks, 2 and 4 moved the file equally fast (4 runs
// each, 251-307 MB/s) and 2 cost georepd less CPU (1.8-2.1 s against
// 2.2-2.6 s): fewer reads in flight hold fewer gfapi buffers.
constexpr size_t kReadAhead = 2;
}  // namespace

BufferPool& DataBuffers() {
  // Enough for the chunks read ahead plus those just sent; more would only
  // hold memory (4 MiB each) in an idle daemon.
  static BufferPool pool(2 * kReadAhead + 2);
  return pool;
}

Materializer::Materializer(DataSource* source, MaterializerLimits limits, BatchSink sink)
    : source_(source), limits_(limits), sink_(std::move(sink)) {}

Status Materializer::Flush() {
  if (open_.ops.empty()) return Status::Ok();
  protocol::Batch batch = std::move(open_);
  size_t size = open_size_;
  open_ = protocol::Batch{};
  open_size_ = 0;
  batch.batch_id = next_batch_id_++;
  batch.flags = (limits_.fsync ? static_cast<uint32_t>(protocol::kBatchFsync) : 0u) |
                (limits_.replace_stale ? static_cast<uint32_t>(protocol::kBatchReplaceStale) : 0u) |
                (limits_.in_order ? static_cast<uint32_t>(protocol::kBatchInOrder) : 0u) |
                (limits_.fresh && !limits_.in_order ? static_cast<uint32_t>(protocol::kBatchFresh) : 0u);
  return sink_(std::move(batch), size);
}

Status Materializer::Emit(protocol::Op op) {
  size_t op_size = protocol::EncodedOpSize(op);
  size_t limit = std::min<size_t>(limits_.max_body, protocol::kMaxBodySize);
  if (!open_.ops.empty() && (open_size_ + op_size > limit || open_.ops.size() >= limits_.max_ops)) {
    GEOREP_RETURN_IF_ERROR(Flush());
  }
  if (open_.ops.empty()) open_size_ = protocol::kBatchBodyOverhead;
  if (open_size_ + op_size > protocol::kMaxBodySize) {
    // Only a name or xattr value larger than a frame gets here; GlusterFS
    // limits both far below that, so this is a bug, not an input error.
    return Status(Code::kInvalidArgument, "op too large for one frame: " + protocol::DescribeOp(op));
  }
  open_size_ += op_size;
  open_.ops.push_back(std::move(op));
  return Status::Ok();
}

Status Materializer::Add(const Plan& plan) {
  for (const PlanItem& item : plan.items) GEOREP_RETURN_IF_ERROR(AddItem(item));
  return Status::Ok();
}

Status Materializer::AddItem(const PlanItem& item) {
  switch (item.kind) {
    case PlanItem::Kind::kEntry: {
      // Symlink targets may be left empty by the journal; read them then.
      if (auto* c = std::get_if<protocol::EntryCreateOp>(&item.entry);
          c != nullptr && S_ISLNK(c->mode) && c->target.empty()) {
        auto target = source_->ReadLink(c->gfid);
        if (!target.ok()) {
          if (target.status().code() == Code::kNotFound) {
            ++stats_.items_skipped_gone;
            return Status::Ok();
          }
          return target.status();
        }
        protocol::EntryCreateOp copy = *c;
        copy.target = *target;
        return Emit(std::move(copy));
      }
      return Emit(item.entry);
    }
    case PlanItem::Kind::kData: return AddData(item);
    case PlanItem::Kind::kMeta: return AddMeta(item);
  }
  return Status::Ok();
}

Status Materializer::AddData(const PlanItem& item) {
  auto opened = source_->Open(item.gfid);
  if (!opened.ok()) {
    if (opened.status().code() == Code::kNotFound) {
      ++stats_.items_skipped_gone;
      return Status::Ok();
    }
    // Data ops only apply to regular files; a size change journaled for
    // anything else has nothing to send.
    if (opened.status().code() == Code::kInvalidArgument) return Status::Ok();
    return opened.status().Annotate("open " + protocol::GfidToString(item.gfid));
  }
  SourceFile& file = **opened;
  // Files are read without holding them open (anonymous fds), so one
  // deleted after Open reads as not found: skipped like one deleted
  // before (the delete is journaled and follows); ops already emitted for
  // it only touch a file about to go.
  auto gone = [this](const Status& st) {
    if (st.code() != Code::kNotFound) return false;
    ++stats_.items_skipped_gone;
    return true;
  };
  // One stat serves for the size, the times and the attributes: a change
  // made after it is journaled and sent again with a later window.
  auto st = file.Stat();
  if (!st.ok()) return st.status().Annotate("stat " + protocol::GfidToString(item.gfid));
  if (!S_ISREG(st->mode)) return Status::Ok();  // data ops only apply to regular files
  uint64_t size = st->size;
  // Writes and fallocate only ever extend a file, which the data ops do on
  // the secondary as well; the size must be set explicitly only where it may
  // have shrunk or grown by a hole (truncate, crawl: ranges open to EOF).
  bool send_size = false;
  bool read_short = false;  // the file shrank after the stat
  for (const auto& [b, e] : item.ranges.ranges()) {
    if (e == RangeSet::kToEof) send_size = true;
  }

  // A resync's crawl: the secondary's copy already has this content when
  // its size and mtime are the primary's (secondary_files.h). Its
  // attributes may still differ: the SETATTR below goes anyway.
  const bool whole_file = item.allocs.empty() && item.ranges.ranges().size() == 1 &&
                          item.ranges.ranges().begin()->first == 0 &&
                          item.ranges.ranges().begin()->second == RangeSet::kToEof;
  if (secondary_files_ != nullptr && whole_file && secondary_files_->Matches(item.gfid, size, st->mtime_ns)) {
    ++stats_.files_unchanged;
    stats_.bytes_unchanged += size;
    return EmitFinalAttrs(item, *st);
  }

  for (const AllocRange& a : item.allocs) {
    GEOREP_RETURN_IF_ERROR(Emit(protocol::AllocateOp{item.gfid, a.keep_size, a.offset, a.length}));
  }
  // Whole 4 KiB blocks, so that a big file's chunks (and their offsets) stay
  // aligned for the receiver's O_DIRECT writes.
  const uint64_t chunk =
      std::min<uint64_t>(protocol::kMaxDataChunk,
                         std::min<uint64_t>(limits_.max_body, protocol::kMaxBodySize) -
                             protocol::kBatchBodyOverhead - kChunkHeadroom) &
      ~uint64_t{kChunkAlign - 1};
  std::string buf;
  for (const auto& [begin, range_end] : item.ranges.ranges()) {
    uint64_t end = std::min(range_end, size);
    uint64_t pos = begin;
    // Small ranges are read as they are: two seeks would cost more than the
    // bytes, and the receiver stores blocks of zeroes as holes anyway.
    if (end > pos && end - pos <= kSmallRange) {
      Status read = file.Read(pos, end - pos, &buf);
      if (gone(read)) return Status::Ok();
      GEOREP_RETURN_IF_ERROR(read);
      if (buf.size() < end - pos) send_size = read_short = true;  // shrank meanwhile
      if (!buf.empty()) {
        stats_.data_bytes += buf.size();
        GEOREP_RETURN_IF_ERROR(Emit(protocol::DataOp{item.gfid, pos, std::move(buf)}));
        buf = std::string();
      }
      continue;
    }
    while (pos < end) {
      auto data = file.SeekData(pos);
      if (!data.ok()) return data.status().Annotate("seek " + protocol::GfidToString(item.gfid));
      if (!data->has_value() || **data >= end) {
        GEOREP_RETURN_IF_ERROR(Emit(protocol::PunchHoleOp{item.gfid, pos, end - pos}));
        ++stats_.holes;
        break;
      }
      if (**data > pos) {
        GEOREP_RETURN_IF_ERROR(Emit(protocol::PunchHoleOp{item.gfid, pos, **data - pos}));
        ++stats_.holes;
        pos = **data;
      }
      auto hole = file.SeekHole(pos);
      if (!hole.ok()) return hole.status().Annotate("seek " + protocol::GfidToString(item.gfid));
      uint64_t extent_end = std::min(std::max(*hole, pos + 1), end);
      // Up to kReadAhead chunks are read concurrently (gfapi preads on one fd
      // may overlap), so the round trips to the brick overlap each other and
      // the sending of earlier chunks. The deque is declared after `file`:
      // leaving early destroys it first, and std::async futures wait for
      // their reads on destruction.
      struct Chunk {
        uint64_t offset;
        uint64_t length;
        std::future<std::pair<Status, std::string>> data;
      };
      std::deque<Chunk> ahead;
      uint64_t next = pos;
      bool shrank = false;
      while (pos < extent_end && !shrank) {
        while (ahead.size() < kReadAhead && next < extent_end) {
          uint64_t want = std::min(chunk, extent_end - next);
          SourceFile* f = &file;
          ahead.push_back({next, want, std::async(std::launch::async, [f, next, want] {
                             std::string out = DataBuffers().Take();
                             Status st = f->Read(next, want, &out);
                             return std::make_pair(std::move(st), std::move(out));
                           })});
          next += want;
        }
        Chunk c = std::move(ahead.front());
        ahead.pop_front();
        auto [st_read, data] = c.data.get();
        if (gone(st_read)) return Status::Ok();
        GEOREP_RETURN_IF_ERROR(st_read);
        if (data.size() < c.length) shrank = true;  // shrank since the stat
        if (data.empty()) break;
        uint64_t got = data.size();
        stats_.data_bytes += got;
        GEOREP_RETURN_IF_ERROR(Emit(protocol::DataOp{item.gfid, c.offset, std::move(data)}));
        pos = c.offset + got;
      }
      if (shrank) {
        send_size = read_short = true;  // the truncate below sets the size the file has now
        break;
      }
    }
  }
  if (send_size) {
    // The size the ops above describe: the one the stat saw, which includes
    // every change of this window (all journaled before it was cut). A file
    // that grew since is journaled again and sent with a later window;
    // setting that larger size here would skip the shrink in between and
    // leave stale bytes on the secondary (truncate to 5000, then to 3 MiB:
    // the old data past 5000 must become zeroes). Only a file that shrank
    // while it was read is cut further, to what it has now.
    uint64_t final_size = size;
    if (read_short) {
      auto after = file.Stat();
      if (!after.ok() && gone(after.status())) return Status::Ok();
      if (!after.ok()) return after.status().Annotate("stat " + protocol::GfidToString(item.gfid));
      final_size = std::min(size, after->size);
    }
    GEOREP_RETURN_IF_ERROR(Emit(protocol::TruncateOp{item.gfid, final_size}));
  }

  return EmitFinalAttrs(item, *st);
}

Status Materializer::EmitFinalAttrs(const PlanItem& item, const ObjectStat& st) {
  // Writing changed the secondary's times; send the primary's, plus any
  // attributes a metadata item handed over (final_attr_mask).
  protocol::SetattrOp attrs;
  attrs.gfid = item.gfid;
  attrs.mask = (protocol::kSetAtime | protocol::kSetMtime | item.final_attr_mask) &
               protocol::kSetattrKnownBits;
  attrs.mode = st.mode & 07777;
  attrs.uid = st.uid;
  attrs.gid = st.gid;
  attrs.atime_ns = st.atime_ns;
  attrs.mtime_ns = st.mtime_ns;
  return Emit(std::move(attrs));
}

Status Materializer::AddMeta(const PlanItem& item) {
  auto st = source_->Stat(item.gfid);
  if (!st.ok()) {
    if (st.status().code() == Code::kNotFound) {
      ++stats_.items_skipped_gone;
      return Status::Ok();
    }
    return st.status().Annotate("stat " + protocol::GfidToString(item.gfid));
  }
  uint32_t mask = item.attr_mask & protocol::kSetattrKnownBits;
  // A symlink's permission bits are meaningless and cannot be set on Linux.
  if (S_ISLNK(st->mode)) mask &= ~static_cast<uint32_t>(protocol::kSetMode);
  if (mask != 0) {
    protocol::SetattrOp op;
    op.gfid = item.gfid;
    op.mask = mask;
    op.mode = st->mode & 07777;
    op.uid = st->uid;
    op.gid = st->gid;
    op.atime_ns = st->atime_ns;
    op.mtime_ns = st->mtime_ns;
    GEOREP_RETURN_IF_ERROR(Emit(std::move(op)));
  }
  std::vector<std::string> names(item.xattrs.begin(), item.xattrs.end());
  if (item.all_xattrs) {
    auto listed = source_->ListXattrs(item.gfid);
    if (!listed.ok()) {
      if (listed.status().code() == Code::kNotFound) return Status::Ok();
      return listed.status().Annotate("listxattr " + protocol::GfidToString(item.gfid));
    }
    for (std::string& n : *listed) {
      if (IsSyncableXattr(n) && item.xattrs.count(n) == 0) names.push_back(std::move(n));
    }
  }
  for (const std::string& name : names) {
    auto value = source_->GetXattr(item.gfid, name);
    if (!value.ok()) {
      if (value.status().code() == Code::kNotFound) return Status::Ok();
      return value.status().Annotate("getxattr " + name + " of " +
                                     protocol::GfidToString(item.gfid));
    }
    if (value->has_value()) {
      GEOREP_RETURN_IF_ERROR(Emit(protocol::SetxattrOp{item.gfid, name, std::move(**value)}));
    } else {
      GEOREP_RETURN_IF_ERROR(Emit(protocol::RemovexattrOp{item.gfid, name}));
    }
  }
  return Status::Ok();
}

}  // namespace georep::daemon

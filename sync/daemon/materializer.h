// Materializer: turns a Plan into wire ops grouped into batch frames.
//
// Entry items become their op as is. Data items become, in this order:
// replayed fallocates, then for every dirty range clipped to the file's
// current size its data extents as DataOps (at most kMaxDataChunk bytes each)
// and its holes as PunchHoleOps (SEEK_DATA/SEEK_HOLE, so holes stay holes),
// then a TruncateOp to the current size and a SetattrOp with the current
// atime/mtime (writing changed them on the secondary). Metadata items become
// one SetattrOp with the current values and a Setxattr/RemovexattrOp per
// named attribute. Objects the primary no longer has are skipped (they were
// deleted later; the delete is journaled and will follow). During a resync's
// crawl, a file whose secondary copy is known to match (SetSecondaryFiles)
// gets only the final SetattrOp.
//
// Batches: ops are appended to the open batch until the next op would push
// its encoded body past `max_body` or its op count past `max_ops`; then the
// batch is handed to the sink. Flush() hands over a partly filled batch.
// Data is read chunk by chunk, so memory stays bounded by one batch.
#pragma once

#include <cstdint>
#include <functional>

#include "common/buffer_pool.h"
#include "common/status.h"
#include "sync/daemon/data_source.h"
#include "sync/daemon/plan.h"
#include "sync/daemon/secondary_files.h"
#include "sync/protocol/messages.h"

namespace georep::daemon {

struct MaterializerLimits {
  uint32_t max_ops = 2048;
  uint32_t max_body = protocol::kMaxBodySize;
  bool fsync = false;
  // Sets REPLACE_STALE on every batch: only for ops the sender has checked
  // against the primary's current state (see conflict.h).
  bool replace_stale = false;
  // Sets IN_ORDER on every batch: for ops that may have reached the
  // secondary before (see kBatchInOrder).
  bool in_order = false;
  // Sets FRESH on every batch: only for journal records never sent before
  // and newer than any crawl (see kBatchFresh).
  bool fresh = false;
};

struct MaterializerStats {
  uint64_t items_skipped_gone = 0;  // objects deleted before they could be read
  uint64_t data_bytes = 0;          // DataOp payload produced
  uint64_t holes = 0;               // PunchHoleOps produced
  // Whole-file data items whose secondary copy matched (SetSecondaryFiles):
  // only their attributes were sent.
  uint64_t files_unchanged = 0;
  uint64_t bytes_unchanged = 0;
};

// The buffers of DATA payloads, reused between the reads of the
// materializer and the sender that is done with them (see
// common/buffer_pool.h); shared by every worker of the process.
BufferPool& DataBuffers();

class Materializer {
 public:
  // The sink takes ownership of each full batch; an error from it stops the work.
  using BatchSink = std::function<Status(protocol::Batch batch, size_t encoded_size)>;

  Materializer(DataSource* source, MaterializerLimits limits, BatchSink sink);

  // Appends the ops of every item. Unreadable objects other than deleted ones
  // fail the call (the window is retried later), so nothing is silently lost.
  Status Add(const Plan& plan);
  Status AddItem(const PlanItem& item);
  // Hands the open batch (if it has ops) to the sink.
  Status Flush();
  void SetLimits(const MaterializerLimits& limits) { limits_ = limits; }
  // While set (a resync's crawl), a data item covering a whole file whose
  // secondary copy `files` lists with the primary's current size and mtime
  // sends no data, only the file's attributes (secondary_files.h). Not
  // owned; nullptr ends it.
  void SetSecondaryFiles(const SecondaryFiles* files) { secondary_files_ = files; }
  const MaterializerStats& stats() const { return stats_; }
  uint64_t next_batch_id() const { return next_batch_id_; }
  void set_next_batch_id(uint64_t id) { next_batch_id_ = id; }

 private:
  Status Emit(protocol::Op op);
  Status AddData(const PlanItem& item);
  Status AddMeta(const PlanItem& item);
  // The SETATTR that ends a data item: the primary's times, and the
  // attributes of final_attr_mask.
  Status EmitFinalAttrs(const PlanItem& item, const ObjectStat& st);

  DataSource* source_;
  MaterializerLimits limits_;
  const SecondaryFiles* secondary_files_ = nullptr;
  BatchSink sink_;
  protocol::Batch open_;
  size_t open_size_ = 0;
  uint64_t next_batch_id_ = 1;
  MaterializerStats stats_;
};

}  // namespace georep::daemon

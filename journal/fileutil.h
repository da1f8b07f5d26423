// Small POSIX file helpers shared by the journal's writer, reader and
// consumer registry. Internal to journal/; errors come back as Status through
// the one errno table (Status::FromErrno), each naming the path involved.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace georep::journal::internal {

// mkdir -p with mode 0750 for the parts it creates.
Status MakeDirs(const std::string& path);
// Writes `data` to path atomically and durably: a unique temporary file in the
// same directory, write, fsync, rename over path, fsync the directory. A
// crash leaves either the old or the new content, never a mix.
Status WriteFileAtomic(const std::string& path, const std::string& data);
// Removes temporaries left in `dir` by WriteFileAtomic calls that a crash
// interrupted: names starting with '.' and containing ".tmp.", last modified
// more than `min_age_s` seconds ago (younger ones may belong to a write in
// progress in another process). Best effort: returns how many were removed.
int RemoveStaleTemporaries(const std::string& dir, int64_t min_age_s);
// Whole small file (cursors, markers, seq.hwm). NotFound if absent.
Result<std::string> ReadSmallFile(const std::string& path, size_t max_size = 64 * 1024);
Status FsyncDir(const std::string& dir);
// Writes all of data at offset, retrying EINTR and short writes.
Status PwriteAll(int fd, const char* data, size_t n, uint64_t offset, const std::string& path);

struct SegmentFile {
  uint64_t first_seq = 0;
  std::string name;  // "<20 digits>.seg"
  std::string path;  // full path
  uint64_t size = 0;
};
// Segment files in segments_dir sorted by first_seq; files whose names do
// not parse are ignored. An absent directory gives an empty list. Sizes are
// filled (one stat per file) only when asked for.
Result<std::vector<SegmentFile>> ListSegments(const std::string& segments_dir,
                                              bool with_sizes = true);
std::string SegmentName(uint64_t first_seq);
bool ParseSegmentName(const std::string& name, uint64_t* first_seq);
// Strict decimal u64 (no sign, no spaces, no overflow).
bool ParseU64(const std::string& s, uint64_t* out);

}  // namespace georep::journal::internal

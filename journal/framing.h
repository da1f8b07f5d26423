// Physical framing of segment files (FORMAT.md, "Blocks and physical
// records"): internal to journal/, shared by the writer, the reader and the
// tests that build damaged segments on purpose.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "journal/format.h"

namespace georep::journal::internal {

// Appends `payload` as one or more physical records to *out, as they must be
// laid out when the segment currently holds *file_size bytes: zero padding
// for a block trailer shorter than a header, then FULL or FIRST/MIDDLE*/LAST
// fragments that never cross a block boundary. Advances *file_size by the
// bytes appended. The caller writes *out in one write at the old *file_size.
void FrameRecord(std::string_view payload, uint64_t* file_size, std::string* out);

// Masked crc32c of type byte + fragment, as stored in a physical header.
uint32_t FragmentCrc(FragmentType type, std::string_view fragment);

}  // namespace georep::journal::internal

// Process-wide allocator settings for the data path.
#pragma once

namespace georep {

// georepd and georep-receiver move file data in chunks of up to 4 MiB, each
// allocated, filled, encoded or applied, and freed. glibc serves blocks that
// large with mmap and returns them with munmap, so every chunk paid page
// faults and the kernel's zeroing of fresh pages: about a third of georepd's
// CPU while copying a 1 GiB file. This keeps blocks up to 32 MiB (glibc's
// largest threshold) in the heap and the heap from being trimmed back below
// 256 MiB of free space, so chunk buffers are reused instead. Call once at
// the start of main, before any thread starts. Returns false if glibc refused
// (then the defaults stay: slower, not wrong).
bool KeepDataBuffersInHeap();

}  // namespace georep

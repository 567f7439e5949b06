#include "io/thread_heap.h"

#include <atomic>
#include <cstddef>
#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ckd {

#if defined(__GLIBC__)
namespace {

// Room reserved per thread heap, in blocks below the mmap threshold (a larger block would get a
// mapping of its own): 48 MiB, of the 64 MiB a glibc thread heap can span, is more than one
// core's share of a 60k-tensor scan (about 20 MiB). Pages are touched only when used, so the
// reservation costs address space, not memory.
constexpr size_t kBlock = size_t{16} << 20;
constexpr int kBlocks = 3;

std::atomic<bool> keeping{false};

}  // namespace
#endif

void keep_heap_for_short_process() {
#if defined(__GLIBC__)
  // Above a reservation block, so blocks of that size come from the heaps (glibc's default
  // threshold starts at 128 KiB and moves up as mapped blocks are freed).
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(kBlock * 2));
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(kBlock * 16));
  // The main thread's heap grows by brk: in steps of a block.
  mallopt(M_TOP_PAD, static_cast<int>(kBlock));
  keeping = true;
#endif
}

void reserve_thread_heap() {
#if defined(__GLIBC__)
  thread_local bool reserved = false;
  if (reserved || !keeping.load(std::memory_order_relaxed)) return;
  reserved = true;
  // The blocks grow this thread's heap in a few steps (none when a heap it reuses has the room
  // free); freed, they stay as the heap's free top (the trim threshold is above them), and
  // later growth within them needs no system call.
  void* blocks[kBlocks];
  for (void*& b : blocks) b = std::malloc(kBlock);
  for (int i = kBlocks - 1; i >= 0; --i) std::free(blocks[i]);
#endif
}

}  // namespace ckd

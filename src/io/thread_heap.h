// glibc gives each new thread a heap of its own ("arena") and grows it one mprotect call per
// page as the thread allocates: a two-thread scan made 1,583 such calls, each taking the
// process's memory-map lock. A thread that reserves room once grows its heap in one call.
#pragma once

namespace ckd {

// For a short process (the CLI's scan): large blocks come from the thread heaps instead of a
// mapping of their own, and freed room is kept until exit (a process that ends in milliseconds
// gains nothing by handing pages back and faulting them in again). No effect without glibc.
void keep_heap_for_short_process();

// Called at the start of a worker thread: makes its heap's room for a scan's tables in one
// call (a no-op after the first time on this thread, and without keep_heap_for_short_process).
void reserve_thread_heap();

}  // namespace ckd

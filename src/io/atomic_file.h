// Publishing a file whole or not at all: written beside its final name, fsynced, renamed over
// it, then the directory fsynced. fix stages its shards and journal with these calls, and every
// report written to a file (--output-file, --html, --write-baseline) goes through
// write_file_atomically, so a reader never sees half a report and a failed run leaves the old
// file in place.
#pragma once

#include <functional>
#include <ostream>
#include <string>

namespace ckd {

// strerror with the write failures a person should recognise spelt out (disk full, quota).
std::string errno_text(int e);

// Throw IoError naming the path and the errno.
void fsync_file(const std::string& path);
void fsync_dir(const std::string& dir);

// Calls `write` with a stream to PATH's hidden sibling, then publishes it under PATH. Throws
// IoError (PATH untouched, the sibling removed) when the directory cannot be written, a write
// fails or `write` throws.
void write_file_atomically(const std::string& path,
                           const std::function<void(std::ostream&)>& write);

}  // namespace ckd

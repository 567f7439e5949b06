// Local files read with pread (src/checkpoint/file_store.cpp opens shards with it).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/byte_source.h"

namespace ckd {

// A local file read with pread, never mapped: what a scan reads (headers, the index, scale
// tensors) costs its own bytes of memory whatever the page cache holds, where touching a
// mapping of a whole shard faults in (and counts in RSS) each read's neighbourhood.
// read() copies a small range into a buffer kept until the source is destroyed and maps a
// larger one (a header, the index) as a window of just that range; repeated reads (scale
// tensors, --deep) go through copy_to into the caller's buffer.
class PreadFile final : public ByteSource {
 public:
  // Reads up to this size are copied; larger ones (a header, the index, a tensor a caller
  // reads whole) are mapped as a window of just that range, file-backed like the whole-file
  // mapping this replaces, so a caller that reads many of them holds no copies.
  static constexpr uint64_t kCopyLimit = 64u << 10;

  static std::unique_ptr<PreadFile> open(const std::string& path);
  ~PreadFile() override;
  PreadFile(const PreadFile&) = delete;
  PreadFile& operator=(const PreadFile&) = delete;

  uint64_t size() const override { return size_; }
  std::string_view read(uint64_t offset, uint64_t length) override;
  void copy_to(uint64_t offset, uint64_t length, char* out) override;
  const std::string& name() const override { return path_; }
  int file_descriptor() const override { return fd_; }
  // Unmaps the windows and frees the copies read() returned so far (a parsed header's bytes).
  void release_views() override;

 private:
  PreadFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  std::string path_;
  int fd_;
  uint64_t size_;
  std::mutex mutex_;  // guards kept_ and windows_: reads may come from several threads
  std::vector<std::unique_ptr<char[]>> kept_;
  std::vector<std::pair<void*, size_t>> windows_;  // mmap'ed ranges of large reads
};

}  // namespace ckd

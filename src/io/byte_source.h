// Where shard bytes come from: a mapped local file, or HTTP ranges (src/remote/). Every read is
// bounds-checked against the source size before any byte is touched.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ckd {

class IoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  // Returns a view of [offset, offset+length) that stays valid while the source lives.
  // Throws IoError when the range is out of bounds or cannot be read.
  virtual std::string_view read(uint64_t offset, uint64_t length) = 0;
  // Copies [offset, offset+length) into `out` (bounds-checked). For streaming whole tensors:
  // a copy into a cache-sized buffer beats faulting in every page of a mapping.
  virtual void copy_to(uint64_t offset, uint64_t length, char* out) {
    std::string_view v = read(offset, length);
    std::copy(v.begin(), v.end(), out);
  }
  virtual const std::string& name() const = 0;
  // Announces reads to come, as (offset, length) pairs: a remote source fetches them now, in
  // few requests and in parallel, instead of one round trip per read(). A no-op for files.
  virtual void prefetch(const std::vector<std::pair<uint64_t, uint64_t>>& ranges) { (void)ranges; }
  // The caller holds no view from read() any more: a source that caches what it fetched frees
  // it (later reads fetch again). Called once a shard's header is parsed into owned strings, so a
  // remote scan of many files keeps each file's parsed header, not the bytes it was read from.
  virtual void release_views() {}
  // An open descriptor of the underlying file for kernel-side copies (copy_file_range), or -1.
  virtual int file_descriptor() const { return -1; }
};

// Read-only memory map of a whole file. Empty files are supported (nothing is mapped).
class MappedFile final : public ByteSource {
 public:
  static std::unique_ptr<MappedFile> open(const std::string& path);
  ~MappedFile() override;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  uint64_t size() const override { return size_; }
  std::string_view read(uint64_t offset, uint64_t length) override;
  void copy_to(uint64_t offset, uint64_t length, char* out) override;
  const std::string& name() const override { return path_; }
  int file_descriptor() const override { return fd_; }

 private:
  MappedFile(std::string path, int fd, const char* data, uint64_t size)
      : path_(std::move(path)), fd_(fd), data_(data), size_(size) {}
  std::string path_;
  int fd_;  // kept open for copy_to (pread)
  const char* data_;
  uint64_t size_;
};

// Bytes held in memory (tests, fuzzing, small remote files).
class MemorySource final : public ByteSource {
 public:
  MemorySource(std::string name, std::string bytes)
      : name_(std::move(name)), bytes_(std::move(bytes)) {}
  uint64_t size() const override { return bytes_.size(); }
  std::string_view read(uint64_t offset, uint64_t length) override;
  const std::string& name() const override { return name_; }

 private:
  std::string name_;
  std::string bytes_;
};

}  // namespace ckd

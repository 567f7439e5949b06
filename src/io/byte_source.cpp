#include "io/byte_source.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "io/checked.h"
#include "io/pread_file.h"

namespace ckd {

namespace {

// Opens `path` read-only and returns its descriptor and size; a directory, device or fifo is
// refused before anything is read from it.
std::pair<int, uint64_t> open_regular(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    throw IoError(fmt::format("{}: cannot stat: {}", path, std::strerror(err)));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw IoError(fmt::format("{}: not a regular file", path));
  }
  return {fd, static_cast<uint64_t>(st.st_size)};
}

// pread until `length` bytes are in; a short file (truncated since it was opened) is an error.
void pread_exact(int fd, const std::string& name, uint64_t offset, uint64_t length, char* out) {
  uint64_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, out + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw IoError(fmt::format("{}: read failed at offset {}: {}", name, offset + done,
                                n == 0 ? "unexpected end of file" : std::strerror(errno)));
    done += static_cast<uint64_t>(n);
  }
}

void check_range(const std::string& name, uint64_t size, uint64_t offset, uint64_t length) {
  auto end = checked_add(offset, length);
  if (!end || *end > size) {
    throw IoError(fmt::format("{}: read of {} bytes at offset {} is past the end ({} bytes)", name,
                              length, offset, size));
  }
}

}  // namespace

std::unique_ptr<MappedFile> MappedFile::open(const std::string& path) {
  auto [fd, size] = open_regular(path);
  const char* data = nullptr;
  if (size > 0) {
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      throw IoError(fmt::format("{}: cannot map {} bytes: {}", path, size, std::strerror(err)));
    }
    data = static_cast<const char*>(p);
  }
  return std::unique_ptr<MappedFile>(new MappedFile(path, fd, data, size));
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<char*>(data_), size_);
  ::close(fd_);
}

void MappedFile::copy_to(uint64_t offset, uint64_t length, char* out) {
  check_range(path_, size_, offset, length);
  pread_exact(fd_, path_, offset, length, out);
}

std::string_view MappedFile::read(uint64_t offset, uint64_t length) {
  check_range(path_, size_, offset, length);
  if (length == 0) return {};
  return std::string_view(data_ + offset, length);
}

std::unique_ptr<PreadFile> PreadFile::open(const std::string& path) {
  auto [fd, size] = open_regular(path);
  return std::unique_ptr<PreadFile>(new PreadFile(path, fd, size));
}

PreadFile::~PreadFile() {
  for (auto [address, length] : windows_) ::munmap(address, length);
  ::close(fd_);
}

void PreadFile::release_views() {
  std::lock_guard lock(mutex_);
  for (auto [address, length] : windows_) ::munmap(address, length);
  windows_.clear();
  kept_.clear();
}

std::string_view PreadFile::read(uint64_t offset, uint64_t length) {
  check_range(path_, size_, offset, length);
  if (length == 0) return {};
  if (length > kCopyLimit) {
    // A window of just this range: its pages are file-backed (reclaimable), as before.
    static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    uint64_t start = offset - offset % page;
    auto span = static_cast<size_t>(offset + length - start);
    void* p = ::mmap(nullptr, span, PROT_READ, MAP_PRIVATE, fd_, static_cast<off_t>(start));
    if (p == MAP_FAILED)
      throw IoError(fmt::format("{}: cannot map {} bytes at offset {}: {}", path_, length, offset,
                                std::strerror(errno)));
    std::lock_guard lock(mutex_);
    windows_.emplace_back(p, span);
    return std::string_view(static_cast<const char*>(p) + (offset - start), length);
  }
  std::unique_ptr<char[]> buffer(new char[length]);
  pread_exact(fd_, path_, offset, length, buffer.get());
  std::string_view view(buffer.get(), length);
  std::lock_guard lock(mutex_);
  kept_.push_back(std::move(buffer));
  return view;
}

void PreadFile::copy_to(uint64_t offset, uint64_t length, char* out) {
  check_range(path_, size_, offset, length);
  pread_exact(fd_, path_, offset, length, out);
}

std::string_view MemorySource::read(uint64_t offset, uint64_t length) {
  check_range(name_, bytes_.size(), offset, length);
  return std::string_view(bytes_).substr(offset, length);
}

}  // namespace ckd

#include "io/byte_source.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "io/checked.h"

namespace ckd {

namespace {

void check_range(const std::string& name, uint64_t size, uint64_t offset, uint64_t length) {
  auto end = checked_add(offset, length);
  if (!end || *end > size) {
    throw IoError(fmt::format("{}: read of {} bytes at offset {} is past the end ({} bytes)", name,
                              length, offset, size));
  }
}

}  // namespace

std::unique_ptr<MappedFile> MappedFile::open(const std::string& path) {
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
  uint64_t size = static_cast<uint64_t>(st.st_size);
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
  uint64_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd_, out + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw IoError(fmt::format("{}: read failed at offset {}: {}", path_, offset + done,
                                n == 0 ? "unexpected end of file" : std::strerror(errno)));
    done += static_cast<uint64_t>(n);
  }
}

std::string_view MappedFile::read(uint64_t offset, uint64_t length) {
  check_range(path_, size_, offset, length);
  if (length == 0) return {};
  return std::string_view(data_ + offset, length);
}

std::string_view MemorySource::read(uint64_t offset, uint64_t length) {
  check_range(name_, bytes_.size(), offset, length);
  return std::string_view(bytes_).substr(offset, length);
}

}  // namespace ckd

// SHA-256 (FIPS 180-4): diff compares tokenizers, chat templates and other companion files by
// size and digest, and prints the digest huggingface_hub shows for LFS files (lfs.oid).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ckd {

class Sha256 {
 public:
  Sha256();
  void update(std::string_view bytes);
  // Lower-case hex of the digest; the object must not be updated afterwards.
  std::string hex_digest();

 private:
  void block(const unsigned char* p);
  std::array<uint32_t, 8> h_;
  unsigned char buffer_[64];
  size_t buffered_ = 0;
  uint64_t length_ = 0;  // bytes
};

std::string sha256_hex(std::string_view bytes);

}  // namespace ckd

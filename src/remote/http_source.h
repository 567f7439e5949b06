// One remote file as a ByteSource: HTTP Range requests, with what was fetched kept for the
// source's lifetime so that the views read() hands out stay valid.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "io/byte_source.h"
#include "remote/http_client.h"

namespace ckd {

class HttpSource final : public ByteSource {
 public:
  // The first request fetches bytes [0, first_bytes) (a shard's header, usually whole) and
  // learns the file size. Throws FileNotFound, TransportError.
  static std::unique_ptr<HttpSource> open(HttpClient& client, std::string url,
                                          uint64_t first_bytes);

  uint64_t size() const override { return size_; }
  std::string_view read(uint64_t offset, uint64_t length) override;
  const std::string& name() const override { return url_; }
  // Merges ranges closer than kMergeGap into one request and fetches the uncached ones in
  // parallel.
  void prefetch(const std::vector<std::pair<uint64_t, uint64_t>>& ranges) override;
  void release_views() override;

  static constexpr uint64_t kMergeGap = 256ull << 10;  // cheaper to fetch than a round trip
  static constexpr uint64_t kMaxMerged = 64ull << 20;  // one request's most

 private:
  HttpSource(HttpClient& client, std::string url) : client_(client), url_(std::move(url)) {}
  // The cached bytes covering [offset, offset+length), or nullptr.
  const std::string* cached(uint64_t offset, uint64_t length, uint64_t* chunk_start) const;
  // Fetches the range (extending a cached prefix when one starts at `offset`) and caches it.
  std::string_view fetch(uint64_t offset, uint64_t length);

  HttpClient& client_;
  std::string url_;
  uint64_t size_ = 0;
  mutable std::mutex mutex_;
  std::map<uint64_t, const std::string*> chunks_;      // start offset -> bytes
  uint64_t longest_chunk_ = 0;                         // bounds the search in cached()
  std::vector<std::unique_ptr<std::string>> storage_;  // every chunk ever fetched (views live)
};

}  // namespace ckd

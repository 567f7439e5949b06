#include "remote/http_source.h"

#include <algorithm>

#include <fmt/format.h>

#include "checkpoint/file_store.h"
#include "io/checked.h"
#include "io/parallel.h"

namespace ckd {

namespace {
constexpr int kParallelRanges = 4;  // requests in flight per file during a prefetch
}

std::unique_ptr<HttpSource> HttpSource::open(HttpClient& client, std::string url,
                                             uint64_t first_bytes) {
  std::unique_ptr<HttpSource> source(new HttpSource(client, std::move(url)));
  HttpResponse r = client.get(source->url_, ByteRange{0, first_bytes}, first_bytes);
  if (r.status == 416) {  // Range past the end: an empty file, when the server says so
    if (r.total_size && *r.total_size == 0) return source;
    throw TransportError(fmt::format("{}: the server refused the range 0-{} (HTTP 416)",
                                     source->url_, first_bytes - 1));
  }
  if (!r.total_size) {
    throw TransportError(
        fmt::format("{}: the server gave no file size (neither Content-Range nor Content-Length)",
                    source->url_));
  }
  source->size_ = *r.total_size;
  uint64_t expected = std::min(first_bytes, source->size_);
  if (r.body.size() != expected) {
    throw TransportError(fmt::format("{}: received {} bytes of the first {} of a {}-byte file",
                                     source->url_, r.body.size(), expected, source->size_));
  }
  auto bytes = std::make_unique<std::string>(std::move(r.body));
  source->longest_chunk_ = bytes->size();
  source->chunks_[0] = bytes.get();
  source->storage_.push_back(std::move(bytes));
  return source;
}

const std::string* HttpSource::cached(uint64_t offset, uint64_t length,
                                      uint64_t* chunk_start) const {
  auto it = chunks_.upper_bound(offset);
  while (it != chunks_.begin()) {
    --it;
    if (it->first + longest_chunk_ <= offset) break;  // no earlier chunk reaches this far
    if (it->first + it->second->size() >= offset + length) {
      *chunk_start = it->first;
      return it->second;
    }
  }
  return nullptr;
}

std::string_view HttpSource::fetch(uint64_t offset, uint64_t length) {
  // A cached chunk that reaches `offset` but ends too soon (a header longer than the first
  // request) is extended rather than fetched again.
  uint64_t base = offset;
  std::string prefix;
  {
    std::lock_guard lock(mutex_);
    auto it = chunks_.upper_bound(offset);
    if (it != chunks_.begin()) {
      --it;
      uint64_t chunk_end = it->first + it->second->size();
      if (chunk_end >= offset && chunk_end < offset + length) {
        base = it->first;
        prefix = *it->second;
      }
    }
  }
  uint64_t from = base + prefix.size();
  uint64_t missing = offset + length - from;
  HttpResponse r = client_.get(url_, ByteRange{from, missing}, missing);
  if (r.body.size() != missing) {
    throw TransportError(fmt::format("{}: received {} of {} bytes at offset {}", url_,
                                     r.body.size(), missing, from));
  }
  auto bytes = std::make_unique<std::string>(std::move(prefix));
  bytes->append(r.body);
  std::lock_guard lock(mutex_);
  const std::string* stored = bytes.get();
  longest_chunk_ = std::max<uint64_t>(longest_chunk_, bytes->size());
  auto& slot = chunks_[base];
  if (!slot || slot->size() < bytes->size()) slot = stored;
  storage_.push_back(std::move(bytes));
  return std::string_view(*stored).substr(offset - base, length);
}

std::string_view HttpSource::read(uint64_t offset, uint64_t length) {
  auto end = checked_add(offset, length);
  if (!end || *end > size_) {
    throw IoError(fmt::format("{}: read of {} bytes at offset {} is past the end ({} bytes)", url_,
                              length, offset, size_));
  }
  if (length == 0) return {};
  {
    std::lock_guard lock(mutex_);
    uint64_t start = 0;
    if (const std::string* chunk = cached(offset, length, &start))
      return std::string_view(*chunk).substr(offset - start, length);
  }
  return fetch(offset, length);
}

void HttpSource::release_views() {
  std::lock_guard lock(mutex_);
  chunks_.clear();
  storage_.clear();
  storage_.shrink_to_fit();
  longest_chunk_ = 0;
}

void HttpSource::prefetch(const std::vector<std::pair<uint64_t, uint64_t>>& ranges) {
  std::vector<std::pair<uint64_t, uint64_t>> wanted;  // [begin, end), uncached and in bounds
  {
    std::lock_guard lock(mutex_);
    for (auto [offset, length] : ranges) {
      auto end = checked_add(offset, length);
      uint64_t start = 0;
      if (length == 0 || !end || *end > size_ || cached(offset, length, &start)) continue;
      wanted.emplace_back(offset, *end);
    }
  }
  std::sort(wanted.begin(), wanted.end());
  std::vector<std::pair<uint64_t, uint64_t>> merged;
  for (auto [begin, end] : wanted) {
    if (!merged.empty() && begin <= merged.back().second + kMergeGap &&
        std::max(end, merged.back().second) - merged.back().first <= kMaxMerged) {
      merged.back().second = std::max(end, merged.back().second);
    } else {
      merged.emplace_back(begin, end);
    }
  }
  std::vector<std::exception_ptr> failures(merged.size());
  parallel_for(merged.size(), kParallelRanges, [&](size_t i) {
    try {
      fetch(merged[i].first, merged[i].second - merged[i].first);
    } catch (...) {
      failures[i] = std::current_exception();
    }
  });
  for (const auto& failure : failures) {
    if (failure) std::rethrow_exception(failure);
  }
}

}  // namespace ckd

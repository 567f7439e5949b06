// HTTP GETs for remote scans, on libcurl: byte ranges, redirects, a bearer token kept to the
// host it belongs to, retries of transient failures, stall timeouts and a deadline per request.
// Everything a server sends is bounded before it is stored or read on: bodies by the caller's
// bound (a server that ignores Range and sends a whole 5 GB shard costs at most what was asked
// for), error bodies and headers by fixed caps, and the time by the deadline (a server trickling
// just above the stall limit cannot hold a scan).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace ckd {

struct HttpSettings {
  double connect_timeout_s = 10;
  // A transfer that receives less than 512 bytes per second for this long is abandoned: a
  // stalled server ends the scan instead of hanging it.
  double stall_timeout_s = 30;
  // Each request, its retries included, ends with an error after this many seconds; 0 scales
  // it to the bytes requested (default_deadline_s).
  double deadline_s = 0;
  int retries = 2;  // extra attempts for timeouts, resets, 429 and 5xx
  std::string bearer_token;
  std::string token_host;  // the token goes only to URLs on this host (and port)
  // Ranged reads that a server answers with the whole file (200) are read up to this many bytes
  // from the start, and refused beyond.
  uint64_t max_unranged_prefix = 64ull << 20;
};

// The deadline of a request for `bytes` bytes when none is set: a minute, plus a second per
// 256 KiB (a link slower than that on average is abandoned, as a stalled one is).
double default_deadline_s(uint64_t bytes);

// What is kept of an error response's body (for its message); a longer one is cut off there.
inline constexpr size_t kMaxErrorBodyBytes = 4096;
// Response headers of one request, redirects included; more ends the request with an error.
inline constexpr uint64_t kMaxHeaderBytesPerRequest = 256 << 10;

// The CA bundle to verify https with, or "" for libcurl's own default. CURL_CA_BUNDLE, then
// SSL_CERT_FILE, when set; else libcurl's compiled-in bundle (`compiled`) when it is readable;
// else the first readable one of the places Linux distributions keep theirs. A libcurl vendored
// into a manylinux wheel keeps its build machine's path (Debian's), which Fedora, RHEL, SUSE and
// Alpine do not have: without this every https request there would fail verification.
std::string choose_ca_bundle(const char* env_curl_ca_bundle, const char* env_ssl_cert_file,
                             const char* compiled, bool (*readable)(const char* path));

struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::optional<uint64_t> total_size;  // Content-Range's total, or Content-Length of a 200
  std::string next_link;               // Link: <...>; rel="next" (paginated APIs)
  bool range_ignored = false;          // a ranged request came back 200 with the whole file
};

struct TransferStats {
  uint64_t requests = 0;
  uint64_t bytes = 0;  // headers and bodies received
};

class HttpClient {
 public:
  explicit HttpClient(HttpSettings settings);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // GET `url`. With `range`, asks for those bytes and returns exactly them (from a 206, or cut
  // out of a 200 within max_unranged_prefix); without it, returns the body, refusing one over
  // `max_body` bytes. 404 and 410 throw FileNotFound; 401/403, exhausted retries, timeouts, the
  // deadline, headers over their cap and bodies over the bound throw TransportError. A ranged
  // request past the end of the file returns status 416 with the total size when the server
  // gives it.
  HttpResponse get(const std::string& url, std::optional<ByteRange> range, uint64_t max_body);

  TransferStats stats() const { return {requests_.load(), bytes_.load()}; }
  const HttpSettings& settings() const { return settings_; }

 private:
  struct Handle;
  std::unique_ptr<Handle> acquire();
  void release(std::unique_ptr<Handle> handle);
  HttpResponse attempt(Handle& handle, const std::string& url, std::optional<ByteRange> range,
                       uint64_t max_body, long timeout_ms, std::string& error);

  struct Shared;  // CURLSH: one connection pool, DNS cache and TLS session cache, with its locks
  HttpSettings settings_;
  std::unique_ptr<Shared> shared_;
  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<Handle>> idle_;
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> bytes_{0};
};

// "host" or "host:port" of an http(s) URL, lowercased; empty when it does not parse.
std::string url_authority(const std::string& url);

// Percent-encodes everything but RFC 3986's unreserved characters (and '/' when keep_slash).
std::string percent_encode(std::string_view text, bool keep_slash);

}  // namespace ckd

#include "remote/http_client.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "checkpoint/file_store.h"
#include "remote/curl_api.h"

namespace ckd {

namespace {

constexpr long kMinBytesPerSecond = 512;  // below this for stall_timeout_s: a stalled transfer
constexpr double kDeadlineBaseSeconds = 60;
constexpr double kDeadlineBytesPerSecond = 256 << 10;

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// The state of one attempt, shared by the header and body callbacks.
struct Transfer {
  CURL* curl = nullptr;
  std::optional<ByteRange> range;
  uint64_t max_body = 0;
  uint64_t max_unranged_prefix = 0;
  std::atomic<uint64_t>* bytes = nullptr;
  // Body bytes libcurl may receive in all (the wanted bytes, a skipped prefix, an error body):
  // beyond, the transfer is aborted. It also bounds the bodies of redirects, which libcurl reads
  // and discards without passing them on.
  uint64_t max_received = 0;
  uint64_t header_bytes = 0;
  HttpResponse response;
  // Per response (a redirect starts a new one).
  std::optional<uint64_t> range_start, range_total, content_length;
  // Body handling, decided at its first byte.
  bool body_started = false;
  bool error_status = false;
  uint64_t skip = 0;  // bytes of a 200 to drop before the wanted range
  uint64_t want = 0;  // bytes to keep
  bool complete = false;
  std::string refusal;             // why the body was cut off (over a bound); empty when it was not
  bool refusal_transport = false;  // the refusal is the server's fault, not the file's
  std::string error_body;
  bool error_body_cut = false;  // an error body over kMaxErrorBodyBytes: the rest was not read
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  size_t n = size * count;
  t.bytes->fetch_add(n, std::memory_order_relaxed);
  t.header_bytes += n;
  if (t.header_bytes > kMaxHeaderBytesPerRequest) {
    t.refusal = fmt::format("the server sent more than {} bytes of response headers",
                            kMaxHeaderBytesPerRequest);
    t.refusal_transport = true;
    return 0;  // abort
  }
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {  // a new response (after a redirect): forget the last one's
    t.range_start.reset();
    t.range_total.reset();
    t.content_length.reset();
    t.response.next_link.clear();
    return n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string name = lowercase(trim(line.substr(0, colon)));
  std::string_view value = trim(line.substr(colon + 1));
  if (name == "content-range" && value.starts_with("bytes ")) {
    value.remove_prefix(6);
    size_t slash = value.find('/');
    if (slash != std::string_view::npos) {
      t.range_total = parse_u64(value.substr(slash + 1));
      std::string_view span = value.substr(0, slash);
      size_t dash = span.find('-');
      if (dash != std::string_view::npos) t.range_start = parse_u64(span.substr(0, dash));
    }
  } else if (name == "content-length") {
    t.content_length = parse_u64(value);
  } else if (name == "link") {
    // <url>; rel="next", <url>; rel="prev"
    size_t at = 0;
    while (at < value.size()) {
      size_t open = value.find('<', at), close = value.find('>', open);
      if (open == std::string_view::npos || close == std::string_view::npos) break;
      size_t end = value.find(',', close);
      std::string_view params =
          value.substr(close + 1, end == std::string_view::npos ? value.npos : end - close - 1);
      if (params.find("rel=\"next\"") != std::string_view::npos ||
          params.find("rel=next") != std::string_view::npos) {
        t.response.next_link = std::string(value.substr(open + 1, close - open - 1));
      }
      if (end == std::string_view::npos) break;
      at = end + 1;
    }
  }
  return n;
}

// Decides, at the first byte, what of the body to keep.
void start_body(Transfer& t) {
  t.body_started = true;
  long status = 0;
  curl_api().easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200 && status != 206) {
    t.error_status = true;
    return;
  }
  if (!t.range) {
    t.want = t.max_body + 1;  // one byte over the bound tells that the body is too long
    return;
  }
  t.want = t.range->length;
  if (status == 200) {
    // The server ignored Range and is sending the whole file from byte 0.
    t.response.range_ignored = true;
    t.skip = t.range->offset;
    if (t.range->offset + t.range->length > t.max_unranged_prefix) {
      t.refusal = fmt::format(
          "the server ignored the Range request (HTTP 200 instead of 206); reading {} bytes at "
          "offset {} would download more than {} bytes of the whole file",
          t.range->length, t.range->offset, t.max_unranged_prefix);
      t.refusal_transport = true;
    }
  }
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  size_t n = size * count;
  t.bytes->fetch_add(n, std::memory_order_relaxed);
  if (!t.body_started) start_body(t);
  if (!t.refusal.empty()) return 0;  // abort
  if (t.error_status) {
    // A few KB tell what went wrong; a server that sends more is not listened to further.
    size_t keep = std::min(n, kMaxErrorBodyBytes - t.error_body.size());
    t.error_body.append(data, keep);
    if (keep == n) return n;
    t.error_body_cut = true;
    return 0;  // abort
  }
  std::string_view chunk(data, n);
  uint64_t dropped = std::min<uint64_t>(t.skip, chunk.size());
  chunk.remove_prefix(dropped);
  t.skip -= dropped;
  uint64_t room = t.want - t.response.body.size();
  size_t keep = static_cast<size_t>(std::min<uint64_t>(room, chunk.size()));
  t.response.body.append(chunk.data(), keep);
  if (t.response.body.size() < t.want) return n;
  if (!t.range) {
    t.refusal = fmt::format("the file is over the {}-byte limit for it", t.max_body);
    return 0;
  }
  t.complete = true;
  // Stop a server that sends more than was asked for (the rest of a whole file).
  return keep == chunk.size() ? n : 0;
}

// Counts every body byte libcurl receives, those of redirects it discards included.
int on_progress(void* user, curl_off_t, curl_off_t received, curl_off_t, curl_off_t) {
  auto& t = *static_cast<Transfer*>(user);
  if (received < 0 || static_cast<uint64_t>(received) <= t.max_received) return 0;
  t.refusal = fmt::format("the server sent more than the {} bytes this request may receive",
                          t.max_received);
  t.refusal_transport = true;
  return 1;  // abort
}

bool transient_curl_error(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

void lock_share(CURL*, curl_lock_data data, curl_lock_access, void* user);
void unlock_share(CURL*, curl_lock_data data, void* user);

bool file_readable(const char* path) { return ::access(path, R_OK) == 0; }

// The bundle every request uses, chosen once per process.
const std::string& ca_bundle() {
  static const std::string path = [] {
    curl_version_info_data* info = curl_api().version_info(CURLVERSION_NOW);
    return choose_ca_bundle(std::getenv("CURL_CA_BUNDLE"), std::getenv("SSL_CERT_FILE"),
                            info ? info->cainfo : nullptr, file_readable);
  }();
  return path;
}

}  // namespace

struct HttpClient::Shared {
  CURLSH* share = nullptr;
  std::mutex locks[CURL_LOCK_DATA_LAST];
};

namespace {

void lock_share(CURL*, curl_lock_data data, curl_lock_access, void* user) {
  static_cast<std::mutex*>(user)[data].lock();
}

void unlock_share(CURL*, curl_lock_data data, void* user) {
  static_cast<std::mutex*>(user)[data].unlock();
}

}  // namespace

struct HttpClient::Handle {
  CURL* curl = nullptr;
  ~Handle() {
    if (curl) curl_api().easy_cleanup(curl);
  }
};

HttpClient::HttpClient(HttpSettings settings)
    : settings_(std::move(settings)), shared_(std::make_unique<Shared>()) {
  const CurlApi& api = curl_api();
  shared_->share = api.share_init();
  if (!shared_->share) throw IoError("cannot initialise libcurl");
  api.share_setopt(shared_->share, CURLSHOPT_LOCKFUNC, lock_share);
  api.share_setopt(shared_->share, CURLSHOPT_UNLOCKFUNC, unlock_share);
  api.share_setopt(shared_->share, CURLSHOPT_USERDATA, shared_->locks);
  api.share_setopt(shared_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  api.share_setopt(shared_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  api.share_setopt(shared_->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
}

HttpClient::~HttpClient() {
  idle_.clear();  // easy handles go before the share they use
  if (shared_->share) curl_api().share_cleanup(shared_->share);
}

std::unique_ptr<HttpClient::Handle> HttpClient::acquire() {
  {
    std::lock_guard lock(pool_mutex_);
    if (!idle_.empty()) {
      auto h = std::move(idle_.back());
      idle_.pop_back();
      return h;
    }
  }
  auto h = std::make_unique<Handle>();
  h->curl = curl_api().easy_init();
  if (!h->curl) throw IoError("cannot initialise libcurl");
  return h;
}

void HttpClient::release(std::unique_ptr<Handle> handle) {
  std::lock_guard lock(pool_mutex_);
  idle_.push_back(std::move(handle));
}

HttpResponse HttpClient::attempt(Handle& handle, const std::string& url,
                                 std::optional<ByteRange> range, uint64_t max_body, long timeout_ms,
                                 std::string& error) {
  CURL* c = handle.curl;
  const CurlApi& api = curl_api();
  api.easy_reset(c);
  Transfer t;
  t.curl = c;
  t.range = range;
  t.max_body = max_body;
  t.max_unranged_prefix = settings_.max_unranged_prefix;
  t.bytes = &bytes_;
  uint64_t wanted = range ? std::max(range->length, settings_.max_unranged_prefix) : max_body + 1;
  t.max_received = wanted + kMaxErrorBodyBytes;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  std::string range_text;
  if (range) range_text = fmt::format("{}-{}", range->offset, range->offset + range->length - 1);

  api.easy_setopt(c, CURLOPT_URL, url.c_str());
  api.easy_setopt(c, CURLOPT_SHARE, shared_->share);
  if (const std::string& ca = ca_bundle(); !ca.empty())
    api.easy_setopt(c, CURLOPT_CAINFO, ca.c_str());
  api.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  api.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  api.easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  api.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  api.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  api.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                  static_cast<long>(settings_.connect_timeout_s * 1000));
  api.easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, kMinBytesPerSecond);
  api.easy_setopt(c, CURLOPT_LOW_SPEED_TIME, std::max(1L, std::lround(settings_.stall_timeout_s)));
  api.easy_setopt(c, CURLOPT_TIMEOUT_MS, std::max(1L, timeout_ms));
  api.easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  api.easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  api.easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  api.easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  api.easy_setopt(c, CURLOPT_USERAGENT, "ckptdoctor (+https://github.com/ckptdoctor)");
  api.easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  api.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  api.easy_setopt(c, CURLOPT_HEADERDATA, &t);
  api.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  api.easy_setopt(c, CURLOPT_WRITEDATA, &t);
  if (range) api.easy_setopt(c, CURLOPT_RANGE, range_text.c_str());
  // The token goes only to its own host; libcurl drops it on a redirect to another host (the
  // Hub redirects file downloads to a CDN that must not see it).
  if (!settings_.bearer_token.empty() && url_authority(url) == settings_.token_host) {
    api.easy_setopt(c, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BEARER));
    api.easy_setopt(c, CURLOPT_XOAUTH2_BEARER, settings_.bearer_token.c_str());
  }

  requests_.fetch_add(1, std::memory_order_relaxed);
  CURLcode code = api.easy_perform(c);
  if (!t.refusal.empty()) {
    if (t.refusal_transport) throw TransportError(fmt::format("{}: {}", url, t.refusal));
    throw IoError(t.refusal);
  }
  bool cut_on_purpose = code == CURLE_WRITE_ERROR && (t.complete || t.error_body_cut);
  if (code != CURLE_OK && !cut_on_purpose) {
    error = error_buffer[0] ? error_buffer : api.easy_strerror(code);
    if (!transient_curl_error(code)) throw TransportError(fmt::format("{}: {}", url, error));
    return {};
  }
  long status = 0;
  api.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  t.response.status = status;
  std::string detail = t.error_body.empty()
                           ? std::string()
                           : fmt::format(" ({}{})", trim(t.error_body.substr(0, 200)),
                                         t.error_body.size() > 200 ? "..." : "");
  for (char& ch : detail) {
    if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
  }
  if (status == 404 || status == 410) throw FileNotFound(fmt::format("{}: HTTP {}", url, status));
  if (status == 401 || status == 403) {
    throw TransportError(fmt::format(
        "{}: HTTP {}{}: the repository is private or gated, or the token lacks access; set "
        "HF_TOKEN to a token that can read it",
        url, status, detail));
  }
  if (status == 416) {
    t.response.total_size = t.range_total;
    return std::move(t.response);
  }
  if (status == 429 || status >= 500) {
    error = fmt::format("HTTP {}{}", status, detail);
    return {};
  }
  if (status != 200 && status != 206)
    throw TransportError(fmt::format("{}: unexpected HTTP {}{}", url, status, detail));
  if (status == 206) {
    if (!range || !t.range_start || *t.range_start != range->offset) {
      throw TransportError(
          fmt::format("{}: the server answered a Range request for bytes {} with "
                      "a different range",
                      url, range_text));
    }
    t.response.total_size = t.range_total;
  } else {
    t.response.total_size = t.content_length;
  }
  return std::move(t.response);
}

HttpResponse HttpClient::get(const std::string& url, std::optional<ByteRange> range,
                             uint64_t max_body) {
  if (range && range->length == 0) throw IoError(fmt::format("{}: empty range requested", url));
  using Clock = std::chrono::steady_clock;
  uint64_t requested = range ? range->length : max_body;
  double deadline_s =
      settings_.deadline_s > 0 ? settings_.deadline_s : default_deadline_s(requested);
  Clock::time_point deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                  std::chrono::duration<double>(deadline_s));
  std::string error;
  auto past_deadline = [&] {
    return TransportError(fmt::format(
        "{}: no complete answer within the {:g}-second deadline for {} bytes (--deadline){}", url,
        deadline_s, requested, error.empty() ? "" : fmt::format("; last error: {}", error)));
  };
  auto remaining_ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  };
  int attempts = 1 + std::max(0, settings_.retries);
  for (int i = 0; i < attempts; ++i) {
    if (i > 0) {
      auto pause = std::chrono::milliseconds(250 << std::min(i - 1, 4));
      if (pause.count() >= remaining_ms()) throw past_deadline();
      std::this_thread::sleep_for(pause);
    }
    long timeout_ms = static_cast<long>(remaining_ms());
    if (timeout_ms <= 0) throw past_deadline();
    auto handle = acquire();
    HttpResponse response;
    try {
      response = attempt(*handle, url, range, max_body, timeout_ms, error);
    } catch (...) {
      release(std::move(handle));
      throw;
    }
    release(std::move(handle));
    if (response.status != 0) return response;
    if (remaining_ms() <= 0) throw past_deadline();
  }
  throw TransportError(
      fmt::format("{}: {} ({} attempt{})", url, error, attempts, attempts == 1 ? "" : "s"));
}

std::string choose_ca_bundle(const char* env_curl_ca_bundle, const char* env_ssl_cert_file,
                             const char* compiled, bool (*readable)(const char* path)) {
  for (const char* env : {env_curl_ca_bundle, env_ssl_cert_file})
    if (env && *env) return env;
  if (compiled && *compiled && readable(compiled)) return "";
  // The places Go's crypto/x509 looks on Linux (src/crypto/x509/root_linux.go).
  for (const char* path : {"/etc/ssl/certs/ca-certificates.crt",  // Debian, Ubuntu, Gentoo, Arch
                           "/etc/pki/tls/certs/ca-bundle.crt",    // Fedora, RHEL 6
                           "/etc/ssl/ca-bundle.pem",              // openSUSE
                           "/etc/pki/tls/cacert.pem",             // OpenELEC
                           "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  // CentOS, RHEL 7
                           "/etc/ssl/cert.pem"})                                 // Alpine
    if (readable(path)) return path;
  return "";
}

double default_deadline_s(uint64_t bytes) {
  return kDeadlineBaseSeconds + static_cast<double>(bytes) / kDeadlineBytesPerSecond;
}

std::string url_authority(const std::string& url) {
  CURLU* u = curl_api().url();
  if (!u) return {};
  std::string out;
  if (curl_api().url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    char* host = nullptr;
    char* port = nullptr;
    if (curl_api().url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_api().url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
      out = lowercase(fmt::format("{}:{}", host, port));
    }
    curl_api().free(host);
    curl_api().free(port);
  }
  curl_api().url_cleanup(u);
  return out;
}

std::string percent_encode(std::string_view text, bool keep_slash) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace ckd

#include "remote/curl_api.h"

#include <dlfcn.h>

#include <string>

#include <fmt/format.h>

#include "io/byte_source.h"

namespace ckd {

namespace {

// CURLOPT_PROTOCOLS_STR and the URL API's parts used here (the same floor as CMakeLists.txt).
constexpr unsigned kMinimumVersion = 0x075500;  // 7.85.0

#ifdef CKD_LINK_CURL
CurlApi bind() {
  return {&curl_global_init, &curl_version_info, &curl_easy_init,   &curl_easy_reset,
          &curl_easy_cleanup, &curl_easy_setopt, &curl_easy_getinfo, &curl_easy_perform,
          &curl_easy_strerror, &curl_share_init, &curl_share_setopt, &curl_share_cleanup,
          &curl_url,          &curl_url_set,     &curl_url_get,      &curl_url_cleanup,
          &curl_free};
}
#else
template <typename F>
void resolve(void* library, const char* library_name, const char* symbol, F& slot) {
  void* address = dlsym(library, symbol);
  if (!address)
    throw IoError(fmt::format("remote checkpoints need libcurl: {} has no {}", library_name, symbol));
  slot = reinterpret_cast<F>(address);
}

CurlApi bind() {
  // The soname every libcurl 7.x and 8.x has; Debian's GnuTLS build has its own name.
  const char* name = nullptr;
  void* library = nullptr;
  for (const char* candidate : {"libcurl.so.4", "libcurl-gnutls.so.4"}) {
    library = dlopen(candidate, RTLD_NOW | RTLD_LOCAL);
    if (library) {
      name = candidate;
      break;
    }
  }
  if (!library) {
    throw IoError(
        "remote checkpoints need libcurl (libcurl.so.4), which is not installed: install it "
        "(Debian/Ubuntu: apt install libcurl4), or download the checkpoint and scan the directory");
  }
  CurlApi api{};
  resolve(library, name, "curl_global_init", api.global_init);
  resolve(library, name, "curl_version_info", api.version_info);
  resolve(library, name, "curl_easy_init", api.easy_init);
  resolve(library, name, "curl_easy_reset", api.easy_reset);
  resolve(library, name, "curl_easy_cleanup", api.easy_cleanup);
  resolve(library, name, "curl_easy_setopt", api.easy_setopt);
  resolve(library, name, "curl_easy_getinfo", api.easy_getinfo);
  resolve(library, name, "curl_easy_perform", api.easy_perform);
  resolve(library, name, "curl_easy_strerror", api.easy_strerror);
  resolve(library, name, "curl_share_init", api.share_init);
  resolve(library, name, "curl_share_setopt", api.share_setopt);
  resolve(library, name, "curl_share_cleanup", api.share_cleanup);
  resolve(library, name, "curl_url", api.url);
  resolve(library, name, "curl_url_set", api.url_set);
  resolve(library, name, "curl_url_get", api.url_get);
  resolve(library, name, "curl_url_cleanup", api.url_cleanup);
  resolve(library, name, "curl_free", api.free);
  return api;  // the library stays loaded for the life of the process
}
#endif

CurlApi load() {
  CurlApi api = bind();
  const curl_version_info_data* info = api.version_info(CURLVERSION_NOW);
  if (!info || info->version_num < kMinimumVersion) {
    throw IoError(fmt::format("remote checkpoints need libcurl 7.85 or later; this one is {}",
                              info && info->version ? info->version : "of unknown version"));
  }
  if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    throw IoError("cannot initialise libcurl");
  return api;
}

}  // namespace

const CurlApi& curl_api() {
  static const CurlApi api = load();  // a throw leaves it unset: the next call tries again
  return api;
}

}  // namespace ckd

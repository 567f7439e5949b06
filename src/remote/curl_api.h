// The libcurl functions remote scans call. A local scan never loads libcurl: its TLS stack and
// their dependencies take about 6 ms to load and initialise, most of a small scan's start. The
// library is opened (dlopen) on the first remote request instead, unless the build links it
// (CKPTDOCTOR_LINK_CURL: the wheel, whose vendored libraries auditwheel finds by linking).
#pragma once

#include <curl/curl.h>

namespace ckd {

struct CurlApi {
  decltype(&::curl_global_init) global_init;
  decltype(&::curl_version_info) version_info;
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_reset) easy_reset;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_perform) easy_perform;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_share_init) share_init;
  decltype(&::curl_share_setopt) share_setopt;
  decltype(&::curl_share_cleanup) share_cleanup;
  decltype(&::curl_url) url;
  decltype(&::curl_url_set) url_set;
  decltype(&::curl_url_get) url_get;
  decltype(&::curl_url_cleanup) url_cleanup;
  decltype(&::curl_free) free;
};

// Bound once per process, curl_global_init called. Throws IoError naming the library and what
// is missing when it cannot be loaded or is older than the build's minimum (7.85).
const CurlApi& curl_api();

}  // namespace ckd

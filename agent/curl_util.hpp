// libcurl plumbing shared by the API client and the image streamer: handle ownership,
// TLS pinned to Drover's CA fingerprint, and which failures are worth a retry.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <curl/curl.h>

#include "common/result.hpp"

namespace drover::agent {

struct TlsOptions {
  // Lowercase hex sha256 of the DER of Drover's CA certificate (drover.ca=sha256:<hex>).
  // Set: the server's chain must contain that certificate and verify up to it; the system
  // trust store is not consulted. Empty: the system trust store (https) as usual.
  std::string ca_fingerprint;
  bool verify_host = true;  // the server certificate must name the host of the URL
};

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;

// curl_global_init once per process, then a fresh easy handle.
CurlHandle makeCurl();

// Applies TLS verification. `tls` must outlive the transfers made with `curl`.
void applyTls(CURL* curl, const TlsOptions& tls);

// True for failures a later attempt may not see: connection refused/reset, timeouts,
// transfer cut short, HTTP 408/429/5xx. False for bad URLs and failed verification.
bool isRetriable(CURLcode code, long http_status);

// Exponential backoff: initial * 2^(attempt-1), capped at max.
std::chrono::milliseconds backoffDelay(int attempt, std::chrono::milliseconds initial,
                                       std::chrono::milliseconds max);

// Sha256 (lowercase hex) of a PEM or DER certificate file, as drover.ca wants it.
Result<std::string> certificateFingerprint(const std::string& path);

}  // namespace drover::agent

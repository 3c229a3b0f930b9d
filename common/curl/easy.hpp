// libcurl for Drover's HTTP clients (the agent, the image fetcher, the drover commands):
// one easy handle with the common options (timeouts, redirects, TLS trust, error buffer),
// what a transfer came to, and how failures map to errors and retries. Its own library
// (drover::curl) so that drover::common does not link libcurl.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <curl/curl.h>

#include "common/result.hpp"

namespace drover::curl {

// Whom an https server must prove itself to.
struct Tls {
  // Lowercase hex sha256 of the DER of a CA certificate (the agent's drover.ca): the server's
  // chain must contain that certificate and verify up to it; no trust store is consulted.
  std::string ca_fingerprint;
  // Set and no fingerprint: trust this CA bundle (PEM) instead of the system's.
  std::string ca_file;
  bool verify_host = true;  // the server certificate must name the host of the URL
};

struct Options {
  std::string user_agent = "drover";
  long connect_timeout_s = 0;     // 0: libcurl's default
  long timeout_s = 0;             // the whole transfer; 0: no limit
  long stall_timeout_s = 0;       // give up below 1 byte/s for this long; 0: never
  bool follow_redirects = false;  // at most 5; http and https only, from https to https only
  Tls tls;
};

// What one perform() came to.
struct Outcome {
  CURLcode code = CURLE_OK;
  long status = 0;    // HTTP status of the last response; 0 when none arrived
  std::string error;  // libcurl's message (error buffer, else curl_easy_strerror); "" if ok
  bool ok() const { return code == CURLE_OK; }
};

// One easy handle with Options applied. Movable; what libcurl points to (options, error
// buffer, header list) stays put when it moves.
class Easy {
 public:
  // curl_global_init once per process, then a handle: "curl_init" when libcurl cannot make one.
  static Result<Easy> create(Options opt);

  CURL* get() const { return handle_.get(); }
  void setUrl(const std::string& url);
  // Request headers ("Name: value") for every following perform().
  void setHeaders(const std::vector<std::string>& lines);
  // GET without a body, or `method` (POST, PUT, DELETE, ...) sending `body`, which must stay
  // alive until perform() returns.
  void setRequest(std::string_view method, std::string_view body = {});
  // The response body goes to *out (appended), at most `max_bytes`: a longer one fails the
  // transfer (CURLE_WRITE_ERROR). Without this, set CURLOPT_WRITEFUNCTION yourself.
  void collectBody(std::string* out, std::size_t max_bytes);
  Outcome perform();

 private:
  struct Deleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
  };
  struct State;
  struct StateDeleter {
    void operator()(State* s) const;
  };
  Easy(CURL* handle, std::unique_ptr<State, StateDeleter> state);
  static std::size_t collect(char* data, std::size_t size, std::size_t n, void* user);

  std::unique_ptr<State, StateDeleter> state_;  // outlives the handle
  std::unique_ptr<CURL, Deleter> handle_;
};

// True for failures a later attempt may not see: connection refused/reset, timeouts, a
// transfer cut short, HTTP 408/429/5xx. False for bad URLs and failed TLS verification.
bool isRetriable(CURLcode code, long http_status);
// A TLS handshake or certificate verification failure.
bool isTlsFailure(CURLcode code);
// A failed transfer (!o.ok()) as an error about `what` (a URL, "GET /v1/..."): "tls" for
// TLS failures, "bad_url" for URLs libcurl refuses, "redirect" for too many redirects,
// otherwise "network".
Error transferError(const Outcome& o, std::string_view what);

// Exponential backoff: initial * 2^(attempt-1), capped at max.
std::chrono::milliseconds backoffDelay(int attempt, std::chrono::milliseconds initial,
                                       std::chrono::milliseconds max);

}  // namespace drover::curl

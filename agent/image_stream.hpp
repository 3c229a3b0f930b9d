// Streams a disk image over HTTP(S) straight onto a Sink: decompressing on the fly,
// hashing the bytes as served, resuming with Range after a dropped connection and retrying
// with exponential backoff.
//
// The sha256 is computed over the stream exactly as the server sends it (the compressed
// file for raw.zst/raw.xz/raw.gz, the raw image otherwise): that is what the image catalog
// publishes and what `sha256sum file` gives. On a resume the decompressor and the hash go on
// from where they stopped; only the remaining bytes are requested (`Range: bytes=N-`).
// A server that answers a Range request with the whole file (200) has the bytes already
// received dropped from its answer, so they are neither hashed nor written twice.
//
// Failing over: when the image URL is on one of the agent's API URLs (`api_urls`: same
// scheme, host and port), an attempt that fails with a connection failure or reset, a
// stall or a 5xx goes on from the byte reached at the same path on the next API URL (a
// replica of the same server: the image is named by its digest), and stays there. Every
// URL gets at least one attempt in a row without progress before the stream gives up.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/decompress.hpp"
#include "agent/sink.hpp"
#include "common/curl/easy.hpp"
#include "common/result.hpp"

namespace drover::agent {

struct StreamProgress {
  std::uint64_t bytes = 0;    // compressed bytes received (as served)
  std::uint64_t total = 0;    // compressed size; 0 when not known
  std::uint64_t written = 0;  // decompressed bytes handed to the target
  double rate = 0;            // bytes/s received, averaged since the start
  int attempt = 1;
};

struct StreamOptions {
  std::string url;
  std::string sha256;              // expected, hex (required)
  std::string signature;           // detached signature (base64 or DER) over the stream; "" = none
  std::string signature_key;       // PEM public key (RSA/ECDSA) for `signature`
  std::string format;              // plan format ("raw", "raw.zst", ...); "" = by magic only
  std::uint64_t size = 0;          // expected compressed size; 0 = unknown
  curl::Tls tls;
  // The agent's API URLs, the one in use first (ApiClient::urls()); empty: no failover.
  std::vector<std::string> api_urls{};
  int max_attempts = 6;            // failed attempts in a row without new bytes (at least
                                   // one per URL when failing over)
  int max_total_attempts = 100;    // all attempts of one stream
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{30000};
  long connect_timeout_s = 20;
  long stall_timeout_s = 60;       // abort an attempt after this long below 1 byte/s
  std::chrono::milliseconds progress_interval{1000};
  std::function<void(const StreamProgress&)> on_progress;  // rate-limited by progress_interval
  std::function<void(std::chrono::milliseconds)> sleep;    // default: this_thread::sleep_for
};

struct StreamResult {
  std::uint64_t bytes = 0;         // compressed bytes received
  std::uint64_t written = 0;       // bytes written to the target
  std::string sha256;
  Compression compression = Compression::Raw;
  int attempts = 0;
  int resumes = 0;                 // attempts that continued with a Range request
  int failovers = 0;               // attempts moved to another API URL
  std::string url{};               // where the last bytes came from
  bool signature_verified = false; // the plan's signature was checked and matched
};

// Error codes: missing_sha256, bad_format, http_status (4xx), retries_exhausted,
// sha256_mismatch, signature_mismatch, signature_invalid, key_invalid, size_mismatch, range_mismatch, format_mismatch, decompress, truncated,
// image_too_large, write, flush, transfer (non-retriable curl error).
// Success means: every byte arrived, the hash matched and the sink was flushed.
Result<StreamResult> streamImage(const StreamOptions& opt, Sink& sink);

struct ContentRange {
  std::uint64_t start = 0;
  std::uint64_t total = 0;  // 0: unknown ("*")
};

// The URLs to fetch `url` from, in order: `url` alone, or when it is on one of `api_urls`
// (same scheme, host and port; default ports made explicit) the same path and query on
// that one and then on each of the others, in their order from there.
std::vector<std::string> failoverUrls(const std::string& url,
                                      const std::vector<std::string>& api_urls);

// Value of a Content-Range header (" bytes 100-999/1000"); nullopt when malformed.
std::optional<ContentRange> parseContentRange(std::string_view value);

// "  42% 420.0 MiB / 1.0 GiB  85.3 MiB/s" (one console line).
std::string formatProgress(const StreamProgress& p);

}  // namespace drover::agent

// Downloads with libcurl into a partial file of the store's tmp directory: resumes an
// interrupted download with Range + If-Range (the validator of the response the partial
// file came from is kept beside it, so a file changed upstream is fetched whole rather
// than spliced), re-checks upstream with If-None-Match /
// If-Modified-Since (304 = unchanged), retries transient failures, and reports progress.
// It does not verify: the finished file goes to BlobStore::publish(), which does.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "common/result.hpp"

namespace drover::images::fetch {

// Progress of one download: a bar on a terminal, plain lines otherwise.
class Progress {
 public:
  virtual ~Progress() = default;
  virtual void update(std::uint64_t done, std::uint64_t total) = 0;  // total 0: unknown
  virtual void finish(bool ok) = 0;
};
// "512 B", "1.5 MiB": sizes in progress lines and listings.
std::string humanBytes(std::uint64_t bytes);

// A bar redrawn in place when `out` is a terminal, else a line every 10% (or 64 MiB when
// the size is unknown).
std::unique_ptr<Progress> makeProgress(std::string label, std::FILE* out);

struct Request {
  std::string url;
  std::filesystem::path partial;  // written here; kept after a failure so a retry resumes
  std::string etag;               // validators of the cached version: a conditional GET
  std::string last_modified;      //   (only when there is no partial file to resume)
  std::string ca_file;            // extra CA bundle for https; empty: the system's
  int max_attempts = 3;           // transient failures in a row before giving up
  std::chrono::milliseconds backoff{500};
  long connect_timeout_s = 20;
  long stall_timeout_s = 60;  // abort an attempt that gets nothing for this long
  Progress* progress = nullptr;
  // Set (true) by another thread: the transfer stops at once, the partial file is kept and
  // the code is cancelled. Null: never.
  const std::atomic<bool>* cancel = nullptr;
};

struct Response {
  bool not_modified = false;  // 304: the cached version is current; no file written
  std::string etag;
  std::string last_modified;
  std::uint64_t bytes = 0;  // size of the finished partial file
  int attempts = 0;
  int resumes = 0;   // attempts that continued with Range
  int restarts = 0;  // resumes answered with the whole file (If-Range: it changed upstream)
};

// Error codes: not_found (404), http_status (other 4xx; 5xx after the last attempt), tls
// (certificate or handshake failure), bad_url, network (connection, timeouts, transfer cut short,
// after the last attempt; the partial file is kept), eio, cancelled (Request::cancel).
Result<Response> download(const Request& request);

// A small document (a detached signature) into memory. Same error codes.
Result<std::string> fetchSmall(const std::string& url, const std::string& ca_file,
                               std::size_t max_bytes = 64 * 1024);

}  // namespace drover::images::fetch

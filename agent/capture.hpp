// Capture mode (the boot environment, docs/images.md): the node's disk read whole,
// compressed with zstd and uploaded to the server in pieces while it is read, never held in
// memory; the sha256 of the raw disk and of the zstd stream are computed on the way and
// declared at the end so the server can check what arrived before publishing it.
//
//   network up -> exchange token -> register (action capture) -> plan (disk, upload URL,
//   capture token) -> read + compress + upload (PUT .../data?offset=N) -> finish (digests)
//   -> reboot.
//
// A failure after the plan tells the server (POST .../abort) so the capture ends there; it
// never reports `failed`: the node's installed disk is untouched.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "agent/api_client.hpp"
#include "agent/cmdline.hpp"
#include "common/result.hpp"

namespace drover::agent {

struct CapturePlan {
  std::string image;
  std::string disk;
  std::string upload_url;  // https://.../v1/agent/capture
  std::string token;       // "<node>.<secret>", for the upload only
  std::uint64_t chunk_bytes = 512 * 1024;
};

// The plan reply of a pending capture ({"action":"capture","capture":{...}}). Errors:
// bad_reply, not_capture (a plan of another action).
Result<CapturePlan> parseCapturePlan(std::string_view body);

struct CaptureOptions {
  BootParams params;
  std::string disk;                // overrides the plan's disk (--disk)
  bool allow_file_target = false;  // capture a plain file (tests, demos)
  bool reboot = true;
  bool network_up = false;
  std::filesystem::path sys_root = "/";
  ApiOptions api;                  // retry tuning (base/tls come from params)
  int zstd_level = 3;
  int max_attempts = 6;            // failed attempts in a row for one piece
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{30000};
  long finish_timeout_s = 6 * 3600;  // the server reads the whole upload before it answers
  std::chrono::milliseconds report_interval{5000};  // capture_progress events at most this often
  bool console_progress = true;
  std::function<void()> reboot_fn;  // default: sync + reboot(RB_AUTOBOOT)
};

struct CaptureOutcome {
  std::string node;
  std::string action;      // what register said
  bool published = false;  // the server published the upload
  std::string image, version, sha256, raw_sha256;
  std::uint64_t raw_bytes = 0;  // read from the disk
  std::uint64_t bytes = 0;      // zstd bytes uploaded
  int retries = 0;              // pieces sent again
};

// Error codes are those of the failing step (disk_missing, read, compress, http_status,
// retries_exhausted, and the server's refusal: truncated, sha256_mismatch, ...).
Result<CaptureOutcome> runCapture(const CaptureOptions& opt);

// zstd compression of a stream with both digests: raw bytes in, compressed pieces out.
class CaptureEncoder {
 public:
  using Output = std::function<Status(std::span<const std::uint8_t>)>;
  explicit CaptureEncoder(int level = 3);
  ~CaptureEncoder();
  CaptureEncoder(const CaptureEncoder&) = delete;
  CaptureEncoder& operator=(const CaptureEncoder&) = delete;

  Status feed(std::span<const std::uint8_t> raw, const Output& out);
  Status finish(const Output& out);  // ends the frame; the digests are final afterwards

  std::uint64_t rawBytes() const { return raw_bytes_; }
  std::uint64_t bytes() const { return bytes_; }
  const std::string& rawSha256() const { return raw_sha256_; }
  const std::string& sha256() const { return sha256_; }

 private:
  struct Impl;
  Status pump(const void* src, std::size_t n, bool end, const Output& out);
  std::unique_ptr<Impl> impl_;
  std::uint64_t raw_bytes_ = 0;
  std::uint64_t bytes_ = 0;
  std::string raw_sha256_, sha256_;
};

}  // namespace drover::agent

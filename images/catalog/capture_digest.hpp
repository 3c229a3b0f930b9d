// What a captured disk upload is: a zstd stream of the raw disk. One read of the file gives
// the sha256 and size of the stream and of the raw disk it decompresses to, so the server
// can check both against what the agent declared before the capture is published.
#pragma once

#include <cstdint>
#include <filesystem>

#include "common/result.hpp"
#include "common/values.hpp"

namespace drover::images::catalog {

struct CaptureDigests {
  Sha256 sha256;              // of the file as stored (the zstd stream)
  std::uint64_t size = 0;
  Sha256 raw_sha256;          // of the decompressed disk
  std::uint64_t raw_size = 0;
};

// Error codes: eio (unreadable), decompress (not zstd, or corrupt), truncated (the stream
// stops inside a frame), empty (no bytes at all).
Result<CaptureDigests> digestZstdFile(const std::filesystem::path& file);

}  // namespace drover::images::catalog

// Where the decompressed image goes: a block device or a plain file (FileSink), or nowhere
// in dry-run mode (NullSink, which still counts bytes and enforces the size limit).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/fd.hpp"
#include "common/result.hpp"

namespace drover::agent {

class Sink {
 public:
  virtual ~Sink() = default;
  virtual Status write(std::span<const std::uint8_t> data) = 0;
  // Makes everything written durable (fdatasync, BLKFLSBUF for block devices). Only after
  // finish() succeeded may the image be reported as written.
  virtual Status finish() = 0;
  virtual std::uint64_t written() const = 0;
  // Most bytes the target takes; nullopt: no limit.
  virtual std::optional<std::uint64_t> limit() const { return std::nullopt; }
  // After a failed stream: makes what was written unbootable (zeroes its first and last
  // MiB, where partition tables and boot code live) and drops what is still buffered.
  // Returns how many bytes were zeroed.
  virtual Result<std::uint64_t> discard() { return std::uint64_t{0}; }
};

// How much of a discarded target's head and tail is zeroed.
inline constexpr std::uint64_t kDiscardBytes = 1024 * 1024;

// Bytes beyond `limit` are refused with `image_too_large` (the disk is too small).
class NullSink final : public Sink {
 public:
  explicit NullSink(std::optional<std::uint64_t> limit = std::nullopt) : limit_(limit) {}
  Status write(std::span<const std::uint8_t> data) override;
  Status finish() override { return {}; }
  std::uint64_t written() const override { return written_; }
  std::optional<std::uint64_t> limit() const override { return limit_; }

 private:
  std::optional<std::uint64_t> limit_;
  std::uint64_t written_ = 0;
};

struct FileSinkOptions {
  bool require_block_device = false;           // refuse a path that is not a block device
  std::optional<std::uint64_t> limit;          // refuse writing past this many bytes
  std::size_t buffer_bytes = 4 * 1024 * 1024;  // writes are batched into this many bytes
};

class FileSink final : public Sink {
 public:
  // Block devices are opened for writing as they are; plain files are created/truncated.
  // The limit defaults to the block device's size (BLKGETSIZE64).
  static Result<std::unique_ptr<FileSink>> open(const std::filesystem::path& path,
                                                const FileSinkOptions& opt = {});
  Status write(std::span<const std::uint8_t> data) override;
  Status finish() override;
  std::uint64_t written() const override { return written_; }
  std::optional<std::uint64_t> limit() const override { return limit_; }
  Result<std::uint64_t> discard() override;
  bool isBlockDevice() const { return block_; }

 private:
  FileSink(UniqueFd fd, bool block, std::optional<std::uint64_t> limit, std::size_t buffer_bytes,
           std::string path);
  Status flushBuffer();

  UniqueFd fd_;
  bool block_;
  std::optional<std::uint64_t> limit_;
  std::string path_;
  std::vector<std::uint8_t> buf_;
  std::size_t buf_used_ = 0;
  std::uint64_t written_ = 0;  // bytes accepted (buffered or on disk)
  std::uint64_t flushed_ = 0;  // bytes handed to the kernel
};

// Size in bytes of a block device (BLKGETSIZE64) or a regular file.
Result<std::uint64_t> deviceSize(const std::filesystem::path& path);

}  // namespace drover::agent

// Produces the payload of block N of a transfer, from a shared open file or from memory
// (a virtual file), in octet or netascii mode. Octet blocks are read in place with pread
// at (N-1) x blksize, so a transfer holds no file data between sends. Netascii changes
// lengths, so it keeps one checkpoint (source offset, encoder state) per block still in
// flight: any block of the window can be rebuilt, and release() drops the acknowledged.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "tftp/server/file_cache.hpp"
#include "tftp/wire/netascii.hpp"
#include "tftp/wire/packet.hpp"

namespace drover::tftp {

class BlockSource {
 public:
  using Backing = std::variant<std::shared_ptr<const SharedFile>, std::shared_ptr<const std::string>>;

  BlockSource(Backing backing, wire::Mode mode, std::size_t blksize);

  // Size in bytes as it goes on the wire, when known without reading (octet mode).
  std::optional<std::uint64_t> wireSize() const;

  // Writes block `index` (from 1) into out[0..blksize); the count is < blksize only for the
  // last block.
  Result<std::size_t> read(std::uint64_t index, std::span<std::byte> out);

  // Reads `count` consecutive blocks from `first` into out, block i at i x blksize (all full
  // but a last short one). Returns the total; block i holds
  // clamp(total - i x blksize, 0, blksize) bytes. Octet mode does it with one read.
  Result<std::size_t> readRun(std::uint64_t first, std::size_t count, std::span<std::byte> out);

  // Blocks before `base` are acknowledged and will not be asked for again.
  void release(std::uint64_t base);

 private:
  struct Checkpoint {
    std::uint64_t offset = 0;
    wire::NetasciiState state;
  };

  Result<std::size_t> readAt(std::uint64_t offset, std::span<std::byte> out) const;
  std::uint64_t sourceSize() const;
  Result<std::size_t> readNetascii(std::uint64_t index, std::span<std::byte> out);

  Backing backing_;
  wire::Mode mode_;
  std::size_t blksize_;
  std::deque<Checkpoint> checkpoints_;  // netascii: checkpoints_[i] starts block first_ + i
  std::uint64_t first_ = 1;
  std::vector<std::byte> scratch_;
};

}  // namespace drover::tftp

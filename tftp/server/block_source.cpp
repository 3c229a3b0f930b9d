#include "tftp/server/block_source.hpp"

#include <algorithm>
#include <cstring>

namespace drover::tftp {

BlockSource::BlockSource(Backing backing, wire::Mode mode, std::size_t blksize)
    : backing_(std::move(backing)), mode_(mode), blksize_(blksize) {
  if (mode_ == wire::Mode::Netascii) checkpoints_.push_back({});
}

std::uint64_t BlockSource::sourceSize() const {
  if (auto* f = std::get_if<0>(&backing_)) return (*f)->size();
  return std::get<1>(backing_)->size();
}

std::optional<std::uint64_t> BlockSource::wireSize() const {
  if (mode_ == wire::Mode::Netascii) return std::nullopt;
  return sourceSize();
}

Result<std::size_t> BlockSource::readAt(std::uint64_t offset, std::span<std::byte> out) const {
  if (auto* f = std::get_if<0>(&backing_)) return (*f)->readAt(offset, out);
  const auto& s = *std::get<1>(backing_);
  if (offset >= s.size()) return std::size_t{0};
  const auto n = std::min<std::size_t>(out.size(), s.size() - offset);
  std::memcpy(out.data(), s.data() + offset, n);
  return n;
}

Result<std::size_t> BlockSource::read(std::uint64_t index, std::span<std::byte> out) {
  if (index == 0 || out.size() < blksize_) return makeError("bad_block", "block index or buffer");
  out = out.first(blksize_);
  if (mode_ == wire::Mode::Netascii) return readNetascii(index, out);
  return readAt((index - 1) * blksize_, out);
}

Result<std::size_t> BlockSource::readRun(std::uint64_t first, std::size_t count,
                                         std::span<std::byte> out) {
  if (first == 0 || out.size() < count * blksize_) return makeError("bad_block", "block index or buffer");
  if (mode_ == wire::Mode::Octet) return readAt((first - 1) * blksize_, out.first(count * blksize_));
  std::size_t total = 0;
  for (std::size_t i = 0; i < count; ++i) {
    auto n = readNetascii(first + i, out.subspan(i * blksize_, blksize_));
    if (!n) return n;
    total += *n;
    if (*n < blksize_) break;
  }
  return total;
}

Result<std::size_t> BlockSource::readNetascii(std::uint64_t index, std::span<std::byte> out) {
  if (index < first_) return makeError("bad_block", "block already released");
  // Normally the checkpoint exists (blocks are sent in order); otherwise build the ones
  // missing by encoding the blocks before it.
  while (first_ + checkpoints_.size() - 1 < index) {
    auto n = readNetascii(first_ + checkpoints_.size() - 1, out);
    if (!n) return n;
  }
  const Checkpoint cp = checkpoints_[index - first_];
  scratch_.resize(blksize_);
  auto got = readAt(cp.offset, scratch_);
  if (!got) return got;
  wire::NetasciiState state = cp.state;
  auto step = wire::netasciiEncode(std::span(scratch_).first(*got), out, state);
  if (first_ + checkpoints_.size() - 1 == index)
    checkpoints_.push_back({cp.offset + step.consumed, state});
  return step.produced;
}

void BlockSource::release(std::uint64_t base) {
  if (mode_ != wire::Mode::Netascii) return;
  while (first_ < base && checkpoints_.size() > 1) {
    checkpoints_.pop_front();
    ++first_;
  }
}

}  // namespace drover::tftp

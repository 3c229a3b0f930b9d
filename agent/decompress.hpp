// Streaming decompression of disk images: zstd, xz, gzip, detected by magic bytes; raw
// otherwise. A Decompressor keeps its state between feed() calls, so a download that is
// resumed with an HTTP Range request simply goes on feeding it the remaining bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "common/result.hpp"

namespace drover::agent {

enum class Compression { Raw, Zstd, Xz, Gzip };

std::string_view compressionName(Compression c);

// Plan formats (docs/api.md): "raw", "raw.zst", "raw.xz", "raw.gz"; "" means unknown.
Result<std::optional<Compression>> compressionFromFormat(std::string_view format);

// Decides from the first bytes. nullopt: `head` is a proper prefix of a magic and more
// bytes are needed (pass final=true at end of input to decide anyway).
std::optional<Compression> detectCompression(std::span<const std::uint8_t> head, bool final);

class Decompressor {
 public:
  using Output = std::function<Status(std::span<const std::uint8_t>)>;

  virtual ~Decompressor() = default;
  // Decompresses `in`, handing every produced chunk to `out` (its error stops the feed).
  virtual Status feed(std::span<const std::uint8_t> in, const Output& out) = 0;
  // End of input: flushes what is left; error `truncated` if the stream stopped mid-frame.
  virtual Status finish(const Output& out) = 0;

  static std::unique_ptr<Decompressor> make(Compression c);
};

// Detects the format from the first bytes, then delegates. When `expected` is set, a
// different detected format is an error (`format_mismatch`).
class AutoDecompressor final : public Decompressor {
 public:
  explicit AutoDecompressor(std::optional<Compression> expected = std::nullopt)
      : expected_(expected) {}

  Status feed(std::span<const std::uint8_t> in, const Output& out) override;
  Status finish(const Output& out) override;
  std::optional<Compression> detected() const { return detected_; }

 private:
  Status start(Compression c, const Output& out);

  std::optional<Compression> expected_;
  std::optional<Compression> detected_;
  std::unique_ptr<Decompressor> inner_;
  std::uint8_t head_[8] = {};
  std::size_t head_len_ = 0;
};

}  // namespace drover::agent

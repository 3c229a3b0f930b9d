#include "agent/decompress.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

namespace drover::agent {
namespace {

constexpr std::uint8_t kZstdMagic[] = {0x28, 0xb5, 0x2f, 0xfd};
constexpr std::uint8_t kXzMagic[] = {0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00};
constexpr std::uint8_t kGzipMagic[] = {0x1f, 0x8b};
constexpr std::size_t kOutChunk = 256 * 1024;
// Decoder memory a stream may ask for: xz -9 needs 65 MiB, a hostile header could ask for
// gigabytes. zstd's own default window limit is 128 MiB (--long=27).
constexpr std::uint64_t kXzMemLimit = 256ull * 1024 * 1024;

// A decoder's output chunk, left uninitialised: the decoder writes before anything reads,
// and zeroing 256 KiB per stream only costs page faults.
class OutBuffer {
 public:
  explicit OutBuffer(std::size_t size)
      : bytes_(std::make_unique_for_overwrite<std::uint8_t[]>(size)), size_(size) {}
  std::uint8_t* data() { return bytes_.get(); }
  std::size_t size() const { return size_; }

 private:
  std::unique_ptr<std::uint8_t[]> bytes_;
  std::size_t size_;
};

class RawDecompressor final : public Decompressor {
 public:
  Status feed(std::span<const std::uint8_t> in, const Output& out) override {
    return in.empty() ? Status{} : out(in);
  }
  Status finish(const Output&) override { return {}; }
};

class ZstdDecompressor final : public Decompressor {
 public:
  ZstdDecompressor() : ctx_(ZSTD_createDCtx()), buf_(ZSTD_DStreamOutSize()) {}
  ~ZstdDecompressor() override { ZSTD_freeDCtx(ctx_); }

  Status feed(std::span<const std::uint8_t> in, const Output& out) override {
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    while (ib.pos < ib.size) {
      ZSTD_outBuffer ob{buf_.data(), buf_.size(), 0};
      const std::size_t ret = ZSTD_decompressStream(ctx_, &ob, &ib);
      if (ZSTD_isError(ret)) {
        return makeError("decompress", std::string("zstd: ") + ZSTD_getErrorName(ret));
      }
      last_ = ret;
      if (ob.pos > 0) {
        if (auto st = out({buf_.data(), ob.pos}); !st) return st;
      }
    }
    // Drain output still buffered inside the decoder after the input was consumed.
    for (;;) {
      ZSTD_outBuffer ob{buf_.data(), buf_.size(), 0};
      ZSTD_inBuffer empty{nullptr, 0, 0};
      const std::size_t ret = ZSTD_decompressStream(ctx_, &ob, &empty);
      if (ZSTD_isError(ret)) {
        return makeError("decompress", std::string("zstd: ") + ZSTD_getErrorName(ret));
      }
      if (ob.pos == 0) break;  // nothing pending: keep the status of the last real step
      last_ = ret;
      if (auto st = out({buf_.data(), ob.pos}); !st) return st;
    }
    return {};
  }

  Status finish(const Output&) override {
    if (last_ != 0) return makeError("truncated", "zstd stream ends inside a frame");
    return {};
  }

 private:
  ZSTD_DCtx* ctx_;
  OutBuffer buf_;
  std::size_t last_ = 1;  // 0 once a frame is complete
};

class XzDecompressor final : public Decompressor {
 public:
  XzDecompressor() : buf_(kOutChunk) {
    init_ = lzma_stream_decoder(&strm_, kXzMemLimit, LZMA_CONCATENATED);
  }
  ~XzDecompressor() override { lzma_end(&strm_); }

  Status feed(std::span<const std::uint8_t> in, const Output& out) override {
    return run(in, LZMA_RUN, out);
  }
  Status finish(const Output& out) override { return run({}, LZMA_FINISH, out); }

 private:
  Status run(std::span<const std::uint8_t> in, lzma_action action, const Output& out) {
    if (init_ != LZMA_OK) return makeError("decompress", "xz: decoder init failed");
    if (ended_) {
      if (!in.empty()) return makeError("decompress", "xz: data after end of stream");
      return {};
    }
    strm_.next_in = in.data();
    strm_.avail_in = in.size();
    for (;;) {
      strm_.next_out = buf_.data();
      strm_.avail_out = buf_.size();
      const lzma_ret ret = lzma_code(&strm_, action);
      const std::size_t produced = buf_.size() - strm_.avail_out;
      if (produced > 0) {
        if (auto st = out({buf_.data(), produced}); !st) return st;
      }
      if (ret == LZMA_STREAM_END) {
        ended_ = true;
        return {};
      }
      if (ret == LZMA_BUF_ERROR && action == LZMA_FINISH) {
        return makeError("truncated", "xz stream ends early");
      }
      if (ret == LZMA_MEMLIMIT_ERROR) {
        return makeError("decompress", "xz: the stream needs more than 256 MiB of decoder memory");
      }
      if (ret != LZMA_OK) {
        return makeError("decompress", "xz: lzma_code error " + std::to_string(ret));
      }
      if (strm_.avail_in == 0 && strm_.avail_out != 0) {
        if (action == LZMA_FINISH) continue;  // keep going until STREAM_END or an error
        return {};
      }
    }
  }

  lzma_stream strm_ = LZMA_STREAM_INIT;
  lzma_ret init_;
  OutBuffer buf_;
  bool ended_ = false;
};

class GzipDecompressor final : public Decompressor {
 public:
  GzipDecompressor() : buf_(kOutChunk) {
    std::memset(&strm_, 0, sizeof(strm_));
    init_ = inflateInit2(&strm_, 16 + MAX_WBITS);
  }
  ~GzipDecompressor() override { inflateEnd(&strm_); }

  Status feed(std::span<const std::uint8_t> in, const Output& out) override {
    if (init_ != Z_OK) return makeError("decompress", "gzip: inflateInit failed");
    std::size_t pos = 0;
    while (pos < in.size()) {
      if (!in_member_) {
        inflateReset(&strm_);  // next member of a multi-member gzip file
        in_member_ = true;
      }
      const std::size_t take = std::min<std::size_t>(in.size() - pos, 1u << 30);
      strm_.next_in = const_cast<Bytef*>(in.data() + pos);
      strm_.avail_in = static_cast<uInt>(take);
      int ret = Z_OK;
      do {
        strm_.next_out = buf_.data();
        strm_.avail_out = static_cast<uInt>(buf_.size());
        ret = inflate(&strm_, Z_NO_FLUSH);
        if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR) {
          return makeError("decompress",
                           std::string("gzip: ") + (strm_.msg ? strm_.msg : "inflate error"));
        }
        const std::size_t produced = buf_.size() - strm_.avail_out;
        if (produced > 0) {
          if (auto st = out({buf_.data(), produced}); !st) return st;
        }
      } while (ret != Z_STREAM_END && strm_.avail_out == 0);
      pos += take - strm_.avail_in;
      if (ret == Z_STREAM_END) in_member_ = false;
    }
    return {};
  }

  Status finish(const Output&) override {
    if (in_member_) return makeError("truncated", "gzip stream ends inside a member");
    return {};
  }

 private:
  z_stream strm_;
  int init_;
  OutBuffer buf_;
  bool in_member_ = false;
};

bool startsWith(std::span<const std::uint8_t> data, std::span<const std::uint8_t> magic,
                bool& need_more) {
  const std::size_t n = std::min(data.size(), magic.size());
  if (std::memcmp(data.data(), magic.data(), n) != 0) return false;
  if (n < magic.size()) {
    need_more = true;
    return false;
  }
  return true;
}

}  // namespace

std::string_view compressionName(Compression c) {
  switch (c) {
    case Compression::Raw:
      return "raw";
    case Compression::Zstd:
      return "zstd";
    case Compression::Xz:
      return "xz";
    case Compression::Gzip:
      return "gzip";
  }
  return "?";
}

Result<std::optional<Compression>> compressionFromFormat(std::string_view format) {
  if (format.empty()) return std::optional<Compression>{};
  if (format == "raw") return std::optional{Compression::Raw};
  if (format == "raw.zst" || format == "raw.zstd") return std::optional{Compression::Zstd};
  if (format == "raw.xz") return std::optional{Compression::Xz};
  if (format == "raw.gz") return std::optional{Compression::Gzip};
  return makeError("bad_format", "unknown image format '" + std::string(format) + "'");
}

std::optional<Compression> detectCompression(std::span<const std::uint8_t> head, bool final) {
  bool need_more = false;
  if (startsWith(head, kZstdMagic, need_more)) return Compression::Zstd;
  if (startsWith(head, kXzMagic, need_more)) return Compression::Xz;
  if (startsWith(head, kGzipMagic, need_more)) return Compression::Gzip;
  if (need_more && !final) return std::nullopt;
  return Compression::Raw;
}

std::unique_ptr<Decompressor> Decompressor::make(Compression c) {
  switch (c) {
    case Compression::Zstd:
      return std::make_unique<ZstdDecompressor>();
    case Compression::Xz:
      return std::make_unique<XzDecompressor>();
    case Compression::Gzip:
      return std::make_unique<GzipDecompressor>();
    case Compression::Raw:
      break;
  }
  return std::make_unique<RawDecompressor>();
}

Status AutoDecompressor::start(Compression c, const Output& out) {
  detected_ = c;
  if (expected_ && *expected_ != c) {
    return makeError("format_mismatch", "plan says " + std::string(compressionName(*expected_)) +
                                            " but the stream is " +
                                            std::string(compressionName(c)));
  }
  inner_ = Decompressor::make(c);
  const std::size_t n = head_len_;
  head_len_ = 0;
  return inner_->feed({head_, n}, out);
}

Status AutoDecompressor::feed(std::span<const std::uint8_t> in, const Output& out) {
  if (inner_) return inner_->feed(in, out);
  while (!in.empty() && head_len_ < sizeof(head_)) {
    head_[head_len_++] = in.front();
    in = in.subspan(1);
    if (auto c = detectCompression({head_, head_len_}, false)) {
      if (auto st = start(*c, out); !st) return st;
      return inner_->feed(in, out);
    }
  }
  return {};
}

Status AutoDecompressor::finish(const Output& out) {
  if (!inner_) {
    if (head_len_ == 0) return makeError("empty", "image stream is empty");
    if (auto st = start(*detectCompression({head_, head_len_}, true), out); !st) return st;
  }
  return inner_->finish(out);
}

}  // namespace drover::agent

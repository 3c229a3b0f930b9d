// Test helpers: compress a buffer as zstd / xz / gzip, and make pseudo-random disk images.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

namespace drover::agent::test {

using Bytes = std::vector<std::uint8_t>;

// Compressible but not trivial: runs of random bytes and zeros, like a sparse disk image.
inline Bytes makeImage(std::size_t size, unsigned seed = 1) {
  Bytes b(size);
  std::mt19937 rng(seed);
  for (std::size_t i = 0; i < size; ++i) {
    b[i] = ((i / 4096) % 3 == 0) ? 0 : static_cast<std::uint8_t>(rng() & 0x3f);
  }
  return b;
}

inline Bytes zstdCompress(const Bytes& in) {
  Bytes out(ZSTD_compressBound(in.size()));
  const std::size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  if (ZSTD_isError(n)) throw std::runtime_error("zstd");
  out.resize(n);
  return out;
}

inline Bytes xzCompress(const Bytes& in) {
  Bytes out(lzma_stream_buffer_bound(in.size()));
  std::size_t pos = 0;
  if (lzma_easy_buffer_encode(1, LZMA_CHECK_CRC64, nullptr, in.data(), in.size(), out.data(),
                              &pos, out.size()) != LZMA_OK) {
    throw std::runtime_error("xz");
  }
  out.resize(pos);
  return out;
}

inline Bytes gzipCompress(const Bytes& in) {
  z_stream s;
  std::memset(&s, 0, sizeof(s));
  deflateInit2(&s, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  Bytes out(deflateBound(&s, in.size()) + 64);
  s.next_in = const_cast<Bytef*>(in.data());
  s.avail_in = static_cast<uInt>(in.size());
  s.next_out = out.data();
  s.avail_out = static_cast<uInt>(out.size());
  if (deflate(&s, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("gzip");
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

}  // namespace drover::agent::test

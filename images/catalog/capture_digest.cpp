#include "images/catalog/capture_digest.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include <zstd.h>

#include "common/fd.hpp"
#include "images/verify/signature.hpp"

namespace drover::images::catalog {
namespace {

struct DctxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

}  // namespace

Result<CaptureDigests> digestZstdFile(const std::filesystem::path& file) {
  const UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return makeError("eio", file.string() + ": " + std::strerror(errno));
  std::unique_ptr<ZSTD_DCtx, DctxDeleter> dctx(ZSTD_createDCtx());
  if (!dctx) return makeError("decompress", "out of memory");

  verify::Sha256Hasher stream_hash, raw_hash;
  CaptureDigests d;
  std::vector<std::uint8_t> in(ZSTD_DStreamInSize()), out(ZSTD_DStreamOutSize());
  std::size_t last = 0;  // ZSTD_decompressStream's hint: 0 once a frame is complete
  for (;;) {
    const ssize_t n = ::read(fd.get(), in.data(), in.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return makeError("eio", file.string() + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    stream_hash.update({in.data(), static_cast<std::size_t>(n)});
    d.size += static_cast<std::uint64_t>(n);
    ZSTD_inBuffer ib{in.data(), static_cast<std::size_t>(n), 0};
    bool full = false;  // the output filled up: the decoder may hold more of it
    do {
      ZSTD_outBuffer ob{out.data(), out.size(), 0};
      last = ZSTD_decompressStream(dctx.get(), &ob, &ib);
      if (ZSTD_isError(last)) {
        return makeError("decompress", "not a valid zstd stream at byte " + std::to_string(d.size) +
                                           ": " + ZSTD_getErrorName(last));
      }
      raw_hash.update({out.data(), ob.pos});
      d.raw_size += ob.pos;
      full = ob.pos == ob.size && last != 0;  // 0: the frame is decoded and flushed
    } while (ib.pos < ib.size || full);
  }
  if (d.size == 0) return makeError("empty", file.string() + ": no bytes");
  if (last != 0) return makeError("truncated", "the zstd stream stops inside a frame");
  d.sha256 = stream_hash.finish();
  d.raw_sha256 = raw_hash.finish();
  return d;
}

}  // namespace drover::images::catalog

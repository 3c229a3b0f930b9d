// Image decompression (zstd, xz, gzip, raw by magic) on arbitrary bytes: never crashes,
// never loops, and never hands the target more than its size. The first byte picks the
// feed chunking (1 .. 256 bytes), so state carried between feed() calls is exercised.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "agent/decompress.hpp"
#include "agent/sink.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace drover::agent;
  if (size == 0) return 0;
  const std::size_t chunk = static_cast<std::size_t>(data[0]) + 1;
  std::span<const std::uint8_t> in(data + 1, size - 1);
  constexpr std::uint64_t kTarget = 1024 * 1024;  // a small disk: bombs stop here
  NullSink sink(kTarget);
  AutoDecompressor d;
  auto out = [&sink](std::span<const std::uint8_t> o) { return sink.write(o); };
  bool failed = false;
  for (std::size_t i = 0; i < in.size() && !failed; i += chunk) {
    failed = !d.feed(in.subspan(i, std::min(chunk, in.size() - i)), out).ok();
  }
  if (!failed) failed = !d.finish(out).ok();
  if (sink.written() > kTarget) std::abort();
  // Raw passes through unchanged.
  if (!failed && d.detected() == Compression::Raw && sink.written() != in.size()) std::abort();
  return 0;
}

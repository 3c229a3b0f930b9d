#include "tftp/wire/netascii.hpp"

namespace drover::tftp::wire {

NetasciiStep netasciiEncode(drover::wire::ByteView src, std::span<std::byte> dst,
                            NetasciiState& state) {
  NetasciiStep step;
  while (step.produced < dst.size()) {
    if (state.pending) {
      dst[step.produced++] = state.second;
      state.pending = false;
      continue;
    }
    if (step.consumed == src.size()) break;
    const std::byte c = src[step.consumed++];
    if (c == std::byte{'\n'}) {
      dst[step.produced++] = std::byte{'\r'};
      state = {true, std::byte{'\n'}};
    } else if (c == std::byte{'\r'}) {
      dst[step.produced++] = std::byte{'\r'};
      state = {true, std::byte{0}};
    } else {
      dst[step.produced++] = c;
    }
  }
  return step;
}

drover::wire::Bytes netasciiDecode(drover::wire::ByteView src) {
  drover::wire::Bytes out;
  out.reserve(src.size());
  for (std::size_t i = 0; i < src.size(); ++i) {
    if (src[i] == std::byte{'\r'} && i + 1 < src.size()) {
      if (src[i + 1] == std::byte{'\n'}) {
        out.push_back(std::byte{'\n'});
        ++i;
        continue;
      }
      if (src[i + 1] == std::byte{0}) {
        out.push_back(std::byte{'\r'});
        ++i;
        continue;
      }
    }
    out.push_back(src[i]);
  }
  return out;
}

}  // namespace drover::tftp::wire

#include "tftp/wire/options.hpp"

#include <algorithm>
#include <string>

namespace drover::tftp::wire {

std::size_t blksizeForMtu(std::size_t mtu) {
  if (mtu <= kIpUdpTftpOverhead + kMinBlksize) return kMinBlksize;
  return std::min(mtu - kIpUdpTftpOverhead, kMaxBlksize);
}

std::optional<std::uint64_t> parseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

Negotiated negotiate(const std::vector<Option>& requested, Mode mode,
                     std::optional<std::uint64_t> file_size, const OptionLimits& limits) {
  Negotiated n;
  const std::size_t max_blksize = std::clamp(limits.max_blksize, kMinBlksize, kMaxBlksize);
  const std::uint64_t max_window = std::max<std::uint16_t>(limits.max_windowsize, 1);
  for (const auto& opt : requested) {
    auto v = parseDecimal(opt.value);
    if (opt.name == "blksize") {
      if (!v || *v < kMinBlksize) continue;
      n.blksize = static_cast<std::size_t>(std::min<std::uint64_t>(*v, max_blksize));
      n.oack.push_back({opt.name, std::to_string(n.blksize)});
    } else if (opt.name == "timeout") {
      if (!v || *v < kMinTimeoutSeconds || *v > kMaxTimeoutSeconds) continue;
      n.timeout = std::chrono::seconds(*v);
      n.oack.push_back({opt.name, std::to_string(*v)});
    } else if (opt.name == "tsize") {
      if (!v || mode != Mode::Octet || !file_size) continue;
      n.oack.push_back({opt.name, std::to_string(*file_size)});
    } else if (opt.name == "windowsize") {
      if (!v || *v < 1 || *v > kMaxWindowsize) continue;
      n.windowsize = static_cast<std::uint16_t>(std::min(*v, max_window));
      n.oack.push_back({opt.name, std::to_string(n.windowsize)});
    }
  }
  return n;
}

}  // namespace drover::tftp::wire

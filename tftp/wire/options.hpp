// Option negotiation (RFC 2347): blksize (RFC 2348), timeout and tsize (RFC 2349),
// windowsize (RFC 7440). Pure: takes the options a client asked for and the server's
// limits, returns what the transfer uses and the OACK to send (empty: no OACK, plain
// RFC 1350 transfer). Unknown options, and known ones with values out of range, are ignored
// (left out of the OACK), which RFC 2347 allows.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "tftp/wire/packet.hpp"

namespace drover::tftp::wire {

// IPv4 header 20 + UDP header 8 + TFTP DATA header 4: the largest block that fits one
// unfragmented packet on a link of this MTU (1500 -> 1468).
inline constexpr std::size_t kIpUdpTftpOverhead = 32;
std::size_t blksizeForMtu(std::size_t mtu);

inline constexpr int kMinTimeoutSeconds = 1;    // RFC 2349
inline constexpr int kMaxTimeoutSeconds = 255;  // RFC 2349
inline constexpr std::uint32_t kMaxWindowsize = 65535;  // RFC 7440

struct OptionLimits {
  std::size_t max_blksize = 1468;   // blksizeForMtu(1500)
  std::uint16_t max_windowsize = 64;  // also bounds memory per transfer: window x blksize
};

struct Negotiated {
  std::size_t blksize = kDefaultBlksize;
  std::uint16_t windowsize = 1;
  std::optional<std::chrono::seconds> timeout;  // client-chosen retransmit timeout
  std::vector<Option> oack;                     // options accepted, in the client's order
};

// `file_size`: the size to report for tsize, if known (tsize is only answered in octet mode,
// where the size on the wire equals the file size).
Negotiated negotiate(const std::vector<Option>& requested, Mode mode,
                     std::optional<std::uint64_t> file_size, const OptionLimits& limits);

// Strict unsigned decimal: digits only, no sign or spaces, at most 19 digits.
std::optional<std::uint64_t> parseDecimal(std::string_view s);

}  // namespace drover::tftp::wire

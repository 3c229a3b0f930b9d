// BOOTP/DHCPv4 messages (RFC 951, 2131, 2132, 3396): decode bytes into a Message and
// encode it back. Pure: no I/O, no logging.
//
// decode() joins split options (RFC 3396) in the order options field, file, sname, follows
// option overload (52) into file/sname and removes 52 from the result: whether to overload
// is the encoder's choice. Every failure is an Error whose code is a stable drop reason
// (truncated, oversized, bad_cookie, bad_hlen, option_overrun, bad_option_length,
// bad_overload, overload_loop) used as a metrics label by the server.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dhcp/wire/options.hpp"

namespace drover::dhcp::wire {

// RFC 951 / 2131 sizes.
inline constexpr std::size_t kBootpHeaderSize = 236;  // fixed header, up to `file`
inline constexpr std::size_t kCookieSize = 4;
inline constexpr std::uint32_t kMagicCookie = 0x63825363;  // RFC 2131 3
inline constexpr std::size_t kSnameSize = 64;
inline constexpr std::size_t kFileSize = 128;
inline constexpr std::size_t kChaddrSize = 16;
inline constexpr std::size_t kMinBootpSize = 300;       // RFC 951: replies padded to this
inline constexpr std::size_t kIpUdpHeaders = 28;        // IPv4 20 + UDP 8
inline constexpr std::size_t kMinMaxMessageSize = 576;  // RFC 2132 9.10: smallest legal 57
// The largest reply a client must accept: 576-byte IP datagram (RFC 2131 2).
inline constexpr std::size_t kDefaultMaxReply = kMinMaxMessageSize - kIpUdpHeaders;
// The largest datagram decode() accepts; anything bigger is "oversized".
inline constexpr std::size_t kMaxMessageSize = 8192;
// The largest DHCP payload a UDP datagram can carry.
inline constexpr std::size_t kMaxUdpPayload = 65535 - kIpUdpHeaders;
inline constexpr std::uint16_t kBroadcastFlag = 0x8000;

enum class Op : std::uint8_t { BootRequest = 1, BootReply = 2 };

enum class MessageType : std::uint8_t {
  Discover = 1,
  Offer = 2,
  Request = 3,
  Decline = 4,
  Ack = 5,
  Nak = 6,
  Release = 7,
  Inform = 8,
};

// "discover", "offer", ...; "unknown" for other values.
std::string_view messageTypeName(std::uint8_t type);

struct Message {
  std::uint8_t op = 1;
  std::uint8_t htype = 1;  // Ethernet
  std::uint8_t hlen = 6;
  std::uint8_t hops = 0;
  std::uint32_t xid = 0;
  std::uint16_t secs = 0;
  std::uint16_t flags = 0;
  Ipv4Address ciaddr;
  Ipv4Address yiaddr;
  Ipv4Address siaddr;
  Ipv4Address giaddr;
  std::array<std::uint8_t, kChaddrSize> chaddr{};
  std::string sname;  // up to 64 bytes, cut at the first NUL
  std::string file;   // up to 128 bytes, cut at the first NUL
  Options options;

  bool broadcast() const { return (flags & kBroadcastFlag) != 0; }
  // Option 53, if present and one byte long.
  std::optional<std::uint8_t> messageType() const { return options.u8(opt::kMessageType); }
  // The first six bytes of chaddr as a MAC (meaningful for htype 1, hlen 6).
  MacAddress mac() const;
  void setMac(const MacAddress& mac);
  // chaddr[0..hlen) is all zero.
  bool zeroChaddr() const;
  void setType(MessageType t) { options.setU8(opt::kMessageType, static_cast<std::uint8_t>(t)); }

  friend bool operator==(const Message&, const Message&) = default;
};

Result<Message> decode(ByteView datagram);

struct EncodeReport {
  std::vector<std::uint8_t> skipped;  // options that did not fit within max_size
  bool overloaded = false;            // file and/or sname carry options
};

// Encodes into at most max_size bytes (clamped to [kDefaultMaxReply, kMaxUdpPayload]),
// padding to kMinBootpSize. Options longer than 255 bytes are split (RFC 3396). When the
// options field is full and file/sname are empty, they carry options (overload, 52).
// Option 53 is placed first and 82 last (RFC 3046 2.1); an option that fits nowhere is left
// out and listed in `report`. Fails only when sname/file are too long or 53 cannot fit.
Result<Bytes> encode(const Message& m, std::size_t max_size = kDefaultMaxReply,
                     EncodeReport* report = nullptr);

// The reply size limit a request allows: its option 57 less IP/UDP headers, never below
// kDefaultMaxReply.
std::size_t maxReplySize(const Message& request);

}  // namespace drover::dhcp::wire

// DHCPv4 options (RFC 2132 and friends) as a table plus an ordered code -> bytes list.
//
// Options are kept as raw bytes keyed by code: one entry per code, with the instances of a
// split option (RFC 3396) already joined. Typed accessors read and write the common shapes;
// everything else, known or not, stays raw so that it can be echoed or re-encoded as is.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"
#include "common/result.hpp"
#include "common/wire.hpp"

namespace drover::dhcp::wire {

using drover::wire::Bytes;
using drover::wire::ByteView;

// Option codes used by Drover (RFC 2132 unless noted).
namespace opt {
inline constexpr std::uint8_t kPad = 0;
inline constexpr std::uint8_t kSubnetMask = 1;
inline constexpr std::uint8_t kRouter = 3;
inline constexpr std::uint8_t kDomainServer = 6;
inline constexpr std::uint8_t kHostName = 12;
inline constexpr std::uint8_t kDomainName = 15;
inline constexpr std::uint8_t kBroadcastAddress = 28;
inline constexpr std::uint8_t kVendorSpecific = 43;
inline constexpr std::uint8_t kRequestedAddress = 50;
inline constexpr std::uint8_t kLeaseTime = 51;
inline constexpr std::uint8_t kOverload = 52;
inline constexpr std::uint8_t kMessageType = 53;
inline constexpr std::uint8_t kServerId = 54;
inline constexpr std::uint8_t kParameterList = 55;
inline constexpr std::uint8_t kMessage = 56;
inline constexpr std::uint8_t kMaxMessageSize = 57;
inline constexpr std::uint8_t kRenewalTime = 58;
inline constexpr std::uint8_t kRebindingTime = 59;
inline constexpr std::uint8_t kVendorClass = 60;
inline constexpr std::uint8_t kClientId = 61;
inline constexpr std::uint8_t kTftpServer = 66;
inline constexpr std::uint8_t kBootfile = 67;
inline constexpr std::uint8_t kUserClass = 77;
inline constexpr std::uint8_t kRelayAgentInfo = 82;  // RFC 3046
inline constexpr std::uint8_t kClientArch = 93;      // RFC 4578
inline constexpr std::uint8_t kClientNdi = 94;       // RFC 4578
inline constexpr std::uint8_t kClientUuid = 97;      // RFC 4578
inline constexpr std::uint8_t kIpxeEncap = 175;      // iPXE encapsulated options
inline constexpr std::uint8_t kEnd = 255;
}  // namespace opt

// iPXE's encapsulated options inside 175 (ipxe/include/ipxe/dhcp.h).
namespace ipxe {
inline constexpr std::uint8_t kPriority = 1;
inline constexpr std::uint8_t kKeepSan = 8;
inline constexpr std::uint8_t kSkipSanBoot = 9;
inline constexpr std::uint8_t kFeatureHttp = 19;
inline constexpr std::uint8_t kFeatureHttps = 20;
inline constexpr std::uint8_t kFeatureEfi = 37;
inline constexpr std::uint8_t kNoPxeDhcp = 176;
inline constexpr std::uint8_t kBusId = 177;
inline constexpr std::uint8_t kBiosDrive = 189;
inline constexpr std::uint8_t kUsername = 190;
inline constexpr std::uint8_t kPassword = 191;
inline constexpr std::uint8_t kVersion = 235;
}  // namespace ipxe

enum class OptionType : std::uint8_t {
  Empty,  // no value (length 0)
  U8,
  U16,
  U32,
  Ipv4,
  String,        // text, not NUL-terminated on the wire
  Binary,        // opaque bytes
  Encapsulated,  // code/length/value sub-options (43, 82, 175)
  Uuid,          // RFC 4578 97: type byte 0 + 16 bytes
};

struct OptionDef {
  std::uint8_t code;
  std::string_view name;
  OptionType type;
  bool is_array;  // value is one or more items of `type`
};

// The standard option table, and iPXE's table for the options inside 175.
std::span<const OptionDef> standardOptions();
std::span<const OptionDef> ipxeOptions();
const OptionDef* findOption(std::uint8_t code);
const OptionDef* findIpxeOption(std::uint8_t code);

// Checks a value's length against its definition: fixed sizes, array multiples.
bool lengthValid(const OptionDef& def, std::size_t length);

struct Option {
  std::uint8_t code = 0;
  Bytes data;
  friend bool operator==(const Option&, const Option&) = default;
};

class Options {
 public:
  const std::vector<Option>& items() const { return items_; }
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }

  bool has(std::uint8_t code) const { return find(code) != nullptr; }
  std::optional<ByteView> get(std::uint8_t code) const;

  // Replaces the value (keeping the option's position) or appends it.
  void set(std::uint8_t code, ByteView data);
  void set(std::uint8_t code, Bytes data);
  // Appends data to an existing value (RFC 3396 joining) or adds the option.
  void append(std::uint8_t code, ByteView data);
  void erase(std::uint8_t code);

  void setU8(std::uint8_t code, std::uint8_t v);
  void setU16(std::uint8_t code, std::uint16_t v);
  void setU32(std::uint8_t code, std::uint32_t v);
  void setIpv4(std::uint8_t code, Ipv4Address a);
  void setIpv4List(std::uint8_t code, std::span<const Ipv4Address> list);
  void setString(std::uint8_t code, std::string_view s);

  // Typed reads; nullopt if absent or of the wrong length.
  std::optional<std::uint8_t> u8(std::uint8_t code) const;
  std::optional<std::uint16_t> u16(std::uint8_t code) const;
  std::optional<std::uint32_t> u32(std::uint8_t code) const;
  std::optional<Ipv4Address> ipv4(std::uint8_t code) const;
  std::vector<Ipv4Address> ipv4List(std::uint8_t code) const;
  std::optional<std::string> string(std::uint8_t code) const;

  // Same codes with the same values, in any order.
  friend bool operator==(const Options& a, const Options& b);

 private:
  const Option* find(std::uint8_t code) const;
  Option* find(std::uint8_t code);

  std::vector<Option> items_;
};

// Sub-options inside an encapsulated option (43, 82, 175): code, length, value; pad and end
// are skipped; repeated codes are joined. A length past the end is an error.
Result<Options> decodeSubOptions(ByteView data);
Bytes encodeSubOptions(const Options& options);

}  // namespace drover::dhcp::wire

#include "dhcp/wire/options.hpp"

#include <algorithm>
#include <array>

namespace drover::dhcp::wire {
namespace {

using T = OptionType;

// Standard options Drover reads or writes (RFC 2132, 3004, 3046, 4578, 3396).
constexpr std::array kStandard{
    OptionDef{opt::kSubnetMask, "subnet-mask", T::Ipv4, false},
    OptionDef{2, "time-offset", T::U32, false},
    OptionDef{opt::kRouter, "routers", T::Ipv4, true},
    OptionDef{4, "time-servers", T::Ipv4, true},
    OptionDef{opt::kDomainServer, "domain-name-servers", T::Ipv4, true},
    OptionDef{7, "log-servers", T::Ipv4, true},
    OptionDef{opt::kHostName, "host-name", T::String, false},
    OptionDef{13, "boot-size", T::U16, false},
    OptionDef{opt::kDomainName, "domain-name", T::String, false},
    OptionDef{17, "root-path", T::String, false},
    OptionDef{26, "interface-mtu", T::U16, false},
    OptionDef{opt::kBroadcastAddress, "broadcast-address", T::Ipv4, false},
    OptionDef{42, "ntp-servers", T::Ipv4, true},
    OptionDef{opt::kVendorSpecific, "vendor-encapsulated-options", T::Encapsulated, false},
    OptionDef{opt::kRequestedAddress, "dhcp-requested-address", T::Ipv4, false},
    OptionDef{opt::kLeaseTime, "dhcp-lease-time", T::U32, false},
    OptionDef{opt::kOverload, "dhcp-option-overload", T::U8, false},
    OptionDef{opt::kMessageType, "dhcp-message-type", T::U8, false},
    OptionDef{opt::kServerId, "dhcp-server-identifier", T::Ipv4, false},
    OptionDef{opt::kParameterList, "dhcp-parameter-request-list", T::U8, true},
    OptionDef{opt::kMessage, "dhcp-message", T::String, false},
    OptionDef{opt::kMaxMessageSize, "dhcp-max-message-size", T::U16, false},
    OptionDef{opt::kRenewalTime, "dhcp-renewal-time", T::U32, false},
    OptionDef{opt::kRebindingTime, "dhcp-rebinding-time", T::U32, false},
    OptionDef{opt::kVendorClass, "vendor-class-identifier", T::String, false},
    OptionDef{opt::kClientId, "dhcp-client-identifier", T::Binary, false},
    OptionDef{opt::kTftpServer, "tftp-server-name", T::String, false},
    OptionDef{opt::kBootfile, "boot-file-name", T::String, false},
    OptionDef{opt::kUserClass, "user-class", T::Binary, false},
    OptionDef{80, "rapid-commit", T::Empty, false},
    OptionDef{opt::kRelayAgentInfo, "dhcp-agent-options", T::Encapsulated, false},
    OptionDef{opt::kClientArch, "client-system", T::U16, true},
    OptionDef{opt::kClientNdi, "client-ndi", T::Binary, false},
    OptionDef{opt::kClientUuid, "uuid-guid", T::Uuid, false},
    OptionDef{119, "domain-search", T::Binary, false},
    OptionDef{121, "classless-static-route", T::Binary, false},
    OptionDef{opt::kIpxeEncap, "ipxe-encap-opts", T::Encapsulated, false},
};

constexpr std::array kIpxe{
    OptionDef{ipxe::kPriority, "priority", T::U8, false},
    OptionDef{ipxe::kKeepSan, "keep-san", T::U8, false},
    OptionDef{ipxe::kSkipSanBoot, "skip-san-boot", T::U8, false},
    OptionDef{ipxe::kFeatureHttp, "http", T::U8, false},
    OptionDef{ipxe::kFeatureHttps, "https", T::U8, false},
    OptionDef{ipxe::kFeatureEfi, "efi", T::U8, false},
    OptionDef{ipxe::kNoPxeDhcp, "no-pxedhcp", T::U8, false},
    OptionDef{ipxe::kBusId, "bus-id", T::Binary, false},
    OptionDef{ipxe::kBiosDrive, "bios-drive", T::U8, false},
    OptionDef{ipxe::kUsername, "username", T::String, false},
    OptionDef{ipxe::kPassword, "password", T::String, false},
    OptionDef{ipxe::kVersion, "version", T::Binary, false},
};

const OptionDef* findIn(std::span<const OptionDef> table, std::uint8_t code) {
  auto it =
      std::find_if(table.begin(), table.end(), [&](const OptionDef& d) { return d.code == code; });
  return it == table.end() ? nullptr : &*it;
}

std::size_t itemSize(OptionType t) {
  switch (t) {
    case T::U8:
      return 1;
    case T::U16:
      return 2;
    case T::U32:
    case T::Ipv4:
      return 4;
    case T::Uuid:
      return 17;
    default:
      return 0;  // variable
  }
}

Bytes bigEndian(std::uint64_t v, int n) {
  Bytes b(static_cast<std::size_t>(n));
  for (int i = n - 1; i >= 0; --i, v >>= 8) b[static_cast<std::size_t>(i)] = std::byte(v & 0xff);
  return b;
}

std::uint32_t readBigEndian(ByteView b) {
  std::uint32_t v = 0;
  for (auto x : b) v = (v << 8) | std::to_integer<std::uint32_t>(x);
  return v;
}

}  // namespace

std::span<const OptionDef> standardOptions() {
  return kStandard;
}
std::span<const OptionDef> ipxeOptions() {
  return kIpxe;
}
const OptionDef* findOption(std::uint8_t code) {
  return findIn(kStandard, code);
}
const OptionDef* findIpxeOption(std::uint8_t code) {
  return findIn(kIpxe, code);
}

bool lengthValid(const OptionDef& def, std::size_t length) {
  if (def.type == T::Empty) return length == 0;
  const std::size_t item = itemSize(def.type);
  if (item == 0) return true;
  if (def.is_array) return length >= item && length % item == 0;
  return length == item;
}

const Option* Options::find(std::uint8_t code) const {
  for (const auto& o : items_)
    if (o.code == code) return &o;
  return nullptr;
}

Option* Options::find(std::uint8_t code) {
  for (auto& o : items_)
    if (o.code == code) return &o;
  return nullptr;
}

bool operator==(const Options& a, const Options& b) {
  if (a.items_.size() != b.items_.size()) return false;
  return std::all_of(a.items_.begin(), a.items_.end(), [&](const Option& o) {
    const Option* other = b.find(o.code);
    return other != nullptr && other->data == o.data;
  });
}

std::optional<ByteView> Options::get(std::uint8_t code) const {
  const Option* o = find(code);
  if (o == nullptr) return std::nullopt;
  return ByteView(o->data);
}

void Options::set(std::uint8_t code, ByteView data) {
  set(code, Bytes(data.begin(), data.end()));
}

void Options::set(std::uint8_t code, Bytes data) {
  if (Option* o = find(code)) {
    o->data = std::move(data);
  } else {
    items_.push_back(Option{code, std::move(data)});
  }
}

void Options::append(std::uint8_t code, ByteView data) {
  if (Option* o = find(code)) {
    o->data.insert(o->data.end(), data.begin(), data.end());
  } else {
    items_.push_back(Option{code, Bytes(data.begin(), data.end())});
  }
}

void Options::erase(std::uint8_t code) {
  std::erase_if(items_, [&](const Option& o) { return o.code == code; });
}

void Options::setU8(std::uint8_t code, std::uint8_t v) {
  set(code, bigEndian(v, 1));
}
void Options::setU16(std::uint8_t code, std::uint16_t v) {
  set(code, bigEndian(v, 2));
}
void Options::setU32(std::uint8_t code, std::uint32_t v) {
  set(code, bigEndian(v, 4));
}
void Options::setIpv4(std::uint8_t code, Ipv4Address a) {
  set(code, bigEndian(a.value(), 4));
}

void Options::setIpv4List(std::uint8_t code, std::span<const Ipv4Address> list) {
  Bytes b;
  for (auto a : list) {
    auto one = bigEndian(a.value(), 4);
    b.insert(b.end(), one.begin(), one.end());
  }
  set(code, std::move(b));
}

void Options::setString(std::uint8_t code, std::string_view s) {
  set(code, drover::wire::asBytes(s));
}

std::optional<std::uint8_t> Options::u8(std::uint8_t code) const {
  auto v = get(code);
  if (!v || v->size() != 1) return std::nullopt;
  return static_cast<std::uint8_t>(readBigEndian(*v));
}

std::optional<std::uint16_t> Options::u16(std::uint8_t code) const {
  auto v = get(code);
  if (!v || v->size() != 2) return std::nullopt;
  return static_cast<std::uint16_t>(readBigEndian(*v));
}

std::optional<std::uint32_t> Options::u32(std::uint8_t code) const {
  auto v = get(code);
  if (!v || v->size() != 4) return std::nullopt;
  return readBigEndian(*v);
}

std::optional<Ipv4Address> Options::ipv4(std::uint8_t code) const {
  auto v = u32(code);
  if (!v) return std::nullopt;
  return Ipv4Address(*v);
}

std::vector<Ipv4Address> Options::ipv4List(std::uint8_t code) const {
  std::vector<Ipv4Address> out;
  auto v = get(code);
  if (!v || v->size() % 4 != 0) return out;
  for (std::size_t i = 0; i < v->size(); i += 4) out.emplace_back(readBigEndian(v->subspan(i, 4)));
  return out;
}

std::optional<std::string> Options::string(std::uint8_t code) const {
  auto v = get(code);
  if (!v) return std::nullopt;
  return std::string(drover::wire::asChars(*v));
}

Result<Options> decodeSubOptions(ByteView data) {
  drover::wire::Reader r(data);
  Options out;
  while (!r.atEnd()) {
    const std::uint8_t code = *r.u8();
    if (code == opt::kPad) continue;
    if (code == opt::kEnd) break;
    auto len = r.u8();
    if (!len) return makeError("option_overrun", "sub-option without a length");
    auto value = r.bytes(*len);
    if (!value) return makeError("option_overrun", "sub-option runs past its option");
    out.append(code, *value);
  }
  return out;
}

Bytes encodeSubOptions(const Options& options) {
  Bytes out;
  for (const auto& o : options.items()) {
    std::size_t pos = 0;
    do {
      const std::size_t n = std::min<std::size_t>(255, o.data.size() - pos);
      out.push_back(std::byte{o.code});
      out.push_back(std::byte(n));
      out.insert(out.end(), o.data.begin() + static_cast<std::ptrdiff_t>(pos),
                 o.data.begin() + static_cast<std::ptrdiff_t>(pos + n));
      pos += n;
    } while (pos < o.data.size());
  }
  return out;
}

}  // namespace drover::dhcp::wire

// EFI_LOAD_OPTION bytes built by hand from the UEFI specification's layouts (2.10: 3.1.3
// load options, 10.3 device path nodes), as OVMF lays them out for a QEMU machine.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/efi_boot.hpp"

namespace drover::agent::efi::testing {

using Bytes = std::vector<std::uint8_t>;

inline Bytes node(std::uint8_t type, std::uint8_t subtype, const Bytes& data) {
  const auto len = static_cast<std::uint16_t>(4 + data.size());
  Bytes out{type, subtype, static_cast<std::uint8_t>(len & 0xff),
            static_cast<std::uint8_t>(len >> 8)};
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// PciRoot(0x0): ACPI (2/1), _HID PNP0A03, _UID 0.
inline Bytes pciRoot() {
  return node(2, 1, {0xd0, 0x41, 0x03, 0x0a, 0, 0, 0, 0});
}
// Pci(device, function): hardware (1/1).
inline Bytes pci(std::uint8_t device, std::uint8_t function) {
  return node(1, 1, {function, device});
}
// MAC(...,0x1): messaging (3/11), 32 bytes of address, interface type 1 (Ethernet).
inline Bytes macNode(const std::array<std::uint8_t, 6>& mac) {
  Bytes data(33, 0);
  std::copy(mac.begin(), mac.end(), data.begin());
  data[32] = 1;
  return node(3, 11, data);
}
// IPv4(0.0.0.0): messaging (3/12), 23 bytes of addresses, ports, protocol, flags, gateway, mask.
inline Bytes ipv4() {
  return node(3, 12, Bytes(23, 0));
}
// IPv6(::): messaging (3/13), 56 bytes.
inline Bytes ipv6() {
  return node(3, 13, Bytes(56, 0));
}
// Uri(): messaging (3/24), empty: HTTP boot that takes its URL from DHCP.
inline Bytes uri() {
  return node(3, 24, {});
}
// Sata(0x0,0xFFFF,0x0): messaging (3/18).
inline Bytes sata() {
  return node(3, 18, {0, 0, 0xff, 0xff, 0, 0});
}
inline Bytes end() {
  return {0x7f, 0xff, 0x04, 0x00};
}

inline Bytes path(std::initializer_list<Bytes> nodes) {
  Bytes out;
  for (const auto& n : nodes) out.insert(out.end(), n.begin(), n.end());
  auto e = end();
  out.insert(out.end(), e.begin(), e.end());
  return out;
}

inline Bytes loadOption(std::uint32_t attributes, const std::string& description,
                        const Bytes& device_path, const Bytes& optional = {}) {
  LoadOption o;
  o.attributes = attributes;
  o.description = description;
  o.device_path = device_path;
  o.optional_data = optional;
  return encodeLoadOption(o);
}

inline constexpr std::array<std::uint8_t, 6> kMac{0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
inline constexpr std::array<std::uint8_t, 6> kOtherMac{0x52, 0x54, 0x00, 0x12, 0x34, 0x57};

// What OVMF lists for a QEMU machine with one disk and one NIC (kMac).
inline Bytes disk() {
  return loadOption(1, "UEFI QEMU HARDDISK QM00001", path({pciRoot(), pci(0x1f, 2), sata()}));
}
inline Bytes pxe4(const std::array<std::uint8_t, 6>& mac = kMac) {
  return loadOption(1, "UEFI PXEv4 (MAC:525400123456)",
                    path({pciRoot(), pci(3, 0), macNode(mac), ipv4()}));
}
inline Bytes pxe6() {
  return loadOption(1, "UEFI PXEv6 (MAC:525400123456)",
                    path({pciRoot(), pci(3, 0), macNode(kMac), ipv6()}));
}
inline Bytes http4() {
  return loadOption(1, "UEFI HTTPv4 (MAC:525400123456)",
                    path({pciRoot(), pci(3, 0), macNode(kMac), ipv4(), uri()}));
}
// A firmware whose network entries are described but whose path has no MAC node.
inline Bytes vendorPxe() {
  return loadOption(1, "Network Boot: PXE IPv4 52:54:00:12:34:56", path({pciRoot(), pci(3, 0)}));
}

// The efivarfs form: attributes NV|BS|RT, then the data.
inline std::string efivarfsFile(const Bytes& data) {
  std::string out{0x07, 0, 0, 0};
  out.append(data.begin(), data.end());
  return out;
}

}  // namespace drover::agent::efi::testing

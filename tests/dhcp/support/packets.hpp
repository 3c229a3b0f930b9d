// Builders for DHCP test packets and access to the seed corpus.
#pragma once

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>

#include "dhcp/wire/message.hpp"

namespace drover::dhcp::test {

inline MacAddress macFor(std::uint64_t n) {
  std::array<std::uint8_t, 6> o{0x52, 0x54, 0, 0, 0, 0};
  for (int i = 5; i >= 2; --i, n >>= 8)
    o[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n & 0xff);
  return MacAddress(o);
}

// A DISCOVER as a PXE-less Linux client sends it.
inline wire::Message discoverFor(std::uint64_t mac_number) {
  wire::Message m;
  m.xid = static_cast<std::uint32_t>(mac_number * 2654435761u);
  m.setMac(macFor(mac_number));
  m.setType(wire::MessageType::Discover);
  const std::uint8_t prl[] = {1, 3, 6, 12, 15, 28, 51, 54};
  m.options.set(wire::opt::kParameterList,
                wire::ByteView(reinterpret_cast<const std::byte*>(prl), sizeof prl));
  return m;
}

inline std::string corpusFile(const std::string& name) {
  const char* src = std::getenv("DROVER_SOURCE_DIR");
  return std::string(src ? src : ".") + "/tests/dhcp/fuzz/corpus/" + name;
}

inline wire::Bytes bytesOf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto v = drover::wire::asBytes(s);
  return wire::Bytes(v.begin(), v.end());
}

}  // namespace drover::dhcp::test

// Fuzz target: decode arbitrary bytes; must never crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>

#include "dhcp/wire/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace drover::dhcp::wire;
  auto m = decode(ByteView(reinterpret_cast<const std::byte*>(data), size));
  if (m.ok()) {
    (void)m->mac();
    (void)m->options.string(opt::kVendorClass);
    if (auto v = m->options.get(opt::kIpxeEncap)) (void)decodeSubOptions(*v);
  }
  return 0;
}

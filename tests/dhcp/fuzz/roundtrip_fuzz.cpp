// Fuzz target: whatever decodes must re-encode, decode again to the same message, and
// encode to the same bytes (PowerDNS fuzz_dnspacketroundtrip style).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "dhcp/wire/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace drover::dhcp::wire;
  auto m1 = decode(ByteView(reinterpret_cast<const std::byte*>(data), size));
  if (!m1.ok()) return 0;
  auto b1 = encode(*m1, kMaxUdpPayload);
  if (!b1.ok()) std::abort();
  auto m2 = decode(*b1);
  if (!m2.ok() || !(*m2 == *m1)) std::abort();
  auto b2 = encode(*m2, kMaxUdpPayload);
  if (!b2.ok() || *b2 != *b1) std::abort();
  // The default (576-byte) limit must also hold, overloading or skipping as needed.
  EncodeReport report;
  auto small = encode(*m1, kDefaultMaxReply, &report);
  if (small.ok()) {
    if (small->size() > kDefaultMaxReply) std::abort();
    auto m3 = decode(*small);
    if (!m3.ok()) std::abort();
  }
  return 0;
}

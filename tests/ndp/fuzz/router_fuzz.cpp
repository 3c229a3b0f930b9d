// Router solicitation / advertisement decoding: never reads past the input, never loops on
// a zero-length option, and what decodes re-encodes to something that decodes the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "ndp/wire/router.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace drover::ndp::wire;
  ByteView in(reinterpret_cast<const std::byte*>(data), size);
  if (auto rs = parseRouterSolicitation(in); rs) {
    auto again = parseRouterSolicitation(encodeRouterSolicitation(*rs));
    if (!again || again->source_mac != rs->source_mac) std::abort();
  }
  if (auto ra = parseRouterAdvertisement(in); ra) {
    auto again = parseRouterAdvertisement(encodeRouterAdvertisement(*ra));
    if (!again || again->router_lifetime_s != ra->router_lifetime_s ||
        again->managed != ra->managed || again->source_mac != ra->source_mac)
      std::abort();
  }
  return 0;
}

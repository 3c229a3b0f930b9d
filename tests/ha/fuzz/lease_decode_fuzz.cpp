// Fuzz target: a lease or replica value read from etcd is whatever is stored there; decoding
// must never crash or hang, and what decodes must encode back to something that decodes
// the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ha/lease_codec.hpp"
#include "ha/membership.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto l = drover::ha::decodeLease(in)) {
    auto again = drover::ha::decodeLease(drover::ha::encodeLease(l->lease, l->by));
    if (!again || !(again->lease == l->lease) || again->by != l->by) std::abort();
  }
  if (auto r = drover::ha::decodeReplica(in)) {
    auto again = drover::ha::decodeReplica(drover::ha::encodeReplica(*r));
    if (!again || !(*again == *r)) std::abort();
  }
  return 0;
}

// Small text helpers shared by components that have nothing else in common.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace drover {

// The non-empty items of a list written with `sep` between them: "a,,b," -> {"a", "b"}.
std::vector<std::string> splitList(std::string_view text, char sep = ',');

// FNV-1a over 64 bits: a stable, non-cryptographic hash for names Drover derives from other
// names (an etcd cluster token, a VXLAN device's MAC).
std::uint64_t fnv1a64(std::string_view text);

}  // namespace drover

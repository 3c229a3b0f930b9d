// Any bytes as a cluster declaration: loading must end in a Config or Diagnostics, never an
// exception or a crash; a Config that loads must index and answer lookups.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "boot/decision.hpp"
#include "cluster/inventory.hpp"
#include "cluster/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace drover;
  using namespace drover::cluster;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto result = loadConfigText(text, "fuzz.yaml", "/nonexistent");
  for (const auto& e : result.errors) (void)e.str();
  if (!result.ok()) return 0;
  auto inv = Inventory::build(result.config);
  for (const auto& node : result.config->nodes) {
    for (const auto& mac : node.macs) {
      auto m = inv.match(mac.value, std::nullopt);
      for (const auto& arch : boot::architectures())
        (void)boot::decide(*result.config, m, boot::ClientIdentity{arch.code, "PXEClient", false},
                           std::nullopt);
    }
    if (node.uuid) (void)inv.match(MacAddress(), node.uuid->value);
    if (node.ip) (void)inv.networkFor(node.ip->value);
  }
  (void)boot::decide(*result.config, inv.match(MacAddress(), std::nullopt), boot::ClientIdentity{},
                     std::nullopt);
  return 0;
}

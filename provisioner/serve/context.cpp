#include "provisioner/serve/context.hpp"

#include <fmt/format.h>

#include "provisioner/inventory/boot.hpp"

namespace drover::serve {

std::string apiUrl(const inventory::Config& config) {
  return fmt::format("https://{}:{}", config.server.advertise.str(), config.server.api.listen.port);
}

std::string httpBase(const inventory::Config& config) { return inventory::httpUrl(config, ""); }

std::string provisionalName(const MacAddress& mac) {
  std::string hex;
  for (auto o : mac.octets()) hex += fmt::format("{:02x}", o);
  return "unknown-" + hex;
}

void recordEvent(const Context& ctx, const std::string& node, std::string phase, std::string message) {
  state::TimelineEntry entry{state::nowMs(), std::move(phase), std::move(message)};
  if (auto st = ctx.store.appendTimeline(node, {entry}); !st) {
    ctx.log->warn("TIMELINE_WRITE_FAILED node={} phase={} error={}", node, entry.phase, st.error().message);
  }
}

}  // namespace drover::serve

#include "server/context.hpp"

#include <fmt/format.h>

#include "boot/decision.hpp"
#include "common/hex.hpp"

namespace drover::server {

std::string apiUrl(const Context& ctx, const cluster::Config& config) {
  const auto port =
      config.server.api.listen.port != 0 ? config.server.api.listen.port : ctx.api_port;
  return "https://" + config.server.advertise.str() + ":" + std::to_string(port);
}

std::string httpBase(const Context& ctx, const cluster::Config& config) {
  if (config.server.http.listen.port != 0 || ctx.http_port == 0) return boot::httpUrl(config, "");
  return "http://" + config.server.advertise.str() + ":" + std::to_string(ctx.http_port);
}

std::vector<std::string> apiAlternates(const Context& ctx) {
  if (!ctx.api_alternates) return {};
  auto urls = ctx.api_alternates();
  if (urls.size() > kMaxApiAlternates) urls.resize(kMaxApiAlternates);
  return urls;
}

bool Presence::touch(const std::string& node, std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto [it, fresh] = last_.try_emplace(node, now_ms);
  const bool after_gap = fresh || now_ms - it->second > kGapMs;
  it->second = now_ms;
  return after_gap;
}

std::int64_t Presence::lastSeen(const std::string& node) const {
  std::lock_guard lock(mu_);
  auto it = last_.find(node);
  return it == last_.end() ? 0 : it->second;
}

std::chrono::milliseconds handoffDeadline(const Context& ctx) {
  auto snapshot = ctx.source.current();
  if (!snapshot) return std::chrono::minutes(5);
  return snapshot->inventory.config().server.boot.handoff_deadline;
}

bool agentReachable(const Context& ctx, const std::string& node) {
  const auto seen = ctx.presence->lastSeen(node);
  return seen > 0 && state::nowMs() - seen <= Presence::kGapMs;
}

std::string provisionalName(const MacAddress& mac) {
  return "unknown-" + toHex(mac.octets());
}

void recordEvent(const Context& ctx, const std::string& node, std::string phase,
                 std::string message) {
  state::TimelineEntry entry{state::nowMs(), std::move(phase), std::move(message)};
  if (auto st = ctx.store.appendTimeline(node, {entry}); !st) {
    ctx.log->warn("TIMELINE_WRITE_FAILED node={} phase={} error={}", node, entry.phase,
                  st.error().message);
  }
}

}  // namespace drover::server

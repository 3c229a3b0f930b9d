#include "server/boot_guard.hpp"

#include <fmt/format.h>

#include "common/log.hpp"

namespace drover::server {
namespace {

bool inAny(const std::vector<Cidr>& subnets, Ipv4Address ip) {
  for (const auto& c : subnets)
    if (c.contains(ip)) return true;
  return false;
}

// A network whose addresses Drover leases itself, while its DHCP server runs.
bool leasedHere(const Context& ctx, const cluster::Config& config, Ipv4Address ip) {
  if (!ctx.leases) return false;
  for (const auto& n : config.networks)
    if (n.mode == cluster::NetworkMode::Dhcp && n.subnet.value.contains(ip)) return true;
  return false;
}

bool allowed(const cluster::Config& config, const std::optional<Ipv4Address>& ip) {
  const auto& subnets = config.server.boot.allowed_subnets;
  return subnets.empty() || (ip && inAny(subnets, *ip));
}

std::int64_t nowS() {
  return state::nowMs() / 1000;
}

}  // namespace

std::optional<Ipv4Address> sourceV4(const boost::asio::ip::address& a) {
  if (a.is_v4()) return Ipv4Address(a.to_v4().to_uint());
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return Ipv4Address(
        boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()).to_uint());
  return std::nullopt;
}

std::variant<std::optional<Ipv4Address>, std::string_view> BootGuard::bindScript(
    const Context& ctx, const cluster::Config& config, const MacAddress& mac,
    const boost::asio::ip::address& source) const {
  const auto ip = sourceV4(source);
  if (!allowed(config, ip)) return boot_refusal::kSubnetNotAllowed;
  if (!ip || !leasedHere(ctx, config, *ip)) return std::optional<Ipv4Address>();
  if (!ctx.leases->holds(mac, *ip, nowS())) return boot_refusal::kNotLeaseHolder;
  return ip;
}

std::optional<std::string_view> BootGuard::checkExchange(
    const Context& ctx, const cluster::Config& config, const state::BootClaims& claims,
    const boost::asio::ip::address& source) const {
  const auto ip = sourceV4(source);
  if (!allowed(config, ip)) return boot_refusal::kSubnetNotAllowed;
  if (!claims.holder) return std::nullopt;
  if (!ip) return boot_refusal::kWrongSource;
  // The lease may have moved since the script (the boot environment's own DHCP client):
  // whoever holds the MAC's lease now. Without a lease view, the address the token names.
  const bool ok = ctx.leases ? ctx.leases->holds(claims.mac, *ip, nowS()) : *ip == *claims.holder;
  if (!ok) return boot_refusal::kWrongSource;
  return std::nullopt;
}

bool BootGuard::noteDue(const std::string& node, std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (noted_.size() > 10000) noted_.clear();  // bounded memory
  auto [it, fresh] = noted_.try_emplace(node, now_ms);
  if (!fresh && now_ms - it->second < kNoteEveryMs) return false;
  it->second = now_ms;
  return true;
}

void BootGuard::refused(const Context& ctx, const std::string& node, std::string_view reason,
                        const boost::asio::ip::address& source) {
  ctx.registry.counter("boot_token_refusals_total",
                       "Boot scripts and token exchanges refused for who asked or what they sent",
                       fmt::format("reason=\"{}\"", reason))++;
  static log::RateLimit limit;
  std::uint64_t suppressed = 0;
  if (limit.allow(suppressed))
    ctx.log->warn("BOOT_TOKEN_REFUSED node={} reason={} client={} suppressed={}",
                  node.empty() ? "-" : node, reason, source.to_string(), suppressed);
  if (node.empty() || !noteDue(node, state::nowMs())) return;
  auto snapshot = ctx.source.current();
  if (!snapshot || !timelineWorthy(ctx, snapshot->inventory, node)) return;
  const std::string prefix = std::string(reason) + ":";
  if (repeatsLast(ctx, node, "boot_refused", prefix, "script_served")) return;
  recordEvent(ctx, node, "boot_refused", fmt::format("{} from {}", prefix, source.to_string()));
}

void BootGuard::purgeSpent(const Context& ctx) {
  const auto now = state::nowMs();
  {
    std::lock_guard lock(mu_);
    if (now - last_purge_ms_ < 10 * 60 * 1000) return;
    last_purge_ms_ = now;
  }
  // Ten minutes past expiry: replicas whose clocks differ a little still refuse a replay.
  auto n = ctx.store.purgeExpiredTokens(now - 10 * 60 * 1000);
  if (!n) ctx.log->warn("TOKEN_PURGE_FAILED error={}", n.error().message);
}

bool timelineWorthy(const Context& ctx, const cluster::Inventory& inventory,
                    const std::string& node) {
  if (inventory.findNode(node) != nullptr) return true;
  auto rec = ctx.store.getNode(node);
  return rec && rec->has_value();
}

bool repeatsLast(const Context& ctx, const std::string& node, std::string_view phase,
                 std::string_view prefix, std::string_view skip) {
  auto tl = ctx.store.timeline(node, 8);
  if (!tl) return false;
  for (auto it = tl->rbegin(); it != tl->rend(); ++it) {
    if (it->phase == skip) continue;
    return it->phase == phase && it->message.starts_with(prefix);
  }
  return false;
}

}  // namespace drover::server

#include "dhcp/server/discover_limiter.hpp"

#include <algorithm>

namespace drover::dhcp {

namespace {

std::uint64_t refilled(std::uint64_t used, std::uint32_t rate, std::int64_t elapsed) {
  if (elapsed <= 0) return used;
  const auto back = static_cast<std::uint64_t>(rate) * static_cast<std::uint64_t>(elapsed);
  return back >= used ? 0 : used - back;
}

}  // namespace

bool TokenBucket::take(std::uint32_t rate, std::uint32_t burst, std::int64_t now) {
  used_ = refilled(used_, rate, now - last_);
  last_ = std::max(last_, now);
  if (used_ >= burst) return false;
  ++used_;
  return true;
}

bool TokenBucket::full(std::uint32_t rate, std::int64_t now) const {
  return refilled(used_, rate, now - last_) == 0;
}

bool DiscoverLimiter::allowClient(const DiscoverLimits& limits, const std::string& client_key,
                                  std::int64_t now) {
  if (limits.client_rate == 0) return true;
  auto it = clients_.find(client_key);
  if (it == clients_.end()) {
    if (clients_.size() >= kMaxClients) sweep(limits, now);
    if (clients_.size() >= kMaxClients) return true;  // untracked: left to the interface limit
    it = clients_.emplace(client_key, TokenBucket{}).first;
  }
  return it->second.take(limits.client_rate, limits.client_burst, now);
}

bool DiscoverLimiter::allowNewClient(const DiscoverLimits& limits, const std::string& interface,
                                     std::int64_t now) {
  if (limits.interface_rate == 0) return true;
  return interfaces_[interface].take(limits.interface_rate, limits.interface_burst, now);
}

void DiscoverLimiter::sweep(const DiscoverLimits& limits, std::int64_t now) {
  if (now == last_sweep_) return;
  last_sweep_ = now;
  std::erase_if(clients_,
                [&](const auto& entry) { return entry.second.full(limits.client_rate, now); });
}

}  // namespace drover::dhcp

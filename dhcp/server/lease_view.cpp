#include "dhcp/server/lease_view.hpp"

#include <mutex>

namespace drover::dhcp {

void LeaseView::put(const Lease& lease) {
  std::unique_lock lock(mu_);
  if (lease.state == LeaseState::Bound)
    by_ip_[lease.ip.value()] = Held{lease.mac, lease.expires};
  else
    by_ip_.erase(lease.ip.value());
}

void LeaseView::remove(Ipv4Address ip) {
  std::unique_lock lock(mu_);
  by_ip_.erase(ip.value());
}

bool LeaseView::holds(const MacAddress& mac, Ipv4Address ip, std::int64_t now) const {
  std::shared_lock lock(mu_);
  auto it = by_ip_.find(ip.value());
  return it != by_ip_.end() && it->second.mac == mac && it->second.expires > now;
}

std::size_t LeaseView::size() const {
  std::shared_lock lock(mu_);
  return by_ip_.size();
}

}  // namespace drover::dhcp

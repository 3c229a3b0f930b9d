#include "dhcp/server/lease_store.hpp"

#include <algorithm>

namespace drover::dhcp {

std::string_view leaseStateName(LeaseState s) {
  switch (s) {
    case LeaseState::Offered:
      return "offered";
    case LeaseState::Bound:
      return "bound";
    case LeaseState::Released:
      return "released";
    case LeaseState::Declined:
      return "declined";
  }
  return "unknown";
}

bool leaseFreeFor(const Lease& lease, const std::string& client_key, std::int64_t now) {
  if (lease.state == LeaseState::Declined) return lease.expires <= now;
  if (lease.client_key == client_key) return true;
  return lease.state == LeaseState::Released || lease.expires <= now;
}

std::vector<Status> LeaseStore::applyGroups(std::span<const std::vector<LeaseWrite>> groups) {
  std::vector<LeaseWrite> flat;
  for (const auto& g : groups) flat.insert(flat.end(), g.begin(), g.end());
  return std::vector<Status>(groups.size(), apply(flat));
}

Result<std::vector<Lease>> MemoryLeaseStore::loadAll() {
  std::lock_guard lock(mu_);
  std::vector<Lease> out;
  out.reserve(leases_.size());
  for (const auto& [ip, lease] : leases_) out.push_back(lease);
  std::sort(out.begin(), out.end(), [](const Lease& a, const Lease& b) { return a.ip < b.ip; });
  return out;
}

Status MemoryLeaseStore::apply(std::span<const LeaseWrite> writes) {
  std::lock_guard lock(mu_);
  for (const auto& w : writes) {
    if (w.op == LeaseWrite::Op::Put) {
      leases_[w.lease.ip.value()] = w.lease;
    } else {
      leases_.erase(w.lease.ip.value());
    }
  }
  return {};
}

}  // namespace drover::dhcp

#include "dhcp/server/lease_table.hpp"

namespace drover::dhcp {

const Lease* LeaseTable::byIp(Ipv4Address ip) const {
  auto it = by_ip_.find(ip.value());
  return it == by_ip_.end() ? nullptr : &it->second;
}

const Lease* LeaseTable::byClient(const std::string& client_key) const {
  auto it = by_client_.find(client_key);
  return it == by_client_.end() ? nullptr : byIp(Ipv4Address(it->second));
}

void LeaseTable::setView(LeaseView* view) {
  view_ = view;
  if (view_ != nullptr)
    for (const auto& [ip, lease] : by_ip_) view_->put(lease);
}

void LeaseTable::index(const Lease& l) {
  if (l.state == LeaseState::Offered) offers_.emplace(l.expires, l.ip.value());
}

void LeaseTable::unindex(const Lease& l) {
  if (l.state == LeaseState::Offered) offers_.erase({l.expires, l.ip.value()});
}

void LeaseTable::put(const Lease& lease) {
  if (view_ != nullptr) view_->put(lease);
  auto [where, added] = by_ip_.try_emplace(lease.ip.value());
  auto& slot = where->second;
  if (!added) unindex(slot);
  if (!slot.client_key.empty() && slot.client_key != lease.client_key) {
    auto it = by_client_.find(slot.client_key);
    if (it != by_client_.end() && it->second == lease.ip.value()) by_client_.erase(it);
  }
  slot = lease;
  index(slot);
  if (!lease.client_key.empty()) {
    // A client holds one address: forget any other one it had.
    auto [it, inserted] = by_client_.try_emplace(lease.client_key, lease.ip.value());
    if (!inserted && it->second != lease.ip.value()) {
      auto old = by_ip_.find(it->second);
      if (old != by_ip_.end() && old->second.client_key == lease.client_key) {
        if (view_ != nullptr) view_->remove(old->second.ip);
        unindex(old->second);
        by_ip_.erase(old);
      }
      it->second = lease.ip.value();
    }
  }
}

void LeaseTable::remove(Ipv4Address ip) {
  auto it = by_ip_.find(ip.value());
  if (it == by_ip_.end()) return;
  if (view_ != nullptr) view_->remove(ip);
  auto c = by_client_.find(it->second.client_key);
  if (c != by_client_.end() && c->second == ip.value()) by_client_.erase(c);
  unindex(it->second);
  by_ip_.erase(it);
}

bool LeaseTable::isFreeFor(Ipv4Address ip, const std::string& client_key, std::int64_t now) const {
  const Lease* l = byIp(ip);
  return l == nullptr || leaseFreeFor(*l, client_key, now);
}

std::optional<Ipv4Address> LeaseTable::allocate(const std::string& pool_name,
                                                const std::vector<Ipv4Range>& ranges,
                                                const std::string& client_key, std::int64_t now,
                                                const std::function<bool(Ipv4Address)>& excluded) {
  // The ranges as one sequence of `total` addresses: index -> address and back.
  std::uint64_t total = 0;
  for (const auto& r : ranges) total += r.size();
  if (total == 0) return std::nullopt;
  auto at = [&](std::uint64_t i) {
    for (const auto& r : ranges) {
      if (i < r.size()) return Ipv4Address(static_cast<std::uint32_t>(r.first.value() + i));
      i -= r.size();
    }
    return ranges.back().last;
  };
  auto indexOf = [&](Ipv4Address a) -> std::optional<std::uint64_t> {
    std::uint64_t base = 0;
    for (const auto& r : ranges) {
      if (r.contains(a)) return base + (a.value() - r.first.value());
      base += r.size();
    }
    return std::nullopt;
  };
  auto& cursor = cursors_.try_emplace(pool_name, ranges.back().last.value()).first->second;
  const std::uint64_t offset = indexOf(Ipv4Address(cursor)).value_or(total - 1);
  // Two passes: first addresses nobody ever had, then expired/released ones.
  for (int pass = 0; pass < 2; ++pass) {
    for (std::uint64_t i = 1; i <= total; ++i) {
      const auto candidate = at((offset + i) % total);
      const Lease* l = byIp(candidate);
      const bool usable = pass == 0 ? l == nullptr : isFreeFor(candidate, client_key, now);
      if (usable && !excluded(candidate)) {
        cursor = candidate.value();
        return candidate;
      }
    }
  }
  return std::nullopt;
}

std::optional<Ipv4Address> LeaseTable::oldestOffer(
    const std::vector<Ipv4Range>& ranges, const std::function<bool(Ipv4Address)>& excluded) const {
  for (const auto& [expires, value] : offers_) {
    const Ipv4Address a(value);
    for (const auto& r : ranges)
      if (r.contains(a) && !excluded(a)) return a;
  }
  return std::nullopt;
}

std::vector<Lease> LeaseTable::reclaimable(std::int64_t now, std::int64_t grace) const {
  std::vector<Lease> out;
  for (const auto& [ip, l] : by_ip_) {
    if (l.state == LeaseState::Offered) continue;  // memory only; replaced or expired in place
    const std::int64_t limit = l.state == LeaseState::Declined ? l.expires : l.expires + grace;
    if (limit <= now) out.push_back(l);
  }
  return out;
}

}  // namespace drover::dhcp

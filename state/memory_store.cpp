#include "state/memory_store.hpp"

namespace drover::state {

Result<std::optional<NodeRecord>> MemoryStore::getNode(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(name);
  if (it == nodes_.end()) return std::optional<NodeRecord>();
  return std::optional<NodeRecord>(it->second);
}

std::optional<NodeRecord> MemoryStore::findIf(const std::function<bool(const NodeRecord&)>& pred) {
  std::lock_guard lock(mu_);
  for (const auto& [name, rec] : nodes_)
    if (pred(rec)) return rec;
  return std::nullopt;
}

Result<std::optional<NodeRecord>> MemoryStore::findByMac(const std::string& mac) {
  if (mac.empty()) return std::optional<NodeRecord>();
  return findIf([&](const NodeRecord& r) { return r.mac == mac; });
}

Result<std::optional<NodeRecord>> MemoryStore::findByUuid(const std::string& uuid) {
  if (uuid.empty()) return std::optional<NodeRecord>();
  return findIf([&](const NodeRecord& r) { return r.uuid == uuid; });
}

Result<std::vector<NodeRecord>> MemoryStore::listNodes() {
  std::lock_guard lock(mu_);
  std::vector<NodeRecord> out;
  for (const auto& [name, rec] : nodes_) out.push_back(rec);
  return out;
}

Result<NodeRecord> MemoryStore::updateNode(const std::string& name, const UpdateFn& fn,
                                           const std::vector<TimelineEntry>& entries) {
  std::lock_guard lock(mu_);
  std::optional<NodeRecord> current;
  if (auto it = nodes_.find(name); it != nodes_.end()) current = it->second;
  auto next = fn(current);
  if (!next) return next.error();
  next->name = name;
  nodes_[name] = *next;
  auto& tl = timelines_[name];
  tl.insert(tl.end(), entries.begin(), entries.end());
  return next;
}

drover::Status MemoryStore::appendTimeline(const std::string& name,
                                           const std::vector<TimelineEntry>& entries) {
  std::lock_guard lock(mu_);
  auto& tl = timelines_[name];
  tl.insert(tl.end(), entries.begin(), entries.end());
  return {};
}

Result<std::vector<TimelineEntry>> MemoryStore::timeline(const std::string& name,
                                                         std::size_t limit) {
  std::lock_guard lock(mu_);
  auto it = timelines_.find(name);
  if (it == timelines_.end()) return std::vector<TimelineEntry>();
  const auto& tl = it->second;
  std::size_t skip = tl.size() > limit ? tl.size() - limit : 0;
  return std::vector<TimelineEntry>(tl.begin() + static_cast<std::ptrdiff_t>(skip), tl.end());
}

Result<std::map<std::string, TimelineEntry>> MemoryStore::lastEvents() {
  std::lock_guard lock(mu_);
  std::map<std::string, TimelineEntry> out;
  for (const auto& [name, tl] : timelines_)
    if (!tl.empty()) out[name] = tl.back();
  return out;
}

drover::Status MemoryStore::removeNode(const std::string& name) {
  std::lock_guard lock(mu_);
  nodes_.erase(name);
  timelines_.erase(name);
  handoffs_.erase(name);
  return {};
}

drover::Status MemoryStore::putToken(const TokenRecord& token) {
  std::lock_guard lock(mu_);
  tokens_[token.hash] = token;
  return {};
}

Result<std::optional<TokenRecord>> MemoryStore::takeToken(const std::string& hash) {
  std::lock_guard lock(mu_);
  auto it = tokens_.find(hash);
  if (it == tokens_.end()) return std::optional<TokenRecord>();
  TokenRecord rec = it->second;
  tokens_.erase(it);
  return std::optional<TokenRecord>(rec);
}

Result<bool> MemoryStore::claimToken(const TokenRecord& token) {
  std::lock_guard lock(mu_);
  return tokens_.try_emplace(token.hash, token).second;
}

Result<std::size_t> MemoryStore::purgeExpiredTokens(std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  std::size_t n =
      std::erase_if(tokens_, [&](const auto& kv) { return kv.second.expires_ms < now_ms; });
  return n;
}

Result<std::optional<HandoffRecord>> MemoryStore::updateHandoff(const std::string& node,
                                                                const HandoffFn& fn) {
  std::lock_guard lock(mu_);
  std::optional<HandoffRecord> current;
  if (auto it = handoffs_.find(node); it != handoffs_.end()) current = it->second;
  auto next = fn(current);
  if (!next) return next.error();
  if (*next) {
    (*next)->node = node;
    handoffs_[node] = **next;
  } else {
    handoffs_.erase(node);
  }
  return next;
}

Result<std::optional<HandoffRecord>> MemoryStore::getHandoff(const std::string& node) {
  std::lock_guard lock(mu_);
  auto it = handoffs_.find(node);
  if (it == handoffs_.end()) return std::optional<HandoffRecord>();
  return std::optional<HandoffRecord>(it->second);
}

Result<std::vector<HandoffRecord>> MemoryStore::listHandoffs() {
  std::lock_guard lock(mu_);
  std::vector<HandoffRecord> out;
  for (const auto& [node, h] : handoffs_) out.push_back(h);
  return out;
}

}  // namespace drover::state

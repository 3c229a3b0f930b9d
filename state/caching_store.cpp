#include "state/caching_store.hpp"

#include <algorithm>
#include <mutex>
#include <unordered_map>

namespace drover::state {
namespace {

constexpr std::size_t kMaxNodes = 200000;
constexpr std::size_t kTail = 16;  // timeline entries kept per node

class CachingStore final : public ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;

  Result<std::optional<NodeRecord>> getNode(const std::string& name) override {
    {
      std::lock_guard lock(mu_);
      if (auto it = nodes_.find(name); it != nodes_.end()) return it->second;
    }
    std::lock_guard write(write_mu_);
    auto r = inner().getNode(name);
    std::lock_guard lock(mu_);
    if (r) remember(name, *r);
    return r;
  }

  Result<NodeRecord> updateNode(const std::string& name, const UpdateFn& fn,
                                const std::vector<TimelineEntry>& entries) override {
    std::lock_guard write(write_mu_);
    auto r = inner().updateNode(name, fn, entries);
    std::lock_guard lock(mu_);
    if (!r) {
      forget(name);  // nothing was written, but the record the call saw may be newer
      return r;
    }
    remember(name, *r);
    appended(name, entries);
    return r;
  }

  drover::Status appendTimeline(const std::string& name,
                                const std::vector<TimelineEntry>& entries) override {
    std::lock_guard write(write_mu_);
    auto st = inner().appendTimeline(name, entries);
    std::lock_guard lock(mu_);
    if (st) {
      appended(name, entries);
    } else {
      tails_.erase(name);
    }
    return st;
  }

  Result<std::vector<TimelineEntry>> timeline(const std::string& name, std::size_t limit) override {
    {
      std::lock_guard lock(mu_);
      if (auto hit = fromTail(name, limit)) return std::move(*hit);
    }
    std::lock_guard write(write_mu_);
    auto r = inner().timeline(name, std::max(limit, kTail));
    if (!r) return r;
    std::lock_guard lock(mu_);
    if (tails_.size() >= kMaxNodes) tails_.clear();
    Tail& t = tails_[name];
    // Complete when the read saw every entry and the tail keeps them all.
    t.complete = r->size() < std::max(limit, kTail) && r->size() <= kTail;
    t.entries.assign(r->end() - static_cast<std::ptrdiff_t>(std::min(r->size(), kTail)), r->end());
    if (r->size() > limit) r->erase(r->begin(), r->end() - static_cast<std::ptrdiff_t>(limit));
    return r;
  }

  drover::Status removeNode(const std::string& name) override {
    std::lock_guard write(write_mu_);
    auto st = inner().removeNode(name);
    std::lock_guard lock(mu_);
    forget(name);
    if (st) {
      remember(name, std::nullopt);
      tails_[name] = Tail{{}, true};
    }
    return st;
  }

 private:
  struct Tail {
    std::vector<TimelineEntry> entries;  // the last ones, oldest first, at most kTail
    bool complete = false;               // the node has no entries before these
  };

  // The last `limit` entries when the cached tail holds them. Called with mu_ held.
  std::optional<std::vector<TimelineEntry>> fromTail(const std::string& name,
                                                     std::size_t limit) const {
    auto it = tails_.find(name);
    if (it == tails_.end()) return std::nullopt;
    const auto& e = it->second.entries;
    if (limit > e.size() && !it->second.complete) return std::nullopt;
    const auto n = std::min(limit, e.size());
    return std::vector<TimelineEntry>(e.end() - static_cast<std::ptrdiff_t>(n), e.end());
  }

  // Called with mu_ held.
  void remember(const std::string& name, const std::optional<NodeRecord>& rec) {
    if (nodes_.size() >= kMaxNodes) nodes_.clear();
    nodes_.insert_or_assign(name, rec);
  }
  void forget(const std::string& name) {
    nodes_.erase(name);
    tails_.erase(name);
  }
  void appended(const std::string& name, const std::vector<TimelineEntry>& entries) {
    auto it = tails_.find(name);
    if (it == tails_.end() || entries.empty()) return;
    auto& e = it->second.entries;
    e.insert(e.end(), entries.begin(), entries.end());
    if (e.size() > kTail) {
      e.erase(e.begin(), e.end() - static_cast<std::ptrdiff_t>(kTail));
      it->second.complete = false;
    }
  }

  std::mutex write_mu_;  // every write, and every fill from the inner store
  std::mutex mu_;        // the maps
  std::unordered_map<std::string, std::optional<NodeRecord>> nodes_;
  std::unordered_map<std::string, Tail> tails_;
};

}  // namespace

std::unique_ptr<StateStore> cachingStore(std::unique_ptr<StateStore> inner) {
  return std::make_unique<CachingStore>(std::move(inner));
}

}  // namespace drover::state

// A StateStore that forwards every call to another: the base of the decorators that add
// something to some calls (the caching store here, the server's publishing store).
#pragma once

#include <memory>

#include "state/store.hpp"

namespace drover::state {

class ForwardingStore : public StateStore {
 public:
  explicit ForwardingStore(std::unique_ptr<StateStore> inner) : inner_(std::move(inner)) {}

  Result<std::optional<NodeRecord>> getNode(const std::string& name) override {
    return inner_->getNode(name);
  }
  Result<std::optional<NodeRecord>> findByMac(const std::string& mac) override {
    return inner_->findByMac(mac);
  }
  Result<std::optional<NodeRecord>> findByUuid(const std::string& uuid) override {
    return inner_->findByUuid(uuid);
  }
  Result<std::vector<NodeRecord>> listNodes() override { return inner_->listNodes(); }
  Result<NodeRecord> updateNode(const std::string& name, const UpdateFn& fn,
                                const std::vector<TimelineEntry>& entries) override {
    return inner_->updateNode(name, fn, entries);
  }
  drover::Status appendTimeline(const std::string& name,
                                const std::vector<TimelineEntry>& entries) override {
    return inner_->appendTimeline(name, entries);
  }
  Result<std::vector<TimelineEntry>> timeline(const std::string& name, std::size_t limit) override {
    return inner_->timeline(name, limit);
  }
  Result<std::map<std::string, TimelineEntry>> lastEvents() override {
    return inner_->lastEvents();
  }
  drover::Status removeNode(const std::string& name) override { return inner_->removeNode(name); }
  drover::Status putToken(const TokenRecord& token) override { return inner_->putToken(token); }
  Result<std::optional<TokenRecord>> takeToken(const std::string& hash) override {
    return inner_->takeToken(hash);
  }
  Result<bool> claimToken(const TokenRecord& token) override { return inner_->claimToken(token); }
  Result<std::size_t> purgeExpiredTokens(std::int64_t now_ms) override {
    return inner_->purgeExpiredTokens(now_ms);
  }
  Result<std::optional<HandoffRecord>> updateHandoff(const std::string& node,
                                                     const HandoffFn& fn) override {
    return inner_->updateHandoff(node, fn);
  }
  Result<std::optional<HandoffRecord>> getHandoff(const std::string& node) override {
    return inner_->getHandoff(node);
  }
  Result<std::vector<HandoffRecord>> listHandoffs() override { return inner_->listHandoffs(); }

 protected:
  StateStore& inner() { return *inner_; }

 private:
  std::unique_ptr<StateStore> inner_;
};

}  // namespace drover::state

// The state store the server uses: forwards every call and publishes what was written to
// the dashboard's live updates (server/live_events.hpp).
#include "server/live_events.hpp"

namespace drover::server {
namespace {

class PublishingStore final : public state::StateStore {
 public:
  PublishingStore(std::unique_ptr<state::StateStore> inner, std::shared_ptr<LiveEvents> live)
      : inner_(std::move(inner)), live_(std::move(live)) {}

  Result<std::optional<state::NodeRecord>> getNode(const std::string& name) override {
    return inner_->getNode(name);
  }
  Result<std::optional<state::NodeRecord>> findByMac(const std::string& mac) override {
    return inner_->findByMac(mac);
  }
  Result<std::optional<state::NodeRecord>> findByUuid(const std::string& uuid) override {
    return inner_->findByUuid(uuid);
  }
  Result<std::vector<state::NodeRecord>> listNodes() override { return inner_->listNodes(); }

  Result<state::NodeRecord> updateNode(const std::string& name, const UpdateFn& fn,
                                       const std::vector<state::TimelineEntry>& entries) override {
    auto r = inner_->updateNode(name, fn, entries);
    if (r) live_->publish(name, &*r, entries);
    return r;
  }
  drover::Status appendTimeline(const std::string& name,
                                const std::vector<state::TimelineEntry>& entries) override {
    auto st = inner_->appendTimeline(name, entries);
    if (st) live_->publish(name, nullptr, entries);
    return st;
  }
  Result<std::vector<state::TimelineEntry>> timeline(const std::string& name,
                                                     std::size_t limit) override {
    return inner_->timeline(name, limit);
  }
  Result<std::map<std::string, state::TimelineEntry>> lastEvents() override {
    return inner_->lastEvents();
  }
  drover::Status removeNode(const std::string& name) override {
    auto st = inner_->removeNode(name);
    if (st) live_->publish(name, nullptr, {}, true);
    return st;
  }
  drover::Status putToken(const state::TokenRecord& token) override {
    return inner_->putToken(token);
  }
  Result<std::optional<state::TokenRecord>> takeToken(const std::string& hash) override {
    return inner_->takeToken(hash);
  }
  Result<bool> claimToken(const state::TokenRecord& token) override { return inner_->claimToken(token); }
  Result<std::size_t> purgeExpiredTokens(std::int64_t now_ms) override {
    return inner_->purgeExpiredTokens(now_ms);
  }

 private:
  std::unique_ptr<state::StateStore> inner_;
  std::shared_ptr<LiveEvents> live_;
};

}  // namespace

std::unique_ptr<state::StateStore> publishingStore(std::unique_ptr<state::StateStore> inner,
                                                   std::shared_ptr<LiveEvents> live) {
  return std::make_unique<PublishingStore>(std::move(inner), std::move(live));
}

}  // namespace drover::server

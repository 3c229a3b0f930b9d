// The state store the server uses: forwards every call and publishes what was written to
// the dashboard's live updates (server/live_events.hpp).
#include "server/live_events.hpp"
#include "state/forwarding_store.hpp"

namespace drover::server {
namespace {

class PublishingStore final : public state::ForwardingStore {
 public:
  PublishingStore(std::unique_ptr<state::StateStore> inner, std::shared_ptr<LiveEvents> live)
      : ForwardingStore(std::move(inner)), live_(std::move(live)) {}

  Result<state::NodeRecord> updateNode(const std::string& name, const UpdateFn& fn,
                                       const std::vector<state::TimelineEntry>& entries) override {
    auto r = inner().updateNode(name, fn, entries);
    if (r) live_->publish(name, &*r, entries);
    return r;
  }
  drover::Status appendTimeline(const std::string& name,
                                const std::vector<state::TimelineEntry>& entries) override {
    auto st = inner().appendTimeline(name, entries);
    if (st) live_->publish(name, nullptr, entries);
    return st;
  }
  drover::Status removeNode(const std::string& name) override {
    auto st = inner().removeNode(name);
    if (st) live_->publish(name, nullptr, {}, true);
    return st;
  }

 private:
  std::shared_ptr<LiveEvents> live_;
};

}  // namespace

std::unique_ptr<state::StateStore> publishingStore(std::unique_ptr<state::StateStore> inner,
                                                   std::shared_ptr<LiveEvents> live) {
  return std::make_unique<PublishingStore>(std::move(inner), std::move(live));
}

}  // namespace drover::server

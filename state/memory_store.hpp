// StateStore in memory, for tests (the conformance suite runs against it). Nothing survives
// the process.
#pragma once

#include <map>
#include <mutex>

#include "state/store.hpp"

namespace drover::state {

class MemoryStore final : public StateStore {
 public:
  Result<std::optional<NodeRecord>> getNode(const std::string& name) override;
  Result<std::optional<NodeRecord>> findByMac(const std::string& mac) override;
  Result<std::optional<NodeRecord>> findByUuid(const std::string& uuid) override;
  Result<std::vector<NodeRecord>> listNodes() override;
  Result<NodeRecord> updateNode(const std::string& name, const UpdateFn& fn,
                                const std::vector<TimelineEntry>& entries) override;
  drover::Status appendTimeline(const std::string& name,
                                const std::vector<TimelineEntry>& entries) override;
  Result<std::vector<TimelineEntry>> timeline(const std::string& name, std::size_t limit) override;
  Result<std::map<std::string, TimelineEntry>> lastEvents() override;
  drover::Status removeNode(const std::string& name) override;
  drover::Status putToken(const TokenRecord& token) override;
  Result<std::optional<TokenRecord>> takeToken(const std::string& hash) override;
  Result<bool> claimToken(const TokenRecord& token) override;
  Result<std::size_t> purgeExpiredTokens(std::int64_t now_ms) override;
  Result<std::optional<HandoffRecord>> updateHandoff(const std::string& node,
                                                     const HandoffFn& fn) override;
  Result<std::optional<HandoffRecord>> getHandoff(const std::string& node) override;
  Result<std::vector<HandoffRecord>> listHandoffs() override;

 private:
  std::optional<NodeRecord> findIf(const std::function<bool(const NodeRecord&)>& pred);

  std::mutex mu_;
  std::map<std::string, NodeRecord> nodes_;
  std::map<std::string, std::vector<TimelineEntry>> timelines_;
  std::map<std::string, TokenRecord> tokens_;
  std::map<std::string, HandoffRecord> handoffs_;
};

}  // namespace drover::state

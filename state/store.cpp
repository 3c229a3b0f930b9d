#include "state/store.hpp"

#include <chrono>

namespace drover::state {

std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<NodeRecord> applyEvent(StateStore& store, const std::string& name, NodeEvent event, TimelineEntry entry,
                              const std::function<void(NodeRecord&)>& init) {
  if (entry.ts_ms == 0) entry.ts_ms = nowMs();
  const std::int64_t ts = entry.ts_ms;
  return store.updateNode(
      name,
      [&](const std::optional<NodeRecord>& current) -> Result<NodeRecord> {
        std::optional<NodeStatus> status;
        if (current) status = current->status;
        auto next = transition(status, event);
        if (!next) return next.error();
        NodeRecord rec;
        if (current) {
          rec = *current;
        } else {
          rec.name = name;
          if (init) init(rec);
          rec.state_since_ms = ts;
        }
        if (current && current->status.state != next->state) rec.state_since_ms = ts;
        rec.status = *next;
        return rec;
      },
      {entry});
}

}  // namespace drover::state

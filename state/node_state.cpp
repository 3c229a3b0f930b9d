#include "state/node_state.hpp"

#include <array>
#include <utility>

namespace drover::state {
namespace {

constexpr std::array<std::pair<NodeState, std::string_view>, 5> kStates{{
    {NodeState::kDiscovered, "discovered"},
    {NodeState::kInstalling, "installing"},
    {NodeState::kInstalled, "installed"},
    {NodeState::kJoined, "joined"},
    {NodeState::kFailed, "failed"},
}};

constexpr std::array<std::pair<NodeEvent, std::string_view>, 8> kEvents{{
    {NodeEvent::kDiscovered, "discovered"},
    {NodeEvent::kRegistered, "registered"},
    {NodeEvent::kInstalled, "installed"},
    {NodeEvent::kJoined, "joined"},
    {NodeEvent::kFailed, "failed"},
    {NodeEvent::kReinstallRequested, "reinstall_requested"},
    {NodeEvent::kCaptureRequested, "capture_requested"},
    {NodeEvent::kCaptureFinished, "capture_finished"},
}};

Error refused(const std::optional<NodeStatus>& cur, NodeEvent e) {
  std::string from = cur ? std::string(toString(cur->state)) : std::string("(new)");
  return makeError("transition_refused", "event " + std::string(toString(e)) + " refused in state " + from);
}

}  // namespace

std::string_view toString(NodeState s) {
  for (const auto& [v, name] : kStates)
    if (v == s) return name;
  return "?";
}

std::optional<NodeState> parseNodeState(std::string_view s) {
  for (const auto& [v, name] : kStates)
    if (name == s) return v;
  return std::nullopt;
}

std::string_view toString(NodeEvent e) {
  for (const auto& [v, name] : kEvents)
    if (v == e) return name;
  return "?";
}

// "registered" is not here: registration goes through POST /v1/agent/register, which decides
// between installing and discovered; the agent's own "registered" report is only a timeline
// entry (mapping it would move a discovered machine to installing).
std::optional<NodeEvent> eventForPhase(std::string_view phase) {
  if (phase == "installed") return NodeEvent::kInstalled;
  if (phase == "joined") return NodeEvent::kJoined;
  if (phase == "failed") return NodeEvent::kFailed;
  return std::nullopt;
}

Result<NodeStatus> transition(const std::optional<NodeStatus>& current, NodeEvent event) {
  NodeStatus next = current.value_or(NodeStatus{});
  const NodeState from = next.state;
  switch (event) {
    case NodeEvent::kDiscovered:
      return next;  // a new record starts as discovered; a known one is unchanged
    case NodeEvent::kRegistered:
      if (current && (from == NodeState::kInstalled || from == NodeState::kJoined)) {
        if (!next.reinstall_requested) return refused(current, event);
      }
      next.state = NodeState::kInstalling;
      next.reinstall_requested = false;
      return next;
    case NodeEvent::kInstalled:
      if (!current || (from != NodeState::kInstalling && from != NodeState::kInstalled)) return refused(current, event);
      next.state = NodeState::kInstalled;
      return next;
    case NodeEvent::kJoined:
      if (!current || (from != NodeState::kInstalled && from != NodeState::kJoined)) return refused(current, event);
      next.state = NodeState::kJoined;
      return next;
    case NodeEvent::kFailed:
      next.state = NodeState::kFailed;
      return next;
    case NodeEvent::kReinstallRequested:
      if (!current) return refused(current, event);
      next.reinstall_requested = true;
      return next;
    case NodeEvent::kCaptureRequested:
      if (!current || (from != NodeState::kInstalled && from != NodeState::kJoined)) return refused(current, event);
      next.capture_requested = true;
      return next;
    case NodeEvent::kCaptureFinished:
      if (!current) return refused(current, event);
      next.capture_requested = false;
      return next;
  }
  return refused(current, event);
}

}  // namespace drover::state

// The node state machine: pure functions, no I/O.
//
// States: discovered, installing, installed, joined, failed; plus two flags the operator
// sets: reinstall-requested and capture-requested.
//
// Transitions (event -> from state -> to state; anything else is refused, the record
// unchanged):
//
//   | event (who)                  | from                                   | to          |
//   |------------------------------|----------------------------------------|-------------|
//   | discovered (agent, discover) | (new) / any                            | unchanged, or
//   discovered when new | | registered (agent, install)  | (new), discovered, installing, failed  |
//   installing  | | registered                   | installed, joined + reinstall flag     |
//   installing, flag cleared | | registered                   | installed, joined, no flag |
//   REFUSED (a stray install boot must not wipe a node) | | installed (agent)            |
//   installing, installed                  | installed   | | joined (agent)               |
//   installed, joined                      | joined      | | failed (agent)               | any |
//   failed      | | reinstall (operator)         | any                                    |
//   unchanged, flag set | | capture_requested (operator) | installed, joined                      |
//   unchanged, capture flag set | | capture_finished (server)    | any known | unchanged, capture
//   flag cleared |
//
// Capture (docs/images.md): only a node with an installed disk (installed or joined) can
// be captured; its state does not change while the capture runs, and the flag is cleared
// when the upload ends, published or refused (a failed capture is not retried by itself).
//
// What a power-on gets from these states is the boot decision's (boot/decision.hpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace drover::state {

enum class NodeState { kDiscovered, kInstalling, kInstalled, kJoined, kFailed };

enum class NodeEvent {
  kDiscovered,
  kRegistered,
  kInstalled,
  kJoined,
  kFailed,
  kReinstallRequested,
  kCaptureRequested,
  kCaptureFinished,
};

std::string_view toString(NodeState s);
std::optional<NodeState> parseNodeState(std::string_view s);
std::string_view toString(NodeEvent e);
// Agent phases that drive the machine ("installed", "joined", "failed");
// other phases (image_progress, ...) are timeline entries only and give nullopt.
std::optional<NodeEvent> eventForPhase(std::string_view phase);

struct NodeStatus {
  NodeState state = NodeState::kDiscovered;
  bool reinstall_requested = false;
  bool capture_requested = false;

  friend bool operator==(const NodeStatus&, const NodeStatus&) = default;
};

// `current` is nullopt for a node with no record yet. Refusals are errors with code
// "transition_refused" naming the state and event.
Result<NodeStatus> transition(const std::optional<NodeStatus>& current, NodeEvent event);

}  // namespace drover::state

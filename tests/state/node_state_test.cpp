#include "state/node_state.hpp"

#include <gtest/gtest.h>

namespace drover::state {
namespace {

using S = NodeState;
using E = NodeEvent;

std::optional<NodeStatus> st(S s, bool reinstall = false) { return NodeStatus{s, reinstall}; }

std::string run(const std::optional<NodeStatus>& cur, E e) {
  auto r = transition(cur, e);
  if (!r) return "refused";
  return std::string(toString(r->state)) + (r->reinstall_requested ? "+reinstall" : "");
}

TEST(NodeStateTest, TransitionTable) {
  struct Row {
    std::optional<NodeStatus> from;
    E event;
    const char* to;
  };
  const Row rows[] = {
      {std::nullopt, E::kDiscovered, "discovered"},
      {st(S::kInstalled), E::kDiscovered, "installed"},
      {std::nullopt, E::kRegistered, "installing"},
      {st(S::kDiscovered), E::kRegistered, "installing"},
      {st(S::kInstalling), E::kRegistered, "installing"},
      {st(S::kFailed), E::kRegistered, "installing"},
      {st(S::kInstalled), E::kRegistered, "refused"},
      {st(S::kJoined), E::kRegistered, "refused"},
      {st(S::kInstalled, true), E::kRegistered, "installing"},
      {st(S::kJoined, true), E::kRegistered, "installing"},
      {st(S::kInstalling), E::kInstalled, "installed"},
      {st(S::kInstalled), E::kInstalled, "installed"},
      {st(S::kDiscovered), E::kInstalled, "refused"},
      {std::nullopt, E::kInstalled, "refused"},
      {st(S::kJoined), E::kInstalled, "refused"},
      {st(S::kInstalled), E::kJoined, "joined"},
      {st(S::kJoined), E::kJoined, "joined"},
      {st(S::kInstalling), E::kJoined, "refused"},
      {st(S::kInstalling), E::kFailed, "failed"},
      {st(S::kJoined), E::kFailed, "failed"},
      {std::nullopt, E::kFailed, "failed"},
      {st(S::kJoined), E::kReinstallRequested, "joined+reinstall"},
      {st(S::kFailed), E::kReinstallRequested, "failed+reinstall"},
      {std::nullopt, E::kReinstallRequested, "refused"},
  };
  for (const auto& row : rows) {
    EXPECT_EQ(run(row.from, row.event), row.to)
        << (row.from ? toString(row.from->state) : "(new)") << " + " << toString(row.event);
  }
}

TEST(NodeStateTest, WholeLifeWithReinstall) {
  std::optional<NodeStatus> s;
  for (E e : {E::kRegistered, E::kInstalled, E::kJoined}) s = *transition(s, e);
  EXPECT_EQ(s->state, S::kJoined);
  s = *transition(s, E::kReinstallRequested);
  EXPECT_TRUE(s->reinstall_requested);
  s = *transition(s, E::kRegistered);
  EXPECT_EQ(s->state, S::kInstalling);
  EXPECT_FALSE(s->reinstall_requested);
}

TEST(NodeStateTest, Names) {
  for (S s : {S::kDiscovered, S::kInstalling, S::kInstalled, S::kJoined, S::kFailed})
    EXPECT_EQ(parseNodeState(toString(s)), s);
  EXPECT_FALSE(parseNodeState("bogus"));
  EXPECT_EQ(eventForPhase("installed"), E::kInstalled);
  EXPECT_FALSE(eventForPhase("image_progress"));
  // Registration is decided by the register call; the agent's report of it moves nothing.
  EXPECT_FALSE(eventForPhase("registered"));
}

}  // namespace
}  // namespace drover::state

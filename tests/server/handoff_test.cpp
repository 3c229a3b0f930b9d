// The failed-handoff loop (server/handoff.hpp) on a clock the test moves: deadlines, the
// retry with the other method, reports from the agent, a node that gets there, and two
// replicas' watches sharing one store.
#include "server/handoff.hpp"

#include "state/memory_store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace drover::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

class HandoffTest : public ::testing::Test {
 protected:
  HandoffWatch& watch() {
    if (!watch_) watch_ = std::make_unique<HandoffWatch>(hooks());
    return *watch_;
  }
  HandoffWatch::Hooks hooks() {
    HandoffWatch::Hooks h;
    h.now_ms = [this] { return now_; };
    h.deadline = [] { return std::chrono::milliseconds(5min); };
    h.has_bmc = [this](const std::string&) { return has_bmc_; };
    h.has_agent = [this](const std::string&) { return has_agent_; };
    h.bmc_send = [this](const std::string& node) -> Status {
      sends_.push_back(node);
      if (bmc_ignores_) return makeError("bmc_ignored_boot_override", "read back disk");
      return {};
    };
    h.mac_of = [](const std::string&) { return std::string("52:54:00:12:34:56"); };
    h.record = [this](const std::string& node, std::string phase, std::string message) {
      timeline_.push_back(node + " " + phase + ": " + message);
    };
    h.registry = &registry_;
    h.store = &store_;
    return h;
  }
  std::int64_t failures(std::string_view method) {
    return registry_.valueForTest("handoff_failures_total",
                                  "method=\"" + std::string(method) + "\"");
  }

  std::int64_t now_ = 1'000'000;
  bool has_bmc_ = true, has_agent_ = true, bmc_ignores_ = false;
  std::vector<std::string> sends_, timeline_;
  metrics::Registry registry_;
  state::MemoryStore store_;
  std::unique_ptr<HandoffWatch> watch_;
};

TEST_F(HandoffTest, ABmcHandoffThatNeverArrivesIsRetriedThroughTheAgentOnce) {
  watch().sentByBmc("node-3");
  now_ += 5 * 60'000 - 1;
  watch().tick();
  EXPECT_THAT(timeline_, IsEmpty());
  now_ += 1;
  watch().tick();
  ASSERT_EQ(timeline_.size(), 2u);
  EXPECT_THAT(timeline_[0], HasSubstr("node-3 handoff_failed: bmc: not heard from on the network "
                                      "within 5m of the boot override and power cycle"));
  EXPECT_THAT(timeline_[0], HasSubstr("trying the agent's BootNext instead"));
  EXPECT_THAT(timeline_[1], HasSubstr("node-3 handoff: asked the agent to set BootNext"));
  auto request = watch().pendingFor("node-3");
  ASSERT_TRUE(request);
  EXPECT_EQ(request->mac, "52:54:00:12:34:56");
  auto handed = watch().deliver("node-3");  // a heartbeat answer carries it
  ASSERT_TRUE(handed);
  EXPECT_EQ(handed->id, request->id);
  EXPECT_FALSE(watch().deliver("node-3"));  // and no other one
  EXPECT_FALSE(watch().pendingFor("node-3"));

  watch().agentReport("node-3", "stale-id", "reboot_network", "");
  EXPECT_FALSE(store_.getHandoff("node-3").value()->rebooting);  // another request's answer
  now_ += 30'000;
  watch().agentReport("node-3", request->id, "reboot_network", "BootNext=Boot0004");
  EXPECT_TRUE(store_.getHandoff("node-3").value()->rebooting);
  now_ += 5 * 60'000 - 1;
  watch().tick();  // the deadline ran again from the reboot
  EXPECT_EQ(timeline_.size(), 2u);
  now_ += 1;
  watch().tick();
  ASSERT_EQ(timeline_.size(), 3u);
  EXPECT_THAT(timeline_[2], HasSubstr("agent: not heard from on the network within 5m of the "
                                      "agent setting BootNext and rebooting"));
  EXPECT_THAT(timeline_[2], HasSubstr("no other way to send it: the reinstall stays pending"));
  EXPECT_FALSE(watch().watching("node-3"));
  EXPECT_EQ(failures("bmc"), 1);
  EXPECT_EQ(failures("agent"), 1);
  EXPECT_EQ(sends_.size(), 0u);  // the BMC was not asked twice
}

TEST_F(HandoffTest, AnAgentHandoffFallsBackToTheBmcWhichIgnoresItsOverride) {
  bmc_ignores_ = true;
  const auto id = *watch().askAgent("node-3");
  watch().agentReport("node-3", id, "reboot_network", "");
  now_ += 5 * 60'000;
  watch().tick();
  EXPECT_THAT(sends_, ElementsAre("node-3"));
  ASSERT_EQ(timeline_.size(), 2u);
  EXPECT_THAT(timeline_[0], HasSubstr("handoff_failed: agent: "));
  EXPECT_THAT(timeline_[0], HasSubstr("trying the BMC's boot override instead"));
  EXPECT_THAT(timeline_[1], HasSubstr("handoff_failed: bmc: read back disk; no other way"));
  EXPECT_FALSE(watch().watching("node-3"));
  EXPECT_EQ(failures("agent"), 1);
  EXPECT_EQ(failures("bmc"), 1);
}

TEST_F(HandoffTest, AnAgentThatCannotRebootFailsAtOnce) {
  has_bmc_ = false;
  const auto id = *watch().askAgent("node-1");
  watch().agentReport("node-1", id, "reboot_failed", "no network entry");
  ASSERT_EQ(timeline_.size(), 1u);
  EXPECT_THAT(timeline_[0], HasSubstr("agent: the agent could not reboot into the network: no "
                                      "network entry; no other way"));
  now_ += 10 * 60'000;
  watch().tick();
  EXPECT_EQ(timeline_.size(), 1u);
}

TEST_F(HandoffTest, ABmcThatFailsAtOnceHandsOverToTheAgent) {
  EXPECT_TRUE(watch().bmcFailed("node-3", "bmc ignored boot override"));
  EXPECT_TRUE(watch().pendingFor("node-3"));
  has_agent_ = false;
  EXPECT_FALSE(watch().bmcFailed("node-4", "bmc_timeout"));
  EXPECT_FALSE(watch().watching("node-4"));
}

TEST_F(HandoffTest, AnAgentThatNeverTakesTheRequestFails) {
  has_bmc_ = false;
  ASSERT_TRUE(watch().askAgent("node-1"));
  now_ += 5 * 60'000;
  watch().tick();
  ASSERT_EQ(timeline_.size(), 1u);
  EXPECT_THAT(timeline_[0], HasSubstr("its agent did not take the request within 5m"));
  EXPECT_FALSE(watch().pendingFor("node-1"));
}

TEST_F(HandoffTest, ANodeHeardOnTheNetworkEndsItsHandoff) {
  const auto id = *watch().askAgent("node-1");
  watch().agentReport("node-1", id, "reboot_network", "");
  now_ += 12'000;
  watch().heard("node-2", "dhcp_offer");  // another node
  watch().heard("node-1", "dhcp_offer");
  ASSERT_EQ(timeline_.size(), 1u);
  EXPECT_EQ(timeline_[0],
            "node-1 handoff: reached the network (dhcp_offer) 12.0 s after the agent rebooted");
  now_ += 10 * 60'000;
  watch().tick();
  EXPECT_EQ(timeline_.size(), 1u);
  EXPECT_EQ(registry_.valueForTest("handoffs_total", "method=\"agent\""), 1);
}

TEST_F(HandoffTest, ANodeAnotherReplicaSawIsNotAFailure) {
  // A watch with a timeline that shows the network boot (another replica answered it).
  auto h = hooks();
  std::int64_t asked_since = 0;
  h.seen_since = [&](const std::string&, std::int64_t since) {
    asked_since = since;
    return std::string("script_served");
  };
  HandoffWatch other(std::move(h));
  other.sentByBmc("node-3");
  const auto started = now_;
  now_ += 5 * 60'000;
  other.tick();
  EXPECT_EQ(asked_since, started);
  ASSERT_EQ(timeline_.size(), 1u);
  EXPECT_THAT(timeline_[0], HasSubstr("handoff: reached the network (script_served, in the "
                                      "timeline) 300.0 s after the BMC's power cycle"));
  EXPECT_FALSE(other.watching("node-3"));
}

TEST_F(HandoffTest, ARequestHandedOutButNeverReportedFailsAsALostAnswer) {
  const auto id = *watch().askAgent("node-1");
  ASSERT_TRUE(watch().deliver("node-1"));
  now_ += 5 * 60'000;
  watch().tick();
  ASSERT_EQ(timeline_.size(), 1u);
  EXPECT_THAT(timeline_[0], HasSubstr("agent: its agent was handed the request at a heartbeat "
                                      "but did not report rebooting within 5m"));
  EXPECT_THAT(timeline_[0], HasSubstr("trying the BMC's boot override instead"));
  EXPECT_THAT(sends_, ElementsAre("node-1"));
  watch().agentReport("node-1", id, "reboot_network", "");  // too late: the BMC has it now
  EXPECT_EQ(store_.getHandoff("node-1").value()->method, "bmc");
}

// Two replicas: each has its own watch on the one store. The request one took is handed out
// by the other once; a report to either moves it; when the deadline passes both tick, one
// fails it.
TEST_F(HandoffTest, TwoReplicasShareOneHandoff) {
  HandoffWatch a(hooks()), b(hooks());
  has_bmc_ = false;
  const auto id = *a.askAgent("node-1");
  EXPECT_FALSE(b.deliver("node-1"));  // b has not listed the handoffs since
  b.tick();
  auto handed = b.deliver("node-1");
  ASSERT_TRUE(handed);
  EXPECT_EQ(handed->id, id);
  EXPECT_FALSE(b.deliver("node-1"));
  EXPECT_FALSE(a.deliver("node-1"));
  b.agentReport("node-1", id, "reboot_network", "BootNext=Boot0004");
  EXPECT_TRUE(a.watching("node-1"));
  now_ += 5 * 60'000;
  a.tick();
  b.tick();
  ASSERT_EQ(timeline_.size(), 1u);
  EXPECT_THAT(timeline_[0], HasSubstr("within 5m of the agent setting BootNext and rebooting"));
  EXPECT_EQ(failures("agent"), 1);
  EXPECT_FALSE(b.watching("node-1"));

  // A replica that restarts finds the handoffs it had in the store.
  const auto again = *a.askAgent("node-2");
  HandoffWatch restarted(hooks());
  restarted.tick();
  EXPECT_EQ(restarted.deliver("node-2").value().id, again);
}

TEST(HandoffDeadline, IsWrittenAsTheDeclarationWouldBe) {
  EXPECT_EQ(formatDeadline(5min), "5m");
  EXPECT_EQ(formatDeadline(90s), "90s");
  EXPECT_EQ(formatDeadline(1500ms), "1.5s");
}

}  // namespace
}  // namespace drover::server

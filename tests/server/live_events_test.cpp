// The dashboard's live updates without a server: coalescing, the per-page queue bound and
// the slow-page drop, the client limit.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "server/live_events.hpp"

namespace drover::server {
namespace {

using namespace std::chrono_literals;

// The `nodes` messages in a chunk of the stream.
std::vector<nlohmann::json> batches(const std::string& text) {
  std::vector<nlohmann::json> out;
  for (auto at = text.find("event: nodes\ndata: "); at != std::string::npos;
       at = text.find("event: nodes\ndata: ", at + 1)) {
    const auto start = at + 19;
    out.push_back(nlohmann::json::parse(text.substr(start, text.find('\n', start) - start)));
  }
  return out;
}

state::NodeRecord installing(const std::string& name) {
  state::NodeRecord r;
  r.name = name;
  r.status.state = state::NodeState::kInstalling;
  r.state_since_ms = 5;
  return r;
}

std::uint64_t counterValue(metrics::Registry& reg, const std::string& series) {
  const auto text = reg.render();
  const auto at = text.find("\n" + series + " ");
  return at == std::string::npos ? 0 : std::stoull(text.substr(at + series.size() + 2));
}

TEST(LiveEvents, ABurstOfAThousandNodesArrivesInAFewMessages) {
  metrics::Registry reg;
  auto live = std::make_shared<LiveEvents>(LiveOptions{.interval = 50ms}, reg);
  auto page = live->subscribe();
  ASSERT_NE(page, nullptr);
  EXPECT_NE(page->next()->find("event: hello"), std::string::npos);
  constexpr int kNodes = 1000;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kNodes; ++i) {
    const auto rec = installing("n-" + std::to_string(i));
    live->publish(rec.name, &rec, {{i, "dhcp_ack", ""}});
    live->publish(rec.name, nullptr, {{i, "tftp_done", "ipxe.efi"}});
  }
  const auto published = std::chrono::steady_clock::now() - start;
  std::map<std::string, nlohmann::json> events;  // by node, in order
  std::map<std::string, std::string> states;
  std::size_t messages = 0;
  for (int turn = 0; turn < 500 && events.size() < kNodes; ++turn) {
    std::this_thread::sleep_for(10ms);
    for (auto& b : batches(*page->next())) {
      ++messages;
      for (auto& n : b["nodes"]) {
        const auto name = n["name"].get<std::string>();
        for (auto& x : n["events"]) events[name].push_back(x);
        if (n.contains("state")) states[name] = n["state"].get<std::string>();
      }
    }
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(published).count();
  std::printf("%d nodes, %d changes published in %lld ms arrived in %zu messages\n", kNodes,
              2 * kNodes, static_cast<long long>(ms), messages);
  ASSERT_EQ(events.size(), std::size_t{kNodes});
  // One message per period the burst spanned (plus one at each end), not one per change.
  EXPECT_LE(messages, static_cast<std::size_t>(ms / 50 + 2));
  EXPECT_EQ(states["n-7"], "installing");
  ASSERT_EQ(events["n-7"].size(), 2u);
  EXPECT_EQ(events["n-7"][0]["phase"], "dhcp_ack");
  EXPECT_EQ(events["n-7"][1]["phase"], "tftp_done");
  EXPECT_EQ(counterValue(reg, "drover_ui_live_changes_total"), 2u * kNodes);
}

TEST(LiveEvents, ANodesManyEntriesAreCappedAndMarked) {
  metrics::Registry reg;
  auto live =
      std::make_shared<LiveEvents>(LiveOptions{.interval = 20ms, .entries_per_node = 3}, reg);
  auto page = live->subscribe();
  for (int i = 0; i < 10; ++i) live->publish("n", nullptr, {{i, "p" + std::to_string(i), ""}});
  std::vector<nlohmann::json> got;
  for (int turn = 0; turn < 200 && got.empty(); ++turn) {
    std::this_thread::sleep_for(10ms);
    got = batches(*page->next());
  }
  ASSERT_EQ(got.size(), 1u);
  const auto& n = got[0]["nodes"][0];
  EXPECT_TRUE(n["more"].get<bool>());
  ASSERT_EQ(n["events"].size(), 3u);
  EXPECT_EQ(n["events"][2]["phase"], "p9");
}

TEST(LiveEvents, APageThatDoesNotReadIsDroppedAndCountedWhileOthersKeepTheirs) {
  metrics::Registry reg;
  auto live = std::make_shared<LiveEvents>(LiveOptions{.interval = 10ms, .queue_limit = 4}, reg);
  auto reader = live->subscribe();
  auto stuck = live->subscribe();  // its connection is blocked in a write: next() is not called
  ASSERT_EQ(live->clients(), 2u);
  std::size_t read = 0;
  for (int turn = 0; turn < 500 && live->clients() == 2; ++turn) {
    live->publish("n", nullptr, {{turn, "progress", std::to_string(turn)}});
    std::this_thread::sleep_for(5ms);
    read += batches(*reader->next()).size();
  }
  EXPECT_EQ(live->clients(), 1u);
  EXPECT_EQ(counterValue(reg, "drover_ui_live_drops_total{reason=\"slow_client\"}"), 1u);
  EXPECT_FALSE(stuck->next().has_value());  // its stream ends at its next turn
  EXPECT_TRUE(reader->next().has_value());
  EXPECT_GT(read, 0u);
  std::printf("the reader got %zu messages before the stuck page was dropped\n", read);
}

TEST(LiveEvents, PagesBeyondTheLimitAreRefusedAndALeavingPageFreesItsPlace) {
  metrics::Registry reg;
  auto live = std::make_shared<LiveEvents>(LiveOptions{.max_clients = 2}, reg);
  auto a = live->subscribe();
  auto b = live->subscribe();
  EXPECT_EQ(live->subscribe(), nullptr);
  EXPECT_EQ(counterValue(reg, "drover_ui_live_drops_total{reason=\"too_many_clients\"}"), 1u);
  a.reset();
  EXPECT_NE(live->subscribe(), nullptr);
}

TEST(LiveEvents, NothingIsGatheredWhileNoPageIsOpen) {
  metrics::Registry reg;
  auto live = std::make_shared<LiveEvents>(LiveOptions{.interval = 10ms}, reg);
  live->publish("n", nullptr, {{1, "x", ""}});
  EXPECT_EQ(counterValue(reg, "drover_ui_live_changes_total"), 0u);
}

}  // namespace
}  // namespace drover::server

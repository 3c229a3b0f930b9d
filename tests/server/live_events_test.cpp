// The dashboard's live updates without a server: coalescing, the per-page queue bound and
// the slow-page drop, the client limit, one change published twice sent once, and what
// other replicas' changes (etcd watch events) become.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "server/live_events.hpp"
#include "server/live_feed.hpp"
#include "state/etcd/records.hpp"

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

TEST(LiveEvents, AChangePublishedTwiceIsSentOnce) {
  metrics::Registry reg;
  auto live = std::make_shared<LiveEvents>(LiveOptions{.interval = 10ms}, reg);
  auto page = live->subscribe();
  ASSERT_NE(page, nullptr);
  (void)page->next();
  auto rec = installing("n");
  // Stored here, then seen again through the etcd watch: one state, one removal.
  live->publish("n", &rec, {{1, "dhcp_ack", ""}});
  live->publish("n", &rec, {});
  rec.status.reinstall_requested = true;
  live->publish("n", &rec, {});
  live->publish("n", nullptr, {}, true);
  live->publish("n", nullptr, {}, true);
  EXPECT_EQ(counterValue(reg, "drover_ui_live_changes_total"), 3u);
  std::string text;
  for (int turn = 0; turn < 200 && text.find("removed") == std::string::npos; ++turn) {
    std::this_thread::sleep_for(5ms);
    text += *page->next();
  }
  int removals = 0;
  for (const auto& b : batches(text))
    for (const auto& n : b["nodes"]) removals += n.value("removed", false) ? 1 : 0;
  EXPECT_EQ(removals, 1) << text;
}

etcd::Event put(std::string key, std::string value) {
  etcd::Event e;
  e.kv.key = std::move(key);
  e.kv.value = std::move(value);
  return e;
}

TEST(LiveFeed, OtherReplicasChangesWithoutThisOnesOwnEntries) {
  namespace rec = state::etcd_records;
  const std::string mine = "00000000000000aa", theirs = "00000000000000bb";
  auto entry = [](std::int64_t ts, std::string phase) {
    return rec::encodeEntry({ts, std::move(phase), ""});
  };
  etcd::Event gone = put("/site/nodes/node-2", "");
  gone.type = etcd::Event::Type::kDelete;
  etcd::Event timeline_gone =
      put("/site/timeline/node-2/00000000000000000001-000000000000-" + theirs, "");
  timeline_gone.type = etcd::Event::Type::kDelete;
  std::vector<etcd::Event> events = {
      put("/site/nodes/node-1", rec::encodeNode(installing("node-1"))),
      put("/site/timeline/node-1/00000000000000000001-000000000000-" + theirs, entry(1, "a")),
      put("/site/timeline/node-1/00000000000000000002-000000000001-" + theirs, entry(2, "b")),
      put("/site/timeline/node-1/00000000000000000003-000000000000-" + mine, entry(3, "mine")),
      put("/site/timeline/my%2Fnode/00000000000000000004-000000000002-" + theirs, entry(4, "c")),
      put("/site/nodes/node-3", "{not json"),
      put("/site/nodes/node-4", rec::encodeNode(installing("node-5"))),  // named otherwise
      put("/site/leases/192.0.2.10", "{}"),
      put("/sitex/nodes/node-1", rec::encodeNode(installing("node-1"))),
      gone,
      timeline_gone,
  };
  state::EtcdStore::OwnRevisions written_here;
  written_here.add(7);
  auto own = put("/site/nodes/node-1", rec::encodeNode(installing("node-1")));
  own.kv.mod_revision = 7;  // this replica wrote it: already published
  events.insert(events.begin(), own);
  const auto batch = remoteChanges(events, "/site", mine, &written_here);
  EXPECT_EQ(batch.corrupt, 2u);
  ASSERT_EQ(batch.changes.size(), 4u);
  EXPECT_EQ(batch.changes[0].node, "node-1");
  ASSERT_TRUE(batch.changes[0].record.has_value());
  EXPECT_EQ(batch.changes[0].record->status.state, state::NodeState::kInstalling);
  EXPECT_EQ(batch.changes[1].node, "node-1");
  ASSERT_EQ(batch.changes[1].entries.size(), 2u);
  EXPECT_EQ(batch.changes[1].entries[1].phase, "b");
  EXPECT_EQ(batch.changes[2].node, "my/node");
  EXPECT_EQ(batch.changes[3].node, "node-2");
  EXPECT_TRUE(batch.changes[3].removed);
}

}  // namespace
}  // namespace drover::server

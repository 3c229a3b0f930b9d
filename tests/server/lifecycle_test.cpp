// The server's life: reloads (good and bad), restarts on the same state, heartbeats and
// the metrics an operator scrapes.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/server/serve_fixture.hpp"

namespace drover::server::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kMac3 = "52:54:00:12:34:58";

TEST_F(ServeTest, ReloadMakesANewNodeLive) {
  EXPECT_THAT(script(kMac3), HasSubstr("drover.mode=discover"));
  writeFile(config_,
            clusterYaml(dir_.path(), "discover",
                        "  - name: node-3\n    mac: 52:54:00:12:34:58\n    ip: 192.0.2.12\n"));
  ASSERT_TRUE(app_->app().reload().ok());
  EXPECT_THAT(script(kMac3), HasSubstr("drover.node=node-3"));
  EXPECT_EQ(op("GET", "/v1/nodes/node-3").status, 200);
}

TEST_F(ServeTest, InvalidReloadKeepsTheOldDeclaration) {
  // A duplicate MAC: the whole file is rejected.
  writeFile(config_,
            clusterYaml(dir_.path(), "discover",
                        "  - name: node-3\n    mac: 52:54:00:12:34:56\n    ip: 192.0.2.12\n"));
  auto st = app_->app().reload();
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.error().message, HasSubstr("previous declaration"));
  EXPECT_THAT(script(kMac1), HasSubstr("drover.node=node-1"));
  EXPECT_EQ(op("GET", "/v1/nodes/node-3").status, 404);
  // Not YAML at all: the same.
  writeFile(config_, "server: [unclosed\n");
  EXPECT_FALSE(app_->app().reload().ok());
  EXPECT_THAT(script(kMac2), HasSubstr("drover.node=node-2"));
}

// The nice value of each of this process's threads (proc(5): the 19th field of stat).
std::vector<int> threadNiceValues() {
  std::vector<int> out;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));  // from field 3 (state)
    std::string field;
    for (int i = 3; i <= 19 && fields >> field; ++i)
      if (i == 19) out.push_back(std::stoi(field));
  }
  return out;
}

// The threads that send kernels and initrds run 10 nice levels below the rest of the
// process: in a boot storm DHCP, TFTP and requests are served first.
TEST_F(ServeTest, BodiesAreSentFromLowerPriorityThreads) {
  // A body large enough to be sent from those threads (over 256 KiB) arrives whole.
  const std::string big(1024 * 1024 + 7, 'k');
  writeFile(dir_.path() / "images/vmlinuz", big);
  const auto kernel = get("/assets/boot-env/kernel");
  EXPECT_EQ(kernel.status, 200);
  EXPECT_EQ(kernel.body.size(), big.size());
  EXPECT_EQ(kernel.body, big);
  // The bulk threads sit 10 above this (test) thread's nice value, which every other
  // thread of the process keeps.
  errno = 0;
  const int own = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  ASSERT_EQ(errno, 0);
  ASSERT_LT(own, 19) << "run the test at a higher priority than nice 19";
  const int lower = std::min(own + 10, 19);
  // The serve loop starts its threads on its own thread: wait (bounded) for them.
  std::vector<int> nice;
  for (int i = 0; i < 100; ++i) {
    nice = threadNiceValues();
    if (std::count(nice.begin(), nice.end(), lower) >= 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const auto lowered = std::count(nice.begin(), nice.end(), lower);
  EXPECT_GE(lowered, 1);
  EXPECT_EQ(lowered + std::count(nice.begin(), nice.end(), own), static_cast<long>(nice.size()));
}

TEST_F(ServeTest, StateSurvivesARestart) {
  install(kMac1);
  const auto ca_before = script(kMac2);
  app_->stop();
  app_ = std::make_unique<RunningApp>(config_);
  ASSERT_TRUE(app_->ok());
  EXPECT_THAT(script(kMac1), HasSubstr("sanboot"));
  EXPECT_EQ(op("GET", "/v1/nodes/node-1").json().value("state", ""), "installed");
  // The CA is the same one (agents pinned its fingerprint).
  auto ca = [](const std::string& s) {
    auto at = s.find("drover.ca=");
    return s.substr(at, s.find(' ', at) - at);
  };
  EXPECT_EQ(ca(script(kMac2)), ca(ca_before));
}

TEST_F(ServeTest, HeartbeatsShowAsLastSeen) {
  const auto cred = install(kMac1);
  auto before = op("GET", "/v1/nodes").json();
  for (const auto& n : before) EXPECT_EQ(n.value("last_seen", std::int64_t{-1}), 0) << n.dump();
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(apiCall("POST", "/v1/agent/heartbeat", cred, "{}").status, 200);
  std::int64_t seen = 0;
  for (const auto& n : op("GET", "/v1/nodes").json()) {
    if (n["name"] == "node-1")
      seen = n.value("last_seen", std::int64_t{0});
    else
      EXPECT_EQ(n.value("last_seen", std::int64_t{-1}), 0);
  }
  EXPECT_GT(seen, 0);
  EXPECT_EQ(op("GET", "/v1/nodes/node-1").json().value("last_seen", std::int64_t{0}), seen);
  // Only the first heartbeat after a gap lands in the timeline.
  int entries = 0;
  for (const auto& e : op("GET", "/v1/nodes/node-1/events").json())
    entries += e["phase"] == "heartbeat";
  EXPECT_EQ(entries, 1);
}

TEST_F(ServeTest, MetricsCountRequestsAndNodesByState) {
  install(kMac1);
  (void)credentialFor(kMac2);
  auto m = get("/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_THAT(m.body, HasSubstr("drover_http_requests_total{"));
  EXPECT_THAT(m.body, HasSubstr("listener=\"api\""));
  EXPECT_THAT(m.body, HasSubstr("listener=\"http\""));
  EXPECT_THAT(m.body, HasSubstr("drover_nodes{state=\"installed\"} 1\n"));
  EXPECT_THAT(m.body, HasSubstr("drover_nodes{state=\"discovered\"} 1\n"));
  EXPECT_THAT(m.body, HasSubstr("drover_nodes{state=\"failed\"} 0\n"));
  EXPECT_THAT(m.body, HasSubstr("drover_nodes_declared 2\n"));
  // A failure counts too.
  (void)apiCall("GET", "/v1/nodes", "wrong");
  EXPECT_THAT(get("/metrics").body,
              HasSubstr("drover_api_auth_failures_total{reason=\"invalid\"}"));
  EXPECT_EQ(get("/healthz").status, 200);
}

}  // namespace
}  // namespace drover::server::testing

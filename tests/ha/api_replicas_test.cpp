// Three `drover serve` replicas (the real binary, no DHCP or TFTP, listeners on 127.0.0.1
// port 0) on one etcd:
// - the install script r0 serves names r0's API, then r1's and r2's, on the kernel command
//   line (`drover explain` lists the same replicas); after r0 is killed (-9), the agent's
//   own client, given that command line, exchanges the boot token and reports through r1;
// - a dashboard event stream on r0 shows a node change made through r1 (an agent's report
//   and a reinstall request), each change once, and so does r1's own stream.
// Skipped without etcd or curl; under CI a missing tool fails instead.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "agent/api_client.hpp"
#include "agent/cmdline.hpp"
#include "agent/reporter.hpp"
#include "ha/membership.hpp"
#include "images/fetch/fetcher.hpp"
#include "tests/ha/etcd_fixture.hpp"
#include "tests/ha/replica_process.hpp"
#include "tests/support/cluster_yaml.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::ha {
namespace {

using dhcp::test::Process;
using dhcp::test::readFile;
using dhcp::test::sh;
using dhcp::test::waitFor;
using Clock = std::chrono::steady_clock;

constexpr int kReplicas = 3;
const std::string kMac = "52:54:00:12:34:56";  // node-1 of the test declaration

std::string lineStarting(const std::string& text, std::string_view start) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(start)) return line;
  return {};
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

long long msSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

class ReplicaApis : public ::testing::Test {
 protected:
  void SetUp() override {
    if (sh("command -v curl") != 0) {
      if (std::getenv("CI") != nullptr) FAIL() << "needs curl";
      GTEST_SKIP() << "needs curl";
    }
    DROVER_REQUIRE_SHARED_ETCD();
    drover_ = dhcp::test::binaryDir() + "/bin/drover";
    ASSERT_TRUE(std::filesystem::exists(drover_)) << drover_ << " is not built";
    prefix_ = test::SharedEtcd::prefix();
    drover::test::ClusterYaml y;
    y.state = fmt::format("{{ backend: etcd, endpoints: [\"{}\"], prefix: {}, replica_ttl: 2s }}",
                          test::SharedEtcd::get()->endpoint, prefix_);
    drover::test::writeSiteFiles(dir_.path(), "kernel");
    drover::test::writeFile(dir_ / "cluster.yaml", y.str());
    for (int i = 0; i < kReplicas; ++i) ASSERT_NO_FATAL_FAILURE(start(i));
    // Each replica has seen the others join.
    for (int i = 0; i < kReplicas; ++i)
      ASSERT_TRUE(waitFor(
          [&] {
            auto m = get(i, "/metrics");
            return m.ok() && m->find("drover_ha_replicas_live 3") != std::string::npos;
          },
          std::chrono::seconds(30)))
          << logs();
  }

  void start(int i) {
    ReplicaInfo info;
    ASSERT_NO_FATAL_FAILURE(test::startReplica(drover_, dir_.path(), prefix_,
                                               "r" + std::to_string(i), replicas_[i], info));
    api_[i] = info.api_url;
    http_[i] = info.http_url;
  }

  void TearDown() override {
    for (auto& r : replicas_)
      if (r) {
        r->signal(SIGTERM);
        r->wait();
      }
  }

  Result<std::string> get(int i, const std::string& path) {
    return images::fetch::fetchSmall(http_[i] + path, "", 1 << 20);
  }

  // The boot environment's parameters from the install script replica i serves node-1.
  agent::BootParams installParams(int i) {
    auto script = get(i, "/boot.ipxe?mac=" + kMac + "&uuid=&arch=x86_64&platform=pcbios");
    EXPECT_TRUE(script.ok()) << (script.ok() ? "" : script.error().message);
    if (!script.ok()) return {};
    const auto kernel = lineStarting(*script, "kernel ");
    auto params = agent::parseKernelCmdline(kernel);
    EXPECT_TRUE(params.ok()) << *script;
    return params.ok() ? *params : agent::BootParams{};
  }

  agent::ApiOptions quickRetries() const {
    agent::ApiOptions o;
    o.max_attempts = 4;
    o.backoff_initial = std::chrono::milliseconds(100);
    o.backoff_max = std::chrono::milliseconds(200);
    o.timeout_s = 10;
    return o;
  }

  std::string operatorToken() {
    auto t = readFile((dir_ / "r0" / "operator.token").string());
    return t.substr(0, t.find('\n'));
  }

  std::string logs() {
    std::string all;
    for (int i = 0; i < kReplicas; ++i)
      all += "--- r" + std::to_string(i) + " ---\n" +
             readFile((dir_ / ("r" + std::to_string(i) + ".log")).string());
    return all;
  }

  drover::test::TempDir dir_{"drover-ha-api"};
  std::string drover_, prefix_;
  std::unique_ptr<Process> replicas_[kReplicas];
  std::string api_[kReplicas], http_[kReplicas];
};

TEST_F(ReplicaApis, AnInstallerWhoseReplicaDiesGoesOnThroughTheNextOne) {
  const auto params = installParams(0);
  ASSERT_FALSE(params.token.empty());
  EXPECT_EQ(params.api, api_[0]);
  EXPECT_EQ(params.api_alternates, (std::vector<std::string>{api_[1], api_[2]}));

  // `drover explain` reads the live replicas from etcd.
  const auto explained = dir_ / "explain.txt";
  sh(fmt::format("({} explain {} --mac {} --ipxe > {} 2>&1)", drover_,
                 (dir_ / "cluster.yaml").string(), kMac, explained.string()));
  const auto text = readFile(explained.string());
  std::printf("drover explain: %s\n", lineStarting(text, "replicas").c_str());
  for (int i = 0; i < kReplicas; ++i)
    EXPECT_NE(text.find(fmt::format("r{} {}", i, api_[i])), std::string::npos) << text;

  replicas_[0]->signal(SIGKILL);
  replicas_[0]->wait();
  agent::ApiClient api(agent::apiOptionsFor(quickRetries(), params));
  const auto killed = Clock::now();
  auto exchanged = api.exchange(params.token);
  ASSERT_TRUE(exchanged.ok()) << exchanged.error().message << "\n" << logs();
  std::printf(
      "with r0 killed, the agent's token exchange went through another replica in %lld ms\n",
      msSince(killed));
  EXPECT_EQ(exchanged->node, "node-1");
  auto reported = api.event("image_progress", "reported after r0 died");
  EXPECT_TRUE(reported.ok()) << reported.error().message;

  const auto events = dir_ / "events.json";
  sh(fmt::format("curl -sk -m 10 -o {} -H 'Authorization: Bearer {}' {}/v1/nodes/node-1/events",
                 events.string(), operatorToken(), api_[1]));
  EXPECT_NE(readFile(events.string()).find("reported after r0 died"), std::string::npos)
      << readFile(events.string());
}

TEST_F(ReplicaApis, APageOnOneReplicaSeesAChangeMadeThroughAnother) {
  // A page on r0 and one on r1, the replica the change goes through.
  std::unique_ptr<Process> streams[2];
  std::string files[2];
  for (int i = 0; i < 2; ++i) {
    files[i] = (dir_ / ("stream" + std::to_string(i) + ".txt")).string();
    streams[i] = std::make_unique<Process>(
        std::vector<std::string>{"curl", "-sk", "-N", "-m", "60", "-H",
                                 "Authorization: Bearer " + operatorToken(),
                                 api_[i] + "/v1/ui/events"},
        files[i]);
  }
  for (const auto& f : files)
    ASSERT_TRUE(waitFor([&] { return readFile(f).find("event: hello") != std::string::npos; },
                        std::chrono::seconds(20)))
        << readFile(f);

  // Through r1: the agent exchanges its token (the node's record is made) and reports, then
  // the operator asks for a reinstall.
  auto params = installParams(1);
  ASSERT_FALSE(params.token.empty());
  params.api_alternates.clear();
  EXPECT_EQ(params.api, api_[1]);
  agent::ApiClient api(agent::apiOptionsFor(quickRetries(), params));
  ASSERT_TRUE(api.exchange(params.token).ok()) << logs();
  const auto changed = Clock::now();
  ASSERT_TRUE(api.event("image_progress", "progress-through-r1").ok());
  ASSERT_EQ(sh(fmt::format("curl -sfk -m 10 -X POST -H 'Authorization: Bearer {}' "
                           "{}/v1/nodes/node-1/reinstall",
                           operatorToken(), api_[1])),
            0);

  ASSERT_TRUE(waitFor(
      [&] {
        const auto t = readFile(files[0]);
        return t.find("progress-through-r1") != std::string::npos &&
               t.find("+reinstall") != std::string::npos;
      },
      std::chrono::seconds(20)))
      << readFile(files[0]) << logs();
  std::printf("r0's page showed r1's change after %lld ms (coalescing every 300 ms)\n",
              msSince(changed));
  // A few more coalescing periods, for a second copy to show up if one were sent.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  for (int i = 0; i < 2; ++i) {
    const auto t = readFile(files[i]);
    EXPECT_EQ(occurrences(t, "progress-through-r1"), 1u) << "page on r" << i << ":\n" << t;
    EXPECT_EQ(occurrences(t, "+reinstall\""), 1u) << "page on r" << i << ":\n" << t;
  }
  auto m = get(0, "/metrics");
  ASSERT_TRUE(m.ok());
  EXPECT_NE(m->find("drover_ui_live_remote_changes_total"), std::string::npos);
  EXPECT_EQ(m->find("drover_ui_live_remote_changes_total 0\n"), std::string::npos) << *m;
  for (auto& s : streams) s->signal(SIGTERM);
  for (auto& s : streams) s->wait();
}

}  // namespace
}  // namespace drover::ha

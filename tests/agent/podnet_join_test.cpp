// Join mode with a pod_network step, against the fake server and a real etcd (commands
// recorded by a fake exec): the step leases the subnet and writes the CNI file at the join,
// the heartbeats bring the routes in line with the other nodes' leases, and the next boot
// sets the device and routes up again with the same subnet.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/installed_root.hpp"
#include "agent/join.hpp"
#include "agent/seed.hpp"
#include "tests/agent/join_fixture.hpp"
#include "tests/agent/test_server.hpp"
#include "tests/support/etcd_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::agent {
namespace {

using nlohmann::json;
using ::testing::Contains;
using ::testing::Not;

class PodNetJoin : public ::testing::Test {
 protected:
  void SetUp() override {
    DROVER_REQUIRE_ETCD();
    ASSERT_TRUE(etcd_.start()) << etcd_.log();
    ASSERT_TRUE(server_.ok());
    json step = {{"name", "join the pod network"},
                 {"pod_network",
                  {{"endpoints", etcd_.endpoint},
                   {"prefix", "/test/pod-network"},
                   {"cidr", "198.18.0.0/16"},
                   {"subnet_length", "24"},
                   {"backend", "vxlan"},
                   {"lease_ttl", "300"},
                   {"node", "${DROVER_NODE}"},
                   {"ip", "192.0.2.11"}}}};
    server_.setRoutes({
        {"GET /v1/agent/join",
         {{{"json", {{"runtime", "containerd"}, {"recipe", "etcd-proxy"}, {"steps", {step}}}}}}},
        {"POST /v1/agent/events", {{{"json", json::object()}}}},
        {"POST /v1/agent/heartbeat", {{{"json", json::object()}}}},
    });
    ASSERT_TRUE(joinAgainstTestServer(server_, tmp_.path(), "cred-p", "node-1", opt_));
    opt_.pod_network.attempts = 3;
    opt_.pod_network.retry_delay = std::chrono::milliseconds(100);
    opt_.pod_network.cni_dir = tmp_.path() / "net.d";
    opt_.pod_network.ip_forward = tmp_.path() / "ip_forward";
    opt_.exec = [this](const ExecRequest& r) -> Result<int> {
      std::string line;
      for (const auto& a : r.argv) line += (line.empty() ? "" : " ") + a;
      calls_.push_back(line);
      return 0;
    };
  }

  int events(const std::string& phase) {
    int n = 0;
    for (const auto& r : server_.requests())
      if (r["path"] == "/v1/agent/events" &&
          json::parse(r["body"].get<std::string>())["phase"] == phase)
        ++n;
    return n;
  }

  ::drover::test::EtcdServer etcd_;
  ::drover::test::TempDir tmp_;
  test::TestServer server_;
  JoinOptions opt_;
  std::vector<std::string> calls_;
};

TEST_F(PodNetJoin, LeasesAtTheJoinFollowsPeersOnHeartbeatsAndSetsUpAgainOnTheNextBoot) {
  auto st = runJoin(opt_);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(events("joined"), 1);
  EXPECT_EQ(events("pod_network"), 1);
  const auto conflist = ::drover::test::readFile(tmp_.path() / "net.d" / "10-drover.conflist");
  ASSERT_FALSE(conflist.empty());
  const std::string subnet = json::parse(conflist)["plugins"][0]["ipam"]["ranges"][0][0]["subnet"];
  EXPECT_THAT(calls_, Contains(::testing::StartsWith("ip link add drover-vxlan")));
  EXPECT_THAT(calls_, Not(Contains(::testing::StartsWith("ip route replace"))));

  // Another node leases while this one runs; the next boot's heartbeats route to it.
  auto client = etcd::Client::create({etcd_.endpoint});
  ASSERT_TRUE(client.ok());
  SubnetLease other;
  other.subnet = *Cidr::parse("198.18.200.0/24");
  other.node = "node-2";
  other.ip = *Ipv4Address::parse("198.51.100.12");
  other.vtep_mac = vtepMac("node-2");
  other.backend = "vxlan";
  ASSERT_TRUE(client->put(leaseKey("/test/pod-network", other.subnet), encodeLease(other)).ok());

  calls_.clear();
  st = runJoin(opt_);  // next boot
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(events("joined"), 1);  // not joined twice
  EXPECT_EQ(events("pod_network"), 2);
  EXPECT_THAT(calls_, Contains(::testing::StartsWith("ip link add drover-vxlan")));
  EXPECT_THAT(calls_, Contains("ip route replace 198.18.200.0/24 via 198.18.200.0 dev "
                               "drover-vxlan onlink"));
  EXPECT_EQ(json::parse(::drover::test::readFile(
                tmp_.path() / "net.d" /
                "10-drover.conflist"))["plugins"][0]["ipam"]["ranges"][0][0]["subnet"],
            subnet);  // the same subnet again
}

}  // namespace
}  // namespace drover::agent

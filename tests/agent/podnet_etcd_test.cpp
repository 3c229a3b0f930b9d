// The pod network against a real etcd (Debian's etcd-server on loopback): nodes leasing at
// once get distinct subnets until the range is full, a node leasing again gets its own
// subnet back, and each node's routes follow the others' leases as they come and go (the
// ip/bridge commands recorded by a stand-in runner, the CNI file written to a folder).
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/podnet.hpp"
#include "tests/support/etcd_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::agent {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;

class PodNetEtcd : public ::testing::Test {
 protected:
  void SetUp() override {
    DROVER_REQUIRE_ETCD();
    ASSERT_TRUE(etcd_.start()) << etcd_.log();
  }
  PodNetSpec spec(const std::string& node, const std::string& ip,
                  const char* cidr = "198.18.0.0/21") {
    PodNetSpec s;
    s.endpoints = {etcd_.endpoint};
    s.prefix = "/test/pod-network";
    s.cidr = *Cidr::parse(cidr);
    s.subnet_length = 24;
    s.backend = PodBackend::Vxlan;
    s.lease_ttl = std::chrono::seconds(120);
    s.node = node;
    s.ip = *Ipv4Address::parse(ip);
    return s;
  }
  etcd::Client client() {
    auto c = etcd::Client::create({etcd_.endpoint});
    return std::move(*c);
  }
  Result<SubnetLease> acquire(const PodNetSpec& s) {
    auto c = client();
    auto id = c.grantLease(s.lease_ttl.count());
    if (!id) return id.error();
    return acquireSubnet(c, s, *id);
  }

  test::EtcdServer etcd_;
};

TEST_F(PodNetEtcd, NodesLeasingAtOnceGetDistinctSubnetsUntilTheRangeIsFull) {
  constexpr int kNodes = 8;  // as many as /24s in the /21
  std::vector<Result<SubnetLease>> got(kNodes, makeError("none", ""));
  const auto t0 = std::chrono::steady_clock::now();
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kNodes; ++i)
      threads.emplace_back([&, i] {
        got[i] = acquire(spec("n" + std::to_string(i), "192.0.2." + std::to_string(10 + i)));
      });
    for (auto& t : threads) t.join();
  }
  std::printf("%d nodes leased at once in %lld ms\n", kNodes,
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - t0)
                                         .count()));
  std::set<Cidr> subnets;
  for (int i = 0; i < kNodes; ++i) {
    ASSERT_TRUE(got[i].ok()) << i << ": " << got[i].error().message;
    EXPECT_EQ(got[i]->node, "n" + std::to_string(i));
    subnets.insert(got[i]->subnet);
  }
  EXPECT_EQ(subnets.size(), static_cast<std::size_t>(kNodes));

  auto c = client();
  auto leases = readLeases(c, "/test/pod-network");
  ASSERT_TRUE(leases.ok());
  EXPECT_EQ(leases->size(), static_cast<std::size_t>(kNodes));

  // Full: a ninth node gets a clear error; a node of the eight gets its own subnet again.
  auto full = acquire(spec("n8", "192.0.2.30"));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, "pod_network_full");
  auto again = acquire(spec("n3", "192.0.2.13"));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->subnet, got[3]->subnet);
  // Reinstalled with another address: the same subnet, the lease names the new address.
  again = acquire(spec("n3", "192.0.2.99"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->subnet, got[3]->subnet);
  auto kv = c.get(leaseKey("/test/pod-network", got[3]->subnet));
  ASSERT_TRUE(kv.ok() && kv->has_value());
  EXPECT_NE((*kv)->value.find("192.0.2.99"), std::string::npos);
}

// A stand-in for ip and bridge: records each command line.
struct Recorder {
  std::mutex m;
  std::vector<std::string> lines;
  ExecFn fn() {
    return [this](const ExecRequest& r) -> Result<int> {
      std::string line;
      for (const auto& a : r.argv) line += (line.empty() ? "" : " ") + a;
      std::lock_guard lock(m);
      lines.push_back(line);
      return 0;
    };
  }
  std::vector<std::string> take() {
    std::lock_guard lock(m);
    return std::exchange(lines, {});
  }
};

TEST_F(PodNetEtcd, RoutesFollowTheOtherNodesLeases) {
  test::TempDir dir("drover-podnet");
  auto options = [&](const std::string& node) {
    PodNetOptions o;
    o.attempts = 3;
    o.retry_delay = std::chrono::milliseconds(100);
    o.cni_dir = dir / node / "net.d";
    o.ip_forward = dir / node / "ip_forward";
    std::filesystem::create_directories(dir / node);
    return o;
  };
  Recorder r1, r2;
  PodNetwork n1(options("n1"), r1.fn()), n2(options("n2"), r2.fn());
  ASSERT_TRUE(n1.start(spec("n1", "192.0.2.11")).ok());
  const auto s1 = n1.own()->subnet;
  EXPECT_EQ(test::readFile(dir / "n1" / "ip_forward"), "1\n");
  EXPECT_NE(test::readFile(dir / "n1" / "net.d" / "10-drover.conflist").find(s1.str()),
            std::string::npos);
  auto lines = r1.take();
  ASSERT_EQ(lines.size(), 4u);  // the device; no other node yet
  EXPECT_EQ(lines[1].rfind("ip link add drover-vxlan address " + vtepMac("n1"), 0), 0u);

  ASSERT_TRUE(n2.start(spec("n2", "198.51.100.12")).ok());
  const auto s2 = n2.own()->subnet;
  EXPECT_NE(s1, s2);
  const std::string n1net = s1.network().str(), n2net = s2.network().str();
  EXPECT_THAT(r2.take(), Contains("ip route replace " + s1.str() + " via " + n1net +
                                  " dev drover-vxlan onlink"));

  // n1 sees n2 on its next heartbeat, and nothing more on the one after.
  ASSERT_TRUE(n1.refresh().ok());
  EXPECT_THAT(r1.take(), ElementsAre("bridge fdb replace " + vtepMac("n2") +
                                         " dev drover-vxlan dst 198.51.100.12 self permanent",
                                     "ip neigh replace " + n2net + " lladdr " + vtepMac("n2") +
                                         " dev drover-vxlan nud permanent",
                                     "ip route replace " + s2.str() + " via " + n2net +
                                         " dev drover-vxlan onlink"));
  ASSERT_TRUE(n1.refresh().ok());
  EXPECT_TRUE(r1.take().empty());

  // n2 goes (its lease deleted, as when it expires): n1 drops its routes.
  auto c = client();
  ASSERT_TRUE(c.erase(leaseKey("/test/pod-network", s2)).ok());
  ASSERT_TRUE(n1.refresh().ok());
  EXPECT_THAT(
      r1.take(),
      ElementsAre("ip route del " + s2.str(), "ip neigh del " + n2net + " dev drover-vxlan",
                  "bridge fdb del " + vtepMac("n2") + " dev drover-vxlan dst 198.51.100.12"));

  // n2 starts again (as after a reboot): it leases a subnet again and n1 routes to it.
  ASSERT_TRUE(n2.start(spec("n2", "198.51.100.12")).ok());
  ASSERT_TRUE(n1.refresh().ok());
  EXPECT_EQ(n1.routes().size(), 1u);

  // n1's etcd lease expires (revoked here): the next heartbeat leases again.
  auto leases = readLeases(c, "/test/pod-network");
  ASSERT_TRUE(leases.ok());
  for (const auto& l : *leases) {
    if (l.node != "n1") continue;
    auto kv = c.get(leaseKey("/test/pod-network", l.subnet));
    ASSERT_TRUE(kv.ok() && kv->has_value());
    ASSERT_TRUE(c.revokeLease((*kv)->lease).ok());
  }
  ASSERT_TRUE(n1.refresh().ok());
  leases = readLeases(c, "/test/pod-network");
  ASSERT_TRUE(leases.ok());
  std::set<std::string> nodes;
  for (const auto& l : *leases) nodes.insert(l.node);
  EXPECT_THAT(nodes, ElementsAre("n1", "n2"));
}

TEST_F(PodNetEtcd, AnUnreachableEtcdIsAClearErrorAfterBoundedAttempts) {
  PodNetOptions o;
  o.attempts = 2;
  o.retry_delay = std::chrono::milliseconds(50);
  o.client.connect_timeout_s = 1;
  test::TempDir dir("drover-podnet");
  o.cni_dir = dir / "net.d";
  o.ip_forward = dir / "ip_forward";
  Recorder r;
  PodNetwork n(o, r.fn());
  auto s = spec("n1", "192.0.2.11");
  s.endpoints = {test::loopbackUrl(test::closedPort())};
  auto st = n.start(s);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "pod_network");
  EXPECT_FALSE(n.started());
  EXPECT_TRUE(r.take().empty());
}

}  // namespace
}  // namespace drover::agent

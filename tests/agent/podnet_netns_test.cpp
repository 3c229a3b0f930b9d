// The pod network for real, without machines: two nodes as network namespaces on two
// segments joined by a router (192.0.2.0/24 and 198.51.100.0/24), each leasing its subnet in
// a real etcd and running the agent's own ip/bridge commands in its namespace (vxlan), a
// pod on each (a namespace wired by Debian's CNI bridge and host-local plugins from the
// conflist the agent wrote). A pod reaches the other node's pod by its pod address, in both
// directions; when a node's lease goes, the other drops its route and the pod is
// unreachable. Root, iproute2, etcd-server and containernetworking-plugins; skipped without
// them, failed without them when CI is set.
#include <chrono>
#include <cstdio>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "agent/podnet.hpp"
#include "tests/support/etcd_server.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::agent {
namespace {

using dhcp::test::link;
using dhcp::test::Netns;
using dhcp::test::sh;
using nlohmann::json;

constexpr const char* kCniDir = "/usr/lib/cni";

class PodNetNetns : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string missing;
    if (::geteuid() != 0) missing = "root";
    for (const char* tool : {"ip", "bridge", "ping", "sysctl"})
      if (sh(std::string("command -v ") + tool) != 0) missing = tool;
    for (const char* p : {"bridge", "host-local"})
      if (!dhcp::test::haveTool(std::string(kCniDir) + "/" + p))
        missing = std::string(kCniDir) + "/" + p + " (containernetworking-plugins)";
    if (!missing.empty()) {
      if (std::getenv("CI") != nullptr) FAIL() << missing << " missing (scripts/packages/test.txt)";
      GTEST_SKIP() << missing << " missing (scripts/packages/test.txt)";
    }
    DROVER_REQUIRE_ETCD();
    ASSERT_TRUE(etcd_.start()) << etcd_.log();
  }

  test::EtcdServer etcd_;
};

// One node: its namespace, its agent side (PodNetwork running ip/bridge in the namespace)
// and one pod wired by the CNI plugins.
struct Node {
  std::string name;
  std::string ip;
  Netns ns;
  Netns pod;
  test::TempDir dir{"drover-podnet-node"};
  PodNetwork net;
  std::string pod_ip;

  Node(const std::string& node, const std::string& address, const std::string& tag)
      : name(node),
        ip(address),
        ns("pn" + node + tag),
        pod("pp" + node + tag),
        net(options(), exec(ns.name())) {}

  PodNetOptions options() {
    PodNetOptions o;
    o.attempts = 3;
    o.retry_delay = std::chrono::milliseconds(200);
    o.cni_dir = dir / "net.d";
    o.ip_forward = dir / "ip_forward";  // the namespace's own is set by the test
    return o;
  }
  static ExecFn exec(const std::string& ns) {
    return [ns](const ExecRequest& r) -> Result<int> {
      std::string cmd = "ip netns exec " + ns;
      for (const auto& a : r.argv) cmd += " '" + a + "'";
      return sh(cmd);
    };
  }

  // CNI ADD of the conflist's bridge plugin for the pod, as a runtime would; the pod's
  // address from the plugin's answer.
  bool addPod() {
    auto list = json::parse(test::readFile(dir / "net.d" / "10-drover.conflist"));
    json conf = list["plugins"][0];
    conf["name"] = list["name"];
    conf["cniVersion"] = list["cniVersion"];
    conf["ipam"]["dataDir"] = (dir / "ipam").string();
    test::writeFile(dir / "bridge.json", conf.dump());
    const std::string cmd =
        "ip netns exec " + ns.name() + " env CNI_COMMAND=ADD CNI_CONTAINERID=pod-" + name +
        " CNI_NETNS=/var/run/netns/" + pod.name() + " CNI_IFNAME=eth0 CNI_PATH=" + kCniDir + " " +
        kCniDir + "/bridge < " + (dir / "bridge.json").string() + " > " +
        (dir / "result.json").string() + " 2>&1";
    const int rc = std::system(cmd.c_str());
    auto result = json::parse(test::readFile(dir / "result.json"), nullptr, false);
    if (rc != 0 || !result.contains("ips")) {
      ADD_FAILURE() << "CNI ADD: " << test::readFile(dir / "result.json");
      return false;
    }
    const std::string address = result["ips"][0]["address"];
    pod_ip = address.substr(0, address.find('/'));
    return true;
  }
};

bool reaches(const Node& from, const Node& to) {
  return from.pod.run("ping -c 1 -W 2 " + to.pod_ip) == 0;
}

TEST_F(PodNetNetns, PodsOnNodesBehindARouterReachEachOtherOverVxlan) {
  const std::string tag = dhcp::test::uniqueTag(0);
  Netns router("pnr" + tag);
  Node a("a", "192.0.2.11", tag), b("b", "198.51.100.12", tag);
  ASSERT_TRUE(router.ok() && a.ns.ok() && b.ns.ok() && a.pod.ok() && b.pod.ok());
  // Segment A: 192.0.2.0/24, segment B: 198.51.100.0/24, the router between them.
  ASSERT_TRUE(link(a.ns, "na" + tag, router, "ra" + tag));
  ASSERT_TRUE(link(b.ns, "nb" + tag, router, "rb" + tag));
  ASSERT_EQ(router.run("ip addr add 192.0.2.254/24 dev ra" + tag), 0);
  ASSERT_EQ(router.run("ip addr add 198.51.100.1/24 dev rb" + tag), 0);
  ASSERT_EQ(router.run("sysctl -qw net.ipv4.ip_forward=1"), 0);
  ASSERT_EQ(a.ns.run("ip addr add 192.0.2.11/24 dev na" + tag), 0);
  ASSERT_EQ(a.ns.run("ip route add default via 192.0.2.254"), 0);
  ASSERT_EQ(b.ns.run("ip addr add 198.51.100.12/24 dev nb" + tag), 0);
  ASSERT_EQ(b.ns.run("ip route add default via 198.51.100.1"), 0);
  for (Node* n : {&a, &b}) ASSERT_EQ(n->ns.run("sysctl -qw net.ipv4.ip_forward=1"), 0);

  auto spec = [&](const Node& n) {
    PodNetSpec s;
    s.endpoints = {etcd_.endpoint};
    s.prefix = "/test/pod-network";
    s.cidr = *Cidr::parse("198.18.0.0/16");
    s.subnet_length = 24;
    s.backend = PodBackend::Vxlan;
    s.lease_ttl = std::chrono::seconds(300);
    s.node = n.name;
    s.ip = *Ipv4Address::parse(n.ip);
    return s;
  };
  const auto t0 = std::chrono::steady_clock::now();
  auto st = a.net.start(spec(a));
  ASSERT_TRUE(st.ok()) << st.error().message;
  st = b.net.start(spec(b));
  ASSERT_TRUE(st.ok()) << st.error().message;
  st = a.net.refresh();  // a's heartbeat: b is there now
  ASSERT_TRUE(st.ok()) << st.error().message;
  ASSERT_TRUE(a.addPod());
  ASSERT_TRUE(b.addPod());
  EXPECT_TRUE(a.net.own()->subnet.contains(*Ipv4Address::parse(a.pod_ip)));
  EXPECT_TRUE(b.net.own()->subnet.contains(*Ipv4Address::parse(b.pod_ip)));
  std::printf("leases, devices, routes and two pods set up in %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - t0)
                                         .count()));

  EXPECT_TRUE(reaches(a, b)) << "pod " << a.pod_ip << " -> pod " << b.pod_ip;
  EXPECT_TRUE(reaches(b, a)) << "pod " << b.pod_ip << " -> pod " << a.pod_ip;

  // b's lease goes: a's next heartbeat removes its route, and b's pod is out of reach.
  auto client = etcd::Client::create({etcd_.endpoint});
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(client->erase(leaseKey("/test/pod-network", b.net.own()->subnet)).ok());
  ASSERT_TRUE(a.net.refresh().ok());
  EXPECT_TRUE(a.net.routes().empty());
  EXPECT_NE(a.ns.run("ip route get " + b.pod_ip + " | grep -q drover-vxlan"), 0);
  EXPECT_FALSE(reaches(a, b));
}

}  // namespace
}  // namespace drover::agent

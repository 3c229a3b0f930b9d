// The pod network's pure parts: the step's values, subnets, lease keys and values (hostile
// ones refused), the VTEP MAC, the CNI configuration, and the ip/bridge commands per backend.
#include "agent/podnet.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace drover::agent {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::map<std::string, std::string> stepArgs() {
  return {{"endpoints", "http://192.0.2.11:2379,http://192.0.2.12:2379"},
          {"prefix", "/drover/pod-network"},
          {"cidr", "198.18.0.0/16"},
          {"subnet_length", "24"},
          {"backend", "vxlan"},
          {"lease_ttl", "600"},
          {"node", "n1"},
          {"ip", "192.0.2.11"}};
}

Cidr cidr(const char* text) {
  return *Cidr::parse(text);
}

SubnetLease lease(const char* subnet, const char* node, const char* ip, const char* mac) {
  SubnetLease l;
  l.subnet = cidr(subnet);
  l.node = node;
  l.ip = *Ipv4Address::parse(ip);
  l.vtep_mac = mac;
  l.backend = "vxlan";
  return l;
}

TEST(PodNetSpec, ParsesTheStepsValues) {
  auto spec = parsePodNetSpec(stepArgs());
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_THAT(spec->endpoints, ElementsAre("http://192.0.2.11:2379", "http://192.0.2.12:2379"));
  EXPECT_EQ(spec->cidr.str(), "198.18.0.0/16");
  EXPECT_EQ(spec->subnet_length, 24);
  EXPECT_EQ(spec->backend, PodBackend::Vxlan);
  EXPECT_EQ(spec->lease_ttl, std::chrono::seconds(600));
  EXPECT_EQ(spec->ip.str(), "192.0.2.11");
}

TEST(PodNetSpec, RefusesBadValues) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"endpoints", ""},
      {"prefix", "drover"},
      {"prefix", "/drover/"},
      {"cidr", "198.18.0.0"},
      {"subnet_length", "16"},
      {"subnet_length", "29"},
      {"subnet_length", "x24"},
      {"backend", "udp"},
      {"lease_ttl", "0"},
      {"lease_ttl", "-5"},
      {"node", ""},
      {"ip", "192.0.2"},
  };
  for (const auto& [key, value] : bad) {
    auto args = stepArgs();
    args[key] = value;
    auto spec = parsePodNetSpec(args);
    ASSERT_FALSE(spec.ok()) << key << "=" << value;
    EXPECT_EQ(spec.error().code, "bad_recipe");
  }
  auto args = stepArgs();
  args.erase("subnet_length");
  EXPECT_FALSE(parsePodNetSpec(args).ok());
}

TEST(PodNetSubnets, CountAndIndex) {
  EXPECT_EQ(subnetCount(cidr("198.18.0.0/16"), 24), 256u);
  EXPECT_EQ(subnetCount(cidr("198.18.0.0/15"), 28), 8192u);
  EXPECT_EQ(subnetAt(cidr("198.18.0.0/16"), 24, 0).str(), "198.18.0.0/24");
  EXPECT_EQ(subnetAt(cidr("198.18.0.0/16"), 24, 255).str(), "198.18.255.0/24");
  EXPECT_EQ(subnetAt(cidr("198.18.0.0/15"), 26, 1027).str(), "198.19.0.192/26");
}

TEST(PodNetLeases, KeyAndValueRoundTrip) {
  auto l = lease("198.18.3.0/24", "n2", "198.51.100.12", "02:11:22:33:44:55");
  const auto key = leaseKey("/drover/pod-network", l.subnet);
  EXPECT_EQ(key, "/drover/pod-network/subnets/198.18.3.0-24");
  auto value = json::parse(encodeLease(l));
  EXPECT_EQ(value, json({{"node", "n2"},
                         {"ip", "198.51.100.12"},
                         {"vtep_mac", "02:11:22:33:44:55"},
                         {"backend", "vxlan"}}));
  auto back = decodeLease("/drover/pod-network", key, encodeLease(l));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, l);
}

TEST(PodNetLeases, HostileValuesAreRefused) {
  const std::string p = "/drover/pod-network";
  const std::string key = p + "/subnets/198.18.3.0-24";
  const std::string good = R"({"node":"n","ip":"192.0.2.5","vtep_mac":"02:00:00:00:00:01"})";
  EXPECT_TRUE(decodeLease(p, key, good).ok());
  for (const std::string& value :
       {std::string("not json"), std::string("[]"), std::string(R"({"ip":"192.0.2.5"})"),
        std::string(R"({"node":"n","ip":"192.0.2.5; reboot"})"),
        std::string(R"({"node":"n","ip":"192.0.2.5","vtep_mac":"-rf"})"),
        std::string(R"({"node":7,"ip":"192.0.2.5"})")})
    EXPECT_EQ(decodeLease(p, key, value).error().code, "bad_lease") << value;
  for (const std::string& k : {p + "/subnets/198.18.3.0", p + "/subnets/198.18.3.1-24",
                               p + "/subnets/x-24", std::string("/other/subnets/198.18.3.0-24")})
    EXPECT_EQ(decodeLease(p, k, good).error().code, "bad_lease") << k;
}

TEST(PodNetVtep, MacIsStableLocalAndPerNode) {
  EXPECT_EQ(vtepMac("n1"), vtepMac("n1"));
  EXPECT_NE(vtepMac("n1"), vtepMac("n2"));
  auto mac = MacAddress::parse(vtepMac("n1"));
  ASSERT_TRUE(mac.ok());
  EXPECT_EQ(mac->octets()[0] & 0x03, 0x02);  // locally administered unicast
}

TEST(PodNetConflist, BridgeWithHostLocalOverTheNodesSubnet) {
  auto spec = *parsePodNetSpec(stepArgs());
  auto j = json::parse(renderConflist(spec, cidr("198.18.7.0/24")));
  EXPECT_EQ(j["name"], "drover");
  EXPECT_EQ(j["cniVersion"], "0.4.0");
  ASSERT_EQ(j["plugins"].size(), 1u);
  const auto& bridge = j["plugins"][0];
  EXPECT_EQ(bridge["type"], "bridge");
  EXPECT_EQ(bridge["bridge"], kPodBridge);
  EXPECT_EQ(bridge["isGateway"], true);
  EXPECT_EQ(bridge["mtu"], 1450);  // room for the VXLAN header
  EXPECT_EQ(bridge["ipam"]["type"], "host-local");
  EXPECT_EQ(bridge["ipam"]["ranges"][0][0]["subnet"], "198.18.7.0/24");
  EXPECT_EQ(bridge["ipam"]["ranges"][0][0]["gateway"], "198.18.7.1");
  EXPECT_EQ(bridge["ipam"]["routes"][0]["dst"], "0.0.0.0/0");
  spec.backend = PodBackend::HostGw;
  EXPECT_EQ(json::parse(renderConflist(spec, cidr("198.18.7.0/24")))["plugins"][0]["mtu"], 1500);
}

TEST(PodNetCommands, VxlanDevice) {
  auto spec = *parsePodNetSpec(stepArgs());
  auto own = lease("198.18.7.0/24", "n1", "192.0.2.11", "02:aa:bb:cc:dd:ee");
  EXPECT_THAT(
      deviceCommands(spec, own),
      ElementsAre(
          ElementsAre("ip", "link", "del", "drover-vxlan"),
          ElementsAre("ip", "link", "add", "drover-vxlan", "address", "02:aa:bb:cc:dd:ee", "type",
                      "vxlan", "id", "1", "local", "192.0.2.11", "dstport", "8472", "nolearning"),
          ElementsAre("ip", "addr", "replace", "198.18.7.0/32", "dev", "drover-vxlan"),
          ElementsAre("ip", "link", "set", "drover-vxlan", "up")));
  spec.backend = PodBackend::HostGw;
  EXPECT_THAT(deviceCommands(spec, own), IsEmpty());
}

TEST(PodNetCommands, VxlanPeersComeAndGo) {
  std::map<Cidr, SubnetLease> none, one, two;
  auto a = lease("198.18.1.0/24", "n2", "198.51.100.12", "02:00:00:00:00:02");
  auto b = lease("198.18.2.0/24", "n3", "203.0.113.13", "02:00:00:00:00:03");
  one[a.subnet] = a;
  two[a.subnet] = a;
  two[b.subnet] = b;
  EXPECT_THAT(
      routeCommands(PodBackend::Vxlan, none, one),
      ElementsAre(ElementsAre("bridge", "fdb", "replace", "02:00:00:00:00:02", "dev",
                              "drover-vxlan", "dst", "198.51.100.12", "self", "permanent"),
                  ElementsAre("ip", "neigh", "replace", "198.18.1.0", "lladdr", "02:00:00:00:00:02",
                              "dev", "drover-vxlan", "nud", "permanent"),
                  ElementsAre("ip", "route", "replace", "198.18.1.0/24", "via", "198.18.1.0", "dev",
                              "drover-vxlan", "onlink")));
  EXPECT_EQ(routeCommands(PodBackend::Vxlan, one, two).size(), 3u);  // only n3 is new
  EXPECT_THAT(routeCommands(PodBackend::Vxlan, two, two), IsEmpty());
  EXPECT_THAT(routeCommands(PodBackend::Vxlan, two, one),
              ElementsAre(ElementsAre("ip", "route", "del", "198.18.2.0/24"),
                          ElementsAre("ip", "neigh", "del", "198.18.2.0", "dev", "drover-vxlan"),
                          ElementsAre("bridge", "fdb", "del", "02:00:00:00:00:03", "dev",
                                      "drover-vxlan", "dst", "203.0.113.13")));
  // A node that came back with another address: removed, then added again.
  auto moved = one;
  moved[a.subnet].ip = *Ipv4Address::parse("198.51.100.99");
  auto cmds = routeCommands(PodBackend::Vxlan, one, moved);
  ASSERT_EQ(cmds.size(), 6u);
  EXPECT_THAT(cmds[0], ElementsAre("ip", "route", "del", "198.18.1.0/24"));
  EXPECT_THAT(cmds[3], ElementsAre("bridge", "fdb", "replace", "02:00:00:00:00:02", "dev",
                                   "drover-vxlan", "dst", "198.51.100.99", "self", "permanent"));
}

TEST(PodNetCommands, HostGwRoutesViaTheNodes) {
  std::map<Cidr, SubnetLease> none, one;
  auto a = lease("198.18.1.0/24", "n2", "192.0.2.12", "");
  one[a.subnet] = a;
  EXPECT_THAT(
      routeCommands(PodBackend::HostGw, none, one),
      ElementsAre(ElementsAre("ip", "route", "replace", "198.18.1.0/24", "via", "192.0.2.12")));
  EXPECT_THAT(routeCommands(PodBackend::HostGw, one, none),
              ElementsAre(ElementsAre("ip", "route", "del", "198.18.1.0/24")));
}

}  // namespace
}  // namespace drover::agent

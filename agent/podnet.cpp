// The pure parts of the pod network: the step's values, subnets, lease values, the CNI
// configuration and the ip/bridge commands (agent/podnet.hpp).
#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agent/podnet.hpp"
#include "common/strings.hpp"

namespace drover::agent {
namespace {

using nlohmann::json;

Error bad(const std::string& what) {
  return makeError("bad_recipe", "pod_network: " + what);
}

Result<long long> number(const std::map<std::string, std::string>& args, const char* key) {
  auto it = args.find(key);
  if (it == args.end()) return bad(std::string("needs ") + key);
  long long n = 0;
  const auto& s = it->second;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || n <= 0)
    return bad(fmt::format("{} \"{}\" is not a positive whole number", key, s));
  return n;
}

}  // namespace

Result<PodNetSpec> parsePodNetSpec(const std::map<std::string, std::string>& args) {
  auto get = [&](const char* key) {
    auto it = args.find(key);
    return it == args.end() ? std::string() : it->second;
  };
  PodNetSpec spec;
  spec.endpoints = splitList(get("endpoints"));
  if (spec.endpoints.empty()) return bad("needs the etcd endpoints");
  spec.prefix = get("prefix");
  if (spec.prefix.empty() || spec.prefix.front() != '/' || spec.prefix.back() == '/')
    return bad("prefix \"" + spec.prefix + "\" must start with / and not end with one");
  auto cidr = Cidr::parse(get("cidr"));
  if (!cidr) return bad("cidr: " + cidr.error().message);
  spec.cidr = *cidr;
  auto len = number(args, "subnet_length");
  if (!len) return len.error();
  if (*len <= cidr->prefix() || *len > 28 || *len - cidr->prefix() > 16)
    return bad(fmt::format("subnet_length {} does not fit {}", *len, cidr->str()));
  spec.subnet_length = static_cast<int>(*len);
  const auto backend = get("backend");
  if (backend == "vxlan") {
    spec.backend = PodBackend::Vxlan;
  } else if (backend == "host-gw") {
    spec.backend = PodBackend::HostGw;
  } else {
    return bad("backend \"" + backend + "\" is not vxlan or host-gw");
  }
  auto ttl = number(args, "lease_ttl");
  if (!ttl) return ttl.error();
  spec.lease_ttl = std::chrono::seconds(*ttl);
  spec.node = get("node");
  if (spec.node.empty()) return bad("needs the node's name");
  auto ip = Ipv4Address::parse(get("ip"));
  if (!ip) return bad("ip: " + ip.error().message);
  spec.ip = *ip;
  return spec;
}

std::uint32_t subnetCount(const Cidr& cidr, int length) {
  return std::uint32_t{1} << (length - cidr.prefix());
}

Cidr subnetAt(const Cidr& cidr, int length, std::uint32_t index) {
  return Cidr(Ipv4Address(cidr.network().value() + (index << (32 - length))), length);
}

std::string subnetsPrefix(const std::string& prefix) {
  return prefix + "/subnets/";
}

std::string leaseKey(const std::string& prefix, const Cidr& subnet) {
  return fmt::format("{}{}-{}", subnetsPrefix(prefix), subnet.network().str(), subnet.prefix());
}

std::string encodeLease(const SubnetLease& l) {
  return json{
      {"node", l.node}, {"ip", l.ip.str()}, {"vtep_mac", l.vtep_mac}, {"backend", l.backend}}
      .dump();
}

Result<SubnetLease> decodeLease(const std::string& prefix, const std::string& key,
                                const std::string& value) {
  const auto head = subnetsPrefix(prefix);
  if (key.rfind(head, 0) != 0) return makeError("bad_lease", "not under " + head);
  std::string name = key.substr(head.size());
  const auto dash = name.rfind('-');
  if (dash == std::string::npos) return makeError("bad_lease", "no -length in the key");
  name[dash] = '/';
  auto subnet = Cidr::parse(name);
  if (!subnet) return makeError("bad_lease", subnet.error().message);
  auto j = json::parse(value, nullptr, false);
  if (!j.is_object()) return makeError("bad_lease", "the value is not a JSON object");
  SubnetLease l;
  l.subnet = *subnet;
  for (const char* field : {"node", "ip", "vtep_mac", "backend"}) {
    auto it = j.find(field);
    if (it != j.end() && !it->is_string())
      return makeError("bad_lease", std::string(field) + " is not a string");
  }
  l.node = j.value("node", "");
  l.backend = j.value("backend", "");
  if (l.node.empty()) return makeError("bad_lease", "no node");
  auto ip = Ipv4Address::parse(j.value("ip", ""));
  if (!ip) return makeError("bad_lease", "ip: " + ip.error().message);
  l.ip = *ip;
  const auto mac = j.value("vtep_mac", "");
  if (!mac.empty()) {
    auto m = MacAddress::parse(mac);
    if (!m) return makeError("bad_lease", "vtep_mac: " + m.error().message);
    l.vtep_mac = m->str();
  }
  return l;
}

std::string vtepMac(const std::string& node) {
  const std::uint64_t h = fnv1a64(node);
  std::array<std::uint8_t, 6> b{};
  for (int i = 0; i < 6; ++i) b[i] = static_cast<std::uint8_t>(h >> (8 * i));
  b[0] = static_cast<std::uint8_t>((b[0] & 0xfe) | 0x02);  // unicast, locally administered
  return MacAddress(b).str();
}

std::string renderConflist(const PodNetSpec& spec, const Cidr& subnet) {
  const Ipv4Address gateway(subnet.network().value() + 1);
  json ipam = {
      {"type", "host-local"},
      {"ranges",
       json::array({json::array({{{"subnet", subnet.str()}, {"gateway", gateway.str()}}})})},
      {"routes", json::array({{{"dst", "0.0.0.0/0"}}})}};
  json bridge = {{"type", "bridge"},    {"bridge", kPodBridge},
                 {"isGateway", true},   {"ipMasq", false},
                 {"hairpinMode", true}, {"mtu", spec.backend == PodBackend::Vxlan ? 1450 : 1500},
                 {"ipam", ipam}};
  json list = {{"cniVersion", "0.4.0"}, {"name", "drover"}, {"plugins", json::array({bridge})}};
  return list.dump(2) + "\n";
}

std::vector<Argv> deviceCommands(const PodNetSpec& spec, const SubnetLease& own) {
  if (spec.backend != PodBackend::Vxlan) return {};
  const std::string dev = kVxlanDevice;
  return {
      {"ip", "link", "del", dev},  // may be absent: a fresh device with this boot's values
      {"ip", "link", "add", dev, "address", own.vtep_mac, "type", "vxlan", "id",
       std::to_string(kVxlanId), "local", spec.ip.str(), "dstport", std::to_string(kVxlanPort),
       "nolearning"},
      {"ip", "addr", "replace", own.subnet.network().str() + "/32", "dev", dev},
      {"ip", "link", "set", dev, "up"},
  };
}

std::vector<Argv> routeCommands(PodBackend backend, const std::map<Cidr, SubnetLease>& installed,
                                const std::map<Cidr, SubnetLease>& wanted) {
  const std::string dev = kVxlanDevice;
  std::vector<Argv> out;
  for (const auto& [subnet, l] : installed) {
    auto it = wanted.find(subnet);
    if (it != wanted.end() && it->second == l) continue;
    out.push_back({"ip", "route", "del", subnet.str()});
    if (backend == PodBackend::Vxlan) {
      out.push_back({"ip", "neigh", "del", subnet.network().str(), "dev", dev});
      if (!l.vtep_mac.empty())
        out.push_back({"bridge", "fdb", "del", l.vtep_mac, "dev", dev, "dst", l.ip.str()});
    }
  }
  for (const auto& [subnet, l] : wanted) {
    auto it = installed.find(subnet);
    if (it != installed.end() && it->second == l) continue;
    if (backend == PodBackend::HostGw) {
      out.push_back({"ip", "route", "replace", subnet.str(), "via", l.ip.str()});
      continue;
    }
    const auto gw = subnet.network().str();
    out.push_back({"bridge", "fdb", "replace", l.vtep_mac, "dev", dev, "dst", l.ip.str(), "self",
                   "permanent"});
    out.push_back(
        {"ip", "neigh", "replace", gw, "lladdr", l.vtep_mac, "dev", dev, "nud", "permanent"});
    out.push_back({"ip", "route", "replace", subnet.str(), "via", gw, "dev", dev, "onlink"});
  }
  return out;
}

}  // namespace drover::agent

// The pod network against etcd and the node: leases, the CNI configuration, the device and
// the routes (agent/podnet.hpp).
#include <fstream>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "agent/podnet.hpp"
#include "agent/seed.hpp"
#include "common/log.hpp"
#include "common/strings.hpp"

namespace drover::agent {
namespace {

std::string backendName(PodBackend b) {
  return b == PodBackend::HostGw ? "host-gw" : "vxlan";
}

// A lease of this pod network's range and subnet length (a changed declaration leaves
// leases of another shape behind: they are neither reused nor routed).
bool inRange(const PodNetSpec& spec, const Cidr& subnet) {
  return spec.cidr.contains(subnet.network()) && subnet.prefix() == spec.subnet_length;
}

}  // namespace

Result<std::vector<SubnetLease>> readLeases(etcd::Client& client, const std::string& prefix) {
  auto range = client.range(subnetsPrefix(prefix));
  if (!range) return range.error();
  std::vector<SubnetLease> out;
  for (const auto& kv : range->kvs) {
    auto l = decodeLease(prefix, kv.key, kv.value);
    if (!l) {
      log::get("podnet")->warn("PODNET_LEASE_SKIPPED key=\"{}\" reason=\"{}\"",
                               log::sanitize(kv.key, 200), log::sanitize(l.error().message, 200));
      continue;
    }
    l->mod_revision = kv.mod_revision;
    out.push_back(std::move(*l));
  }
  return out;
}

Result<SubnetLease> acquireSubnet(etcd::Client& client, const PodNetSpec& spec,
                                  std::int64_t lease_id) {
  const std::uint32_t count = subnetCount(spec.cidr, spec.subnet_length);
  SubnetLease mine;
  mine.node = spec.node;
  mine.ip = spec.ip;
  mine.vtep_mac = spec.backend == PodBackend::Vxlan ? vtepMac(spec.node) : "";
  mine.backend = backendName(spec.backend);
  // Each round reads the leases once; a round ends early only when another node wrote first.
  for (int round = 0; round < 64; ++round) {
    auto leases = readLeases(client, spec.prefix);
    if (!leases) return leases.error();
    std::set<Cidr> taken;
    const SubnetLease* own = nullptr;
    for (const auto& l : *leases) {
      taken.insert(l.subnet);
      if (l.node == spec.node && inRange(spec, l.subnet) && own == nullptr) own = &l;
    }
    if (own != nullptr) {
      mine.subnet = own->subnet;
      auto ok = client.compareAndSwap(leaseKey(spec.prefix, own->subnet), own->mod_revision,
                                      encodeLease(mine), lease_id);
      if (!ok) return ok.error();
      if (*ok) return mine;
      continue;  // changed meanwhile: read again
    }
    const auto start = static_cast<std::uint32_t>(fnv1a64(spec.node) % count);
    bool raced = false;
    for (std::uint32_t k = 0; k < count && !raced; ++k) {
      const Cidr subnet = subnetAt(spec.cidr, spec.subnet_length, (start + k) % count);
      if (taken.contains(subnet)) continue;
      mine.subnet = subnet;
      auto created =
          client.createIfAbsent(leaseKey(spec.prefix, subnet), encodeLease(mine), lease_id);
      if (!created) return created.error();
      if (*created) return mine;
      raced = true;  // another node took it first: read again
    }
    if (!raced)
      return makeError("pod_network_full", fmt::format("every /{} subnet of {} is leased",
                                                       spec.subnet_length, spec.cidr.str()));
  }
  return makeError("pod_network_conflict", "other nodes kept taking the subnets tried");
}

Status PodNetwork::run(const Argv& argv, bool must_succeed) {
  Argv a = argv;
  if (a[0] == "ip") a[0] = options_.ip;
  if (a[0] == "bridge") a[0] = options_.bridge;
  auto rc = exec_({a, {}, ""});
  if (rc && *rc == 0) return {};
  const std::string why = rc ? fmt::format("exited with {}", *rc) : rc.error().message;
  std::string line;
  for (const auto& s : argv) line += (line.empty() ? "" : " ") + s;
  if (!must_succeed) {
    log::get("podnet")->debug("PODNET_COMMAND_IGNORED cmd=\"{}\" reason=\"{}\"",
                              log::sanitize(line, 200), why);
    return {};
  }
  return makeError("pod_network", line + ": " + why);
}

Status PodNetwork::lease() {
  auto log = log::get("podnet");
  Error last{"pod_network", "no attempt"};
  for (int i = 0; i < options_.attempts; ++i) {
    if (i > 0) std::this_thread::sleep_for(options_.retry_delay);
    if (lease_id_ == 0) {
      auto id = client_->grantLease(spec_.lease_ttl.count());
      if (!id) {
        last = id.error();
        continue;
      }
      lease_id_ = *id;
    }
    auto got = acquireSubnet(*client_, spec_, lease_id_);
    if (got) {
      own_ = *got;
      log->info("PODNET_LEASED node={} subnet={} ip={} backend={}", spec_.node, got->subnet.str(),
                got->ip.str(), got->backend);
      return {};
    }
    last = got.error();
    if (last.code == "pod_network_full") break;
  }
  return makeError("pod_network",
                   fmt::format("no subnet leased in {}: {}", spec_.cidr.str(), last.message));
}

Status PodNetwork::setupNode() {
  std::error_code ec;
  std::filesystem::create_directories(options_.cni_dir, ec);
  if (auto st = writeFileDurably(options_.cni_dir / "10-drover.conflist",
                                 renderConflist(spec_, own_->subnet));
      !st)
    return st;
  // Packets between the pods' bridge and the other nodes cross this host.
  std::ofstream forward(options_.ip_forward);
  if (!(forward << "1\n").flush())
    return makeError("pod_network", "cannot turn on forwarding in " + options_.ip_forward.string());
  for (const auto& argv : deviceCommands(spec_, *own_))
    if (auto st = run(argv, argv[2] != "del"); !st) return st;
  installed_.clear();
  return {};
}

Status PodNetwork::syncRoutes() {
  auto leases = readLeases(*client_, spec_.prefix);
  if (!leases) return leases.error();
  std::map<Cidr, SubnetLease> wanted;
  for (auto& l : *leases) {
    if (l.node == spec_.node || !inRange(spec_, l.subnet)) continue;
    if (spec_.backend == PodBackend::Vxlan && l.vtep_mac.empty()) continue;
    l.mod_revision = 0;
    wanted.emplace(l.subnet, std::move(l));
  }
  const auto commands = routeCommands(spec_.backend, installed_, wanted);
  Status result;
  for (const auto& argv : commands) {
    const bool removal = argv.size() > 2 && argv[2] == "del";
    if (auto st = run(argv, !removal); !st && result) result = st;
  }
  if (!result) return result;  // tried again from the same state on the next heartbeat
  if (!commands.empty())
    log::get("podnet")->info("PODNET_ROUTES node={} peers={} commands={}", spec_.node,
                             wanted.size(), commands.size());
  installed_ = std::move(wanted);
  return {};
}

Status PodNetwork::start(const PodNetSpec& spec) {
  spec_ = spec;
  own_.reset();
  lease_id_ = 0;
  installed_.clear();
  auto client = etcd::Client::create(spec.endpoints, options_.client);
  if (!client) return makeError("pod_network", client.error().message);
  client_.emplace(std::move(*client));
  if (auto st = lease(); !st) return st;
  if (auto st = setupNode(); !st) return st;
  return syncRoutes();
}

Status PodNetwork::refresh() {
  if (!own_) return start(spec_);  // not set up yet: all again
  auto ttl = client_->keepAlive(lease_id_);
  if (!ttl) return ttl.error();
  if (*ttl == 0) {
    // The lease expired (etcd unreachable for longer than its TTL): lease again, possibly
    // another subnet, and set the node up for it.
    log::get("podnet")->warn("PODNET_LEASE_EXPIRED node={} subnet={}", spec_.node,
                             own_->subnet.str());
    lease_id_ = 0;
    const Cidr before = own_->subnet;
    if (auto st = lease(); !st) return st;
    if (own_->subnet != before)
      if (auto st = setupNode(); !st) return st;
  }
  return syncRoutes();
}

}  // namespace drover::agent

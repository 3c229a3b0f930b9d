#include "cluster/checks.hpp"

#include <algorithm>
#include <system_error>
#include <unordered_map>

#include <fmt/format.h>

namespace drover::cluster {
namespace {

class Reporter {
 public:
  Reporter(const Config& c, Diagnostics& out) : c_(c), out_(out) {}
  void operator()(Pos at, const std::string& path, std::string message) {
    out_.push_back(Diagnostic{c_.file, at, path, std::move(message)});
  }
  template <typename T>
  void operator()(const Located<T>& at, std::string message) {
    (*this)(at.pos, at.path, std::move(message));
  }

 private:
  const Config& c_;
  Diagnostics& out_;
};

std::string firstAt(const std::string& path, Pos pos) {
  if (pos.line == 0) return fmt::format("(first at {})", path);
  return fmt::format("(first at {}, line {})", path, pos.line);
}

// Reports the second and later occurrences of a key. String keys and paths are viewed in
// the Config, which outlives the finder.
template <typename K>
class DuplicateFinder {
 public:
  explicit DuplicateFinder(std::size_t expected = 0) { seen_.reserve(expected); }

  template <typename T>
  bool seen(const K& key, const Located<T>& where) {
    auto [it, inserted] = seen_.try_emplace(key, Where{&where.path, where.pos});
    if (inserted) return false;
    first_ = it->second;
    return true;
  }
  std::string first() const { return firstAt(*first_.path, first_.pos); }

 private:
  struct Where {
    const std::string* path = nullptr;
    Pos pos{};
  };
  std::unordered_map<K, Where> seen_;
  Where first_{};
};

bool isSpecialAddress(const Cidr& subnet, Ipv4Address a) {
  return subnet.prefix() < 31 && (a == subnet.network() || a == subnet.broadcast());
}

}  // namespace

void checkNetworks(const Config& c, Diagnostics& out) {
  Reporter report(c, out);
  DuplicateFinder<std::string_view> names;
  for (std::size_t i = 0; i < c.networks.size(); ++i) {
    const auto& net = c.networks[i];
    if (names.seen(net.name.value, net.name))
      report(net.name,
             fmt::format("duplicate network name \"{}\" {}", net.name.value, names.first()));
    const auto& subnet = net.subnet.value;
    for (std::size_t j = 0; j < i; ++j) {
      const auto& other = c.networks[j];
      if (subnet.overlaps(other.subnet.value))
        report(net.subnet, fmt::format("subnet {} overlaps {} of {}", subnet.str(),
                                       other.subnet.value.str(), other.path));
    }
    if (net.gateway && !subnet.contains(net.gateway->value))
      report(*net.gateway, fmt::format("gateway {} is outside the subnet {}",
                                       net.gateway->value.str(), subnet.str()));
    for (std::size_t p = 0; p < net.pools.size(); ++p) {
      const auto& pool = net.pools[p];
      const auto& r = pool.value;
      if (net.mode == NetworkMode::Proxy) {
        report(pool,
               "a proxy network leases no addresses (the site's DHCP server does): "
               "remove pool or use mode: dhcp");
        continue;
      }
      if (!subnet.contains(r.first) || !subnet.contains(r.last)) {
        report(pool, fmt::format("pool {} is not inside the subnet {}", r.str(), subnet.str()));
        continue;
      }
      if (subnet.prefix() < 31 && (r.contains(subnet.network()) || r.contains(subnet.broadcast())))
        report(pool,
               fmt::format("pool {} includes the subnet's network or broadcast address", r.str()));
      if (net.gateway && r.contains(net.gateway->value))
        report(pool,
               fmt::format("pool {} includes the gateway {}", r.str(), net.gateway->value.str()));
      for (std::size_t q = 0; q < p; ++q)
        if (r.overlaps(net.pools[q].value))
          report(pool, fmt::format("pool {} overlaps pool {} {}", r.str(), net.pools[q].value.str(),
                                   firstAt(net.pools[q].path, net.pools[q].pos)));
    }
  }
}

void checkImagesAndProfiles(const Config& c, Diagnostics& out) {
  Reporter report(c, out);
  for (const auto& [name, p] : c.profiles) {
    if (p.install) {
      const auto& image = p.install->image;
      const Image* img = c.findImage(image.value);
      if (!img)
        report(image, fmt::format("image \"{}\" does not exist", image.value));
      else if (!img->disk)
        report(image, fmt::format("image \"{}\" has no disk to install", image.value));
    }
    if (p.cloud_config) {
      std::error_code ec;
      auto status = std::filesystem::status(p.cloud_config_file, ec);
      const char* relative = std::filesystem::path(p.cloud_config->value).is_absolute()
                                 ? ""
                                 : " (relative to the config file's directory)";
      if (!std::filesystem::exists(status))
        report(*p.cloud_config,
               fmt::format("template \"{}\" does not exist{}", p.cloud_config->value, relative));
      else if (!std::filesystem::is_regular_file(status))
        report(*p.cloud_config,
               fmt::format("template \"{}\" is not a file{}", p.cloud_config->value, relative));
    }
  }
  const auto& df = c.defaults;
  if (df.profile && !c.findProfile(df.profile->value))
    report(*df.profile, fmt::format("profile \"{}\" does not exist", df.profile->value));
  if (df.unknown == UnknownPolicy::Install && !df.profile)
    report(
        df.unknown_pos, "defaults.unknown",
        "unknown: install needs defaults.profile (the profile to install unknown machines with)");
  // The boot environment is needed as soon as anything boots: an install or a discovery.
  const bool needed = !c.nodes.empty() || df.unknown != UnknownPolicy::Ignore;
  if (needed) {
    const Image* env = c.findImage(df.boot_env.value);
    if (!env)
      report(df.boot_env,
             fmt::format("boot environment image \"{}\" does not exist", df.boot_env.value));
    else if (!env->kernel || !env->initrd)
      report(df.boot_env, fmt::format("boot environment image \"{}\" has no kernel and initrd",
                                      df.boot_env.value));
  }
  if (df.boot_env_arm64) {
    const Image* env = c.findImage(df.boot_env_arm64->value);
    if (!env)
      report(*df.boot_env_arm64, fmt::format("arm64 boot environment image \"{}\" does not exist",
                                             df.boot_env_arm64->value));
    else if (!env->kernel || !env->initrd)
      report(*df.boot_env_arm64,
             fmt::format("arm64 boot environment image \"{}\" has no kernel and initrd",
                         df.boot_env_arm64->value));
  }
}

void checkNodes(const Config& c, Diagnostics& out) {
  Reporter report(c, out);
  const auto count = c.nodes.size();
  DuplicateFinder<std::string_view> names(count);
  DuplicateFinder<MacAddress> macs(count);
  DuplicateFinder<Uuid> uuids(count);
  DuplicateFinder<Ipv4Address> ips(count);
  for (const auto& node : c.nodes) {
    if (names.seen(node.name.value, node.name))
      report(node.name,
             fmt::format("duplicate node name \"{}\" {}", node.name.value, names.first()));
    for (const auto& mac : node.macs)
      if (macs.seen(mac.value, mac))
        report(mac, fmt::format("duplicate MAC {} {}", mac.value.str(), macs.first()));
    if (node.uuid && uuids.seen(node.uuid->value, *node.uuid))
      report(*node.uuid,
             fmt::format("duplicate UUID {} {}", node.uuid->value.str(), uuids.first()));
    if (node.macs.empty() && !node.uuid)
      report(node.pos, node.path, "a node needs mac, macs or uuid to be recognised");

    const std::string& profile = c.profileNameOf(node);
    if (node.profile && !c.findProfile(profile))
      report(*node.profile, fmt::format("profile \"{}\" does not exist", profile));
    else if (profile.empty())
      report(node.pos, node.path, "no profile: set profile here or defaults.profile");

    if (!node.ip) continue;
    const auto& ip = *node.ip;
    if (ips.seen(ip.value, ip))
      report(ip, fmt::format("duplicate IP {} {}", ip.value.str(), ips.first()));
    const Network* net = nullptr;
    for (const auto& n : c.networks)
      if (n.subnet.value.contains(ip.value)) net = &n;
    if (!net) {
      report(ip, fmt::format("{} is not inside any network's subnet", ip.value.str()));
      continue;
    }
    if (isSpecialAddress(net->subnet.value, ip.value))
      report(ip, fmt::format("{} is the network or broadcast address of {}", ip.value.str(),
                             net->subnet.value.str()));
    if (net->gateway && net->gateway->value == ip.value)
      report(ip, fmt::format("{} is the gateway of {}", ip.value.str(), net->path));
    if (ip.value == c.server.advertise)
      report(ip, fmt::format("{} is the server's advertise address", ip.value.str()));
    for (const auto& pool : net->pools)
      if (pool.value.contains(ip.value))
        report(ip, fmt::format("{} is inside the dynamic pool {} of {}; a node's address must "
                               "be outside the pools",
                               ip.value.str(), pool.value.str(), net->path));
  }
}

std::span<const std::string_view> joinRecipes() {
  static constexpr std::string_view kRecipes[] = {"etcd-member", "etcd-proxy"};
  return kRecipes;
}

// A member's client and peer URLs are built from its ip; a proxy listens on 0.0.0.0.
bool recipeNeedsIp(std::string_view recipe) {
  return recipe == "etcd-member";
}

void checkRecipes(const Config& c, Diagnostics& out) {
  Reporter report(c, out);
  const auto known = joinRecipes();
  for (const auto& [name, p] : c.profiles) {
    const auto& recipe = p.join.recipe;
    if (recipe.empty() || std::find(known.begin(), known.end(), recipe) != known.end()) continue;
    std::string list;
    for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
    report(p.join.recipe_pos, p.path + ".join.recipe",
           fmt::format("unknown recipe \"{}\"; known recipes: {}", recipe, list));
  }
  // A proxy forwards to the members the declaration names: without one it has nowhere to go.
  bool any_member = false;
  for (const auto& node : c.nodes) {
    const Profile* p = c.findProfile(c.profileNameOf(node));
    any_member = any_member || (p != nullptr && p->join.recipe == "etcd-member");
  }
  for (const auto& node : c.nodes) {
    const Profile* p = c.findProfile(c.profileNameOf(node));
    if (p == nullptr || p->join.recipe != "etcd-proxy" || any_member) continue;
    report(
        node.pos, node.path,
        fmt::format(
            "profile \"{}\" joins with recipe etcd-proxy, which needs a declared node that joins "
            "with etcd-member",
            p->name));
  }
  for (const auto& node : c.nodes) {
    const Profile* p = c.findProfile(c.profileNameOf(node));
    if (p == nullptr || node.ip || !recipeNeedsIp(p->join.recipe)) continue;
    report(node.pos, node.path,
           fmt::format(
               "profile \"{}\" joins with recipe {}, which needs the node's ip: declare ip here",
               p->name, p->join.recipe));
  }
}

// The pod network: a range apart from the declared networks, cut into at most 65536 subnets
// of at least 16 addresses, leased in the etcd the etcd-member nodes run, by nodes whose
// routes go via their declared ip.
void checkPodNetwork(const Config& c, Diagnostics& out) {
  if (!c.pod_network) return;
  Reporter report(c, out);
  const auto& pn = *c.pod_network;
  const auto& cidr = pn.cidr.value;
  if (pn.cidr.pos.line == 0) return;  // not given or not a CIDR: already reported
  for (const auto& net : c.networks)
    if (cidr.overlaps(net.subnet.value))
      report(pn.cidr, fmt::format("pod network {} overlaps the subnet {} of {}", cidr.str(),
                                  net.subnet.value.str(), net.path));
  const int len = pn.subnet_length.value;
  if (len <= cidr.prefix() || len > 28 || len - cidr.prefix() > 16)
    report(pn.subnet_length,
           fmt::format("subnet_length {} must be longer than the prefix of {}, at most 28, and cut "
                       "it into at most 65536 subnets (/{} at most)",
                       len, cidr.str(), std::min(28, cidr.prefix() + 16)));
  bool any_member = false;
  for (const auto& node : c.nodes) {
    const Profile* p = c.findProfile(c.profileNameOf(node));
    if (p == nullptr || p->join.recipe.empty()) continue;
    any_member = any_member || p->join.recipe == "etcd-member";
    if (!node.ip)
      report(node.pos, node.path,
             "joins the pod network (its profile has a join recipe), whose routes go via the "
             "node's ip: declare ip here");
  }
  if (!any_member)
    report(pn.pos, "pod_network",
           "the pod network keeps its leases in the cluster's etcd: no declared node joins with "
           "recipe etcd-member");
}

void checkConfig(const Config& config, Diagnostics& out) {
  checkNetworks(config, out);
  checkImagesAndProfiles(config, out);
  checkNodes(config, out);
  checkTrust(config, out);
  checkRecipes(config, out);
  checkPodNetwork(config, out);
}

}  // namespace drover::cluster

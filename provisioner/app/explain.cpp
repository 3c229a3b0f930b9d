#include "provisioner/app/explain.hpp"

#include <fmt/format.h>

#include "common/values.hpp"

namespace drover::app {
namespace {

using namespace drover::inventory;

std::string poolsOf(const Network& n) {
  std::string out;
  for (const auto& p : n.pools) out += (out.empty() ? "" : ", ") + p.value.str();
  return out;
}

NetworkSection networkSection(const Inventory& inv, const ExplainQuery& q, const Match& m) {
  NetworkSection s;
  const Node* node = m.node;
  if (node && node->ip) {
    s.network = inv.networkFor(node->ip->value);
    s.found_by = "node ip";
  } else if (q.via) {
    s.network = inv.networkFor(*q.via);
    s.found_by = "via " + q.via->str();
  }
  const Network* n = s.network;
  if (!n) {
    s.address = q.via ? fmt::format("none: {} is in no network", q.via->str())
                      : "from the network the request arrives on (interface or relay giaddr; "
                        "see --via)";
    return s;
  }
  if (n->mode == NetworkMode::Proxy) {
    s.address = "from the site's DHCP server (proxy mode: Drover adds boot information only)";
  } else if (node && node->ip) {
    s.address =
        fmt::format("{} (reserved), lease {}", node->ip->value.str(), formatDuration(n->lease));
  } else if (!n->pools.empty()) {
    s.address = fmt::format("from pool {}, lease {}", poolsOf(*n), formatDuration(n->lease));
  } else {
    s.address = "none: the network has no pool and the machine has no reserved ip";
  }
  return s;
}

std::string scriptLine(const Explanation& e) {
  const auto& b = e.boot;
  const std::string env = b.boot_env ? b.boot_env->name : "?";
  std::string args;
  for (const auto& a : b.kernel_args) args += " " + a;
  switch (b.action) {
    case BootAction::Install:
      return fmt::format("install image {} on {}: boot {} (kernel + initrd), agent installs{}{}",
                         b.profile->install->image.value, b.profile->install->disk, env,
                         args.empty() ? "" : "; kernel args:", args);
    case BootAction::Discover:
      return fmt::format(
          "discovery: boot {} (kernel + initrd), agent registers the machine and "
          "waits",
          env);
    case BootAction::LocalDisk:
      return "boot from the local disk";
    case BootAction::Ignore:
      break;
  }
  return "none: the machine gets no boot answer";
}

}  // namespace

Explanation explain(const Inventory& inv, const ExplainQuery& q) {
  Explanation e;
  e.query = q;
  e.match = inv.match(q.mac, q.uuid);
  e.network = networkSection(inv, q, e.match);
  e.boot = decideBoot(inv.config(), e.match, q.request);
  return e;
}

std::string renderText(const Config& c, const Explanation& e) {
  std::string out;
  auto line = [&](std::string_view section, const std::string& text) {
    out += fmt::format("{:<9}{}\n", section, text);
  };
  const auto& q = e.query;
  line("machine",
       fmt::format("mac {}, uuid {}, arch {}{}{}", q.mac.str(), q.uuid ? q.uuid->str() : "-",
                   toString(q.request.arch), q.request.ipxe ? ", running iPXE" : "",
                   q.request.state == NodeState::Installed ? ", installed" : ""));
  const auto& m = e.match;
  if (m.known()) {
    line("match", fmt::format("node {} (by {}), profile {}", m.node->name.value, toString(m.by),
                              m.profile ? m.profile->name : "-"));
  } else {
    line("match",
         fmt::format("unknown machine (by none): defaults.unknown is {}{}", toString(m.policy),
                     m.profile ? ", profile " + m.profile->name : std::string()));
  }
  if (const Network* n = e.network.network) {
    line("network", fmt::format("{} {} ({}), found by {}", n->name.value, n->subnet.value.str(),
                                toString(n->mode), e.network.found_by));
  } else {
    line("network", "-");
  }
  line("address", e.network.address);
  const auto& b = e.boot;
  if (b.delivery == Delivery::None) {
    line("boot", fmt::format("no boot answer ({})", b.reason));
  } else {
    const auto via = b.delivery == Delivery::Tftp
                         ? fmt::format("TFTP {} from {}", b.file, c.server.advertise.str())
                         : fmt::format("HTTP {}", b.file);
    line("boot", fmt::format("{} ({})", via, b.reason));
  }
  line("script", scriptLine(e));
  return out;
}

}  // namespace drover::app

#include "agent/netup.hpp"

#include <cstring>
#include <thread>

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/inventory.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"

namespace drover::agent {

bool hasIpv4Address() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return false;
  bool found = false;
  for (ifaddrs* a = list; a; a = a->ifa_next) {
    if (a->ifa_addr && a->ifa_addr->sa_family == AF_INET && !(a->ifa_flags & IFF_LOOPBACK)) {
      found = true;
      break;
    }
  }
  ::freeifaddrs(list);
  return found;
}

namespace {

void setLinkUp(const std::string& name) {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) return;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) == 0) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    ::ioctl(s.get(), SIOCSIFFLAGS, &ifr);
  }
}

}  // namespace

Result<std::string> bringUpNetwork(const NetUpOptions& opt) {
  auto log = log::get("agent");
  if (hasIpv4Address()) {
    log->info("AGENT_NET_READY already_configured=true");
    return std::string();
  }
  auto nics = collectFacts(opt.sys_root).nics;
  std::erase_if(nics, [](const NicFacts& n) { return !n.physical; });
  if (nics.empty()) return makeError("no_nic", "no network interface found");
  for (const auto& n : nics) setLinkUp(n.name);
  // Wait for a carrier, then try the NICs with link first, in name order.
  const auto deadline = std::chrono::steady_clock::now() + opt.carrier_wait;
  std::vector<NicFacts> order;
  while (true) {
    order = collectFacts(opt.sys_root).nics;
    std::erase_if(order, [](const NicFacts& n) { return !n.physical || !n.link; });
    if (!order.empty() || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  if (order.empty()) order = nics;  // no carrier seen: try anyway
  for (const auto& n : order) {
    log->info("AGENT_DHCP_START nic={} mac={}", n.name, n.mac);
    auto rc = opt.exec({{opt.udhcpc, "-i", n.name, "-n", "-q", "-t", "5", "-T", "2"}, {}, ""});
    if (rc && *rc == 0) {
      log->info("AGENT_DHCP_DONE nic={}", n.name);
      return n.name;
    }
    log->warn("AGENT_DHCP_FAILED nic={} reason=\"{}\"", n.name,
              rc ? "exit " + std::to_string(*rc) : rc.error().message);
  }
  return makeError("dhcp_failed", "no DHCP lease on any interface");
}

}  // namespace drover::agent

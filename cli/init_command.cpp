// drover init --interface IF [--proxy] [--output FILE]: a starter declaration for this host,
// from the IPv4 address and subnet it has on IF, that validates and serves as written.
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <ostream>
#include <sstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/packaged_starter.hpp"
#include "cluster/loader.hpp"
#include "common/fd.hpp"

namespace drover::cli {
namespace {

std::uint32_t maskOf(int prefix) {
  return prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
}

// The default route's gateway through `interface` (/proc/net/route), if there is one.
std::optional<Ipv4Address> defaultGateway(const std::string& interface) {
  std::ifstream in("/proc/net/route");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string name, dest, gw;
    if (!(f >> name >> dest >> gw) || name != interface || dest != "00000000") continue;
    const auto raw = static_cast<std::uint32_t>(std::stoul(gw, nullptr, 16));
    if (raw != 0) return Ipv4Address(ntohl(raw));
  }
  return std::nullopt;
}

// The upper part of the subnet, at most 100 addresses, leaving out the host's own address,
// the network and broadcast addresses, and the gateway.
Result<Ipv4Range> poolFor(const HostAddress& host) {
  if (host.prefix > 29)
    return makeError("subnet_too_small",
                     fmt::format("{}/{} is too small for a pool: use --proxy, or an interface "
                                 "with a /29 or larger subnet",
                                 host.address.str(), host.prefix));
  const std::uint32_t mask = maskOf(host.prefix);
  const std::uint32_t net = host.address.value() & mask;
  const std::uint32_t last = net | ~mask;
  const std::uint32_t size = last - net + 1;
  std::uint32_t first = net + size / 2;
  std::uint32_t end = std::min(last - 1, first + 99);
  auto excluded = [&](std::uint32_t a) {
    return a == host.address.value() || (host.gateway && a == host.gateway->value());
  };
  while (first <= end && excluded(first)) ++first;
  while (end >= first && excluded(end)) --end;
  // A pool may not hold the server's own address or the gateway: take the part above them.
  for (std::uint32_t a = first; a <= end; ++a)
    if (excluded(a)) first = a + 1;
  if (first > end)
    return makeError("subnet_too_small",
                     fmt::format("no room for a pool in {}/{}", host.address.str(), host.prefix));
  return Ipv4Range{Ipv4Address(first), Ipv4Address(end)};
}

// Writes all of `data` to `fd` and syncs it.
Status writeAll(int fd, const std::string& data, const std::string& name) {
  std::size_t done = 0;
  while (done < data.size()) {
    const auto n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return makeError("write", fmt::format("{}: {}", name, std::strerror(errno)));
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0)
    return makeError("write", fmt::format("{}: {}", name, std::strerror(errno)));
  return {};
}

// Creates `path` with `data`; the error code "exists" when there is a file already.
Status writeNew(const std::filesystem::path& path, const std::string& data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) {
    if (errno == EEXIST) return makeError("exists", path.string() + " exists");
    return makeError("open", fmt::format("{}: {}", path.string(), std::strerror(errno)));
  }
  if (auto w = writeAll(fd.get(), data, path.string()); !w) return w;
  if (fd.close() != 0)
    return makeError("write", fmt::format("{}: {}", path.string(), std::strerror(errno)));
  return {};
}

// Replaces the packaged starter at `path` by `data` atomically (a new file beside it, then
// rename), so a crash leaves either the starter or the whole new declaration.
Status replaceStarter(const std::filesystem::path& path, const std::string& data) {
  auto tmp = path;
  tmp += ".drover-init";
  std::error_code ec;
  std::filesystem::remove(tmp, ec);
  if (auto w = writeNew(tmp, data); !w) {
    std::filesystem::remove(tmp, ec);
    return w;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    std::filesystem::remove(tmp, ec);
    return makeError("rename", fmt::format("{}: {}", path.string(), std::strerror(e)));
  }
  return {};
}

}  // namespace

Result<HostAddress> interfaceAddress(const std::string& interface) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0)
    return makeError("getifaddrs", fmt::format("getifaddrs: {}", std::strerror(errno)));
  std::optional<HostAddress> found;
  bool exists = false;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_name == nullptr || interface != i->ifa_name) continue;
    exists = true;
    if (found || i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET ||
        i->ifa_netmask == nullptr)
      continue;
    const auto addr = ntohl(reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr);
    const auto mask = ntohl(reinterpret_cast<const sockaddr_in*>(i->ifa_netmask)->sin_addr.s_addr);
    found = HostAddress{Ipv4Address(addr), __builtin_popcount(mask), std::nullopt};
  }
  ::freeifaddrs(list);
  if (!exists)
    return makeError("no_interface", fmt::format("no interface named \"{}\"", interface));
  if (!found)
    return makeError("no_address", fmt::format("interface {} has no IPv4 address", interface));
  found->gateway = defaultGateway(interface);
  return *found;
}

Result<std::string> starterDeclaration(const InitOptions& o, const HostAddress& host) {
  const Ipv4Address net(host.address.value() & maskOf(host.prefix));
  const std::string subnet = fmt::format("{}/{}", net.str(), host.prefix);
  const std::string dir = o.state_dir;
  std::string network;
  if (o.proxy) {
    network = fmt::format(
        "  - name: {0}\n"
        "    subnet: {1}\n"
        "    mode: proxy                 # the site's DHCP server leases addresses; Drover adds "
        "the boot answers\n",
        o.interface, subnet);
  } else {
    auto pool = poolFor(host);
    if (!pool) return pool.error();
    network = fmt::format(
        "  - name: {0}\n"
        "    subnet: {1}\n"
        "    mode: dhcp                  # Drover leases addresses from the pool\n"
        "    pool: {2}-{3}\n",
        o.interface, subnet, pool->first.str(), pool->last.str());
    if (host.gateway) network += fmt::format("    gateway: {}\n", host.gateway->str());
    network += "    lease: 1h\n";
  }
  return fmt::format(
      "# Starter declaration written by `drover init --interface {iface}{proxy}`.\n"
      "# Check it with `drover validate {out}`, apply an edit with `systemctl reload drover`;\n"
      "# every key is described in /usr/share/doc/drover/configuration.md.gz and the examples\n"
      "# are in /usr/share/doc/drover/examples/.\n"
      "\n"
      "server:\n"
      "  advertise: {addr:<15}  # the address machines reach this server at\n"
      "  interfaces: [{iface}]\n"
      "  tftp: {{ listen: \"0.0.0.0:69\", root: {dir}/tftp }}   # iPXE loaders from /usr/lib/ipxe\n"
      "  http: {{ listen: \"0.0.0.0:8080\" }}\n"
      "  api: {{ listen: \"0.0.0.0:8443\", tls: auto }}\n"
      "  state: {{ backend: sqlite, path: {dir}/state.db }}\n"
      "\n"
      "networks:\n"
      "{network}"
      "\n"
      "images:\n"
      "  boot-env:                       # built by /usr/share/drover/boot-env/build.sh (see\n"
      "                                  # /usr/share/doc/drover/install.md.gz)\n"
      "    kernel: {{ path: {dir}/images/boot-env/vmlinuz }}\n"
      "    initrd: {{ path: {dir}/images/boot-env/initrd.img }}\n"
      "\n"
      "defaults:\n"
      "  unknown: discover               # machines boot the agent, report their facts, and wait\n"
      "\n"
      "# Declare images, profiles and nodes here once machines have been discovered\n"
      "# (`drover nodes --config {out}`).\n"
      "nodes: []\n",
      fmt::arg("iface", o.interface), fmt::arg("proxy", o.proxy ? " --proxy" : ""),
      fmt::arg("out", o.output), fmt::arg("addr", host.address.str()), fmt::arg("dir", dir),
      fmt::arg("network", network));
}

int runInit(const InitOptions& o, std::ostream& out, std::ostream& err) {
  auto host = interfaceAddress(o.interface);
  if (!host) {
    err << "drover init: " << host.error().message << '\n';
    return 1;
  }
  auto text = starterDeclaration(o, *host);
  if (!text) {
    err << "drover init: " << text.error().message << '\n';
    return 1;
  }
  auto checked =
      cluster::loadConfigText(*text, o.output, std::filesystem::path(o.output).parent_path());
  if (!checked.ok()) {
    for (const auto& e : checked.errors) err << e.str() << '\n';
    err << "drover init: the starter declaration for " << o.interface << " does not validate\n";
    return 1;
  }
  const std::filesystem::path path(o.output);
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  auto written = writeNew(path, *text);
  if (!written && written.error().code == "exists") {
    // The Debian package ships the starter as a conffile: replace it while it is exactly
    // as packaged, never once it has been edited.
    if (!isPackagedStarter(path)) {
      err << "drover init: " << o.output << " exists; not overwriting it (move it away first)\n";
      return 1;
    }
    written = replaceStarter(path, *text);
  }
  if (!written) {
    err << "drover init: " << written.error().message << '\n';
    return 1;
  }
  out << fmt::format("{}: {} on {} ({}/{}){}\n", o.output, o.proxy ? "proxyDHCP" : "DHCP",
                     o.interface, host->address.str(), host->prefix,
                     o.proxy ? "" : ", with a pool");
  return 0;
}

void addInitCommand(CLI::App& root, Context& ctx) {
  auto opts = std::make_shared<InitOptions>();
  auto* cmd = root.add_subcommand("init", "Write a starter cluster declaration for this host");
  cmd->add_option("-i,--interface", opts->interface, "Interface machines boot on")->required();
  cmd->add_flag("--proxy", opts->proxy, "proxyDHCP: the site's DHCP server leases the addresses");
  cmd->add_option("-o,--output", opts->output,
                  "Where to write it (only the unedited packaged starter is replaced)")
      ->capture_default_str();
  cmd->add_option("--state-dir", opts->state_dir, "State directory the declaration names")
      ->capture_default_str();
  cmd->callback([opts, &ctx] { ctx.exit_code = runInit(*opts, ctx.out, ctx.err); });
}

}  // namespace drover::cli

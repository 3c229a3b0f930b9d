#include "boot/server_configs.hpp"

#include <fmt/format.h>

namespace drover::boot {

dhcp::ServerConfig dhcpConfigFrom(const cluster::Config& config) {
  dhcp::ServerConfig out;
  out.server_address = config.server.advertise;
  out.interfaces = config.server.interfaces;
  const auto& d = config.server.dhcp;
  out.discover_limits.client_rate = d.client_discover_rate;
  out.discover_limits.client_burst = d.client_discover_burst;
  out.discover_limits.interface_rate = d.interface_discover_rate;
  out.discover_limits.interface_burst = d.interface_discover_burst;
  for (const auto& net : config.networks) {
    dhcp::NetworkConfig n;
    n.name = net.name.value;
    n.subnet = net.subnet.value;
    n.mode = net.mode == cluster::NetworkMode::Proxy ? dhcp::NetworkConfig::Mode::Proxy
                                                     : dhcp::NetworkConfig::Mode::Dhcp;
    for (const auto& pool : net.pools) n.pools.push_back(pool.value);  // in declared order
    if (net.gateway) n.gateway = net.gateway->value;
    n.dns = net.dns;
    n.domain = net.domain;
    n.lease = net.lease;
    n.always_send = net.always_send;
    out.networks.push_back(std::move(n));
  }
  return out;
}

Result<tftp::Config> tftpConfigFrom(const cluster::Config& config) {
  tftp::Config out;
  const auto& listen = config.server.tftp.listen;
  boost::system::error_code ec;
  auto address = listen.host.empty() ? boost::asio::ip::address(boost::asio::ip::address_v4::any())
                                     : boost::asio::ip::make_address(listen.host, ec);
  if (ec) {
    return makeError("bad_listen",
                     fmt::format("server.tftp.listen: \"{}\" is not an IP address", listen.host));
  }
  out.listen = tftp::Endpoint(address, listen.port);
  out.root = config.server.tftp.root;
  out.search_path = {kIpxeDir};
  out.follow_search_symlinks = true;  // a system directory: ipxe.efi is a symlink there
  return out;
}

}  // namespace drover::boot

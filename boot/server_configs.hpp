// The cluster declaration translated into each boot server's own plain configuration.
// The servers know nothing about YAML; this is the only place that knows both shapes.
#pragma once

#include "common/result.hpp"
#include "dhcp/server/config.hpp"
#include "cluster/config.hpp"
#include "tftp/server/server.hpp"

namespace drover::boot {

dhcp::ServerConfig dhcpConfigFrom(const cluster::Config& config);

// Error when server.tftp.listen names a host that is not an IPv4/IPv6 literal.
Result<tftp::Config> tftpConfigFrom(const cluster::Config& config);

// Debian's iPXE binaries, searched after the TFTP root.
inline constexpr const char* kIpxeDir = "/usr/lib/ipxe";

}  // namespace drover::boot

// Network bring-up in the boot environment: nothing to do when an interface already has
// an IPv4 address (the /init script or the installed OS configured it); otherwise bring
// the physical NICs up, wait for carrier, and run busybox udhcpc on the first with link.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "agent/process.hpp"
#include "common/result.hpp"

namespace drover::agent {

struct NetUpOptions {
  std::filesystem::path sys_root = "/";
  std::string udhcpc = "udhcpc";
  std::chrono::seconds carrier_wait{10};
  ExecFn exec = runProcess;
};

// True if some interface other than lo has an IPv4 address.
bool hasIpv4Address();

// Returns the interface that got an address (or "" when it was already configured).
Result<std::string> bringUpNetwork(const NetUpOptions& opt);

}  // namespace drover::agent

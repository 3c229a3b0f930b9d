// What the HTTP routes of `drover serve` share: the published declaration, the state store,
// the credentials and where boot files live. Owned by the App; routes keep a reference.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "common/metrics.hpp"
#include "provisioner/boot/dhcp_policy.hpp"
#include "provisioner/state/store.hpp"
#include "provisioner/state/tokens.hpp"

namespace drover::serve {

struct Context {
  const boot::InventorySource& source;
  state::StateStore& store;
  state::TokenService& tokens;
  std::string ca_fingerprint;  // "sha256:<hex>" of the API's CA certificate
  std::string operator_token;
  metrics::Registry& registry;
  std::shared_ptr<spdlog::logger> log;
};

// https://<advertise>:<api port>
std::string apiUrl(const inventory::Config& config);
// http://<advertise>:<http port> (no trailing slash)
std::string httpBase(const inventory::Config& config);

// The name a machine that matches no node is known by until the operator adopts it:
// "unknown-525400aabbcc".
std::string provisionalName(const MacAddress& mac);

// Appends one timeline entry, logging (not failing) when the store refuses.
void recordEvent(const Context& ctx, const std::string& node, std::string phase, std::string message);

}  // namespace drover::serve

// `drover explain`: how one machine would be matched and booted, as a value with one
// section per step (machine, match, network, boot, script), rendered to text. Later steps
// (the DHCP answer, the rendered iPXE script) are added as further sections.
#pragma once

#include <optional>
#include <string>

#include "common/net.hpp"
#include "provisioner/inventory/boot.hpp"
#include "provisioner/inventory/inventory.hpp"

namespace drover::app {

struct ExplainQuery {
  MacAddress mac;
  std::optional<Uuid> uuid;
  inventory::BootRequest request;
  std::optional<Ipv4Address> via;  // relay giaddr or receiving interface address
};

struct NetworkSection {
  const inventory::Network* network = nullptr;  // null: not known from the config alone
  std::string found_by;                         // "node ip", "via 192.0.2.1", or empty
  std::string address;                          // what the machine is given, in words
};

struct Explanation {
  ExplainQuery query;
  inventory::Match match;
  NetworkSection network;
  inventory::BootDecision boot;
};

Explanation explain(const inventory::Inventory& inventory, const ExplainQuery& query);
std::string renderText(const inventory::Config& config, const Explanation& e);

}  // namespace drover::app

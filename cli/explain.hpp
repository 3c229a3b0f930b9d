// `drover explain`: how one machine would be matched and booted, as a value with one
// section per step (machine, match, network, boot, script), rendered to text; then the
// whole DHCP answer it would get (explainDhcp: the real DHCP engine and boot policy run
// on a DISCOVER shaped like the machine's firmware) and the iPXE script /boot.ipxe would
// serve it (explainScript, boot token shown as <token>).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "boot/decision.hpp"
#include "cluster/inventory.hpp"
#include "common/net.hpp"
#include "state/node_state.hpp"

namespace drover::cli {

struct ExplainQuery {
  MacAddress mac;
  std::optional<Uuid> uuid;
  const boot::Architecture* arch = boot::architectureByCode(0);  // never null
  bool ipxe = false;                        // already running iPXE (option 77 "iPXE")
  std::optional<state::NodeStatus> status;  // the node's record; nullopt: none
  std::optional<Ipv4Address> via;           // relay giaddr or receiving interface address
};

// What the machine's firmware announces: option 93, and the vendor class its kind sends
// ("PXEClient:Arch:00007:UNDI:003016", "HTTPClient:Arch:00019:UNDI:003001").
boot::ClientIdentity clientIdentity(const ExplainQuery& query);

struct NetworkSection {
  const cluster::Network* network = nullptr;  // null: not known from the config alone
  std::string found_by;                       // "node ip", "via 192.0.2.1", or empty
  std::string address;                        // what the machine is given, in words
};

struct Explanation {
  ExplainQuery query;
  cluster::Match match;
  NetworkSection network;
  boot::Decision boot;
};

Explanation explain(const cluster::Inventory& inventory, const ExplainQuery& query);
std::string renderText(const cluster::Config& config, const Explanation& e);

struct DhcpOptionText {
  std::uint8_t code = 0;
  std::string name;   // "router", "vendor-class-identifier", ...
  std::string value;  // as text: addresses, numbers, quoted strings, sub-options
};

// The DHCP server's answer to the machine: its DISCOVER (and then REQUEST) through the
// same engine and policy `drover serve` runs.
struct DhcpAnswer {
  bool answered = false;
  std::string why;     // no answer: the reason (the engine's drop reason, or no network)
  bool proxy = false;  // proxyDHCP: boot information only, the address comes from elsewhere
  std::vector<std::string> exchange;  // e.g. "DISCOVER -> OFFER", "REQUEST -> ACK"
  Ipv4Address server_id;
  Ipv4Address yiaddr;
  Ipv4Address siaddr;
  std::string file;
  std::vector<DhcpOptionText> options;  // of the final reply, in wire order
};
DhcpAnswer explainDhcp(const cluster::Inventory& inventory, const ExplainQuery& query);
std::string renderDhcpText(const DhcpAnswer& answer);

// The script GET /boot.ipxe?mac=..&arch=..&platform=.. would return, with the boot token as
// <token> (and the CA fingerprint as <ca-fingerprint> when it is not known).
struct ScriptAnswer {
  std::string url;   // the request iPXE makes after the entry script
  std::string kind;  // the script kind: install, discover, local, failed, capture, ignore
  std::string text;
};
// `api_alternates`: the other live replicas' API URLs, named after this server's on the
// boot environment's command line (as `drover serve` does with the etcd backend).
ScriptAnswer explainScript(const cluster::Config& config, const Explanation& e,
                           std::string_view ca_fingerprint = {},
                           const std::vector<std::string>& api_alternates = {});

// The GRUB configuration a machine whose `local` script chains the network GRUB (x64 UEFI)
// is served over TFTP as grub/drover/<mac>.cfg, as text; empty for every other machine.
std::string renderGrubText(const cluster::Config& config, const Explanation& e);
std::string renderScriptText(const ScriptAnswer& answer);

}  // namespace drover::cli

// The plain-HTTP boot endpoints iPXE and UEFI HTTP boot firmware talk to:
//
//   GET /boot.ipxe                     the entry script: chains to itself with the
//                                      machine's identity (mac, uuid, arch, platform)
//   GET /boot.ipxe?mac=..&uuid=..      the machine's own script, the kind the boot decision
//                                      (boot/decision.hpp) picks from its match and node
//                                      state: install, local disk, discover, failed,
//                                      capture, or ignore
//   GET /assets/{image}/{kind}         kernel | initrd | disk of a declared image, with its
//                                      sha256 (when declared) as the ETag
//   GET /{loader}                      iPXE binaries for UEFI HTTP boot (TFTP root, then
//                                      /usr/lib/ipxe)
//   GET /grubnetx64.efi                the network GRUB (server.boot.grub_efi) the `local`
//                                      script of x64 UEFI machines chains
//
// Nothing secret is served here: the install script's boot token is single-use and opens
// only the exchange for the node's credential over TLS.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "http/router.hpp"
#include "server/context.hpp"
#include "templates/ipxe.hpp"

namespace drover::server {

void addBootRoutes(http::Router& router, Context& ctx);

// Where a machine's script points: this server's boot URL, API URL and CA fingerprint.
struct ScriptEndpoints {
  std::string base_url;  // http://<advertise>:<port>
  std::string api_url;   // https://<advertise>:<port>
  std::string ca_fingerprint;
  // The other live replicas' API URLs (Context::api_alternates), named after api_url on
  // the boot environment's command line; empty without replicas.
  std::vector<std::string> api_alternates{};
};

// The scripts that boot the boot environment and its agent (install, discover, capture):
// they carry a boot token.
bool needsBootToken(templates::Script kind);

// A boot token for `name`'s script, asked by `source` for `mac`: bound to the lease holder
// where Drover leases the network (server/boot_guard.hpp). Errors: boot_refused (counted and
// on the timeline; the message is what the machine is told), token_failed.
Result<std::string> issueScriptToken(Context& ctx, const cluster::Config& config,
                                     const std::string& name, const MacAddress& mac,
                                     const boost::asio::ip::address& source);

// The boot environment's kernel command line for the agent, word by word, as the built-in
// install (mode install), discover and capture scripts write it: drover.api, drover.ca,
// drover.token, drover.node (not for discover), drover.mode, the console, the profile's.
std::vector<std::string> agentKernelArgs(const templates::BootScriptParams& p,
                                         std::string_view mode);

// The parameters of a machine's `kind` script, all but the boot token (the caller issues
// one when needsBootToken(kind)). `efi` and `build_arch` are iPXE's ${platform} == efi and
// ${buildarch}: a `local` script for x64 UEFI chains the network GRUB (boot::localBoot).
// Error "no_boot_env" when the script needs the boot environment and the declaration's has
// no kernel and initrd; its message is what the machine is shown. Shared by
// GET /boot.ipxe and `drover explain`.
Result<templates::BootScriptParams> scriptParams(const cluster::Config& config,
                                                 templates::Script kind, const std::string& node,
                                                 bool efi, std::string_view build_arch,
                                                 const cluster::Profile* profile,
                                                 const ScriptEndpoints& at);

// A script that explains itself and hands the machine back to its firmware.
std::string refusalScript(std::string_view why);

}  // namespace drover::server

// The boot decision: given who a machine is (a Match) and what its firmware is, which file
// it is handed first and what its per-node iPXE script will do. Pure: no I/O, no clock.
// `drover explain` prints it; the DHCP server uses `file`/`delivery` for its answer and the
// HTTP server uses `action` to pick the script.
//
//   firmware                 first file (delivery)
//   bios                     server.boot.bios_loader, undionly.kpxe (TFTP)
//   efi-x64                  profile boot.efi_loader, else server.boot.efi_loader (TFTP)
//   efi-arm64                server.boot.arm64_loader (TFTP); none configured: no answer
//   http-x64 (UEFI HTTP)     http://<advertise>:<http port>/<the efi-x64 loader> (HTTP)
//   already running iPXE     http://<advertise>:<http port>/boot.ipxe (HTTP)
//
// UEFI HTTP boot firmware executes what it downloads, so it is given the iPXE EFI binary
// over HTTP, not the script; that iPXE then asks again and gets the script URL.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "cluster/config.hpp"
#include "cluster/inventory.hpp"

namespace drover::cluster {

enum class ClientArch { Bios, EfiX64, EfiArm64, HttpX64 };

// "bios", "efi-x64", "efi-arm64", "http-x64". Error code "bad_arch".
Result<ClientArch> parseClientArch(std::string_view text);
std::string_view toString(ClientArch a);
// DHCP option 93 (RFC 4578, IANA processor architecture types): 0 BIOS, 7 and 9 x64 UEFI,
// 11 arm64 UEFI, 16 x64 UEFI HTTP. Others: nullopt (not supported).
std::optional<ClientArch> clientArchFromOption93(std::uint16_t code);

// What the state store knows about a node. Until a node has reported "installed", it is
// installed (again) when it boots.
enum class NodeState { New, Installed };

struct BootRequest {
  ClientArch arch = ClientArch::Bios;
  bool ipxe = false;  // DHCP option 77 user class "iPXE": already running iPXE
  NodeState state = NodeState::New;
};

enum class BootAction {
  Install,    // boot environment + agent installs the profile's image
  LocalDisk,  // installed: boot from the local disk (no reinstall loop)
  Discover,   // unknown machine: boot environment + agent registers it and waits
  Ignore,     // no boot answer at all
};
std::string_view toString(BootAction a);  // "install", "local-disk", "discover", "ignore"

enum class Delivery { None, Tftp, Http };
std::string_view toString(Delivery d);  // "none", "tftp", "http"

struct BootDecision {
  BootAction action = BootAction::Ignore;
  Delivery delivery = Delivery::None;
  std::string file;    // TFTP file name or http:// URL; empty when delivery is None
  std::string reason;  // why, in one line (for logs and explain)

  // What the script does, for Install and Discover.
  const Profile* profile = nullptr;  // Install: the profile installed
  const Image* boot_env = nullptr;   // Install and Discover: kernel + initrd booted
  std::vector<std::string> kernel_args;
};

BootDecision decideBoot(const Config& config, const Match& match, const BootRequest& request);

// http://<advertise>:<http port><path>
std::string httpUrl(const Config& config, std::string_view path);
// The iPXE entry script every iPXE client is pointed at.
std::string scriptUrl(const Config& config);

}  // namespace drover::cluster

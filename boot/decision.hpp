// THE boot decision: how a PXE or HTTP boot is answered. Given what a machine's firmware
// announced and what is known of the machine (its match in the declaration and its state),
// which file it is handed first and which iPXE script it is served. Pure: no I/O, no clock.
// The DHCP boot policy (boot/dhcp_policy.hpp) uses the first file, GET /boot.ipxe
// (server/boot_routes.hpp) the script kind, and `drover explain` prints all of it.
//
// First file, from the firmware (option 93, vendor class 60, user class 77 / option 175):
//
//   client                       first file (delivery)
//   already running iPXE         http://<advertise>:<http port>/boot.ipxe (HTTP)
//   BIOS (loader bios)           server.boot.bios_loader, undionly.kpxe (TFTP)
//   UEFI x64 (loader efi-x64)    profile boot.efi_loader, else server.boot.efi_loader (TFTP)
//   UEFI arm64 (loader arm64)    server.boot.arm64_loader (TFTP); else, with
//                                defaults.boot_env_arm64 declared, the arm64 network GRUB
//                                (grubnetaa64.efi, TFTP; never over HTTP); else no file
//   UEFI HTTP boot (HTTPClient)  http://<advertise>:<http port>/<that loader> (HTTP), and
//                                the reply carries option 60 "HTTPClient"
//   unsupported or unknown code  no file; the reason names the architecture
//   no option 93                 the "Arch:NNNNN" of the vendor class; else a PXEClient is
//                                BIOS, an HTTPClient x64 UEFI HTTP, anything else no file
//
// UEFI HTTP boot firmware executes what it downloads, so it is given the iPXE EFI binary
// over HTTP, not the script; that iPXE then asks again and gets the script URL.
//
// Script, from the match and the node state (state/node_state.hpp):
//
//   not declared, defaults.unknown ignore      ignore (no DHCP answer, a refusal script)
//   not declared, defaults.unknown discover    discover
//   not declared, defaults.unknown install     as declared, with defaults.profile
//   capture flag, installed or joined          capture (before a pending reinstall, so the
//                                              disk is saved before it is wiped)
//   reinstall flag                             install
//   installed or joined                        local (never a reinstall)
//   failed                                     failed (message, pause, retry)
//   no record, discovered, installing          install; local when the profile installs
//                                              nothing
//
// How a `local` script reaches the disk, from the platform and architecture iPXE reports
// (localBoot below):
//
//   x86_64 EFI, server.boot.grub_efi set       chain the network GRUB (/grubnetx64.efi over
//                                              HTTP); its per-node grub.cfg, fetched over
//                                              TFTP, starts the disk's EFI loader
//   anything else (BIOS, arm64, GRUB off)      sanboot the first disk (BIOS drive 0x80)
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cluster/config.hpp"
#include "cluster/inventory.hpp"
#include "state/node_state.hpp"
#include "templates/ipxe.hpp"

namespace drover::boot {

// --- the architecture table (DHCP option 93, RFC 4578 / IANA processor architecture types)

enum class Firmware { kBios, kUefi, kUefiHttp };
// Which configured loader a firmware runs; kNone: Drover has none for it (unsupported).
enum class Loader { kNone, kBios, kEfiX64, kEfiArm64 };

struct Architecture {
  std::uint16_t code;      // option 93
  std::string_view name;   // `drover explain --arch` name: "bios", "efi-x64", ...
  std::string_view title;  // "x64 UEFI", for people
  Firmware firmware;
  Loader loader;
  std::string_view build_arch;  // iPXE's ${buildarch} on this machine: i386, x86_64, arm64
};

// Every architecture Drover knows, by code: 0 bios, 6 efi-ia32, 7 efi-x64, 9 efi-bc,
// 10 efi-arm32, 11 efi-arm64, 15 http-ia32, 16 http-x64, 18 http-arm32, 19 http-arm64.
std::span<const Architecture> architectures();
const Architecture* architectureByCode(std::uint16_t code);
// By name, or by the option 93 code as a decimal number ("16"). nullptr: no such entry.
const Architecture* findArchitecture(std::string_view name_or_code);

// --- the decision

// What a machine's firmware announced.
struct ClientIdentity {
  std::optional<std::uint16_t> arch;  // option 93, first entry
  std::string vendor_class;           // option 60: "PXEClient:Arch:00007:...", "HTTPClient..."
  bool ipxe = false;                  // option 77 "iPXE" or option 175: already running iPXE
};

// The architecture a client that is not yet running iPXE runs, and whether it boots over
// HTTP (UEFI HTTP boot, or vendor class HTTPClient): option 93, else the vendor class's
// "Arch:NNNNN", else a PXEClient is BIOS and an HTTPClient x64 UEFI HTTP. `arch` null: no
// architecture (not a network boot client, or a code not in the table); `reason` says so.
struct ClientFirmware {
  const Architecture* arch = nullptr;
  bool http = false;
  std::string reason;  // empty when the client said plainly
};
ClientFirmware clientFirmware(const ClientIdentity& client);

enum class Delivery { kNone, kTftp, kHttp };

// The script kinds are the iPXE scripts templates/ipxe.hpp renders (never kEntry here).
using ScriptKind = templates::Script;

struct Decision {
  const Architecture* arch = nullptr;  // null: iPXE client, or no architecture known
  Delivery delivery = Delivery::kNone;
  std::string file;          // TFTP file name or http:// URL; empty when delivery is kNone
  bool http_client = false;  // UEFI HTTP boot: the DHCP reply carries option 60 HTTPClient
  ScriptKind script = ScriptKind::kIgnore;
  std::string reason;  // why, in one line (for logs and explain)

  // Install, discover, capture: the boot environment (kernel + initrd) the script boots,
  // and the profile (installed, and whose kernel arguments it gets; may be null for discover).
  const cluster::Profile* profile = nullptr;
  const cluster::Image* boot_env = nullptr;
};

// `status` is the node's record in the state store (nullopt: none). For an undeclared
// machine the record is the one under its provisional name.
Decision decide(const cluster::Config& config, const cluster::Match& match,
                const ClientIdentity& client, const std::optional<state::NodeStatus>& status);

// Whether the script depends on the node's state record: a declared node, or an unknown
// one installed under defaults.unknown install. Otherwise the record need not be read.
bool dependsOnState(const cluster::Match& match);

// The script a machine the declaration installs gets, from its state record alone (the
// rows of the script table from "capture flag" down, profile aside).
ScriptKind scriptForState(const std::optional<state::NodeStatus>& status);

// --- a `local` script: how an installed machine reaches its disk

// The name the network GRUB is served under (HTTP /grubnetx64.efi); its configuration lives
// under grub/ in TFTP (templates/grub.hpp).
inline constexpr std::string_view kGrubEfiName = "grubnetx64.efi";

// --- Secure Boot (profiles.*.boot.secure_boot)
//
// The signed chain, all over TFTP: the firmware runs shimx64.efi (server.boot.shim_efi, signed
// by Microsoft's UEFI CA), shim runs grubx64.efi from the same directory (server.boot.grub_efi,
// Debian's signed network GRUB, checked by shim against Debian's key), and that GRUB reads
// grub/grub.cfg and its per-node grub/drover/x86_64/<mac>.cfg (templates/grub.hpp): for `local` it
// chainloads the disk's loader, for install, discover and capture it boots the boot
// environment's kernel (signed; checked by GRUB through shim) and initrd from
// drover/boot-env/kernel and drover/boot-env/initrd. Only x64 UEFI PXE clients get an answer:
// iPXE, BIOS, arm64 and HTTP boot clients of such a profile get no boot file, with the reason.
inline constexpr std::string_view kShimEfiName = "shimx64.efi";
inline constexpr std::string_view kShimGrubName = "grubx64.efi";
inline constexpr std::string_view kBootEnvKernelPath = "drover/boot-env/kernel";
inline constexpr std::string_view kBootEnvInitrdPath = "drover/boot-env/initrd";

// --- arm64 UEFI (defaults.boot_env_arm64)
//
// Debian builds no arm64 iPXE, so arm64 machines run Debian's network GRUB for arm64
// (server.boot.grub_efi_arm64) from TFTP as their first file. It reads grub/grub.cfg and its
// per-node grub/drover/arm64/<mac>.cfg like the signed chain: `local` chainloads the disk's
// \EFI\BOOT\BOOTAA64.EFI, install, discover and capture boot the arm64 boot environment's
// kernel and initrd from drover/boot-env-arm64/kernel and drover/boot-env-arm64/initrd.
inline constexpr std::string_view kGrubArm64Name = "grubnetaa64.efi";
inline constexpr std::string_view kBootEnvArm64KernelPath = "drover/boot-env-arm64/kernel";
inline constexpr std::string_view kBootEnvArm64InitrdPath = "drover/boot-env-arm64/initrd";

// The boot environment an architecture boots: defaults.boot_env_arm64 for arm64 when it is
// declared, else defaults.boot_env. Null when the image does not exist.
const cluster::Image* bootEnv(const cluster::Config& config, bool arm64);

enum class DiskHandoff { kSanboot, kGrub };

struct LocalBoot {
  DiskHandoff how = DiskHandoff::kSanboot;
  std::string reason;  // one line, for explain and logs
};

// `efi`: iPXE's ${platform} is efi; `build_arch`: its ${buildarch} (x86_64, i386, arm64).
LocalBoot localBoot(const cluster::Config& config, bool efi, std::string_view build_arch);

// http://<advertise>:<http port><path>
std::string httpUrl(const cluster::Config& config, std::string_view path);
// The iPXE entry script every iPXE client is pointed at.
std::string scriptUrl(const cluster::Config& config);

}  // namespace drover::boot

// The GRUB configurations Drover serves to its network GRUB (server.boot.grub_efi, Debian's
// grubnetx64), which x64 UEFI machines whose boot decision is `local` are chained to from
// iPXE, and to Debian's arm64 network GRUB (server.boot.grub_efi_arm64), the first file of
// arm64 machines. That GRUB reads its configuration over TFTP from the server in the DHCP
// answer, under its built-in prefix /grub:
//
//   grub/grub.cfg                  the entry: loads grub/drover/<cpu>/<mac>.cfg for the
//                                  architecture GRUB runs on (${grub_cpu}: x86_64, arm64)
//                                  and the MAC the machine booted from (${net_default_mac})
//   grub/drover/<cpu>/<mac>.cfg    the machine's own configuration, one of:
//     local   find the installed EFI system partition by its loader (the removable-media
//             path, \EFI\BOOT\BOOTX64.EFI or BOOTAA64.EFI, first, then the usual
//             distribution paths), make it GRUB's root and chainload that loader; if no
//             disk has one, say so, wait and reboot (the machine asks Drover again)
//     ipxe    the decision is no longer `local` (a reinstall was asked for meanwhile):
//             chainload the iPXE loader from the TFTP root, which asks for the new script
//     linux   Secure Boot profiles (started through shim, boot/decision.hpp) and arm64
//             machines: the boot environment's kernel and initrd over TFTP with the
//             agent's command line (the iPXE install, discover or capture script's),
//             checked by GRUB through shim when Secure Boot is on
//     wait    the same machines when their decision is anything else (failed): the
//             message, a pause and a reboot (never iPXE: the firmware would refuse it, or
//             there is none for the architecture)
//
// Every value that lands in a configuration is a word of safe characters (node names,
// loader names) or free text reduced to them, so remote input cannot add GRUB commands.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace drover::templates {

enum class GrubConfig { kLocal, kIpxe, kLinux, kWait };

std::string_view grubConfigName(GrubConfig c);  // "local", "ipxe", "linux", "wait"

// The entry configuration (the same for every machine).
std::string_view grubEntryConfig();

// The EFI loader paths `local` tries, in order, on x64 or arm64.
std::string_view grubLoaderPaths(bool arm64 = false);

struct GrubParams {
  std::string node;         // node name
  std::string ipxe_loader;  // ipxe: the EFI iPXE loader in the TFTP root ("ipxe.efi")
  std::string message;      // ipxe, wait: why, shown on the console
  bool arm64 = false;       // local: the arm64 loader paths
  int retry_seconds = 30;
  // linux: TFTP paths of the kernel and initrd, and the kernel command line, word by word
  // (each a GRUB word of URL characters: letters, digits and -._/:,=+@%~).
  std::string kernel_path;
  std::string initrd_path;
  std::vector<std::string> kernel_args{};
};

// Error "bad_script_value" when a value is not a safe word.
Result<std::string> renderGrubConfig(GrubConfig c, const GrubParams& p);

}  // namespace drover::templates

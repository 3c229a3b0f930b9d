// The built-in iPXE scripts, as mustache templates (overridable: pass your own text).
//
//   entry     served for a bare GET /boot.ipxe: chains to
//             /boot.ipxe?mac=${netX/mac}&uuid=${uuid}&arch=${buildarch}&platform=${platform}
//             (netX is the interface iPXE booted from; ${mac} alone would be the first
//             NIC's; buildarch is i386/x86_64/arm64, platform pcbios/efi)
//   install   kernel + initrd of the boot environment, command line with drover.api (this
//             server's API URL, then the other live replicas'), drover.ca, drover.token,
//             drover.node, drover.mode=install and the console; EFI clients also get
//             initrd=initrd.img (Debian's iPXE does not hand the initrd to an EFI kernel by itself)
//   local     boot the installed disk: BIOS `sanboot --no-describe --drive 0x80`; x64
//             UEFI (grub_url set) chains Drover's network GRUB, whose grub.cfg starts the
//             disk's EFI loader (templates/grub.hpp); other UEFI tries sanboot and
//             otherwise exits with an error so the firmware moves on to its next entry
//   discover  the boot environment with drover.mode=discover
//   failed    a clear message, a pause, then a retry through the entry URL
//   capture   the install script's boot environment with drover.mode=capture: the agent
//             uploads the disk instead of writing it (docs/images.md)
//   ignore    a machine Drover does not answer: the message, then back to the firmware
//
// Which one a machine gets is the boot decision's script kind (boot/decision.hpp).
//
// Every value that lands in a script is checked: URLs and tokens must be a single word
// of URL characters (no spaces, quotes, '$' or control characters); free text (messages)
// is reduced to safe characters so remote input cannot inject iPXE commands.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace drover::templates {

enum class Script { kEntry, kInstall, kLocalBoot, kDiscover, kFailed, kCapture, kIgnore };

std::string_view scriptName(Script s);     // "entry", "install", ...
std::string_view builtinScript(Script s);  // the template text

struct BootScriptParams {
  std::string base_url;    // http://192.0.2.1:8080 (no trailing slash)
  std::string node;        // node name; empty for unknown machines
  bool efi = false;        // client platform is EFI (?platform=efi)
  std::string kernel_url;  // boot environment
  std::string initrd_url;
  std::string api_url;  // https://192.0.2.1:8443
  // The other live replicas' API URLs, tried by the agent after api_url (kernel command
  // line `drover.api=<api_url>,<alternate>,...`); empty without replicas.
  std::vector<std::string> api_alternates{};
  std::string ca_fingerprint;  // "sha256:<64 hex>"
  std::string token;           // boot token
  std::string grub_url;        // local: the network GRUB to chain (x64 UEFI); empty: sanboot
  std::string console = "console=tty0 console=ttyS0,115200n8";
  std::string extra_args;  // more kernel arguments (profile)
  std::string message;     // failed, ignore: the reason shown on the console
  int retry_seconds = 30;
};

// The data object the built-in templates use (and overrides may use): base_url, node, efi,
// kernel_url, initrd_url, api_url, api_urls (api_url then the alternates, comma-separated:
// the value of drover.api), ca, token, grub_url, console, extra_args, message,
// retry_seconds, and self_url (the entry URL with the iPXE identity variables).
Result<nlohmann::json> scriptData(const BootScriptParams& p);

// Renders a built-in script, or `override_text` when not empty, with scriptData(p).
Result<std::string> renderScript(Script s, const BootScriptParams& p,
                                 std::string_view override_text = {});

// A built-in script rendered once for values whose boot token changes on every request
// (install, discover, capture): withToken() puts a token in, a copy instead of a render.
class PreparedScript {
 public:
  // The script with `token` (a single URL-safe word, else error "bad_script_value").
  Result<std::string> withToken(std::string_view token) const;

 private:
  friend Result<PreparedScript> prepareScript(Script s, const BootScriptParams& p);
  friend Result<std::string> renderScript(Script s, const BootScriptParams& p,
                                          std::string_view override_text);
  // A script rendered with a slot for the token (or none: one piece).
  static PreparedScript fromSlotted(std::string_view text);
  // The pieces joined by `token`, unchecked.
  std::string fill(std::string_view token) const;

  std::vector<std::string> pieces_;  // the text around the token's places
};

// Renders built-in script `s` with `p` (its token ignored) for PreparedScript::withToken.
Result<PreparedScript> prepareScript(Script s, const BootScriptParams& p);

// Free text made safe for an iPXE `echo` line: letters, digits, space and .,:;_/=+-()
// kept, everything else '_', cut to `max_len`.
std::string ipxeText(std::string_view s, std::size_t max_len = 200);

}  // namespace drover::templates

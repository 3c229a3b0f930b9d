// The network GRUB's configuration files, generated per request on Drover's TFTP server
// (templates/grub.hpp): grub/grub.cfg (the entry), grub/drover/<cpu>/<mac>.cfg (the
// machine's own, for the architecture GRUB runs on: x86_64 or arm64), and empty module lists
// under grub/x86_64-efi/ and grub/arm64-efi/ (the signed GRUB loads no modules; empty lists
// save its "not found" answers). Nothing is answered for x86_64 when server.boot.grub_efi is
// off, nor for arm64 unless arm64 machines boot the arm64 network GRUB (boot/decision.hpp).
//
// x64 machines are chained to GRUB from iPXE when their decision is `local`: they boot their
// disk, or go back to iPXE for a new script. Machines whose profile boots with Secure Boot
// (started through shim over TFTP) and arm64 machines (GRUB is their first file) never go to
// iPXE: for them the configuration boots the boot environment itself, and its kernel and
// initrd are served here too.
//
// A machine's configuration is the boot decision for it as GET /boot.ipxe makes it (its
// match and state record); serving it is a "script_served" entry on its timeline
// ("grub local (x86_64 efi)"), written by the timeline's background writer.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "boot/decision.hpp"
#include "server/context.hpp"
#include "server/timeline_observer.hpp"
#include "tftp/server/server.hpp"

namespace drover::server {

class GrubFiles final : public tftp::VirtualFiles {
 public:
  GrubFiles(Context& ctx, TimelineObserver& timeline) : ctx_(ctx), timeline_(timeline) {}

  std::optional<std::string> lookup(std::string_view path, const tftp::Endpoint& client) override;
  // The signed chain's files (boot/decision.hpp, Secure Boot): shimx64.efi
  // (server.boot.shim_efi), grubx64.efi (server.boot.grub_efi) and the boot environment's
  // kernel and initrd under drover/boot-env/; arm64's: grubnetaa64.efi
  // (server.boot.grub_efi_arm64) and the arm64 boot environment under drover/boot-env-arm64/.
  std::optional<std::filesystem::path> file(std::string_view path,
                                            const tftp::Endpoint& client) override;

 private:
  std::optional<std::string> nodeConfig(std::string_view mac_text, std::string_view cpu,
                                        const tftp::Endpoint& client);
  // Secure Boot profiles and arm64 machines: the boot environment for the decision's script
  // (install, discover, capture), or a message and a reboot for anything else.
  Result<std::string> bootEnvConfig(const cluster::Config& config, const std::string& name,
                                    const MacAddress& mac, std::string_view cpu,
                                    const boot::Decision& decision, const tftp::Endpoint& client);

  Context& ctx_;
  TimelineObserver& timeline_;
};

}  // namespace drover::server

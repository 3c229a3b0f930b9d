// Join mode's answer to a heartbeat that says {"action": "reinstall"}: reboot this machine
// into the network once, without a BMC.
//
// On UEFI (/sys/firmware/efi exists) the Boot#### entry that boots the NIC named by the
// server is found (agent/efi_boot.hpp), BootNext is set to it and read back, and the
// machine reboots. On BIOS there are no boot variables: it reboots, and a machine whose
// firmware tries the network first gets the install script because the reinstall is
// pending (a BIOS machine with the disk first cannot be sent to the network this way).
//
// Timeline phases reported (each with the request's id): `boot_next` (the entry set and
// read back), `reboot_network` (rebooting now), `reboot_failed` (with the reason; the
// machine is not rebooted).
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace drover::agent {

struct NetworkReboot {
  std::string id{};   // the request's id, echoed in every report
  std::string mac{};  // the NIC to boot from (the one the node installed through)
};

struct NetworkRebootOptions {
  std::filesystem::path efi_dir = "/sys/firmware/efi";
  std::filesystem::path efivars_dir = "/sys/firmware/efi/efivars";
  // Default: sync(2), `systemctl reboot`, and reboot(2) when that fails.
  std::function<Status()> reboot{};
};

using ReportFn = std::function<void(std::string_view phase, const std::string& message)>;

// Error codes: bad_request (no usable MAC), no_network_entry, efivars, boot_next_mismatch,
// reboot. Every outcome is reported first.
Status rebootToNetwork(const NetworkReboot& request, const NetworkRebootOptions& opt,
                       const ReportFn& report);

}  // namespace drover::agent

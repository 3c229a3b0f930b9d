#include "agent/net_reboot.hpp"

#include <sys/reboot.h>
#include <unistd.h>

#include <fmt/format.h>

#include "agent/efi_boot.hpp"
#include "agent/process.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"

namespace drover::agent {
namespace fs = std::filesystem;

namespace {

Status systemReboot() {
  ::sync();
  auto rc = runProcess({{"systemctl", "reboot"}, {}, ""});
  if (rc && *rc == 0) return {};
  log::get("agent")->warn("AGENT_SYSTEMCTL_REBOOT_FAILED status={} (rebooting directly)",
                          rc ? std::to_string(*rc) : rc.error().message);
  ::sync();
  if (::reboot(RB_AUTOBOOT) != 0) return makeError("reboot", "reboot(2) failed");
  return {};
}

}  // namespace

Status rebootToNetwork(const NetworkReboot& request, const NetworkRebootOptions& opt,
                       const ReportFn& report) {
  auto log = log::get("agent");
  auto failed = [&](Error e) {
    metrics::Registry::global()
        .counter("agent_network_reboots_failed_total",
                 "Requests to reboot into the network that this agent could not carry out",
                 fmt::format("reason=\"{}\"", e.code))
        .fetch_add(1, std::memory_order_relaxed);
    log->warn("AGENT_NETWORK_REBOOT_FAILED id={} code={} reason=\"{}\"", request.id, e.code,
              log::sanitize(e.message, 200));
    report("reboot_failed", e.message);
    return e;
  };
  std::error_code ec;
  std::string how;
  if (fs::exists(opt.efi_dir, ec)) {
    auto mac = MacAddress::parse(request.mac);
    if (!mac || mac->isZero())
      return failed(makeError("bad_request", "the request names no usable MAC address \"" +
                                                 log::sanitize(request.mac, 40) + "\""));
    auto entries = efi::readBootEntries(opt.efivars_dir);
    if (!entries) return failed(entries.error());
    auto pick = efi::pickNetworkEntry(*entries, *mac);
    if (!pick)
      return failed(makeError(
          "no_network_entry",
          fmt::format("none of the {} Boot#### entries boots the network from {}: the firmware "
                      "must list that NIC (enable its network boot) first",
                      entries->size(), mac->str())));
    if (auto st = efi::writeBootNext(opt.efivars_dir, pick->number); !st) return failed(st.error());
    how = fmt::format("BootNext={} \"{}\"", efi::bootName(pick->number),
                      log::sanitize(pick->option.description, 80));
    report("boot_next", how + " (read back)");
  } else {
    how = "BIOS: no boot variables, the firmware's boot order decides";
  }
  log->info("AGENT_NETWORK_REBOOT id={} {}", request.id, how);
  report("reboot_network", "rebooting into the network: " + how);
  auto st = opt.reboot ? opt.reboot() : systemReboot();
  if (!st) return failed(makeError("reboot", st.error().message));
  return {};
}

}  // namespace drover::agent

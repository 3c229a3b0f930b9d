#include "power/bmc.hpp"

#include <fmt/format.h>

#include "power/ipmi.hpp"
#include "power/redfish.hpp"

namespace drover::power {

Result<std::unique_ptr<Bmc>> makeBmc(const BmcConfig& config, const Credentials& credentials) {
  if (config.address.empty()) return makeError("bmc_config", "the BMC has no address");
  if (config.driver == Driver::Redfish) return makeRedfishBmc(config, credentials);
  return makeIpmiBmc(config, credentials);
}

Status setNextBootVerified(Bmc& bmc, BootDevice device, bool once) {
  if (auto st = bmc.setNextBoot(device, once); !st) return st;
  auto back = bmc.nextBoot();
  if (!back) return back.error();
  const BootOverride want{device, once, true};
  if (*back != want)
    return makeError(
        "bmc_ignored_boot_override",
        fmt::format("bmc ignored boot override: set {} ({}), read back {} ({}{})", toString(device),
                    once ? "once" : "persistent", toString(back->device),
                    back->once ? "once" : "persistent", back->valid ? "" : ", not valid"));
  return {};
}

std::string_view toString(Driver d) {
  return d == Driver::Redfish ? "redfish" : "ipmi";
}

std::string_view toString(PowerState s) {
  return s == PowerState::On ? "on" : "off";
}

std::string_view toString(PowerAction a) {
  switch (a) {
    case PowerAction::On:
      return "on";
    case PowerAction::Off:
      return "off";
    case PowerAction::Cycle:
      return "cycle";
    case PowerAction::Reset:
      return "reset";
  }
  return "?";
}

std::string_view toString(BootDevice d) {
  switch (d) {
    case BootDevice::None:
      return "none";
    case BootDevice::Network:
      return "network";
    case BootDevice::Disk:
      return "disk";
    case BootDevice::Other:
      return "other";
  }
  return "?";
}

std::optional<PowerAction> parsePowerAction(std::string_view s) {
  if (s == "on") return PowerAction::On;
  if (s == "off") return PowerAction::Off;
  if (s == "cycle") return PowerAction::Cycle;
  if (s == "reset") return PowerAction::Reset;
  return std::nullopt;
}

}  // namespace drover::power

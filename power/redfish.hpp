// Redfish (DMTF DSP0266) over HTTPS with basic auth, through drover::curl:
//   GET   /redfish/v1/Systems              the first member, unless system_id names one
//   GET   <system>                         PowerState, Boot.BootSourceOverride*
//   POST  <system>/Actions/ComputerSystem.Reset  {"ResetType": On|ForceOff|PowerCycle|ForceRestart}
//   PATCH <system>                         {"Boot": {"BootSourceOverrideTarget": Pxe|Hdd,
//                                                    "BootSourceOverrideEnabled": Once|Continuous}}
#pragma once

#include <memory>

#include "power/bmc.hpp"

namespace drover::power {

Result<std::unique_ptr<Bmc>> makeRedfishBmc(const BmcConfig& config,
                                            const Credentials& credentials);

}  // namespace drover::power

// IPMI v2.0 over LAN (RMCP+, "lanplus") through FreeIPMI's libfreeipmi: one session per call,
// opened with the configured timeout, at the OPERATOR privilege (enough for chassis control
// and boot options; an administrator account works too) with cipher suite 3 (HMAC-SHA1,
// HMAC-SHA1-96, AES-CBC-128).
//   status       Get Chassis Status (power is on)
//   set          Chassis Control (power up / down / cycle / hard reset)
//   setNextBoot  Set System Boot Options, parameter 5 (boot flags): PXE or hard drive,
//                valid for the next boot only or persistently
//   nextBoot     Get System Boot Options, parameter 5
#pragma once

#include <memory>

#include "power/bmc.hpp"

namespace drover::power {

Result<std::unique_ptr<Bmc>> makeIpmiBmc(const BmcConfig& config, const Credentials& credentials);

}  // namespace drover::power

// BMC user names and passwords never sit in the declaration: a node's `bmc.credentials`
// names an entry, found (in this order)
//   1. in the environment: DROVER_BMC_<NAME>_USERNAME and DROVER_BMC_<NAME>_PASSWORD, NAME
//      upper-cased with '-' and '.' as '_' (both must be set);
//   2. in <state dir>/bmc-credentials.yaml, which must be a regular file of mode 0600 (or
//      stricter) and maps each name to {username, password}:
//        rack-a: {username: admin, password: "s3cret"}
// Errors have the code "bmc_credentials".
#pragma once

#include <filesystem>
#include <string>

#include "common/result.hpp"
#include "power/bmc.hpp"

namespace drover::power {

inline constexpr std::string_view kCredentialsFile = "bmc-credentials.yaml";

// "DROVER_BMC_RACK_A" for "rack-a".
std::string credentialsEnvPrefix(std::string_view name);

Result<Credentials> lookupCredentials(const std::filesystem::path& state_dir,
                                      const std::string& name);

}  // namespace drover::power

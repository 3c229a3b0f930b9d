// The cross-field pass: checks that relate several values (duplicates, addresses against
// subnets and pools, names that must refer to something, files that must exist). Runs on a
// Config whose every value parsed; appends one Diagnostic per problem.
#pragma once

#include "provisioner/inventory/config.hpp"
#include "provisioner/inventory/diagnostics.hpp"

namespace drover::inventory {

void checkConfig(const Config& config, Diagnostics& out);

// The parts, for tests.
void checkNetworks(const Config& config, Diagnostics& out);
void checkImagesAndProfiles(const Config& config, Diagnostics& out);
void checkNodes(const Config& config, Diagnostics& out);
// Signatures name a trusted key; every trusted key is a readable RSA/ECDSA public key
// (image_checks.cpp).
void checkTrust(const Config& config, Diagnostics& out);

}  // namespace drover::inventory

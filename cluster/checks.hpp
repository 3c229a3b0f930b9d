// The cross-field pass: checks that relate several values (duplicates, addresses against
// subnets and pools, names that must refer to something, files that must exist). Runs on a
// Config whose every value parsed; appends one Diagnostic per problem.
#pragma once

#include <span>
#include <string_view>

#include "cluster/config.hpp"
#include "cluster/diagnostics.hpp"

namespace drover::cluster {

void checkConfig(const Config& config, Diagnostics& out);

// The parts, for tests.
void checkNetworks(const Config& config, Diagnostics& out);
void checkImagesAndProfiles(const Config& config, Diagnostics& out);
void checkNodes(const Config& config, Diagnostics& out);
// Join recipes: every profile names a built-in one (or none), and every node that joins
// as an etcd member declares its ip (the member's URLs are built from it).
void checkRecipes(const Config& config, Diagnostics& out);

// The built-in join recipes, and whether one needs the node's declared ip.
std::span<const std::string_view> joinRecipes();
bool recipeNeedsIp(std::string_view recipe);

// Signatures name a trusted key; every trusted key is a readable RSA/ECDSA public key
// (image_checks.cpp).
void checkTrust(const Config& config, Diagnostics& out);

}  // namespace drover::cluster

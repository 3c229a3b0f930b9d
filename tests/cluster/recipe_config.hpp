// A small declaration for the join recipe tests (inventory checks and boot rendering): one
// network, a boot environment and a disk image, then the caller's profiles and nodes.
#pragma once

#include <string>

#include "tests/cluster/config_text.hpp"

namespace drover::cluster::testing {

inline std::string recipeDeclaration(const std::string& profiles, const std::string& nodes) {
  return std::string(R"(server:
  advertise: 192.0.2.1
networks:
  - { name: lan, subnet: 192.0.2.0/24, pool: 192.0.2.100-192.0.2.199, gateway: 192.0.2.1 }
)") + kTestImages + "profiles:\n" + profiles + "nodes:\n" + nodes;
}

}  // namespace drover::cluster::testing

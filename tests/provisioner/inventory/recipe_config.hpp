// A small declaration for the join recipe tests (inventory checks and boot rendering): one
// network, a boot environment and a disk image, then the caller's profiles and nodes.
#pragma once

#include <string>

namespace drover::inventory::testing {

inline std::string recipeDeclaration(const std::string& profiles, const std::string& nodes) {
  return R"(server:
  advertise: 192.0.2.1
networks:
  - { name: lan, subnet: 192.0.2.0/24, pool: 192.0.2.100-192.0.2.199, gateway: 192.0.2.1 }
images:
  boot-env:
    kernel: { path: /srv/vmlinuz }
    initrd: { path: /srv/initrd.img }
  os:
    disk: { path: /srv/os.raw }
profiles:
)" + profiles + "nodes:\n" + nodes;
}

}  // namespace drover::inventory::testing

// A small cluster declaration shared by the boot adapter tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "boot/snapshot.hpp"
#include "cluster/loader.hpp"

namespace drover::boot::testing {

inline std::string clusterYaml(std::string_view unknown = "discover",
                               std::string_view arm64_loader = {}) {
  return std::string(R"(
server:
  advertise: 192.0.2.1
  interfaces: [br0]
  tftp: { listen: "0.0.0.0:69", root: /srv/tftp }
  http: { listen: "0.0.0.0:8080" })") +
         (arm64_loader.empty() ? std::string()
                               : "\n  boot: { arm64_loader: " + std::string(arm64_loader) + " }") +
         std::string(R"(
networks:
  - name: rack1
    subnet: 192.0.2.0/24
    pool: 192.0.2.100-192.0.2.199
    gateway: 192.0.2.1
    dns: [192.0.2.1]
    domain: lab.example
    lease: 1h
  - name: rack2
    subnet: 198.51.100.0/24
    mode: proxy
images:
  boot-env:
    kernel: { path: /srv/boot-env/vmlinuz }
    initrd: { path: /srv/boot-env/initrd.img }
  os:
    disk: { path: /srv/os.raw }
profiles:
  worker:
    install: { image: os, disk: /dev/vda }
defaults:
  unknown: )") +
         std::string(unknown) + R"(
nodes:
  - name: worker-1
    mac: 52:54:00:12:34:57
    ip: 192.0.2.11
    profile: worker
  - name: worker-2
    uuid: 8a6b0c3e-2f1d-4c5e-9a7b-1d2e3f405162
    profile: worker
)";
}

class FixedSource final : public InventorySource {
 public:
  explicit FixedSource(std::string_view unknown = "discover", std::string_view arm64_loader = {}) {
    auto loaded = cluster::loadConfigText(clusterYaml(unknown, arm64_loader), "cluster.yaml", "/");
    for (const auto& e : loaded.errors) ADD_FAILURE() << e.str();
    if (loaded.config) snapshot_ = Snapshot::build(loaded.config);
  }
  std::shared_ptr<const Snapshot> current() const override { return snapshot_; }

 private:
  std::shared_ptr<const Snapshot> snapshot_;
};

}  // namespace drover::boot::testing

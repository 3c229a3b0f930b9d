// Cluster declarations used by several inventory tests.
#pragma once

#include <string>

namespace drover::cluster {

// The boot environment and disk image of the small test declarations.
inline constexpr const char* kTestImages = R"(images:
  boot-env:
    kernel: { path: /srv/vmlinuz }
    initrd: { path: /srv/initrd.img }
  os:
    disk: { path: /srv/os.raw }
)";

inline constexpr const char* kFullConfig = R"(server:
  advertise: 192.0.2.1
  interfaces: [br0]
  tftp:  { listen: "0.0.0.0:69", root: /var/lib/drover/tftp }
  http:  { listen: "0.0.0.0:8080" }
  api:   { listen: "0.0.0.0:8443", tls: auto }
  state: { backend: sqlite, path: /var/lib/drover/state.db }
  boot:  { arm64_loader: ipxe-arm64.efi }
networks:
  - name: rack1
    subnet: 192.0.2.0/24
    mode: dhcp
    pool: 192.0.2.100-192.0.2.199
    gateway: 192.0.2.1
    dns: [192.0.2.1]
    domain: lab.example
    lease: 1h
  - name: site
    subnet: 198.51.100.0/24
    mode: proxy
images:
  boot-env:
    kernel: { path: /var/lib/drover/images/boot-env/vmlinuz }
    initrd: { path: /var/lib/drover/images/boot-env/initrd.img }
  debian-12:
    disk:   { url: "http://192.0.2.1:8080/mirror/debian-12.raw.zst", sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" }
    update: { interval: 24h, expire: 10d }
profiles:
  master:
    install: { image: debian-12, disk: /dev/sda }
    kernel_args: console=ttyS0
    join: { runtime: containerd, recipe: etcd-member }
  worker:
    install: { image: debian-12 }
    kernel_args: [console=ttyS0, quiet]
    boot: { efi_loader: snponly.efi }
    join: { runtime: containerd, recipe: etcd-proxy }
defaults:
  unknown: discover
  ssh_authorized_keys:
    - "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyOnlyForDocs admin@lab"
nodes:
  - name: master-1
    mac: 52:54:00:12:34:56
    ip: 192.0.2.10
    profile: master
    labels: { rack: r1 }
  - name: worker-1
    macs: [52-54-00-12-34-57, 5254.0012.3557]
    ip: 192.0.2.11
    profile: worker
  - name: worker-2
    uuid: 8a6b0c3e-2f1d-4c5e-9a7b-1d2e3f405162
    ip: 198.51.100.20
    profile: worker
)";

inline const std::string kMinimalConfig = std::string(R"(server:
  advertise: 192.0.2.1
networks:
  - name: lan
    subnet: 192.0.2.0/24
)") + kTestImages + R"(profiles:
  os:
    install: { image: os }
defaults:
  profile: os
nodes:
  - name: one
    mac: 52:54:00:00:00:01
    ip: 192.0.2.10
)";

}  // namespace drover::cluster

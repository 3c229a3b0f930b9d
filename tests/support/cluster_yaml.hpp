// The test declaration, built from parts instead of pasted: by default the serve tests' site
// (two installable nodes, a boot environment and a disk image, every listener on
// 127.0.0.1 port 0). Paths are relative, so they resolve against the folder the
// declaration is written to; writeSiteFiles() lays out the files they name.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "tests/support/temp_dir.hpp"

namespace drover::test {

struct ClusterYaml {
  std::string advertise = "127.0.0.1";
  std::string interfaces;  // the YAML list's items, "br0, eth1"; empty: no interfaces key
  std::string tftp_listen = "127.0.0.1:0";
  std::string http_listen = "127.0.0.1:0";
  std::string api_listen = "127.0.0.1:0";
  std::string state = "{ backend: sqlite, path: state/state.db }";
  std::string boot;  // server.boot as a flow map, "{ allowed_subnets: [...] }"; empty: none
  std::string dhcp;  // a YAML flow map for server.dhcp; empty: no dhcp key
  // YAML list items under `networks:`.
  std::string networks =
      "  - name: lan\n"
      "    subnet: 192.0.2.0/24\n"
      "    pool: 192.0.2.100-192.0.2.199\n"
      "    gateway: 192.0.2.1\n";
  std::string join = "{ runtime: containerd, recipe: etcd-member }";  // empty: no join
  std::string unknown = "discover";
  // YAML list items under `nodes:`.
  std::string nodes =
      "  - name: node-1\n"
      "    mac: 52:54:00:12:34:56\n"
      "    ip: 192.0.2.10\n"
      "  - name: node-2\n"
      "    mac: 52:54:00:12:34:57\n"
      "    ip: 192.0.2.11\n";

  std::string str() const {
    std::string y = "server:\n  advertise: " + advertise + "\n";
    if (!interfaces.empty()) y += "  interfaces: [" + interfaces + "]\n";
    y += "  tftp: { listen: \"" + tftp_listen + "\", root: tftp }\n"
         "  http: { listen: \"" + http_listen + "\" }\n"
         "  api: { listen: \"" + api_listen + "\", tls: auto }\n"
         "  state: " + state + "\n";
    if (!boot.empty()) y += "  boot: " + boot + "\n";
    if (!dhcp.empty()) y += "  dhcp: " + dhcp + "\n";
    y += "networks:\n" + networks +
         "images:\n"
         "  boot-env:\n"
         "    kernel: { path: images/vmlinuz }\n"
         "    initrd: { path: images/initrd.img }\n"
         "  os:\n"
         "    disk: { path: images/os.raw, sha256: \"" + std::string(64, 'a') + "\" }\n"
         "profiles:\n"
         "  server:\n"
         "    install: { image: os, disk: /dev/vda }\n"
         "    cloud_config: templates/server.yaml.mustache\n";
    if (!join.empty()) y += "    join: " + join + "\n";
    y += "defaults:\n"
         "  profile: server\n"
         "  unknown: " + unknown + "\n"
         "nodes:\n" + nodes;
    return y;
  }
};

// The files a ClusterYaml names, under `dir`: the boot environment (`kernel` and an initrd
// of `initrd_size` bytes), the disk image, the cloud-config template and the TFTP root.
inline void writeSiteFiles(const std::filesystem::path& dir, std::string_view kernel,
                           std::size_t initrd_size = 100000) {
  writeFile(dir / "images/vmlinuz", kernel);
  writeFile(dir / "images/initrd.img", std::string(initrd_size, 'i'));
  writeFile(dir / "images/os.raw", std::string(4096, 'o'));
  writeFile(dir / "templates/server.yaml.mustache", "#cloud-config\nhostname: {{node.name}}\n");
  std::filesystem::create_directories(dir / "tftp");
}

}  // namespace drover::test

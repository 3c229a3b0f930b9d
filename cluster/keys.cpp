#include "cluster/keys.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <vector>

#include <fmt/format.h>

namespace drover::cluster {
namespace {

constexpr std::string_view kPath = "path";  // absolute, or relative to the declaration's folder

// Keep the order of the documentation: sections, then keys as an operator reads them.
constexpr KeyInfo kKeys[] = {
    {"server.advertise", "IPv4", "**required**",
     "the address booting machines use to reach Drover: TFTP next-server, HTTP URLs"},
    {"server.interfaces", "list of strings, one or many", "every interface",
     "where the DHCP server listens"},
    {"server.tftp.listen", "listen", "`0.0.0.0:69`", "TFTP server"},
    {"server.tftp.root", kPath, "`/var/lib/drover/tftp`",
     "loaders are looked for here, then in `/usr/lib/ipxe`"},
    {"server.http.listen", "listen", "`0.0.0.0:8080`",
     "boot scripts, kernels, initrds, images; its port goes into boot URLs"},
    {"server.api.listen", "listen", "`0.0.0.0:8443`", "the HTTPS API (docs/api.md)"},
    {"server.api.tls", "`auto` \\| `off`", "`auto`",
     "`auto`: Drover keeps its own CA and server certificate in the state directory (`tls/`)"},
    {"server.api.cert", kPath, "none",
     "an operator-provided certificate; goes with `server.api.key`"},
    {"server.api.key", kPath, "none", "the private key of `server.api.cert`; both or neither"},
    {"server.state.backend", "`sqlite` \\| `etcd`", "`sqlite`",
     "where leases, node state and tokens live: `sqlite` for one server, `etcd` for several "
     "replicas sharing them (docs/operations.md, HA with etcd)"},
    {"server.state.path", kPath, "`/var/lib/drover/state.db`",
     "the SQLite database file; its folder is the state directory (leases, TLS, operator token, "
     "image catalog). With `etcd`, only the folder is used, for this replica's own files"},
    {"server.state.endpoints", "list of URLs", "none (required with `etcd`)",
     "etcd client URLs (`http://` or `https://`), tried in turn"},
    {"server.state.prefix", "key prefix", "`/drover`",
     "every key Drover keeps in etcd is under it; one prefix per cluster"},
    {"server.state.replica_ttl", "duration, 2s..60s", "`3s`",
     "a replica renews its liveness this often over three; when it dies, the others take its "
     "DHCP clients over after at most this long"},
    {"server.state.ca_file", kPath, "none",
     "CA bundle that signs the `https://` endpoints' certificates"},
    {"server.boot.bios_loader", "loader file", "`undionly.kpxe`", "first file for BIOS PXE"},
    {"server.boot.efi_loader", "loader file", "`ipxe.efi`",
     "first file for x64 UEFI, unless a profile chooses"},
    {"server.boot.arm64_loader", "loader file", "none",
     "first file for arm64 UEFI; without it arm64 machines get no boot answer"},
    {"server.boot.grub_efi", "path, or `\"\"`",
     "`/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed`",
     "network GRUB (Debian's `grub-efi-amd64-signed`) that boots the installed disk of x64 UEFI "
     "machines whose action is `local` (operations.md); `\"\"`: they get the iPXE `sanboot` "
     "script instead. Must exist: checked by `drover validate` and `drover serve`"},
    {"server.boot.shim_efi", kPath, "`/usr/lib/shim/shimx64.efi.signed`",
     "Debian's shim signed by Microsoft's UEFI CA (package `shim-signed`): the first file of x64 "
     "UEFI machines whose profile sets `boot.secure_boot`, over TFTP as `shimx64.efi`. Must exist "
     "when a profile sets it: checked by `drover validate` and `drover serve`"},
    {"server.boot.grub_efi_arm64", kPath, "`/usr/lib/grub/arm64-efi-signed/grubnetaa64.efi.signed`",
     "Debian's network GRUB for arm64 (package `grub-efi-arm64-signed:arm64`): the first file of "
     "arm64 UEFI machines, over TFTP as `grubnetaa64.efi`, when `defaults.boot_env_arm64` is "
     "declared and `arm64_loader` is not set; its per-node grub.cfg boots the arm64 boot "
     "environment or the installed disk. Must exist then: checked by `drover validate` and "
     "`drover serve`"},
    {"server.boot.ipv6_ra", "bool", "`true`",
     "answer IPv6 router solicitations on the DHCP interfaces with an empty advertisement, so iPXE "
     "does not wait ~13 s for one (see operations.md)"},
    {"server.boot.allowed_subnets", "CIDR, one or many", "any address",
     "scripts that carry a boot token are served, and boot tokens exchanged, only for addresses "
     "inside these subnets; refusals are counted in `drover_boot_token_refusals_total` (api.md, "
     "boot tokens)"},
    {"server.boot.handoff_deadline", "duration, 1s..24h", "`5m`",
     "after `drover reinstall --power` or `--reboot` sends an installed node to the network, it "
     "must be heard from there (a network boot's DHCP, or its boot script) within this long; "
     "otherwise `handoff_failed` goes on its timeline, `drover_handoff_failures_total` counts it "
     "and the other method is tried once (operations.md, reinstall without a BMC)"},
    {"server.dhcp.client_discover_rate", "integer, 0..1000000", "`2`",
     "DISCOVERs a second one client (MAC or client id) may send and be answered; past it they "
     "are dropped (`discover_rate_client`). 0: no limit (docs/operations.md, DHCP floods)"},
    {"server.dhcp.client_discover_burst", "integer, 1..1000000", "`10`",
     "DISCOVERs one client may send at once before `client_discover_rate` applies"},
    {"server.dhcp.interface_discover_rate", "integer, 0..1000000", "`1000`",
     "DISCOVERs a second from clients new to the server (no reservation, no address held) "
     "answered on one interface; past it they are dropped (`discover_rate_interface`). 0: no "
     "limit"},
    {"server.dhcp.interface_discover_burst", "integer, 1..1000000", "`5000`",
     "new clients answered at once on one interface before `interface_discover_rate` applies: "
     "at least the machines powered on together in a boot storm"},

    {"networks[].name", "name", "**required**", "unique"},
    {"networks[].subnet", "CIDR", "**required**", "subnets of different networks must not overlap"},
    {"networks[].mode", "`dhcp` \\| `proxy`", "`dhcp`",
     "`dhcp`: Drover leases addresses. `proxy`: the site's DHCP server does; Drover only adds boot "
     "information (proxyDHCP)"},
    {"networks[].pool", "range, one or many", "none",
     "dynamic addresses for machines without a reserved `ip`; not in `proxy` mode; inside the "
     "subnet, without its network or broadcast address or the gateway, not overlapping another "
     "pool"},
    {"networks[].gateway", "IPv4", "none", "router option; must be inside the subnet"},
    {"networks[].dns", "IPv4, one or many", "none", "DNS servers option"},
    {"networks[].domain", "DNS domain", "none", "domain name option"},
    {"networks[].lease", "duration, > 0", "`1h`", "lease time"},
    {"networks[].always_send", "list of option codes (1-254)", "none",
     "options sent even when the client's option 55 leaves them out, e.g. `[3, 6]`"},

    {"trust.keys.*", kPath, "none",
     "a PEM public key (RSA or ECDSA) that signs images, under the name signatures use"},

    {"images.*.kernel", "file", "none", "the boot environment's kernel; goes with `initrd`"},
    {"images.*.initrd", "file", "none", "the boot environment's initrd; goes with `kernel`"},
    {"images.*.disk", "file", "none", "the OS image the agent streams to disk"},
    {"images.*.update.interval", "duration", "`0s` (never)",
     "how often `drover serve` checks the source for a new version in the background; `0s` or at "
     "least `2s`"},
    {"images.*.update.expire", "duration", "`0s` (never)",
     "when a cached version unused for this long is collected (never the current one, nor one a "
     "pending install names)"},

    {"<file>.path", kPath, "none", "a file on this server; exactly one of `path` and `url`"},
    {"<file>.url", "URL", "none", "a file to download; needs `sha256`, `signature`, or both"},
    {"<file>.sha256", "sha256", "none", "the file's digest: pins its content"},
    {"<file>.signature.path", kPath, "none",
     "the detached signature on this server; exactly one of `path` and `url`"},
    {"<file>.signature.url", "URL", "none", "the detached signature to download"},
    {"<file>.signature.key", "name", "**required** with `signature`", "a key under `trust.keys`"},

    {"profiles.*.install.image", "name", "**required** with `install`", "an image with a `disk`"},
    {"profiles.*.install.disk", "`/dev/...`", "`/dev/sda`", "target disk"},
    {"profiles.*.cloud_config", kPath, "none",
     "mustache template rendered per node into the NoCloud user-data; must exist"},
    {"profiles.*.kernel_args", "strings, one or many", "none",
     "appended to the boot environment's kernel command line"},
    {"profiles.*.boot.efi_loader", "`ipxe.efi` \\| `snponly.efi`", "`server.boot.efi_loader`",
     "x64 UEFI loader for this profile's machines (`snponly.efi` uses the NIC's own UEFI driver)"},
    {"profiles.*.boot.secure_boot", "bool", "`false`",
     "boot only through the signed chain for Secure Boot: shim, then the signed network GRUB "
     "(`server.boot.grub_efi`) and its per-node grub.cfg over TFTP, then the boot environment's "
     "kernel (which must be signed, as Debian's are); never iPXE. Only x64 UEFI PXE machines get "
     "an answer (operations.md, \"Secure Boot\")"},
    {"profiles.*.join.runtime", "`containerd`", "`containerd`",
     "the container runtime the agent starts"},
    {"profiles.*.join.recipe", "`etcd-member` \\| `etcd-proxy`", "none",
     "the built-in recipe the agent runs on the installed OS; none: the node joins once the "
     "runtime answers"},
    {"profiles.*.join.image", "absolute path on the node", "`/var/lib/drover/images/etcd.oci.tar`",
     "where the etcd recipes find etcd on the node: an OCI or docker archive"},
    {"profiles.*.join.image_ref", "image reference", "`gcr.io/etcd-development/etcd:v3.4.23`",
     "the name that archive carries, which the recipe runs; its image must have `etcd` on its "
     "`PATH`"},

    {"defaults.unknown", "`discover` \\| `ignore` \\| `install`", "`discover`",
     "what happens to a machine that matches no node: discovery, no boot answer, or an install "
     "with `defaults.profile`"},
    {"defaults.profile", "name", "none",
     "the profile of nodes that name none, and of unknown machines with `unknown: install` (then "
     "required)"},
    {"defaults.boot_env", "name", "`boot-env`",
     "the image (with `kernel` and `initrd`) booted for installs and discovery; must exist as soon "
     "as anything boots"},
    {"defaults.boot_env_arm64", "name", "none",
     "the image (with `kernel` and `initrd`, built for arm64) booted for installs and discovery "
     "of arm64 UEFI machines, through the arm64 network GRUB (`server.boot.grub_efi_arm64`); "
     "unset: arm64 machines get no boot answer unless `server.boot.arm64_loader` is set"},
    {"defaults.ssh_authorized_keys", "list of OpenSSH public keys", "none",
     "given to every node's cloud-config"},

    {"nodes[].name", "host name", "**required**", "unique"},
    {"nodes[].mac", "MAC", "none", "the NIC the machine boots from"},
    {"nodes[].macs", "list of MACs", "none",
     "several NICs; any of them matches. Use `mac` or `macs`, not both"},
    {"nodes[].uuid", "UUID", "none", "SMBIOS UUID (DHCP option 97), used when no MAC matches"},
    {"nodes[].ip", "IPv4", "none",
     "reserved address: inside a network's subnet, outside every pool, not the network, broadcast, "
     "gateway or advertise address; without it the machine gets a pool address"},
    {"nodes[].profile", "name", "`defaults.profile`", "must exist"},
    {"nodes[].labels.*", "string", "none", "free-form labels, passed to templates"},
    {"nodes[].bmc.driver", "`ipmi` \\| `redfish`", "**required** with `bmc`",
     "how Drover reaches the machine's BMC: IPMI v2.0 over LAN (lanplus) or Redfish "
     "(docs/operations.md)"},
    {"nodes[].bmc.address", "host[:port] \\| URL", "**required** with `bmc`",
     "ipmi: `host[:port]` (UDP 623 by default); redfish: `https://host[:port]`, or `http://` with "
     "`insecure: true`"},
    {"nodes[].bmc.credentials", "name", "**required** with `bmc`",
     "an entry of `<state dir>/bmc-credentials.yaml` (mode 0600) or `DROVER_BMC_<NAME>_USERNAME` "
     "and `_PASSWORD`; a `username` or `password` written here is refused"},
    {"nodes[].bmc.system", "name", "the first member",
     "redfish: the member of `/redfish/v1/Systems` to drive"},
    {"nodes[].bmc.ca_file", kPath, "the system's trust store",
     "redfish: the CA (PEM) the BMC's certificate must verify against"},
    {"nodes[].bmc.insecure", "bool", "`false`",
     "redfish: do not verify the BMC's certificate; logged as a warning on every use"},
    {"nodes[].bmc.timeout", "duration, > 0", "`10s`", "the longest one BMC call may take"},

    {"pod_network.cidr", "CIDR", "**required** with `pod_network`",
     "the container network across the nodes that join with a recipe: each leases a subnet of it "
     "in the cluster's etcd (operations.md, pod network); must not overlap `networks[].subnet`"},
    {"pod_network.subnet_length", "prefix length", "`24`",
     "the size of each node's subnet: longer than the prefix of `cidr`, at most 28, and at most "
     "65536 subnets in `cidr`"},
    {"pod_network.backend", "`vxlan` \\| `host-gw`", "`vxlan`",
     "how a node reaches the others' subnets: `vxlan` through a VXLAN device (VNI 1, UDP 8472; "
     "nodes on different segments), `host-gw` through a route via the node's address (one "
     "segment)"},
    {"pod_network.lease_ttl", "duration, 2m..30d", "`24h`",
     "a node's subnet lease lives this long after its last heartbeat; then the subnet is free "
     "again and the other nodes drop its routes"},
};

using Index = std::map<std::string_view, std::vector<std::string_view>, std::less<>>;

// section -> its keys, from the table's paths.
Index buildIndex() {
  Index index;
  for (const auto& k : kKeys) {
    const std::string_view path = k.path;
    std::size_t start = 0;
    while (start <= path.size()) {
      std::size_t end = path.find('.', start);
      if (end == std::string_view::npos) end = path.size();
      std::string_view key = path.substr(start, end - start);
      if (key.ends_with("[]")) key.remove_suffix(2);
      const std::string_view section = path.substr(0, start == 0 ? 0 : start - 1);
      auto& keys = index[section];
      const bool shape = section.empty() && key.starts_with('<');  // <file> is no top-level key
      if (!shape && std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
      start = end + 1;
    }
  }
  return index;
}

std::string sectionTitle(std::string_view section) {
  if (section == "<file>") return "`<file>`: the value of `images.*.kernel`, `initrd` and `disk`";
  return fmt::format("`{}`", section);
}

}  // namespace

std::span<const KeyInfo> configKeys() {
  return kKeys;
}

std::span<const std::string_view> keysUnder(std::string_view section) {
  static const Index index = buildIndex();
  auto it = index.find(section);
  if (it == index.end()) {
    std::fprintf(stderr, "drover: no section \"%.*s\" in the key table\n",
                 static_cast<int>(section.size()), section.data());
    std::abort();
  }
  return it->second;
}

std::string configReference() {
  std::string out = std::string(kReferenceBegin) + "\n";
  std::string_view current;
  for (const auto& k : kKeys) {
    std::string_view top = k.path.substr(0, k.path.find('.'));
    if (top.ends_with("[]") || top == "<file>") {
      // a list of maps, or the file shape: its own table
    } else if (auto star = k.path.find(".*");
               star != std::string_view::npos && top != "trust" && k.path.substr(0, star) == top) {
      top = k.path.substr(0, star + 2);  // images.*, profiles.*
    }
    if (top != current) {
      current = top;
      out += fmt::format("\n### {}\n\n| key | type | default | meaning |\n|---|---|---|---|\n",
                         sectionTitle(top));
    }
    out += fmt::format("| `{}` | {} | {} | {} |\n", k.path, k.type, k.default_value, k.doc);
  }
  out += "\n" + std::string(kReferenceEnd);
  return out;
}

Result<std::string> withConfigReference(std::string_view doc) {
  const auto begin = doc.find(kReferenceBegin);
  const auto end = doc.find(kReferenceEnd);
  if (begin == std::string_view::npos || end == std::string_view::npos || end < begin)
    return makeError("no_reference", "the reference markers are missing");
  std::string out(doc.substr(0, begin));
  out += configReference();
  out += doc.substr(end + kReferenceEnd.size());
  return out;
}

}  // namespace drover::cluster

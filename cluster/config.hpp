// The cluster declaration as typed values: what configs/*.yaml says, after every value has
// been parsed and normalised. Built by loadConfig() (loader.hpp), checked as a whole by
// checkConfig() (checks.hpp), then shared read-only as std::shared_ptr<const Config>.
// cluster/keys.hpp lists every key, its type and its default (docs/configuration.md is
// generated from it).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"
#include "common/values.hpp"

namespace drover::cluster {

// Where a value was written: 1-based line and column. line 0 means "not written"
// (a default).
struct Pos {
  int line = 0;
  int col = 0;
};

// File system paths below are absolute once loaded: the loader resolves relative ones
// against the declaration's folder (Config::base_dir).

// A value together with where it came from, for the cross-field pass's messages.
template <typename T>
struct Located {
  T value{};
  Pos pos;
  std::string path;  // key path, e.g. "nodes[3].mac"
};

struct TftpServer {
  ListenAddress listen{"0.0.0.0", 69};
  std::string root = "/var/lib/drover/tftp";
};

struct HttpServer {
  ListenAddress listen{"0.0.0.0", 8080};
};

enum class TlsMode { Auto, Off };

struct ApiServer {
  ListenAddress listen{"0.0.0.0", 8443};
  TlsMode tls = TlsMode::Auto;
  std::string cert;  // both or neither: an operator-provided certificate and key
  std::string key;
};

// SQLite: one server, everything in the state directory. etcd: several replicas share
// leases, node state and tokens in etcd (docs/etcd.md, docs/operations.md).
enum class StateBackend { Sqlite, Etcd };

struct StateConfig {
  StateBackend backend = StateBackend::Sqlite;
  // The database file; its folder is the state directory (leases.db, tls/, operator.token,
  // images/). With etcd only the folder is used, for this replica's local files.
  std::string path = "/var/lib/drover/state.db";
  std::vector<std::string> endpoints;   // etcd client URLs
  std::string prefix = "/drover";       // every key under it
  std::chrono::seconds replica_ttl{3};  // a dead replica's clients move after this long
  std::string ca_file;                  // https endpoints: trust this CA bundle
};

// Boot loader file names, as found in the TFTP root or /usr/lib/ipxe.
struct ServerBoot {
  std::string bios_loader = "undionly.kpxe";
  std::string efi_loader = "ipxe.efi";
  std::string arm64_loader;  // empty: arm64 machines are not offered a loader
  // Network GRUB for x64 UEFI machines whose boot decision is `local`: their iPXE script
  // chains it (as /grubnetx64.efi over HTTP) and its per-node grub.cfg starts the EFI
  // loader of the installed disk. Empty: such machines get the iPXE sanboot script.
  std::string grub_efi = "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed";
  // Secure Boot profiles (profiles.*.boot.secure_boot): the first file of their x64 UEFI
  // machines, Debian's shim signed by Microsoft's UEFI CA (package shim-signed), served over
  // TFTP as shimx64.efi; it starts grub_efi (served beside it as grubx64.efi).
  std::string shim_efi = "/usr/lib/shim/shimx64.efi.signed";
  // arm64 UEFI machines (when defaults.boot_env_arm64 is declared and arm64_loader is not
  // set): Debian's network GRUB for arm64 (grub-efi-arm64-signed), their first file over
  // TFTP as grubnetaa64.efi; its per-node grub.cfg boots the arm64 boot environment or the
  // installed disk (there is no arm64 iPXE in Debian).
  std::string grub_efi_arm64 = "/usr/lib/grub/arm64-efi-signed/grubnetaa64.efi.signed";
  // Answer IPv6 router solicitations on the DHCP interfaces with an advertisement that
  // announces nothing, so iPXE does not wait ~13 s for one (see ndp/server/responder.hpp).
  bool ipv6_ra = true;
  // When not empty, scripts that carry a boot token are served, and boot tokens exchanged,
  // only for addresses inside these subnets (docs/api.md, boot tokens).
  std::vector<Cidr> allowed_subnets{};
  // After `drover reinstall --power` or `--reboot` sent an installed node to the network,
  // it must be heard from there (DHCP of a network boot, or its boot script) within this
  // long; otherwise the handoff failed and the other method is tried (server/handoff.hpp).
  std::chrono::seconds handoff_deadline{300};
};

// DISCOVER flood control (dhcp::DiscoverLimits): DISCOVERs a second and at once, per client
// and, for clients new to the server, per interface. A rate of 0 turns the limit off.
struct ServerDhcp {
  std::uint32_t client_discover_rate = 2;
  std::uint32_t client_discover_burst = 10;
  std::uint32_t interface_discover_rate = 1000;
  std::uint32_t interface_discover_burst = 5000;
};

struct Server {
  Ipv4Address advertise;
  std::vector<std::string> interfaces;  // empty: every interface
  TftpServer tftp;
  HttpServer http;
  ApiServer api;
  StateConfig state;
  ServerBoot boot;
  ServerDhcp dhcp;
};

// dhcp: Drover leases addresses. proxy: the site's DHCP server leases them and Drover only
// adds boot information (proxyDHCP).
enum class NetworkMode { Dhcp, Proxy };

struct Network {
  Located<std::string> name;
  Located<Cidr> subnet;
  NetworkMode mode = NetworkMode::Dhcp;
  std::vector<Located<Ipv4Range>> pools;  // dynamic addresses for machines without a reservation
  std::optional<Located<Ipv4Address>> gateway;
  std::vector<Ipv4Address> dns;
  std::string domain;
  std::chrono::seconds lease{3600};
  std::vector<std::uint8_t> always_send;  // option codes sent even if the client's 55 omits them
  Pos pos;
  std::string path;  // "networks[1]"
};

// A detached signature over an artifact (`openssl dgst -sha256 -sign`), checked with a
// key named under trust.keys before the artifact is published or installed.
struct ArtifactSignature {
  std::string path;  // one of path and url
  std::optional<Url> url;
  Located<std::string> key;  // a name under trust.keys
};

// A file the boot environment or the agent needs: a local path or a URL (then with a
// sha256 digest, a signature, or both).
struct Artifact {
  std::string path;
  std::optional<Url> url;
  std::optional<Sha256> sha256;
  std::optional<ArtifactSignature> signature;
};

// Public keys that sign images: name -> PEM file (RSA or ECDSA).
struct Trust {
  std::map<std::string, Located<std::string>> keys;
};

// The shortest update.interval: a floor on how often one image asks its upstream.
inline constexpr std::chrono::seconds kMinUpdateInterval{2};

struct ImageUpdate {
  std::chrono::seconds interval{0};  // 0: never re-check; else at least kMinUpdateInterval
  std::chrono::seconds expire{0};    // 0: cached copies never expire
};

// An image is either a boot environment (kernel + initrd) or an OS disk image; a few are
// both.
struct Image {
  std::string name;
  std::optional<Artifact> kernel;
  std::optional<Artifact> initrd;
  std::optional<Artifact> disk;
  ImageUpdate update;
  Pos pos;
  std::string path;  // "images.debian-12"
};

enum class EfiLoader { IpxeEfi, SnponlyEfi };

struct Install {
  Located<std::string> image;
  std::string disk = "/dev/sda";
};

// The built-in join recipes (boot/recipes.hpp renders their steps). A recipe
// that runs etcd takes etcd from an OCI archive already on the node: `image` is where,
// `image_ref` the name the archive carries (what `ctr images import` tags it with).
inline constexpr std::string_view kDefaultEtcdArchive = "/var/lib/drover/images/etcd.oci.tar";
inline constexpr std::string_view kDefaultEtcdImageRef = "gcr.io/etcd-development/etcd:v3.4.23";

struct Join {
  std::string runtime = "containerd";
  std::string recipe;  // empty: no steps
  Pos recipe_pos;
  std::string image{kDefaultEtcdArchive};
  std::string image_ref{kDefaultEtcdImageRef};
};

struct Profile {
  std::string name;
  std::optional<Install> install;
  std::optional<Located<std::string>> cloud_config;  // template path as written
  std::filesystem::path cloud_config_file;           // absolute (resolvePaths in loader.cpp)
  std::vector<std::string> kernel_args;
  std::optional<EfiLoader> efi_loader;  // boot.efi_loader; unset: server.boot.efi_loader
  // boot.secure_boot: only the signed chain (shim, the signed network GRUB, the boot
  // environment's signed kernel) is offered, never iPXE (boot/decision.hpp).
  bool secure_boot = false;
  Join join;
  Pos pos;
  std::string path;  // "profiles.master"
};

// What happens to a machine that matches no node.
enum class UnknownPolicy {
  Discover,  // boot the agent in discovery mode: it registers and waits
  Ignore,    // no boot answer at all
  Install,   // install it with defaults.profile
};

struct Defaults {
  UnknownPolicy unknown = UnknownPolicy::Discover;
  Pos unknown_pos;
  std::optional<Located<std::string>> profile;  // for nodes naming none, and unknown: install
  Located<std::string> boot_env{"boot-env", {}, "defaults.boot_env"};
  // The boot environment of arm64 machines; unset: arm64 machines are not installed or
  // discovered (unless server.boot.arm64_loader hands them to a loader of the operator's).
  std::optional<Located<std::string>> boot_env_arm64;
  std::vector<std::string> ssh_authorized_keys;
};

// The node's baseboard management controller (power/): how Drover powers it and sets its
// next boot device. No user name or password here: `credentials` names an entry of the
// state directory's bmc-credentials.yaml or of the environment (power/credentials.hpp).
enum class BmcDriver { Ipmi, Redfish };

struct NodeBmc {
  BmcDriver driver = BmcDriver::Ipmi;
  std::string address;      // ipmi: host[:port]; redfish: http(s)://host[:port]
  std::string credentials;  // a name
  std::string system;       // redfish: a member of /redfish/v1/Systems; empty: the first
  std::string ca_file;      // redfish: the CA the certificate must verify against
  bool insecure = false;    // redfish: no certificate verification
  std::chrono::seconds timeout{10};
  Pos pos;
};

struct Node {
  Located<std::string> name;
  std::vector<Located<MacAddress>> macs;
  std::optional<Located<Uuid>> uuid;
  std::optional<Located<Ipv4Address>> ip;
  std::optional<Located<std::string>> profile;  // unset: defaults.profile
  std::map<std::string, std::string> labels;
  std::optional<NodeBmc> bmc;
  Pos pos;
  std::string path;  // "nodes[3]"
};

// A container network across the installed nodes (agent/podnet.hpp): each node that joins
// with a recipe leases a subnet of `cidr` in the cluster's etcd and routes to the others'.
enum class PodBackend { Vxlan, HostGw };

struct PodNetwork {
  Located<Cidr> cidr;
  Located<int> subnet_length{24, {}, "pod_network.subnet_length"};
  PodBackend backend = PodBackend::Vxlan;
  std::chrono::seconds lease_ttl{24 * 3600};  // a node unheard of this long loses its subnet
  Pos pos;
};

struct Config {
  std::string file;  // as given to the loader, used in messages
  std::filesystem::path
      base_dir;  // the declaration's folder (absolute): relative paths are resolved against it
  Server server;
  std::vector<Network> networks;
  Trust trust;
  std::map<std::string, Image> images;
  std::map<std::string, Profile> profiles;
  Defaults defaults;
  std::vector<Node> nodes;
  std::optional<PodNetwork> pod_network;

  const Image* findImage(const std::string& name) const;
  const Profile* findProfile(const std::string& name) const;
  const Network* findNetwork(const std::string& name) const;
  // The node's profile name, or defaults.profile's; empty when neither is set.
  const std::string& profileNameOf(const Node& node) const;
};

std::string_view toString(NetworkMode m);
std::string_view toString(UnknownPolicy p);
std::string_view toString(EfiLoader l);
std::string_view toString(PodBackend b);  // "vxlan" / "host-gw"
std::string_view toString(BmcDriver d);  // "ipmi" / "redfish"  // "ipxe.efi" / "snponly.efi"

}  // namespace drover::cluster

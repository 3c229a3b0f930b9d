// The drover subcommands. Each lives in its own file and adds itself to the root CLI::App;
// its callback stores the process exit code in the shared Context. The run* functions do
// the work and are what the tests call.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "common/net.hpp"
#include "common/result.hpp"

namespace CLI {
class App;
}
namespace drover::images::oci {
struct BootOptions;
}

namespace drover::cli {

struct Context {
  std::ostream& out;
  std::ostream& err;
  int exit_code = 0;
};

// drover validate FILE
void addValidateCommand(CLI::App& root, Context& ctx);
int runValidate(const std::string& file, std::ostream& out, std::ostream& err);

// drover config-reference [--update FILE]: the declaration's key reference, from the key
// table (cluster/keys.hpp); --update rewrites the generated part of FILE.
void addConfigReferenceCommand(CLI::App& root, Context& ctx);
int runConfigReference(const std::string& update, std::ostream& out, std::ostream& err);

// drover explain FILE --mac MAC [--uuid UUID] [--arch ARCH] [--ipxe] [--state STATE]
//                [--installed] [--reinstall] [--capture] [--via IP]
void addExplainCommand(CLI::App& root, Context& ctx);

// drover init --interface IF [--proxy] [--output FILE] [--state-dir DIR]: a starter
// declaration for this host on IF (its address and subnet, a pool unless --proxy, the
// boot environment under the state directory). An existing FILE is never overwritten.
struct InitOptions {
  std::string interface {};
  bool proxy = false;
  std::string output = "/etc/drover/cluster.yaml";
  std::string state_dir = "/var/lib/drover";
};
struct HostAddress {
  Ipv4Address address{};
  int prefix = 0;
  std::optional<Ipv4Address> gateway{};  // the default route's, through this interface
};
void addInitCommand(CLI::App& root, Context& ctx);
int runInit(const InitOptions& options, std::ostream& out, std::ostream& err);
Result<HostAddress> interfaceAddress(const std::string& interface);
Result<std::string> starterDeclaration(const InitOptions& options, const HostAddress& host);

// drover serve --config FILE [--state-dir DIR] [--no-dhcp] [--no-tftp]
void addServeCommand(CLI::App& root, Context& ctx);

// drover nodes | node NAME | reinstall NAME, over the API of a running drover serve:
// --config FILE (API address and state dir from the declaration) or --api URL --state-dir
// DIR; the operator token from DROVER_TOKEN or STATE_DIR/operator.token, the CA from
// STATE_DIR/tls/ca.crt. Exit codes: 0 ok, 1 refused or failed, 2 the API is unreachable.
struct ApiTarget {
  std::string config{};
  std::string api{};
  std::string state_dir{};
  std::string ca{};
  std::string token{};  // overrides DROVER_TOKEN and the state dir's file
};
void addNodesCommands(CLI::App& root, Context& ctx);
int runNodes(const ApiTarget& target, bool json, std::ostream& out, std::ostream& err);
int runNode(const ApiTarget& target, const std::string& name, bool json, std::ostream& out,
            std::ostream& err);
// How a reinstall sends the node to the network: not at all (its next network boot
// installs it), through its BMC (next boot from the network once, then power cycle), or
// through its running agent (BootNext to its network entry, then reboot).
enum class ReinstallVia { kNextBoot, kPower, kReboot };
// force: reinstall an etcd member even when its removal costs quorum (or etcd is unreachable).
int runReinstall(const ApiTarget& target, const std::string& name, std::ostream& out,
                 std::ostream& err, ReinstallVia via = ReinstallVia::kNextBoot, bool force = false);
// -c/--config, --api, --state-dir, --ca: where the API is (shared by the API commands).
void addTargetOptions(CLI::App* cmd, ApiTarget& target);

// drover power NAME on|off|cycle|reset|status: through the node's BMC, over the API.
// Exit codes as for the commands above.
void addPowerCommand(CLI::App& root, Context& ctx);
int runPower(const ApiTarget& target, const std::string& name, const std::string& action,
             std::ostream& out, std::ostream& err);
// drover sim --server IP --relay IP [-n N] [--concurrency N] [--spread D] ... [--json FILE]:
// simulated PXE machines booting at once (docs/sim.md). Exit 0: every boot completed;
// 1: some failed; 2: could not run.
void addSimCommand(CLI::App& root, Context& ctx);

// drover images list | pull IMAGE | verify | rm IMAGE | gc, with --config FILE
// [--state-dir DIR]: the image catalog (docs/images.md). Exit 0 ok, 1 failed.
struct ImagesTarget {
  std::string config{};
  std::string state_dir{};  // default: the directory of server.state.path
  bool progress = false;    // pull: progress lines even when stderr is not a terminal
};
void addImagesCommands(CLI::App& root, Context& ctx);
int runImagesList(const ImagesTarget& target, bool json, std::ostream& out, std::ostream& err);
int runImagesPull(const ImagesTarget& target, const std::string& image, std::ostream& out,
                  std::ostream& err);
// drover images pull NAME REF: an image from an OCI registry (docs/images.md, "From a
// registry") into <state dir>/images/oci/NAME like import-oci; its blobs stay in
// <state dir>/images/registry.
struct RegistryFlags {
  std::string arch = "amd64";
  std::string variant{};
  std::string ca_file{};
  bool plain_http = false;
  bool insecure_tls = false;
  bool disk = true;
  const images::oci::BootOptions* boot = nullptr;  // build: a disk that boots
};
int runImagesPullRegistry(const ImagesTarget& target, const std::string& name,
                          const std::string& ref, const RegistryFlags& flags, std::ostream& out,
                          std::ostream& err);
int runImagesVerify(const ImagesTarget& target, std::ostream& out, std::ostream& err);
int runImagesRm(const ImagesTarget& target, const std::string& image, std::ostream& out,
                std::ostream& err);
int runImagesGc(const ImagesTarget& target, std::ostream& out, std::ostream& err);
// drover images import-oci NAME PATH: into <state dir>/images/oci/NAME/{rootfs.tar,disk.raw}.
int runImagesImportOci(const ImagesTarget& target, const std::string& name,
                       const std::string& source, bool disk, std::ostream& out, std::ostream& err);
// drover images capture NODE [--image NAME] [--cancel]: asks the running server, through its
// operator API, to capture the node's disk on its next network boot.
struct CaptureFlags {
  std::string image{};  // empty: the server's default, <node>-capture
  std::string api{};    // empty: from the declaration's server.api
  std::string token{};  // empty: DROVER_TOKEN, else <state dir>/operator.token
  std::string ca{};     // empty: <state dir>/tls/ca.crt
  bool cancel = false;
};
int runImagesCapture(const ImagesTarget& target, const CaptureFlags& flags, const std::string& node,
                     std::ostream& out, std::ostream& err);
// drover images build NAME --from PATH|REF: like import-oci (or pull NAME REF), but the disk
// boots: an ESP with syslinux and shim + GRUB, the image's own kernel and initramfs, fstab by
// UUID (docs/images.md, "Images built from containers").
struct BuildFlags {
  std::string from{};
  std::optional<std::string> cmdline{};       // after root=UUID=... ro; default: BootOptions'
  std::string shim{}, grub_efi{}, gpt_mbr{};  // empty: BootOptions' defaults
  std::uint64_t free_mib = 0;                 // 0: a third of the tree and 16 MiB, at least 64 MiB
  RegistryFlags registry{};
};
int runImagesBuild(const ImagesTarget& target, const std::string& name, const BuildFlags& flags,
                   std::ostream& out, std::ostream& err);

// "45s", "3m12s", "2h05m", "3d4h".
std::string formatAge(std::int64_t ms);
// The wall clock in Unix milliseconds (the timeline's and the catalog's clock).
std::int64_t nowMs();

}  // namespace drover::cli

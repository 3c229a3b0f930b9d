// The installed OS as seen from the boot environment: finding and mounting its root
// filesystem on the freshly written disk, and laying down what join mode needs there
// (the agent with its libraries, its config, and a systemd unit).
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace drover::agent {

// Unmounts on destruction.
class MountedRoot {
 public:
  MountedRoot() = default;
  explicit MountedRoot(std::filesystem::path dir, std::string device)
      : dir_(std::move(dir)), device_(std::move(device)) {}
  MountedRoot(MountedRoot&& o) noexcept : dir_(std::move(o.dir_)), device_(std::move(o.device_)) {
    o.dir_.clear();
  }
  MountedRoot& operator=(MountedRoot&&) = delete;
  ~MountedRoot();
  const std::filesystem::path& path() const { return dir_; }
  const std::string& device() const { return device_; }

 private:
  std::filesystem::path dir_;
  std::string device_;
};

// Re-reads the partition table of /dev/<disk> (BLKRRPART), then tries its partitions,
// largest first, as ext4/xfs/btrfs; the first holding etc/os-release is the root.
Result<MountedRoot> mountInstalledRoot(const std::string& disk, const std::filesystem::path& mountpoint);

// What join mode needs to talk to the server (etc/drover/agent.json, mode 0600).
struct AgentConfig {
  std::string api;
  std::string ca_fingerprint;
  std::string credential;
  std::string node;
};

inline constexpr const char* kAgentConfigPath = "etc/drover/agent.json";
inline constexpr const char* kAgentLibDir = "usr/local/lib/drover-agent";
inline constexpr const char* kUnitName = "drover-agent.service";

nlohmann::json agentConfigToJson(const AgentConfig& c);
Result<AgentConfig> loadAgentConfig(const std::filesystem::path& file);

// The systemd unit laid down on the installed OS.
std::string renderUnit();

// Copies this executable and every shared object it has loaded (dl_iterate_phdr) into
// <root>/usr/local/lib/drover-agent/, writes the config and the unit, and enables the unit
// (multi-user.target.wants symlink).
Status installAgentInto(const std::filesystem::path& root, const AgentConfig& cfg);

}  // namespace drover::agent

// NoCloud seed for cloud-init on the installed OS.
//
// The agent writes the node's rendered cloud-config (user-data) and meta-data into
// /var/lib/cloud/seed/nocloud/ on the installed root filesystem, which cloud-init's NoCloud
// datasource reads without any device probing. buildCidataImage() makes the other NoCloud
// form, a small FAT filesystem labelled CIDATA, for targets whose root cannot be mounted
// by the agent (it is attached as a second disk or written to a spare partition).
#pragma once

#include <filesystem>
#include <string>

#include "agent/process.hpp"
#include "common/result.hpp"

namespace drover::agent {

struct SeedData {
  std::string user_data;    // "#cloud-config\n..." as served by GET /v1/agent/cloud-config
  std::string instance_id;  // node name (or SMBIOS UUID when the node has no name yet)
  std::string hostname;     // local-hostname
};

// meta-data YAML: instance-id and local-hostname, values quoted.
std::string renderMetaData(const SeedData& s);

// Where writeSeedDir() puts the files, relative to the installed root.
inline constexpr const char* kNoCloudSeedDir = "var/lib/cloud/seed/nocloud";

// Writes <root>/var/lib/cloud/seed/nocloud/{user-data,meta-data} (mode 0600), durably,
// every path resolved inside the root (agent/root_files.hpp).
Status writeSeedDir(const std::filesystem::path& installed_root, const SeedData& s);

// Creates `image` (size_kib, default 2 MiB) as a FAT filesystem labelled CIDATA holding
// user-data and meta-data, with mkfs.vfat and mcopy (dosfstools, mtools).
Status buildCidataImage(const std::filesystem::path& image, const SeedData& s,
                        const ExecFn& exec = runProcess, int size_kib = 2048);

// Writes a file and fsyncs it (and its directory); mode applies when it is created.
Status writeFileDurably(const std::filesystem::path& path, const std::string& content,
                        unsigned mode = 0644);

}  // namespace drover::agent

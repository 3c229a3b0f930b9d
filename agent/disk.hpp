// Disk safety: the install target must be the disk the plan names, exist, be a block
// device (unless a file target was asked for), be large enough, and not be in use
// (mounted, used as swap, or held by device-mapper/md/LVM).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "common/result.hpp"

namespace drover::agent {

struct DiskCheckOptions {
  std::filesystem::path root = "/";   // where proc/ and sys/ are read (tests use a tree)
  bool require_block_device = true;   // false only for --allow-file-target (tests, dry runs)
  std::uint64_t min_bytes = 0;        // plan's min_disk_bytes (and the raw image size)
};

struct DiskInfo {
  std::string path;
  std::string name;   // kernel name (vda, sda, nvme0n1); empty for a file target
  bool block = false;
  std::uint64_t size_bytes = 0;
};

// Error codes: disk_missing, not_block_device, disk_too_small, disk_in_use.
Result<DiskInfo> checkTarget(const std::filesystem::path& target, const DiskCheckOptions& opt);

// The in-use part of checkTarget, by kernel name: mounted (<root>/proc/self/mounts, the
// disk or one of its partitions), swap (<root>/proc/swaps), or holders
// (<root>/sys/block/<name>/holders, also per partition).
Status checkNotInUse(const std::string& name, const std::filesystem::path& root);

}  // namespace drover::agent

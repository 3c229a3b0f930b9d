// The pieces both disk layouts are made of (disk.cpp): running a partitioning or
// filesystem tool, an ext4 image of a tree, and a GPT disk assembled from partition images.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace drover::images::oci {

inline constexpr std::uint64_t kMiB = 1 << 20;

inline std::uint64_t roundMiB(std::uint64_t bytes) {
  return (bytes + kMiB - 1) / kMiB * kMiB;
}

// Runs a tool (no shell) with `input` on its stdin; its stderr is the error message. Code
// tool ("... is not installed" when it cannot be started).
Status runTool(const std::vector<std::string>& args, const std::string& input = "");

// Bytes the files under `root` take, with a block of metadata per entry.
std::uint64_t treeBytes(const std::filesystem::path& root);

// The size of an ext4 filesystem for `root`: the tree and `free_bytes` (0: a third of the
// tree and 16 MiB, at least 64 MiB), whole MiB.
std::uint64_t ext4Bytes(const std::filesystem::path& root, std::uint64_t free_bytes = 0);

// Creates (or truncates) `path` as a sparse file of `bytes`.
bool createSized(const std::filesystem::path& path, std::uint64_t bytes);

// `image`: an ext4 filesystem of `bytes` holding `root` (mkfs.ext4 -d), labelled `label`,
// with `uuid` when not empty.
Status makeExt4(const std::filesystem::path& root, const std::filesystem::path& image,
                std::uint64_t bytes, const std::string& label, const std::string& uuid = "");

struct PartitionImage {
  std::filesystem::path image;  // its content, a whole number of MiB
  std::string type;             // GPT type GUID
  std::string name;
  std::string attrs;  // sfdisk's attrs= ("LegacyBIOSBootable"), may be empty
};

// A GPT disk at `out`: the partitions in order from 1 MiB, each aligned to 1 MiB, the
// backup table after them; `mbr_code` (when not empty): the first 440 bytes of that file
// become the protective MBR's boot code. The partition images are removed once copied.
Status assembleGptDisk(const std::filesystem::path& out, const std::vector<PartitionImage>& parts,
                       const std::filesystem::path& mbr_code = {});

}  // namespace drover::images::oci

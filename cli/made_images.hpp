// Images Drover made on this host (import-oci, pull NAME REF, build): each directory
// <state dir>/images/oci/NAME holds rootfs.tar, disk.raw and made.json, the record of how it
// was made (written with writeFileAtomic), which `drover images list` shows beside the
// catalog.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "cluster/config.hpp"

namespace drover::cli {

inline constexpr std::string_view kMadeRecord = "made.json";

// Every made.json under <state dir>/images/oci, by name, each with "declared_as": the
// declared images whose disk is that directory's disk.raw. Unreadable records are skipped.
nlohmann::json listMadeImages(const std::filesystem::path& state_dir,
                              const cluster::Config& config);

}  // namespace drover::cli

// Images Drover made on this host (import-oci, pull NAME REF, build): each directory
// <state dir>/images/oci/NAME holds rootfs.tar, disk.raw and made.json, the record of how it
// was made, which `drover images list` shows beside the catalog.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "cluster/config.hpp"
#include "common/result.hpp"

namespace drover::cli {

inline constexpr std::string_view kMadeRecord = "made.json";

// Writes `record` as <dir>/made.json (atomically: a temporary file renamed over it).
Status writeMadeRecord(const std::filesystem::path& dir, const nlohmann::json& record);

// Every made.json under <state dir>/images/oci, by name, each with "declared_as": the
// declared images whose disk is that directory's disk.raw. Unreadable records are skipped.
nlohmann::json listMadeImages(const std::filesystem::path& state_dir,
                              const cluster::Config& config);

}  // namespace drover::cli

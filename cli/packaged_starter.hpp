// The starter declaration the Debian package ships as the conffile /etc/drover/cluster.yaml
// (packaging/cluster.yaml, compiled in). It validates but names no real network: `drover
// serve` refuses to start with it and `drover init` may replace it, but only while the file
// is byte for byte the packaged one; any edit makes it the operator's.
#pragma once

#include <filesystem>
#include <string_view>

namespace drover::cli {

std::string_view packagedStarter();

// True when `path` holds exactly the packaged starter; false for any other content or a
// file that cannot be read.
bool isPackagedStarter(const std::filesystem::path& path);

// `drover serve` exits with this status (EX_CONFIG) for the starter; the unit's
// RestartPreventExitStatus= names it, so systemd does not retry.
inline constexpr int kStarterExitStatus = 78;

}  // namespace drover::cli

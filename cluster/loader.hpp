// Loading a cluster declaration: YAML text -> Config, with every problem collected as a
// Diagnostic. Two passes: the per-value pass (types, known keys, value syntax) and, when it
// is clean, the cross-field pass of checks.hpp. Exceptions never escape.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "cluster/config.hpp"
#include "cluster/diagnostics.hpp"

namespace drover::cluster {

struct LoadResult {
  std::shared_ptr<const Config> config;  // set only when there are no errors
  Diagnostics errors;                    // in file order within each pass

  bool ok() const { return errors.empty(); }
};

// Reads and checks `file`. Messages name the file as given; relative paths (state, TLS,
// TFTP root, image files, keys, templates) are resolved against the file's directory. A missing or
// unreadable file is one Diagnostic without a position.
LoadResult loadConfigFile(const std::string& file);

// The same for text already in memory; `file` is only used in messages.
LoadResult loadConfigText(std::string_view yaml, const std::string& file,
                          const std::filesystem::path& base_dir);

// Only the per-value pass: the Config as far as it could be decoded, errors appended to
// `out`. For tests and tools that want to run checks themselves.
Config decodeConfig(std::string_view yaml, const std::string& file,
                    const std::filesystem::path& base_dir, Diagnostics& out);

}  // namespace drover::cluster

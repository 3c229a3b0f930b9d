// Files named by the declaration (image artifacts, iPXE loaders), opened for the HTTP
// server without following symlinks out of their directory.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "provisioner/http/message.hpp"
#include "provisioner/inventory/config.hpp"

namespace drover::serve {

// Opens a file the operator declared (relative paths are relative to the config file).
// The ETag is `checksum` when given.
Result<http::FileBody> openDeclaredFile(const inventory::Config& config, const std::string& path,
                                        std::string_view checksum = {});

// Whether `name` is one of the loaders the declaration hands to firmware.
bool isLoaderName(const inventory::Config& config, std::string_view name);

// A loader from the TFTP root, else from Debian's /usr/lib/ipxe.
Result<http::FileBody> openLoader(const inventory::Config& config, const std::string& name);

}  // namespace drover::serve

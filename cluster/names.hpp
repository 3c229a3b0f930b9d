// Checks for the string-valued keys of a cluster declaration. Each returns the accepted
// text or an Error whose message quotes it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/values.hpp"

namespace drover::cluster {

// Names of networks, images, profiles, recipes: 1-63 of [A-Za-z0-9._-], starting with a
// letter or digit.
Result<std::string> checkName(std::string_view text);
// Node names become host names: an RFC 1123 label, lower-case (1-63 of [a-z0-9-], not
// starting or ending with '-').
Result<std::string> checkHostName(std::string_view text);
// A DNS domain: dot-separated RFC 1123 labels.
Result<std::string> checkDomain(std::string_view text);
// An absolute file system path ("/var/lib/drover").
Result<std::string> checkAbsolutePath(std::string_view text);
// A path, absolute or relative, without NUL or newline.
Result<std::string> checkRelativeOrAbsolute(std::string_view text);
// A boot loader path under the TFTP root: relative, no "..", no spaces.
Result<std::string> checkLoaderFile(std::string_view text);
// A block device: "/dev/sda", "/dev/disk/by-id/...".
Result<std::string> checkDiskPath(std::string_view text);
// A DHCP option code a network always sends: 1-254 (0 and 255 are pad and end).
Result<std::uint8_t> parseOptionCode(std::string_view text);
// An OpenSSH public key line: "<type> <base64> [comment]".
Result<std::string> checkSshKey(std::string_view text);
// A container image reference ("registry/name:tag"): printable, no spaces, no "${".
Result<std::string> checkImageRef(std::string_view text);
// An http:// or https:// URL.
Result<Url> parseHttpUrl(std::string_view text);

}  // namespace drover::cluster

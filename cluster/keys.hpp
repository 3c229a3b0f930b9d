// Every key of the cluster declaration, in one table: its path, type, default and a
// one-line description (the PowerDNS Recursor way: one table, the decoder and the
// documentation both generated from it). The loader accepts under a map exactly the keys
// the table lists there, so no key can be accepted without an entry, and the key
// reference of docs/configuration.md is rendered from it (`drover config-reference`).
//
// Paths: `.` separates map keys, `[]` marks a list of maps (`networks[].name`), `*` a map
// keyed by free names (`images.*.disk`, `nodes[].labels.*`). `<file>` is the shape of an
// image file (the value of `images.*.kernel`, `initrd` and `disk`).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace drover::cluster {

struct KeyInfo {
  std::string_view path;
  std::string_view type;
  std::string_view default_value;  // "**required**", "none", or the value
  std::string_view doc;
};

std::span<const KeyInfo> configKeys();

// The keys allowed directly under `section` (a table path without a trailing dot: "" for
// the top level, "server.api", "networks[]", "images.*"), in table order; {"*"} for a map
// keyed by free names. A section the table does not have is a programming error (abort).
std::span<const std::string_view> keysUnder(std::string_view section);

// The key reference, as Markdown: one table per top-level section, between the markers.
std::string configReference();
inline constexpr std::string_view kReferenceBegin =
    "<!-- BEGIN config-reference: generated from cluster/keys.cpp by "
    "`drover config-reference --update docs/configuration.md`; do not edit by hand -->";
inline constexpr std::string_view kReferenceEnd = "<!-- END config-reference -->";

// `doc` with the text between the markers (markers included) replaced by
// configReference(); an error when the markers are missing.
Result<std::string> withConfigReference(std::string_view doc);

}  // namespace drover::cluster

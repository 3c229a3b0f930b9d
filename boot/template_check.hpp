// `drover validate` (and every load by `drover serve`) checks each profile's cloud-config
// template against the data it will be rendered with (template_data.hpp): a syntax error
// or a name the data lacks is a Diagnostic at the profile's cloud_config key, not an
// empty string at boot.
#pragma once

#include "cluster/diagnostics.hpp"
#include "cluster/inventory.hpp"

namespace drover::boot {

cluster::Diagnostics checkTemplates(const cluster::Inventory& inv);

// The files Drover hands to machines that must exist where it runs: server.boot.grub_efi
// (when set) is a readable regular file. Run by `drover validate` and every load by
// `drover serve`.
cluster::Diagnostics checkBootFiles(const cluster::Config& config);

}  // namespace drover::boot

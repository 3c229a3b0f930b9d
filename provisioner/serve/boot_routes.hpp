// The plain-HTTP boot endpoints iPXE and UEFI HTTP boot firmware talk to:
//
//   GET /boot.ipxe                     the entry script: chains to itself with the
//                                      machine's identity (mac, uuid, arch, platform)
//   GET /boot.ipxe?mac=..&uuid=..      the machine's own script, from its node's state:
//                                      install, boot the local disk, discovery, or the
//                                      failure message; unknown machines per defaults.unknown
//   GET /assets/{image}/{kind}         kernel | initrd | disk of a declared image, with its
//                                      sha256 (when declared) as the ETag
//   GET /{loader}                      iPXE binaries for UEFI HTTP boot (TFTP root, then
//                                      /usr/lib/ipxe)
//
// Nothing secret is served here: the install script's boot token is single-use and opens
// only the exchange for the node's credential over TLS.
#pragma once

#include "provisioner/http/router.hpp"
#include "provisioner/serve/context.hpp"

namespace drover::serve {

void addBootRoutes(http::Router& router, Context& ctx);

}  // namespace drover::serve

// The web dashboard on the API listener (docs/dashboard.md). Its files are embedded in the
// binary (ui/assets.hpp); its data comes from the operator API, which accepts a dashboard
// session (server/sessions.hpp) in place of the operator token.
//
//   GET  /                               redirect to /ui/
//   GET  /ui/, /ui/{file}                the page and its scripts and styles
//   POST /ui/login     {"token"}         -> {"csrf", "idle_ttl_s"} + the session cookie
//   GET  /ui/session                     -> {"csrf", "idle_ttl_s"} of the live session, or
//                                        {"csrf": "", "reason"} without one
//   POST /ui/logout                      ends the session (cookie + CSRF token)
//   GET  /v1/ui/overview                 nodes by state, boots in progress, boots completed
//                                        per hour, failures with their reason, counters
//   GET  /v1/ui/nodes                    /v1/nodes rows with labels, network and, for
//                                        discovered machines, a summary of their facts
//   GET  /v1/ui/nodes/{name}/preview     the iPXE script the node would be served now and
//                                        its cloud-config, secrets masked
//   GET  /v1/ui/images                   the catalog: images, versions, sizes, digests,
//                                        when unused versions expire, and the background
//                                        update checks (server/ui_images.cpp)
//   GET  /v1/ui/events                   Server-Sent Events: node changes, coalesced
//                                        (server/live_events.hpp); 503 when full
//
// Every page answer carries a Content-Security-Policy that allows only this origin's own
// scripts and styles: nothing inline, nothing from elsewhere.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "http/message.hpp"
#include "server/api_auth.hpp"
#include "server/context.hpp"

namespace drover::server {

// The Content-Type of a dashboard file, from its extension.
std::string_view uiContentType(std::string_view path);

// The embedded file `path` ("" is index.html) with its security headers, or 404.
http::Response uiFile(std::string_view path);

// Cloud-config text with the values of secret-looking keys (password, passwd, secret,
// token, private key, psk, credential; a nested or block value line by line) and PEM
// private key blocks replaced by "********".
std::string maskSecrets(std::string_view cloud_config);

// The data endpoints (server/ui_data.cpp, server/ui_images.cpp), behind the operator check.
http::Response uiOverview(Context& ctx);
http::Response uiNodes(Context& ctx);
http::Response uiPreview(Context& ctx, const std::string& name);
http::Response uiImages(Context& ctx);

}  // namespace drover::server

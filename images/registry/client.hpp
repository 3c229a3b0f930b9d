// The HTTP side of a registry pull: one request to /v2/..., answered 401 by obtaining
// credentials the way the challenge asks (a bearer token from the realm, or Basic) and
// asking once more. Internal to drover::image_registry.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "images/registry/registry.hpp"

namespace drover::images::registry {

struct Reply {
  long status = 0;
  std::map<std::string, std::string> headers{};  // lower-case names, of the last response
  std::string body{};  // a small body (manifests, error documents), unless streamed
};

// Receives the body of a 200 or 206 reply; false aborts the transfer.
using BodySink = std::function<bool(long status, std::string_view data)>;

// Code the failure of a registry reply: not_found, unauthorized, denied, http_status, with the
// registry's own error codes (MANIFEST_UNKNOWN, NAME_UNKNOWN...) in the message.
Error replyError(const Reply& reply, const std::string& what);

class Client {
 public:
  Client(Reference ref, Options options);

  // GET <base>/v2/<repository>/<path>. Without a sink, a body of at most `max_body` bytes is
  // kept in Reply::body. Transport failures: tls, network, bad_url (their curl message).
  Result<Reply> get(const std::string& path, const std::vector<std::string>& headers,
                    const BodySink& sink = {}, std::size_t max_body = 4 << 20);

  std::string url(const std::string& path) const;

 private:
  Result<Reply> once(const std::string& url, const std::vector<std::string>& headers,
                     const BodySink& sink, std::size_t max_body, const std::string& userpwd);
  Status authorize(const std::string& challenge);

  Reference ref_;
  Options options_;
  std::string authorization_;  // "Authorization: ..." once known
};

}  // namespace drover::images::registry

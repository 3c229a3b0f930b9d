// The operator's client of a running `drover serve` (docs/api.md), shared by `drover nodes`,
// `node`, `reinstall` and `images capture`: where the API is, which token and CA to use, and
// one call over drover::curl with the failures mapped to errors an operator can act on.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "common/result.hpp"

namespace drover::cli {

class ApiClient {
 public:
  // From the flags, the declaration (API address, state dir) and the state dir (token, CA):
  // errors "config", "usage" (no API address), "token" (no operator token).
  static Result<ApiClient> connect(const ApiTarget& target);

  // One call; `body` (JSON) is sent unless it is empty. Errors: "unreachable" (no reply: not
  // running, refused, TLS), "unauthorized" (401), "throttled" (429), "not_found" (404),
  // "api_error" (any other status >= 400, with the server's message), "curl_init".
  Result<std::string> call(const std::string& method, const std::string& path,
                           const std::string& body = "");
  // GET `path`; "bad_reply" when the body is not JSON.
  Result<nlohmann::json> getJson(const std::string& path);

  const std::string& base() const { return base_; }

 private:
  std::string base_;  // https://host:port, no trailing slash
  std::string token_;
  std::string token_source_;  // where the token came from, for error messages
  std::string ca_;            // CA file; empty: the system's trust store
};

// A URL path segment with everything but unreserved characters percent-encoded.
std::string pathSegment(const std::string& s);

// The process exit code for a failed API command: 2 when the API is unreachable, else 1.
int exitCodeFor(const Error& e);

}  // namespace drover::cli

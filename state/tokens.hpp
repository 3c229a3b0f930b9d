// Credentials (see docs/api.md): boot tokens (single use, expiring, stored as SHA-256),
// node credentials (bound to one node, stored as SHA-256 in the node record), and the
// operator token (a file in the state directory). Tokens are 32 bytes from RAND_bytes in
// base64url; every secret comparison goes through constantTimeEquals (CRYPTO_memcmp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "state/store.hpp"

namespace drover::state {

// 32 random bytes, base64url without padding (43 characters).
std::string generateToken();
// SHA-256 of the token, lower-case hex.
std::string hashToken(std::string_view token);
// CRYPTO_memcmp over equal lengths; different lengths compare unequal.
bool constantTimeEquals(std::string_view a, std::string_view b);
// How many times constantTimeEquals ran (tests check secret comparisons go through it).
std::uint64_t constantTimeCompareCountForTest();

class TokenService {
 public:
  using Clock = std::function<std::int64_t()>;  // Unix ms
  explicit TokenService(StateStore& store, Clock clock = nowMs) : store_(store), clock_(std::move(clock)) {}

  // A boot token for `node`, valid for `ttl_ms` (default one hour), usable once.
  Result<std::string> issueBootToken(const std::string& node, std::int64_t ttl_ms = 3600 * 1000);
  // Spends a boot token; returns its node. Errors: "invalid_token" (unknown or already
  // used), "expired_token".
  Result<std::string> redeemBootToken(std::string_view token);

  // A new credential for `node` (replaces any previous one); the node must exist.
  Result<std::string> issueNodeCredential(const std::string& node);
  // Whether `credential` is `node`'s credential. Errors: "invalid_credential".
  drover::Status verifyNodeCredential(const std::string& node, std::string_view credential);

 private:
  StateStore& store_;
  Clock clock_;
};

// Reads `state_dir/operator.token`, creating it (mode 0600) with a new token on first
// start. Surrounding whitespace in the file is ignored.
Result<std::string> ensureOperatorToken(const std::filesystem::path& state_dir);

}  // namespace drover::state

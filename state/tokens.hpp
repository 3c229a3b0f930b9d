// Credentials (see docs/api.md): boot tokens (derived, single use, expiring), node
// credentials (bound to one node, stored as SHA-256 in the node record), and the operator
// token (a file in the state directory). Credentials are 32 bytes from RAND_bytes in
// base64url; every secret comparison goes through constantTimeEquals (CRYPTO_memcmp).
//
// A boot token is not stored when it is issued: it is its claims (node, MAC, the address
// of the lease holder it was served to, expiry, a nonce) followed by their HMAC-SHA256 under
// the boot token key (state dir/boot-token.key, shared by replicas through etcd), in
// base64url. Only spending one writes: its SHA-256 is recorded through the store
// (claimToken) until it has expired, so a second exchange of it is refused.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/net.hpp"
#include "common/result.hpp"
#include "state/store.hpp"

struct evp_mac_ctx_st;  // OpenSSL's EVP_MAC_CTX

namespace drover::state {

// 32 random bytes, base64url without padding (43 characters).
std::string generateToken();
// SHA-256 of the token, lower-case hex.
std::string hashToken(std::string_view token);
// CRYPTO_memcmp over equal lengths; different lengths compare unequal.
bool constantTimeEquals(std::string_view a, std::string_view b);
// How many times constantTimeEquals ran (tests check secret comparisons go through it).
std::uint64_t constantTimeCompareCountForTest();

// What a boot token says (its HMAC covers all of it).
struct BootClaims {
  std::string node;
  MacAddress mac{};                     // the machine the script was served for
  std::optional<Ipv4Address> holder{};  // served to the lease holder at this address
  std::int64_t expires_ms = 0;          // Unix ms
};

inline constexpr std::int64_t kBootTokenTtlMs = 3600 * 1000;
inline constexpr std::size_t kBootTokenKeyBytes = 32;

class TokenService {
 public:
  using Clock = std::function<std::int64_t()>;  // Unix ms
  // `key`: kBootTokenKeyBytes raw bytes (ensureBootTokenKey).
  TokenService(StateStore& store, std::string key, Clock clock = nowMs);

  // A boot token for `claims` (expires_ms is set to now + ttl_ms; negative: already
  // expired), usable once. Writes nothing. Error "bad_claims" for a node name that is
  // empty or longer than 255 bytes.
  Result<std::string> issueBootToken(BootClaims claims,
                                     std::int64_t ttl_ms = kBootTokenTtlMs) const;
  // The claims of a token this key issued, without spending it. Errors: "malformed_token"
  // (not a boot token), "forged_token" (its HMAC does not match), "expired_token".
  Result<BootClaims> checkBootToken(std::string_view token) const;
  // Records `token` (checked) as used. Error "replayed_token" when it was used before.
  drover::Status spendBootToken(std::string_view token, const BootClaims& claims);
  // checkBootToken then spendBootToken.
  Result<BootClaims> redeemBootToken(std::string_view token);

  // A new credential for `node` (replaces any previous one); the node must exist.
  Result<std::string> issueNodeCredential(const std::string& node);
  // Whether `credential` is `node`'s credential. Errors: "invalid_credential".
  drover::Status verifyNodeCredential(const std::string& node, std::string_view credential);

 private:
  // Appends HMAC-SHA256 of `data` under the key to `out`.
  void appendSignature(std::string& out, std::string_view data) const;

  StateStore& store_;
  // The key's HMAC context, set up once (the key's pads hashed). Each thread signs on its
  // own copy of it, made once per service and reset for every signature (see tokens.cpp),
  // so signing needs no lock, no allocation and no algorithm lookup.
  std::shared_ptr<evp_mac_ctx_st> keyed_;
  std::uint64_t serial_ = 0;  // tells this service's per-thread copies from another's
  bool reset_in_place_ = false;
  Clock clock_;
};

// Reads `state_dir/boot-token.key` (hex), creating it (mode 0600) with a new random key on
// first start. Returns the raw key bytes; error "boot_token_key" when the file is not a key.
Result<std::string> ensureBootTokenKey(const std::filesystem::path& state_dir);
// The key as kept in boot-token.key and in etcd: lower-case hex and a newline.
std::string bootTokenKeyFileText(std::string_view key);
// The raw key from that text (surrounding whitespace ignored); nullopt when it is not one.
std::optional<std::string> parseBootTokenKey(std::string_view text);

// Reads `state_dir/operator.token`, creating it (mode 0600) with a new token on first
// start. Surrounding whitespace in the file is ignored.
Result<std::string> ensureOperatorToken(const std::filesystem::path& state_dir);

}  // namespace drover::state

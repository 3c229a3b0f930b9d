#include "state/tokens.hpp"

#include "common/fd.hpp"
#include "common/hex.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

namespace drover::state {
namespace {

std::atomic<std::uint64_t> g_compares{0};
std::atomic<std::uint64_t> g_next_serial{1};

// This thread's copy of one TokenService's keyed context (the last one it signed for).
struct ThreadMac {
  std::uint64_t serial = 0;
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx{nullptr, &EVP_MAC_CTX_free};
};
thread_local ThreadMac t_mac;

std::string base64url(const unsigned char* data, std::size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out((n * 4 + 2) / 3, '\0');
  char* o = out.data();
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const std::uint32_t v =
        (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) | data[i + 2];
    *o++ = kAlphabet[(v >> 18) & 0x3f];
    *o++ = kAlphabet[(v >> 12) & 0x3f];
    *o++ = kAlphabet[(v >> 6) & 0x3f];
    *o++ = kAlphabet[v & 0x3f];
  }
  if (n - i == 1) {
    const std::uint32_t v = std::uint32_t{data[i]} << 16;
    *o++ = kAlphabet[(v >> 18) & 0x3f];
    *o++ = kAlphabet[(v >> 12) & 0x3f];
  } else if (n - i == 2) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
    *o++ = kAlphabet[(v >> 18) & 0x3f];
    *o++ = kAlphabet[(v >> 12) & 0x3f];
    *o++ = kAlphabet[(v >> 6) & 0x3f];
  }
  return out;
}

// base64url without padding back to bytes; nullopt on any other character or a dangling
// partial byte.
std::optional<std::string> unbase64url(std::string_view text) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '-')
      v = 62;
    else if (c == '_')
      v = 63;
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Canonical only: the bits left over must be padding (zero), so one token has one text.
  if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

// Boot token layout (before base64url): version, flags (bit 0: holder), expiry (Unix ms,
// big-endian), nonce, MAC, holder address, name length, name, then HMAC-SHA256 of all that.
constexpr unsigned char kBootVersion = 1;
constexpr std::size_t kNonceBytes = 12;

// A boot token's nonce, from OpenSSL's generator drawn 4 KiB at a time per thread: one
// RAND_bytes call (its lock and fork check, 5% of a script request) per 341 tokens
// instead of one per token. Used bytes are wiped from the pool. Drover does not issue
// tokens from a forked child, which would share its parent's pool.
void nonceBytes(std::array<unsigned char, kNonceBytes>& out) {
  thread_local std::array<unsigned char, 4096> pool{};
  thread_local std::size_t left = 0;
  if (left < out.size()) {
    if (RAND_bytes(pool.data(), static_cast<int>(pool.size())) != 1)
      throw std::runtime_error("RAND_bytes failed");  // a broken environment, as in generateToken
    left = pool.size();
  }
  unsigned char* from = pool.data() + (pool.size() - left);
  std::memcpy(out.data(), from, out.size());
  OPENSSL_cleanse(from, out.size());
  left -= out.size();
}

constexpr std::size_t kHeaderBytes = 1 + 1 + 8 + kNonceBytes + 6 + 4 + 1;
constexpr std::size_t kMacBytes = 32;
constexpr std::size_t kMaxTokenChars = (kHeaderBytes + 255 + kMacBytes) * 4 / 3 + 4;

void putBigEndian(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t getBigEndian(std::string_view in, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v = (v << 8) | static_cast<unsigned char>(in[at + static_cast<std::size_t>(i)]);
  return v;
}

}  // namespace

std::string generateToken() {
  std::array<unsigned char, 32> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    // The CSPRNG failing is a broken environment, not a data-path condition.
    throw std::runtime_error("RAND_bytes failed");
  }
  return base64url(raw.data(), raw.size());
}

std::string hashToken(std::string_view token) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(token.data(), token.size(), md.data(), &len, EVP_sha256(), nullptr);
  return toHex({md.data(), len});
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  g_compares.fetch_add(1, std::memory_order_relaxed);
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::uint64_t constantTimeCompareCountForTest() {
  return g_compares.load();
}

TokenService::TokenService(StateStore& store, std::string key, Clock clock)
    : store_(store), clock_(std::move(clock)) {
  // A missing algorithm or a refused key is a broken OpenSSL, not a data-path condition.
  std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr),
                                                        &EVP_MAC_free);
  if (!mac) throw std::runtime_error("OpenSSL has no HMAC");
  keyed_.reset(EVP_MAC_CTX_new(mac.get()), &EVP_MAC_CTX_free);
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (!keyed_ || EVP_MAC_init(keyed_.get(), reinterpret_cast<const unsigned char*>(key.data()),
                              key.size(), params) != 1)
    throw std::runtime_error("HMAC-SHA256 key setup failed");
  serial_ = g_next_serial.fetch_add(1, std::memory_order_relaxed);
  // Resetting a used context to the key (EVP_MAC_init without a key) is what OpenSSL 3
  // documents for HMAC; an OpenSSL that did not would sign the second message wrongly, so
  // it is checked here once, against a fresh copy, before a thread relies on it.
  std::string fresh, first, again;
  appendSignature(fresh, "drover");
  reset_in_place_ = true;
  appendSignature(first, "drover");
  appendSignature(again, "drover");
  reset_in_place_ = first == fresh && again == fresh;
}

void TokenService::appendSignature(std::string& out, std::string_view data) const {
  ThreadMac& t = t_mac;
  if (t.serial == serial_ && reset_in_place_) {
    if (EVP_MAC_init(t.ctx.get(), nullptr, 0, nullptr) != 1)
      throw std::runtime_error("HMAC-SHA256 reset failed");
  } else {
    t.ctx.reset(EVP_MAC_CTX_dup(keyed_.get()));
    t.serial = t.ctx ? serial_ : 0;
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  std::size_t len = 0;
  if (!t.ctx ||
      EVP_MAC_update(t.ctx.get(), reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1 ||
      EVP_MAC_final(t.ctx.get(), md.data(), &len, md.size()) != 1)
    throw std::runtime_error("HMAC-SHA256 failed");
  out.append(reinterpret_cast<const char*>(md.data()), len);
}

Result<std::string> TokenService::issueBootToken(BootClaims claims, std::int64_t ttl_ms) const {
  if (claims.node.empty() || claims.node.size() > 255)
    return makeError("bad_claims", "a boot token names a node of 1 to 255 bytes");
  claims.expires_ms = clock_() + ttl_ms;
  std::array<unsigned char, kNonceBytes> nonce{};
  nonceBytes(nonce);
  std::string raw;
  raw.reserve(kHeaderBytes + claims.node.size() + kMacBytes);
  raw.push_back(static_cast<char>(kBootVersion));
  raw.push_back(static_cast<char>(claims.holder ? 1 : 0));
  putBigEndian(raw, static_cast<std::uint64_t>(claims.expires_ms), 8);
  raw.append(reinterpret_cast<const char*>(nonce.data()), nonce.size());
  for (auto o : claims.mac.octets()) raw.push_back(static_cast<char>(o));
  putBigEndian(raw, claims.holder ? claims.holder->value() : 0, 4);
  raw.push_back(static_cast<char>(claims.node.size()));
  raw += claims.node;
  appendSignature(raw, raw);
  return base64url(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

Result<BootClaims> TokenService::checkBootToken(std::string_view token) const {
  if (token.size() > kMaxTokenChars) return makeError("malformed_token", "not a boot token");
  auto raw = unbase64url(token);
  if (!raw || raw->size() < kHeaderBytes + 1 + kMacBytes ||
      (*raw)[0] != static_cast<char>(kBootVersion))
    return makeError("malformed_token", "not a boot token");
  const std::size_t name_len = static_cast<unsigned char>((*raw)[kHeaderBytes - 1]);
  if (name_len == 0 || raw->size() != kHeaderBytes + name_len + kMacBytes)
    return makeError("malformed_token", "not a boot token");
  const std::string_view body(raw->data(), kHeaderBytes + name_len);
  const std::string_view mac(raw->data() + body.size(), kMacBytes);
  std::string expected;
  appendSignature(expected, body);
  if (!constantTimeEquals(expected, mac))
    return makeError("forged_token", "the boot token was not issued by this server");
  BootClaims c;
  c.expires_ms = static_cast<std::int64_t>(getBigEndian(body, 2, 8));
  std::array<std::uint8_t, 6> octets{};
  for (std::size_t i = 0; i < 6; ++i)
    octets[i] = static_cast<std::uint8_t>(body[10 + kNonceBytes + i]);
  c.mac = MacAddress(octets);
  if ((body[1] & 1) != 0)
    c.holder = Ipv4Address(static_cast<std::uint32_t>(getBigEndian(body, 16 + kNonceBytes, 4)));
  c.node = std::string(body.substr(kHeaderBytes, name_len));
  if (c.expires_ms < clock_()) return makeError("expired_token", "boot token expired");
  return c;
}

drover::Status TokenService::spendBootToken(std::string_view token, const BootClaims& claims) {
  // Kept until it has expired: a token past its expiry is refused without the record.
  auto fresh = store_.claimToken({hashToken(token), "boot_spent", claims.node, claims.expires_ms});
  if (!fresh) return fresh.error();
  if (!*fresh) return makeError("replayed_token", "boot token already used");
  return {};
}

Result<BootClaims> TokenService::redeemBootToken(std::string_view token) {
  auto claims = checkBootToken(token);
  if (!claims) return claims.error();
  if (auto st = spendBootToken(token, *claims); !st) return st.error();
  return claims;
}

Result<std::string> TokenService::issueNodeCredential(const std::string& node) {
  std::string credential = generateToken();
  std::string hash = hashToken(credential);
  auto updated =
      store_.updateNode(node, [&](const std::optional<NodeRecord>& cur) -> Result<NodeRecord> {
        if (!cur) return makeError("unknown_node", "no such node: " + node);
        NodeRecord rec = *cur;
        rec.credential_hash = hash;
        return rec;
      });
  if (!updated) return updated.error();
  return credential;
}

drover::Status TokenService::verifyNodeCredential(const std::string& node,
                                                  std::string_view credential) {
  auto rec = store_.getNode(node);
  if (!rec) return rec.error();
  // Compare even when the node is unknown, so both paths cost the same.
  std::string stored =
      (*rec && !(*rec)->credential_hash.empty()) ? (*rec)->credential_hash : std::string(64, 'x');
  bool ok = constantTimeEquals(stored, hashToken(credential));
  if (!ok || !*rec || (*rec)->credential_hash.empty())
    return makeError("invalid_credential", "credential does not belong to this node");
  return {};
}

std::string bootTokenKeyFileText(std::string_view key) {
  return toHex({reinterpret_cast<const std::uint8_t*>(key.data()), key.size()}) + "\n";
}

std::optional<std::string> parseBootTokenKey(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  std::array<std::uint8_t, kBootTokenKeyBytes> raw{};
  if (text.size() != 2 * raw.size() || !fromHex(text, raw)) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(raw.data()), raw.size());
}

namespace {

// A secret kept in a file of the state directory: read it, or create the file (0600, never
// over an existing one, synced) holding `fresh`. `parse` turns the file's text into the
// secret, or says why it cannot; `code` names the errors.
Result<std::string> loadOrCreateSecret(
    const std::filesystem::path& state_dir, const char* file, const char* code,
    const std::function<Result<std::string>(const std::string& text)>& parse,
    const std::string& fresh, const std::string& fresh_text) {
  const auto path = state_dir / file;
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) return makeError("state_dir", state_dir.string() + ": " + ec.message());
  if (std::ifstream in(path); in) {
    std::stringstream ss;
    ss << in.rdbuf();
    auto secret = parse(ss.str());
    if (!secret) return makeError(code, path.string() + secret.error().message);
    return secret;
  }
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return makeError(code, path.string() + ": " + std::strerror(errno));
  const bool ok = ::write(fd.get(), fresh_text.data(), fresh_text.size()) ==
                      static_cast<ssize_t>(fresh_text.size()) &&
                  ::fsync(fd.get()) == 0 && fd.close() == 0;
  if (!ok) return makeError(code, path.string() + ": write failed");
  return fresh;
}

}  // namespace

Result<std::string> ensureBootTokenKey(const std::filesystem::path& state_dir) {
  std::array<unsigned char, kBootTokenKeyBytes> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1)
    throw std::runtime_error("RAND_bytes failed");
  const std::string fresh(reinterpret_cast<const char*>(raw.data()), raw.size());
  return loadOrCreateSecret(
      state_dir, "boot-token.key", "boot_token_key",
      [](const std::string& text) -> Result<std::string> {
        auto key = parseBootTokenKey(text);
        if (!key)
          return makeError(
              "boot_token_key",
              " is not a key (" + std::to_string(2 * kBootTokenKeyBytes) + " hex digits)");
        return *key;
      },
      fresh, bootTokenKeyFileText(fresh));
}

Result<std::string> ensureOperatorToken(const std::filesystem::path& state_dir) {
  const std::string fresh = generateToken();
  return loadOrCreateSecret(
      state_dir, "operator.token", "operator_token",
      [](std::string token) -> Result<std::string> {
        while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
          token.pop_back();
        while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front())))
          token.erase(0, 1);
        if (token.empty()) return makeError("operator_token", " is empty");
        return token;
      },
      fresh, fresh + "\n");
}

}  // namespace drover::state

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
#include <sstream>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace drover::state {
namespace {

std::atomic<std::uint64_t> g_compares{0};

std::string base64url(const unsigned char* data, std::size_t n) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < n; ++i) {
    acc = (acc << 8) | data[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
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

std::uint64_t constantTimeCompareCountForTest() { return g_compares.load(); }

Result<std::string> TokenService::issueBootToken(const std::string& node, std::int64_t ttl_ms) {
  std::string token = generateToken();
  TokenRecord rec{hashToken(token), "boot", node, clock_() + ttl_ms};
  if (auto st = store_.putToken(rec); !st) return st.error();
  return token;
}

Result<std::string> TokenService::redeemBootToken(std::string_view token) {
  const std::string hash = hashToken(token);
  auto rec = store_.takeToken(hash);  // spent whatever happens next: single use
  if (!rec) return rec.error();
  if (!*rec || (*rec)->kind != "boot" || !constantTimeEquals((*rec)->hash, hash))
    return makeError("invalid_token", "unknown or already used boot token");
  if ((*rec)->expires_ms < clock_()) return makeError("expired_token", "boot token expired");
  return (*rec)->node;
}

Result<std::string> TokenService::issueNodeCredential(const std::string& node) {
  std::string credential = generateToken();
  std::string hash = hashToken(credential);
  auto updated = store_.updateNode(node, [&](const std::optional<NodeRecord>& cur) -> Result<NodeRecord> {
    if (!cur) return makeError("unknown_node", "no such node: " + node);
    NodeRecord rec = *cur;
    rec.credential_hash = hash;
    return rec;
  });
  if (!updated) return updated.error();
  return credential;
}

drover::Status TokenService::verifyNodeCredential(const std::string& node, std::string_view credential) {
  auto rec = store_.getNode(node);
  if (!rec) return rec.error();
  // Compare even when the node is unknown, so both paths cost the same.
  std::string stored = (*rec && !(*rec)->credential_hash.empty()) ? (*rec)->credential_hash : std::string(64, 'x');
  bool ok = constantTimeEquals(stored, hashToken(credential));
  if (!ok || !*rec || (*rec)->credential_hash.empty())
    return makeError("invalid_credential", "credential does not belong to this node");
  return {};
}

Result<std::string> ensureOperatorToken(const std::filesystem::path& state_dir) {
  const auto path = state_dir / "operator.token";
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) return makeError("state_dir", state_dir.string() + ": " + ec.message());
  if (std::ifstream in(path); in) {
    std::stringstream ss;
    ss << in.rdbuf();
    std::string token = ss.str();
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front()))) token.erase(0, 1);
    if (token.empty()) return makeError("operator_token", path.string() + " is empty");
    return token;
  }
  std::string token = generateToken();
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return makeError("operator_token", path.string() + ": " + std::strerror(errno));
  const std::string line = token + "\n";
  const bool ok =
      ::write(fd.get(), line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
      ::fsync(fd.get()) == 0 && fd.close() == 0;
  if (!ok) return makeError("operator_token", path.string() + ": write failed");
  return token;
}

}  // namespace drover::state

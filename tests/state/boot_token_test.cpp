// Derived boot tokens: what they carry, what a forged, tampered, expired or replayed one
// gets, and the key file in the state directory.
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <gtest/gtest.h>

#include "common/base64.hpp"
#include "state/memory_store.hpp"
#include "state/tokens.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::state {
namespace {

using ::drover::test::TempDir;

const std::string kKey(kBootTokenKeyBytes, 'k');

BootClaims claimsFor(const std::string& node) {
  return {.node = node,
          .mac = *MacAddress::parse("52:54:00:12:34:56"),
          .holder = *Ipv4Address::parse("192.0.2.10"),
          .expires_ms = 0};
}

TEST(BootToken, CarriesItsClaimsUnderTheHmac) {
  MemoryStore store;
  std::int64_t now = 1'000'000;
  TokenService tokens(store, kKey, [&now] { return now; });
  auto token = tokens.issueBootToken(claimsFor("node-1"), 5'000);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(
      token->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos);
  auto c = tokens.checkBootToken(*token);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->node, "node-1");
  EXPECT_EQ(c->mac.str(), "52:54:00:12:34:56");
  ASSERT_TRUE(c->holder.has_value());
  EXPECT_EQ(c->holder->str(), "192.0.2.10");
  EXPECT_EQ(c->expires_ms, 1'005'000);
  // Two tokens for the same claims differ (a nonce), so each is spent on its own.
  EXPECT_NE(*tokens.issueBootToken(claimsFor("node-1"), 5'000), *token);
  // Unbound: no holder.
  auto unbound =
      tokens.issueBootToken({.node = "node-2", .mac = {}, .holder = {}, .expires_ms = 0});
  EXPECT_FALSE(tokens.checkBootToken(*unbound)->holder.has_value());
  EXPECT_EQ(
      tokens.issueBootToken({.node = "", .mac = {}, .holder = {}, .expires_ms = 0}).error().code,
      "bad_claims");
  EXPECT_EQ(
      tokens
          .issueBootToken({.node = std::string(256, 'n'), .mac = {}, .holder = {}, .expires_ms = 0})
          .error()
          .code,
      "bad_claims");
}

// base64url without padding, decoded through the project's standard base64 codec.
std::string unbase64url(std::string text) {
  for (char& c : text) c = c == '-' ? '+' : c == '_' ? '/' : c;
  text.append((4 - text.size() % 4) % 4, '=');
  return decodeBase64(text).value_or("");
}

// The signature is plain HMAC-SHA256 of the claims under the key (OpenSSL's one-shot HMAC
// here), so tokens issued by an earlier version with the same key file still verify. A
// thread signs on its own copy of the keyed context, reset for each signature: checked for
// many signatures in a row, with names of different lengths (one or two hash blocks), and
// with two services of different keys taking turns on the same thread.
TEST(BootToken, SignatureIsHmacSha256OfTheClaims) {
  MemoryStore store;
  const std::string other_key(kBootTokenKeyBytes, 'z');
  TokenService tokens(store, kKey);
  TokenService other(store, other_key);
  auto expectHmac = [](const std::string& token, const std::string& key) {
    const auto raw = unbase64url(token);
    ASSERT_GT(raw.size(), 32u);
    const std::string body = raw.substr(0, raw.size() - 32);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(body.data()), body.size(), md, &len);
    ASSERT_EQ(len, 32u);
    EXPECT_EQ(raw.substr(raw.size() - 32), std::string(reinterpret_cast<const char*>(md), len));
  };
  for (int i = 0; i < 20; ++i) {
    const auto name = "node-" + std::string(static_cast<std::size_t>(i * 7), 'n');
    auto token = tokens.issueBootToken(claimsFor(name));
    ASSERT_TRUE(token.ok());
    expectHmac(*token, kKey);
    EXPECT_TRUE(tokens.checkBootToken(*token).ok());
    if (i % 3 == 0) {
      auto theirs = other.issueBootToken(claimsFor(name));
      ASSERT_TRUE(theirs.ok());
      expectHmac(*theirs, other_key);
      EXPECT_EQ(tokens.checkBootToken(*theirs).error().code, "forged_token");
    }
  }
}

// One service signs and checks from many threads at once (the HTTP threads share it).
TEST(BootToken, SignsAndChecksFromManyThreadsAtOnce) {
  MemoryStore store;
  TokenService tokens(store, kKey);
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const auto name = "node-" + std::to_string(t * 1000 + i);
        auto token = tokens.issueBootToken(claimsFor(name));
        if (token.ok() && tokens.checkBootToken(*token).ok() &&
            tokens.checkBootToken(*token)->node == name)
          ++good;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(good.load(), 2000);
}

// The nonces come from a per-thread pool of random bytes refilled as it runs out: across
// several refills and threads, no two tokens for the same claims share a nonce.
TEST(BootToken, NoncesStayDistinctAcrossPoolRefillsAndThreads) {
  MemoryStore store;
  TokenService tokens(store, kKey, [] { return std::int64_t{1'000'000}; });
  std::mutex mu;
  std::set<std::string> nonces;
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1500; ++i) {  // 4 KiB pools hold 341 nonces each
        const auto raw = unbase64url(*tokens.issueBootToken(claimsFor("node-1"), 5'000));
        std::lock_guard lock(mu);
        nonces.insert(raw.substr(10, 12));  // after version, flags and expiry
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(nonces.size(), 4500u);
  EXPECT_EQ(nonces.count(std::string(12, '\0')), 0u);
}

TEST(BootToken, ForgedTamperedExpiredAndReplayedAreRefused) {
  MemoryStore store;
  std::int64_t now = 1'000'000;
  TokenService tokens(store, kKey, [&now] { return now; });
  TokenService other(store, std::string(kBootTokenKeyBytes, 'x'), [&now] { return now; });
  const auto token = *tokens.issueBootToken(claimsFor("node-1"), 5'000);

  // Another key: forged.
  EXPECT_EQ(other.checkBootToken(token).error().code, "forged_token");
  EXPECT_EQ(other.checkBootToken(*other.issueBootToken(claimsFor("node-1"))).ok(), true);
  EXPECT_EQ(tokens.checkBootToken(*other.issueBootToken(claimsFor("node-1"))).error().code,
            "forged_token");
  // Every single changed character (the node name, the holder, the expiry...): forged or
  // malformed, never accepted.
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (std::size_t i = 0; i < token.size(); ++i) {
    std::string t = token;
    t[i] = alphabet[(alphabet.find(t[i]) + 1) % alphabet.size()];
    auto r = tokens.checkBootToken(t);
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_TRUE(r.error().code == "forged_token" || r.error().code == "malformed_token") << i;
  }
  for (const char* bad : {"", "x", "not a token", "made-up", "AAAA", "++++"})
    EXPECT_EQ(tokens.checkBootToken(bad).error().code, "malformed_token") << bad;
  EXPECT_EQ(tokens.checkBootToken(token.substr(0, token.size() - 4)).error().code,
            "malformed_token");
  EXPECT_EQ(tokens.checkBootToken(token + "AAAA").error().code, "malformed_token");
  EXPECT_EQ(tokens.checkBootToken(std::string(100000, 'A')).error().code, "malformed_token");

  // Expired: refused, and checking it spends nothing.
  now += 5'001;
  EXPECT_EQ(tokens.redeemBootToken(token).error().code, "expired_token");
  now -= 5'001;
  // Spent once, then refused as a replay.
  ASSERT_TRUE(tokens.redeemBootToken(token).ok());
  EXPECT_EQ(tokens.redeemBootToken(token).error().code, "replayed_token");
}

TEST(BootTokenKey, MadeOnceWithMode0600AndKept) {
  TempDir dir;
  auto first = ensureBootTokenKey(dir.path());
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->size(), kBootTokenKeyBytes);
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() / "boot-token.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(*ensureBootTokenKey(dir.path()), *first);  // a restart keeps it
  EXPECT_EQ(parseBootTokenKey(bootTokenKeyFileText(*first)), *first);
  // A token issued before a restart is accepted after it.
  MemoryStore store;
  auto token = TokenService(store, *first).issueBootToken(claimsFor("node-1"));
  EXPECT_TRUE(TokenService(store, *ensureBootTokenKey(dir.path())).checkBootToken(*token).ok());

  std::ofstream(dir.path() / "boot-token.key") << "not hex\n";
  EXPECT_EQ(ensureBootTokenKey(dir.path()).error().code, "boot_token_key");
}

}  // namespace
}  // namespace drover::state

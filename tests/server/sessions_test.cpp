// Dashboard sessions: expiry, CSRF on state changes, the cookie's attributes, and the
// masking of secrets in a previewed cloud-config.
#include <gtest/gtest.h>

#include "server/sessions.hpp"
#include "server/ui_routes.hpp"

namespace drover::server {
namespace {

using namespace std::chrono_literals;

struct SessionsTest : ::testing::Test {
  std::int64_t now = 1'000'000;
  SessionStore store{60s, 3600s, [this] { return now; }};

  http::Request request(http::Verb method, const std::string& cookie,
                        const std::string& csrf = "") {
    http::Request r;
    r.message.method(method);
    if (!cookie.empty()) r.message.set("Cookie", cookie);
    if (!csrf.empty()) r.message.set(kCsrfHeader, csrf);
    return r;
  }
  std::string cookie(const Session& s) {
    return "theme=dark; drover_session=" + s.id + "; other=1";
  }
};

TEST_F(SessionsTest, NewSessionsHaveDistinctRandomIdsAndCsrfTokens) {
  auto a = store.create();
  auto b = store.create();
  EXPECT_EQ(a.id.size(), 43u);
  EXPECT_EQ(a.csrf.size(), 43u);
  EXPECT_NE(a.id, b.id);
  EXPECT_NE(a.csrf, b.csrf);
  EXPECT_NE(a.id, a.csrf);
  EXPECT_EQ(store.size(), 2u);
}

TEST_F(SessionsTest, CookieIsHttpOnlySecureSameSiteStrictAndExpires) {
  auto s = store.create();
  const auto c = store.cookieFor(s);
  EXPECT_TRUE(c.starts_with("drover_session=" + s.id + ";")) << c;
  EXPECT_NE(c.find("; HttpOnly"), std::string::npos);
  EXPECT_NE(c.find("; Secure"), std::string::npos);
  EXPECT_NE(c.find("; SameSite=Strict"), std::string::npos);
  EXPECT_NE(c.find("; Max-Age=3600"), std::string::npos);
  EXPECT_NE(c.find("; Path=/"), std::string::npos);
  const auto gone = SessionStore::clearingCookie();
  EXPECT_NE(gone.find("Max-Age=0"), std::string::npos);
  EXPECT_NE(gone.find("HttpOnly"), std::string::npos);
}

TEST_F(SessionsTest, ReadsNeedOnlyTheCookie) {
  auto s = store.create();
  EXPECT_EQ(store.check(request(http::Verb::get, cookie(s))), SessionCheck::kOk);
  EXPECT_EQ(store.check(request(http::Verb::get, "")), SessionCheck::kNoCookie);
  EXPECT_EQ(store.check(request(http::Verb::get, "drover_session=nope")), SessionCheck::kUnknown);
}

TEST_F(SessionsTest, StateChangesNeedTheSessionsCsrfToken) {
  auto s = store.create();
  auto other = store.create();
  for (auto verb : {http::Verb::post, http::Verb::put, http::Verb::delete_}) {
    EXPECT_EQ(store.check(request(verb, cookie(s))), SessionCheck::kCsrfMissing);
    EXPECT_EQ(store.check(request(verb, cookie(s), other.csrf)), SessionCheck::kCsrfMismatch);
    EXPECT_EQ(store.check(request(verb, cookie(s), s.csrf)), SessionCheck::kOk);
  }
}

TEST_F(SessionsTest, IdleSessionsExpireAndUseKeepsThemAlive) {
  auto s = store.create();
  now += 59'000;
  EXPECT_EQ(store.check(request(http::Verb::get, cookie(s))), SessionCheck::kOk);
  now += 59'000;  // 59 s after the last use
  EXPECT_EQ(store.check(request(http::Verb::get, cookie(s))), SessionCheck::kOk);
  now += 60'000;
  EXPECT_EQ(store.check(request(http::Verb::get, cookie(s))), SessionCheck::kExpired);
  EXPECT_EQ(store.check(request(http::Verb::get, cookie(s))), SessionCheck::kUnknown);  // forgotten
  EXPECT_EQ(store.size(), 0u);
}

TEST_F(SessionsTest, SessionsEndAtTheirMaximumAgeEvenWhenUsed) {
  auto s = store.create();
  for (int i = 0; i < 61; ++i) {
    now += 59'000;
    ASSERT_EQ(store.check(request(http::Verb::get, cookie(s))), SessionCheck::kOk) << i;
  }
  now += 59'000;  // 61 * 59 s = 3599 s after login, then 3658 s
  EXPECT_EQ(store.check(request(http::Verb::get, cookie(s))), SessionCheck::kExpired);
}

TEST_F(SessionsTest, LogoutForgetsTheSession) {
  auto s = store.create();
  store.remove(s.id);
  EXPECT_EQ(store.check(request(http::Verb::get, cookie(s))), SessionCheck::kUnknown);
}

TEST_F(SessionsTest, TheStoreIsBounded) {
  auto first = store.create();
  for (std::size_t i = 0; i < SessionStore::kMaxSessions; ++i) {
    now += 1;
    store.create();
  }
  EXPECT_EQ(store.size(), SessionStore::kMaxSessions);
  EXPECT_EQ(store.check(request(http::Verb::get, cookie(first))), SessionCheck::kUnknown);
}

TEST(CookieValue, FindsTheNamedCookieOnly) {
  EXPECT_EQ(cookieValue("a=1; drover_session=xyz; b=2", "drover_session"), "xyz");
  EXPECT_EQ(cookieValue("xdrover_session=1", "drover_session"), "");
  EXPECT_EQ(cookieValue("", "drover_session"), "");
  EXPECT_EQ(cookieValue("drover_session=", "drover_session"), "");
}

TEST(MaskSecrets, HidesSecretValuesAndPrivateKeysButKeepsTheRest) {
  const std::string in =
      "#cloud-config\n"
      "hostname: node-1\n"
      "password: hunter2\n"
      "chpasswd:\n"
      "  list: |\n"
      "    root:x\n"
      "users:\n"
      "  - name: ops\n"
      "    hashed_passwd: $6$abc\n"
      "    ssh_authorized_keys: [ssh-ed25519 AAAA ops]\n"
      "k3s_token: \"K10abc\"\n"
      "wifi_psk: secret\n"
      "tls:\n"
      "  private_key: |\n"
      "    -----BEGIN PRIVATE KEY-----\n"
      "    MIIEv\n"
      "    -----END PRIVATE KEY-----\n"
      "  cert: |\n"
      "    -----BEGIN CERTIFICATE-----\n"
      "    MIIC\n";
  const auto out = maskSecrets(in);
  EXPECT_EQ(out.find("hunter2"), std::string::npos) << out;
  EXPECT_EQ(out.find("$6$abc"), std::string::npos) << out;
  EXPECT_EQ(out.find("K10abc"), std::string::npos) << out;
  EXPECT_EQ(out.find("wifi_psk: secret"), std::string::npos) << out;
  EXPECT_EQ(out.find("MIIEv"), std::string::npos) << out;
  EXPECT_NE(out.find("password: ********"), std::string::npos) << out;
  EXPECT_NE(out.find("hostname: node-1"), std::string::npos);
  EXPECT_NE(out.find("ssh-ed25519 AAAA ops"), std::string::npos);
  EXPECT_NE(out.find("MIIC"), std::string::npos);           // a certificate is public
  EXPECT_EQ(out.find("root:x"), std::string::npos) << out;  // under chpasswd
}

TEST(MaskSecrets, LeavesTextWithoutSecretsAsItWas) {
  const std::string in = "#cloud-config\nhostname: a\nruncmd:\n  - echo hi\n";
  EXPECT_EQ(maskSecrets(in), in);
}

TEST(UiFiles, AreEmbeddedWithAContentSecurityPolicy) {
  auto index = uiFile("");
  EXPECT_EQ(index.status, http::Status::ok);
  EXPECT_NE(index.body.find("<title>Drover</title>"), std::string::npos);
  EXPECT_EQ(std::string(index.headers["Content-Type"]), "text/html; charset=utf-8");
  const std::string csp(index.headers["Content-Security-Policy"]);
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(uiFile("app.js").status, http::Status::ok);
  EXPECT_EQ(std::string(uiFile("app.js").headers["Content-Type"]),
            "text/javascript; charset=utf-8");
  EXPECT_EQ(uiFile("../CMakeLists.txt").status, http::Status::not_found);
  EXPECT_EQ(uiFile("nope.js").status, http::Status::not_found);
}

}  // namespace
}  // namespace drover::server

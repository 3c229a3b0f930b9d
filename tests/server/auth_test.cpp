// Every API endpoint against every kind of wrong credential; boot tokens are single use
// and expire; repeated failures are throttled.
#include "tests/server/serve_fixture.hpp"

namespace drover::server::testing {
namespace {

struct Endpoint {
  std::string method;
  std::string path;
  bool agent;  // agent route (node credential) or operator route
};

const std::vector<Endpoint> kEndpoints = {
    {"POST", "/v1/agent/register", true},       {"GET", "/v1/agent/plan", true},
    {"GET", "/v1/agent/cloud-config", true},    {"GET", "/v1/agent/join", true},
    {"POST", "/v1/agent/events", true},         {"POST", "/v1/agent/heartbeat", true},
    {"GET", "/v1/nodes", false},                {"GET", "/v1/nodes/node-2", false},
    {"GET", "/v1/nodes/node-2/events", false},  {"POST", "/v1/nodes/node-2/reinstall", false},
};

std::optional<std::string> bodyFor(const Endpoint& e) {
  if (e.method != "POST") return std::nullopt;
  if (e.path == "/v1/agent/events") return R"({"phase":"installed"})";
  return "{}";
}

enum class Routes { kAll, kAgent, kOperator };

class AuthTest : public ServeTest {
 protected:
  // Each refused call comes from its own loopback address, so the per-address limit on
  // failures (tested on its own below) does not turn the matrix into 429s.
  std::string nextSource() { return "127.0.1." + std::to_string(++sources_); }

  // Sends `header` (a whole Authorization line, or none) and expects a refusal.
  void expectRefused(const std::string& header, long status, const std::string& what, Routes which = Routes::kAll) {
    for (const auto& e : kEndpoints) {
      if ((which == Routes::kAgent && !e.agent) || (which == Routes::kOperator && e.agent)) continue;
      Call c{.method = e.method, .url = app_->api() + e.path, .body = bodyFor(e), .ca = app_->caFile(),
             .source = nextSource()};
      if (!header.empty()) c.headers.push_back(header);
      auto r = perform(c);
      EXPECT_EQ(r.status, status) << what << ": " << e.method << " " << e.path << " -> " << r.body;
      EXPECT_TRUE(r.json().contains("error")) << r.body;
    }
  }

  int sources_ = 0;
};

TEST_F(AuthTest, EveryEndpointRefusesMissingWrongAndMalformedCredentials) {
  expectRefused("", 401, "no token");
  expectRefused("Authorization: Bearer wrong", 401, "wrong token");
  expectRefused("Authorization: Bearer node-2.wrongsecret", 401, "wrong secret");
  expectRefused("Authorization: Basic bm9kZS0yOnNlY3JldA==", 401, "basic auth");
  expectRefused("Authorization: Bearer", 401, "empty bearer");
  expectRefused("Authorization: Bearer .", 401, "bare dot");
}

TEST_F(AuthTest, NodeCredentialNeverOpensAnotherNode) {
  const auto a = credentialFor(kMac1);  // node-1
  (void)credentialFor(kMac2);           // node-2 has a credential of its own
  ASSERT_EQ(a.rfind("node-1.", 0), 0u) << a;
  const auto secret = a.substr(std::string("node-1.").size());
  // Node A's secret under node B's name: refused everywhere.
  expectRefused("Authorization: Bearer node-2." + secret, 401, "A's secret as B", Routes::kAgent);
  // Node A's own credential reads only A's data.
  auto cc = apiCall("GET", "/v1/agent/cloud-config", a);
  EXPECT_EQ(cc.status, 200);
  EXPECT_THAT(cc.body, ::testing::HasSubstr("hostname: node-1"));
  EXPECT_THAT(cc.body, ::testing::Not(::testing::HasSubstr("node-2")));
  // Agent credentials never open operator routes, and the operator token never opens
  // agent routes.
  expectRefused("Authorization: Bearer " + a, 401, "agent credential", Routes::kOperator);
  expectRefused("Authorization: Bearer " + app_->operatorToken(), 401, "operator token", Routes::kAgent);
  // A node that has no credential yet cannot be opened by anyone's secret.
  auto r = apiCall("GET", "/v1/agent/plan", "unknown-525400aabbcc." + secret);
  EXPECT_EQ(r.status, 401);
}

TEST_F(AuthTest, OperatorTokenOpensOperatorRoutes) {
  for (const auto& e : kEndpoints) {
    if (e.agent) continue;
    auto r = apiCall(e.method, e.path, app_->operatorToken(), bodyFor(e));
    EXPECT_EQ(r.status, 200) << e.path << " " << r.body;
  }
}

TEST_F(AuthTest, BootTokenIsSingleUse) {
  const auto token = tokenOf(script(kMac1));
  const auto body = nlohmann::json{{"token", token}}.dump();
  EXPECT_EQ(apiCall("POST", "/v1/agent/exchange", "", body).status, 200);
  auto again = apiCall("POST", "/v1/agent/exchange", "", body);
  EXPECT_EQ(again.status, 401);
  EXPECT_EQ(again.json().value("error", ""), "invalid_token");
  EXPECT_EQ(apiCall("POST", "/v1/agent/exchange", "", R"({"token":"made-up"})").status, 401);
  EXPECT_EQ(apiCall("POST", "/v1/agent/exchange", "", R"({})").status, 401);
  // The boot token itself is not a credential.
  EXPECT_EQ(apiCall("GET", "/v1/agent/plan", token).status, 401);
}

TEST_F(AuthTest, ANewCredentialReplacesTheOldOne) {
  const auto first = credentialFor(kMac1);
  const auto second = credentialFor(kMac1);
  EXPECT_EQ(apiCall("GET", "/v1/agent/plan", first).status, 401);
  EXPECT_EQ(apiCall("GET", "/v1/agent/plan", second).status, 200);
}

TEST(BootTokenExpiry, ExpiredTokenIsRefused) {
  // The token service's clock is the store's; drive it directly on a fresh state dir.
  TempDir dir;
  auto config = makeSite(dir.path());
  RunningApp app(config);
  ASSERT_TRUE(app.ok());
  auto token = app.app().issueBootTokenForTest("node-1", -1);  // already expired
  ASSERT_FALSE(token.empty());
  auto r = perform({.method = "POST", .url = app.api() + "/v1/agent/exchange",
                    .body = nlohmann::json{{"token", token}}.dump(), .ca = app.caFile()});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.json().value("error", ""), "expired_token");
}

TEST_F(AuthTest, RepeatedFailuresAreThrottledThenRefusedWithoutChecking) {
  int throttled_at = -1;
  for (int i = 0; i < 60 && throttled_at < 0; ++i) {
    auto r = apiCall("GET", "/v1/nodes", "wrong-" + std::to_string(i));
    if (r.status == 429) throttled_at = i;
    else EXPECT_EQ(r.status, 401);
  }
  EXPECT_GT(throttled_at, 0);
  // Even the right token waits out the window now, on every API route.
  EXPECT_EQ(apiCall("GET", "/v1/nodes", app_->operatorToken()).status, 429);
  EXPECT_EQ(apiCall("POST", "/v1/agent/exchange", "", R"({"token":"x"})").status, 429);
  // The boot server is not an API: scripts still flow.
  EXPECT_THAT(script(kMac1), ::testing::HasSubstr("drover.mode=install"));
}

}  // namespace
}  // namespace drover::server::testing

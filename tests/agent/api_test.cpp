// The API client against a fake server on 127.0.0.1 (http, and https with a pinned CA).
#include "common/certificate.hpp"
#include "agent/api_client.hpp"

#include <gtest/gtest.h>

#include "tests/agent/test_server.hpp"

namespace drover::agent {
namespace {

using nlohmann::json;

ApiOptions fastOptions(const std::string& base) {
  ApiOptions o;
  o.base = base;
  o.backoff_initial = std::chrono::milliseconds(5);
  o.backoff_max = std::chrono::milliseconds(20);
  o.timeout_s = 20;
  return o;
}

const json kPlan = {{"image",
                     {{"name", "debian-12"}, {"version", "20260101"}, {"url", "http://192.0.2.1/d.raw.zst"},
                      {"sha256", std::string(64, 'a')}, {"size", 1000}, {"format", "raw.zst"}}},
                    {"disk", "/dev/vda"},
                    {"min_disk_bytes", 2000000}};

TEST(ApiParse, GoodReplies) {
  auto p = parsePlan(kPlan.dump());
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->image.format, "raw.zst");
  EXPECT_EQ(p->image.size, 1000u);
  EXPECT_EQ(p->disk, "/dev/vda");
  EXPECT_EQ(p->min_disk_bytes, 2000000u);
  auto r = parseRegister(R"({"node":"w1","state":"installing","action":"install"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->action, "install");
  auto j = parseJoin(R"({"runtime":"containerd","recipe":"etcd","steps":[{"run":["true"]}],"env":{"A":"1"}})");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->steps.size(), 1u);
  EXPECT_EQ(j->env.at("A"), "1");
}

TEST(ApiParse, GarbageIsAClearError) {
  for (const char* body : {"", "not json", "[1,2]", "{\"image\":3}", "{\"image\":{\"url\":\"x\"}}",
                           R"({"image":{"url":"x","sha256":"abc"},"disk":"/dev/vda"})",
                           R"({"image":{"url":"x","sha256":")" "0000000000000000000000000000000000000000000000000000000000000000" R"(","size":-1},"disk":"/dev/vda"})"}) {
    auto p = parsePlan(body);
    ASSERT_FALSE(p.ok()) << body;
    EXPECT_EQ(p.error().code, "bad_reply");
    EXPECT_NE(p.error().message.find("plan"), std::string::npos);
  }
  EXPECT_EQ(parseExchange(R"({"node":"a"})").error().code, "bad_reply");
  EXPECT_EQ(parseRegister(R"({"action":"explode"})").error().code, "bad_reply");
  EXPECT_EQ(parseJoin(R"({"steps":{}})").error().code, "bad_reply");
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.ok()); }
  test::TestServer server_;
};

TEST_F(ApiTest, FullConversation) {
  server_.setRoutes({
      {"POST /v1/agent/exchange", {{{"json", {{"node", "worker-1"}, {"credential", "cred-1"}}}}}},
      {"POST /v1/agent/register", {{{"json", {{"node", "worker-1"}, {"state", "installing"}, {"action", "install"}}}}}},
      {"GET /v1/agent/plan", {{{"json", kPlan}}}},
      {"GET /v1/agent/cloud-config", {{{"text", "#cloud-config\nhostname: worker-1\n"}, {"type", "text/cloud-config"}}}},
      {"GET /v1/agent/join", {{{"json", {{"runtime", "containerd"}, {"recipe", "etcd-member"}, {"steps", json::array()}}}}}},
      {"POST /v1/agent/events", {{{"json", json::object()}}}},
      {"POST /v1/agent/heartbeat", {{{"json", json::object()}}}},
  });
  ApiClient api(fastOptions(server_.url("")));
  auto x = api.exchange("boot-token-1");
  ASSERT_TRUE(x.ok()) << x.error().message;
  EXPECT_EQ(x->node, "worker-1");
  EXPECT_EQ(api.credential(), "cred-1");
  auto reg = api.registerNode({{"mac", "52:54:00:12:34:56"}});
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  auto plan = api.plan();
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->image.name, "debian-12");
  auto cc = api.cloudConfig();
  ASSERT_TRUE(cc.ok());
  EXPECT_EQ(*cc, "#cloud-config\nhostname: worker-1\n");
  auto join = api.join();
  ASSERT_TRUE(join.ok());
  EXPECT_EQ(join->recipe, "etcd-member");
  EXPECT_TRUE(api.event("image_progress", "half", 0.5).ok());
  EXPECT_TRUE(api.heartbeat().ok());

  auto reqs = server_.requests();
  ASSERT_EQ(reqs.size(), 7u);
  EXPECT_EQ(json::parse(reqs[0]["body"].get<std::string>())["token"], "boot-token-1");
  EXPECT_EQ(reqs[0]["authorization"], "");
  for (std::size_t i = 1; i < reqs.size(); ++i) EXPECT_EQ(reqs[i]["authorization"], "Bearer cred-1");
  EXPECT_EQ(json::parse(reqs[1]["body"].get<std::string>())["mac"], "52:54:00:12:34:56");
  auto ev = json::parse(reqs[5]["body"].get<std::string>());
  EXPECT_EQ(ev["phase"], "image_progress");
  EXPECT_EQ(ev["progress"], 0.5);
}

TEST_F(ApiTest, ServerErrorsAreRetriedThenSucceed) {
  server_.setRoutes({{"GET /v1/agent/plan",
                      {{{"status", 503}, {"json", {{"error", "busy"}, {"message", "later"}}}},
                       {{"status", 500}, {"text", "oops"}},
                       {{"json", kPlan}}}}});
  ApiClient api(fastOptions(server_.url("")));
  auto plan = api.plan();
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(server_.requests().size(), 3u);
}

TEST_F(ApiTest, ClientErrorsCarryTheServerCode) {
  server_.setRoutes({{"POST /v1/agent/exchange",
                      {{{"status", 401}, {"json", {{"error", "bad_token"}, {"message", "token expired"}}}}}}});
  ApiClient api(fastOptions(server_.url("")));
  auto x = api.exchange("stale");
  ASSERT_FALSE(x.ok());
  EXPECT_EQ(x.error().code, "bad_token");
  EXPECT_NE(x.error().message.find("token expired"), std::string::npos);
  EXPECT_EQ(server_.requests().size(), 1u);  // 4xx is not retried
}

TEST_F(ApiTest, GarbageReplyIsAClearError) {
  server_.setRoutes({{"GET /v1/agent/plan", {{{"text", "<html>proxy error</html>"}}}},
                     {"GET /v1/agent/cloud-config", {{{"text", "hostname: x"}}}}});
  ApiClient api(fastOptions(server_.url("")));
  auto plan = api.plan();
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, "bad_reply");
  EXPECT_NE(plan.error().message.find("not JSON"), std::string::npos);
  EXPECT_EQ(api.cloudConfig().error().code, "bad_reply");
}

TEST(ApiUnreachable, GivesUpAfterBoundedAttempts) {
  auto o = fastOptions("http://127.0.0.1:1");
  o.max_attempts = 3;
  int sleeps = 0;
  o.sleep = [&](std::chrono::milliseconds) { ++sleeps; };
  ApiClient api(o);
  auto r = api.heartbeat();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "retries_exhausted");
  EXPECT_EQ(sleeps, 2);
}

TEST_F(ApiTest, AnUnreachableReplicaIsLeftForTheNextAndTheClientStaysThere) {
  server_.setRoutes({{"POST /v1/agent/heartbeat", {{{"json", json::object()}}}},
                     {"GET /v1/agent/plan", {{{"json", kPlan}}}}});
  auto o = fastOptions("http://127.0.0.1:1");  // a replica that is gone
  o.alternates = {server_.url("")};
  o.max_attempts = 1;  // still one attempt per URL
  ApiClient api(o);
  ASSERT_TRUE(api.heartbeat().ok());
  ASSERT_TRUE(api.plan().ok());  // straight to the replica that answered
  EXPECT_EQ(server_.requests().size(), 2u);
}

TEST_F(ApiTest, AReplicaAnswering503IsLeftForTheNext) {
  test::TestServer second;
  ASSERT_TRUE(second.ok());
  server_.setRoutes({{"POST /v1/agent/heartbeat", {{{"status", 503}, {"json", {{"error", "unavailable"}}}}}}});
  second.setRoutes({{"POST /v1/agent/heartbeat", {{{"json", json::object()}}}}});
  auto o = fastOptions(server_.url(""));
  o.alternates = {second.url("")};
  ApiClient api(o);
  ASSERT_TRUE(api.heartbeat().ok());
  EXPECT_EQ(server_.requests().size(), 1u);
  EXPECT_EQ(second.requests().size(), 1u);
}

// One CA, server certificate and TLS server for the whole suite (RSA keys are slow to make).
class PinnedTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    pki_ = test::makeTestPki(dir_->path());
    if (pki_.chain.empty()) return;
    server_ = new test::TestServer(pki_);
    server_->setRoutes({{"POST /v1/agent/heartbeat", {{{"json", json::object()}}}}});
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
    server_ = nullptr;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (pki_.chain.empty()) GTEST_SKIP() << "openssl CLI missing";
    ASSERT_TRUE(server_->ok());
  }
  static inline test::TempDir* dir_ = nullptr;
  static inline test::TlsFiles pki_;
  static inline test::TestServer* server_ = nullptr;
};

TEST_F(PinnedTls, RightFingerprintConnects) {
  auto fp = certificateSha256File(pki_.ca);
  ASSERT_TRUE(fp.ok());
  auto o = fastOptions(server_->url(""));
  o.tls.ca_fingerprint = *fp;
  ApiClient api(o);
  auto r = api.heartbeat();
  EXPECT_TRUE(r.ok()) << r.error().message;
}

TEST_F(PinnedTls, WrongFingerprintIsRefusedWithoutRetry) {
  const auto before = server_->requests().size();
  auto o = fastOptions(server_->url(""));
  o.tls.ca_fingerprint = std::string(64, 'e');
  ApiClient api(o);
  auto r = api.heartbeat();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "tls");
  EXPECT_EQ(server_->requests().size(), before);  // refused in the handshake
}

TEST_F(PinnedTls, LeafFingerprintIsNotACa) {
  // The pin names the CA: a leaf signed by that CA is not a trust anchor of its own
  // (no X509_V_FLAG_PARTIAL_CHAIN).
  auto leaf = certificateSha256File((dir_->path() / "server.pem").string());
  ASSERT_TRUE(leaf.ok());
  auto o = fastOptions(server_->url(""));
  o.tls.ca_fingerprint = *leaf;
  ApiClient api(o);
  auto r = api.heartbeat();
  EXPECT_FALSE(r.ok());
}

TEST_F(PinnedTls, NoPinUsesSystemTrustAndFails) {
  ApiClient api(fastOptions(server_->url("")));
  auto r = api.heartbeat();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "tls");
}

}  // namespace
}  // namespace drover::agent

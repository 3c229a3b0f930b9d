// Two drover serve replicas on one etcd (in this process, loopback, no DHCP; the etcd member
// is started once for the suite, each test has its own prefix):
// - they share the boot token key, so a token one issued is exchanged through the other,
//   and the record of its use, so it is refused everywhere after that;
// - `reinstall --reboot` taken by one replica, which then stops, is handed to the node's
//   agent in the answer to its next heartbeat to the other replica, and in that one only.
#include <chrono>
#include <cstdio>
#include <thread>

#include "tests/server/serve_fixture.hpp"
#include "tests/support/etcd_server.hpp"

namespace drover::server::testing {
namespace {

class Replica {
 public:
  Replica(const std::filesystem::path& config, const std::filesystem::path& state_dir,
          const std::string& id) {
    Options o;
    o.config_path = config.string();
    o.state_dir = state_dir.string();
    o.dhcp = false;
    o.tftp = false;
    o.replica_id = id;
    auto app = App::create(o);
    if (!app) {
      ADD_FAILURE() << "create " << id << ": " << app.error().message;
      return;
    }
    app_ = std::move(*app);
    if (auto st = app_->start(); !st) {
      ADD_FAILURE() << "start " << id << ": " << st.error().message;
      app_.reset();
      return;
    }
    thread_ = std::thread([this] { app_->run(); });
  }
  ~Replica() {
    if (!app_) return;
    app_->stop();
    thread_.join();
  }
  bool ok() const { return app_ != nullptr; }
  App& app() { return *app_; }

 private:
  std::unique_ptr<App> app_;
  std::thread thread_;
};

class Replicas : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!::drover::test::etcdAvailable()) return;
    etcd_ = new ::drover::test::EtcdServer();
    if (!etcd_->start()) ADD_FAILURE() << "etcd did not start: " << etcd_->log();
  }
  static void TearDownTestSuite() {
    delete etcd_;
    etcd_ = nullptr;
  }
  void SetUp() override {
    DROVER_REQUIRE_ETCD();
    ASSERT_NE(etcd_, nullptr);
  }
  // The declaration of both replicas, on etcd under `prefix`.
  std::filesystem::path declare(const std::string& prefix, const std::string& boot = "") {
    ::drover::test::writeSiteFiles(dir_.path(), kKernelBytes);
    ::drover::test::ClusterYaml y;
    y.state = "{ backend: etcd, endpoints: [\"" + etcd_->endpoint + "\"], prefix: " + prefix +
              ", path: state/state.db }";
    if (!boot.empty()) y.boot = boot;
    writeFile(dir_.path() / "cluster.yaml", y.str());
    return dir_.path() / "cluster.yaml";
  }
  // The boot token in node-1's install script as `r` serves it.
  std::string bootToken(Replica& r) {
    auto script = perform({.url = "http://" + r.app().endpointForTest("http") +
                                  "/boot.ipxe?mac=52:54:00:12:34:56&arch=x86_64&platform=pcbios"});
    std::smatch m;
    EXPECT_TRUE(std::regex_search(script.body, m, std::regex("drover\\.token=([A-Za-z0-9_-]+)")))
        << script.body;
    return m.empty() ? std::string() : m[1].str();
  }
  Reply api(Replica& r, const std::string& method, const std::string& path,
            const std::string& bearer, std::optional<std::string> body) {
    Call c{.method = method,
           .url = "https://" + r.app().endpointForTest("api") + path,
           .headers = {"Content-Type: application/json"},
           .body = std::move(body),
           .ca = r.app().stateDir() / "tls/ca.crt"};
    if (!bearer.empty()) c.headers.push_back("Authorization: Bearer " + bearer);
    return perform(c);
  }

  static ::drover::test::EtcdServer* etcd_;
  TempDir dir_;
};

::drover::test::EtcdServer* Replicas::etcd_ = nullptr;

TEST_F(Replicas, ATokenFromOneReplicaIsSpentThroughAnotherOnce) {
  const auto config = declare("/tokens-test");
  TempDir& dir = dir_;
  Replica a(config, dir.path() / "a", "a");
  ASSERT_TRUE(a.ok());
  Replica b(config, dir.path() / "b", "b");
  ASSERT_TRUE(b.ok());
  // Each keeps the shared key in its own state directory.
  EXPECT_EQ(::drover::test::readFile(dir.path() / "a/boot-token.key"),
            ::drover::test::readFile(dir.path() / "b/boot-token.key"));

  const std::string token = bootToken(a);
  ASSERT_FALSE(token.empty());
  auto exchangeAt = [&](Replica& r) {
    return api(r, "POST", "/v1/agent/exchange", "", nlohmann::json{{"token", token}}.dump());
  };
  auto first = exchangeAt(b);
  EXPECT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.json().value("node", ""), "node-1");
  auto again = exchangeAt(a);
  EXPECT_EQ(again.status, 401) << again.body;
  EXPECT_EQ(again.json().value("error", ""), "invalid_token");
}

TEST_F(Replicas, ARebootTakenByOneReplicaIsHandedOutByAnotherOnce) {
  const auto config = declare("/handoff-test");
  auto a = std::make_unique<Replica>(config, dir_.path() / "a", "a");
  ASSERT_TRUE(a->ok());
  Replica b(config, dir_.path() / "b", "b");
  ASSERT_TRUE(b.ok());
  // The node installed once: its agent holds a credential and reports to a.
  auto exchanged =
      api(*a, "POST", "/v1/agent/exchange", "", nlohmann::json{{"token", bootToken(*a)}}.dump());
  ASSERT_EQ(exchanged.status, 200) << exchanged.body;
  const auto credential = exchanged.json().value("credential", "");
  auto heartbeat = [&](Replica& r) {
    auto hb = api(r, "POST", "/v1/agent/heartbeat", credential, "{}");
    EXPECT_EQ(hb.status, 200) << hb.body;
    return hb.json();
  };
  EXPECT_EQ(heartbeat(*a), nlohmann::json::object());

  std::ifstream token_file(a->app().stateDir() / "operator.token");
  std::string operator_token;
  token_file >> operator_token;
  auto asked = api(*a, "POST", "/v1/nodes/node-1/reinstall", operator_token, R"({"reboot":true})");
  ASSERT_EQ(asked.status, 200) << asked.body;
  const auto id = asked.json().value("id", "");
  ASSERT_FALSE(id.empty());
  a.reset();  // the replica that took the request is gone

  // The agent's heartbeats go to b now; b learns of the request at its next look at the
  // store (every 500 ms).
  const auto start = std::chrono::steady_clock::now();
  nlohmann::json answer;
  int beats = 0;
  for (; beats < 40; ++beats) {
    answer = heartbeat(b);
    if (!answer.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::printf("b handed out a's request at heartbeat %d, %.2f s after a stopped\n", beats + 1,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  EXPECT_EQ(answer.value("action", ""), "reinstall") << answer.dump();
  EXPECT_EQ(answer.value("id", ""), id);
  EXPECT_EQ(answer.value("mac", ""), "52:54:00:12:34:56");
  EXPECT_EQ(heartbeat(b), nlohmann::json::object());  // once

  // a comes back: the request was handed out, it is not handed out again.
  a = std::make_unique<Replica>(config, dir_.path() / "a", "a");
  ASSERT_TRUE(a->ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(700));  // a's first look at the store
  EXPECT_EQ(heartbeat(*a), nlohmann::json::object());
  // The agent's report goes to either replica; the shared handoff takes it.
  auto reported = api(*a, "POST", "/v1/agent/events", credential,
                      nlohmann::json{{"phase", "reboot_network"},
                                     {"message", "rebooting into the network: BootNext=Boot0004"},
                                     {"id", id}}
                          .dump());
  EXPECT_EQ(reported.status, 200) << reported.body;
  auto node = api(b, "GET", "/v1/nodes/node-1/events", operator_token, std::nullopt);
  EXPECT_NE(node.body.find("BootNext=Boot0004"), std::string::npos) << node.body;
  auto etcd = etcd::Client::create({etcd_->endpoint});
  ASSERT_TRUE(etcd.ok());
  auto kv = etcd->get("/handoff-test/handoffs/node-1");
  ASSERT_TRUE(kv.ok() && kv->has_value());
  const auto stored = nlohmann::json::parse((*kv)->value);
  EXPECT_EQ(stored.value("id", ""), id);
  EXPECT_TRUE(stored.value("delivered", false));
  EXPECT_TRUE(stored.value("rebooting", false));  // the deadline runs from the reboot now
}

}  // namespace
}  // namespace drover::server::testing

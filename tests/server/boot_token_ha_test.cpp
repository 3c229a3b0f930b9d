// Two drover serve replicas on one etcd (in this process, loopback, no DHCP): they share
// the boot token key, so a token one issued is exchanged through the other, and the record
// of its use, so it is refused everywhere after that.
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

TEST(BootTokenReplicas, ATokenFromOneReplicaIsSpentThroughAnotherOnce) {
  DROVER_REQUIRE_ETCD();
  ::drover::test::EtcdServer etcd;
  ASSERT_TRUE(etcd.start()) << etcd.log();
  TempDir dir;
  ::drover::test::writeSiteFiles(dir.path(), kKernelBytes);
  ::drover::test::ClusterYaml y;
  y.state = "{ backend: etcd, endpoints: [\"" + etcd.endpoint +
            "\"], prefix: /tokens-test, path: state/state.db }";
  writeFile(dir.path() / "cluster.yaml", y.str());
  Replica a(dir.path() / "cluster.yaml", dir.path() / "a", "a");
  ASSERT_TRUE(a.ok());
  Replica b(dir.path() / "cluster.yaml", dir.path() / "b", "b");
  ASSERT_TRUE(b.ok());
  // Each keeps the shared key in its own state directory.
  EXPECT_EQ(::drover::test::readFile(dir.path() / "a/boot-token.key"),
            ::drover::test::readFile(dir.path() / "b/boot-token.key"));

  auto script = perform({.url = "http://" + a.app().endpointForTest("http") +
                                "/boot.ipxe?mac=52:54:00:12:34:56&arch=x86_64&platform=pcbios"});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(script.body, m, std::regex("drover\\.token=([A-Za-z0-9_-]+)")))
      << script.body;
  const std::string token = m[1];
  auto exchangeAt = [&](Replica& r) {
    return perform({.method = "POST",
                    .url = "https://" + r.app().endpointForTest("api") + "/v1/agent/exchange",
                    .headers = {"Content-Type: application/json"},
                    .body = nlohmann::json{{"token", token}}.dump(),
                    .ca = r.app().stateDir() / "tls/ca.crt"});
  };
  auto first = exchangeAt(b);
  EXPECT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.json().value("node", ""), "node-1");
  auto again = exchangeAt(a);
  EXPECT_EQ(again.status, 401) << again.body;
  EXPECT_EQ(again.json().value("error", ""), "invalid_token");
}

}  // namespace
}  // namespace drover::server::testing

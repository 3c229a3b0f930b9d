// drover serve with its DHCP server on a real link: the App runs inside a server network
// namespace (this thread enters it; the App's threads inherit it), real clients (dhclient,
// udhcpc, curl's TFTP) run in a client namespace joined by a veth pair. DHCP exchanges show
// in the node's timeline before its TFTP transfer; a reload re-applies networks.
#include <fcntl.h>
#include <sched.h>

#include "cli/explain.hpp"
#include "cluster/loader.hpp"
#include "common/metrics.hpp"
#include "http/tls.hpp"
#include "server/context.hpp"
#include "tests/server/serve_fixture.hpp"
#include "tests/support/netns.hpp"

namespace drover::server::testing {
namespace {

namespace lab = drover::dhcp::test;

// Moves the calling thread, and the threads it starts afterwards, into a network
// namespace; back into the original one on destruction.
class InNetns {
 public:
  explicit InNetns(const std::string& name) {
    original_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    const int target = ::open(("/var/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    ok_ = original_ >= 0 && target >= 0 && ::setns(target, CLONE_NEWNET) == 0;
    if (target >= 0) ::close(target);
  }
  ~InNetns() {
    if (original_ < 0) return;
    ::setns(original_, CLONE_NEWNET);
    ::close(original_);
  }
  InNetns(const InNetns&) = delete;
  InNetns& operator=(const InNetns&) = delete;
  bool ok() const { return ok_; }

 private:
  int original_ = -1;
  bool ok_ = false;
};

class DhcpServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
    if (!lab::haveTool("/usr/sbin/dhclient") || !lab::haveTool("/usr/sbin/udhcpc"))
      GTEST_SKIP() << "dhclient/udhcpc not installed";
    const std::string tag = lab::uniqueTag(counter_++);
    server_ = std::make_unique<lab::Netns>("svdhs-" + tag);
    client_ = std::make_unique<lab::Netns>("svdhc-" + tag);
    server_if_ = "vs" + tag;
    client_if_ = "vc" + tag;
    ASSERT_TRUE(server_->ok() && client_->ok());
    ASSERT_TRUE(lab::link(*server_, server_if_, *client_, client_if_));
    ns_ = std::make_unique<InNetns>(server_->name());
    ASSERT_TRUE(ns_->ok());
  }

  void TearDown() override {
    clients_.clear();
    stopApp();
    ns_.reset();
    client_.reset();
    server_.reset();
    std::filesystem::remove(clientLog());
  }

  // The serve fixture's site, served on the server link: DHCP on `server_if_`, TFTP on
  // every address, and `networks` (YAML list items) as the declaration's networks.
  std::filesystem::path writeSite(const std::string& networks, bool listen_on_link = false) {
    ::drover::test::ClusterYaml y;
    if (listen_on_link) y.http_listen = y.api_listen = "192.0.2.1:0";
    y.advertise = "192.0.2.1";
    y.interfaces = server_if_;
    y.tftp_listen = "0.0.0.0:0";
    y.networks = networks;
    ::drover::test::writeSiteFiles(dir_.path(), kKernelBytes);
    const auto config = dir_.path() / "cluster.yaml";
    writeFile(config, y.str());
    return config;
  }

  void startApp(const std::filesystem::path& config) {
    Options o;
    o.config_path = config.string();
    auto app = App::create(o);
    ASSERT_TRUE(app) << app.error().message;
    app_ = std::move(*app);
    auto st = app_->start();
    ASSERT_TRUE(st) << st.error().message;
    thread_ = std::thread([this] { app_->run(); });
  }
  void stopApp() {
    if (!app_) return;
    app_->stop();
    if (thread_.joinable()) thread_.join();
    app_.reset();
  }

  std::string clientLog() const { return "/tmp/drover-dhcp-client-" + client_if_ + ".log"; }

  // One udhcpc run for `mac` that quits after a lease (or after three tries): its output.
  std::string udhcpcOnce(const std::string& mac, int tries = 20) {
    EXPECT_EQ(client_->run("ip link set " + client_if_ + " address " + mac), 0);
    const std::string out = dir_.path().string() + "/udhcpc-" + std::to_string(runs_++) + ".out";
    lab::Process p(client_->exec({"udhcpc", "-f", "-q", "-n", "-i", client_if_, "-s", "/bin/true",
                                  "-t", std::to_string(tries), "-T", "1"}),
                   out);
    p.wait(std::chrono::seconds(60));
    return lab::readFile(out);
  }

  std::vector<std::string> phases(const std::string& node) {
    std::ifstream in(app_->stateDir() / "operator.token");
    std::string token;
    in >> token;
    auto r =
        perform({.url = "https://" + app_->endpointForTest("api") + "/v1/nodes/" + node + "/events",
                 .headers = {"Authorization: Bearer " + token},
                 .ca = app_->stateDir() / "tls/ca.crt"});
    std::vector<std::string> out;
    auto j = r.json();
    if (!j.is_array()) return out;
    for (const auto& e : j) out.push_back(e.value("phase", ""));
    return out;
  }

  TempDir dir_;
  std::unique_ptr<lab::Netns> server_, client_;
  std::string server_if_, client_if_;
  std::unique_ptr<InNetns> ns_;
  std::unique_ptr<App> app_;
  std::thread thread_;
  std::vector<std::unique_ptr<lab::Process>> clients_;
  int runs_ = 0;
  static inline int counter_ = 0;
};

const std::string kLan =
    "  - name: lan\n"
    "    subnet: 192.0.2.0/24\n"
    "    pool: 192.0.2.100-192.0.2.199\n"
    "    gateway: 192.0.2.1\n";

TEST_F(DhcpServeTest, DhcpOfferAndAckComeBeforeTheTftpTransferInTheTimeline) {
  ASSERT_EQ(server_->run("ip addr add 192.0.2.1/24 dev " + server_if_), 0);
  writeFile(dir_.path() / "tftp/undionly.kpxe", std::string(3000, 'x'));
  const auto config = writeSite(kLan);
  ASSERT_NO_FATAL_FAILURE(startApp(config));
  // node-1 asks for an address with ISC dhclient and gets its reservation.
  ASSERT_EQ(client_->run(std::string("ip link set ") + client_if_ + " address " + kMac1), 0);
  const std::string d = dir_.path().string();
  clients_.push_back(std::make_unique<lab::Process>(
      client_->exec({"dhclient", "-d", "-v", "-lf", d + "/dhclient.leases", "-pf",
                     d + "/dhclient.pid", "-sf",
                     lab::sourceDir() + "/tests/dhcp/scripts/client-script.sh", client_if_}),
      d + "/dhclient.out"));
  ASSERT_TRUE(lab::waitFor([&] {
    return lab::readFile(clientLog()).find("BOUND 192.0.2.10") != std::string::npos;
  })) << lab::readFile(d + "/dhclient.out");
  // Then it fetches its first boot file over TFTP from its new address.
  const std::string tftp = app_->endpointForTest("tftp");
  const std::string port = tftp.substr(tftp.rfind(':') + 1);
  ASSERT_EQ(client_->run("curl -s -o /dev/null tftp://192.0.2.1:" + port + "/undionly.kpxe"), 0);
  std::vector<std::string> seen;
  ASSERT_TRUE(lab::waitFor([&] {
    seen = phases("node-1");
    return std::find(seen.begin(), seen.end(), "tftp_done") != seen.end();
  })) << ::testing::PrintToString(seen);
  auto at = [&](const std::string& phase) {
    return std::find(seen.begin(), seen.end(), phase) - seen.begin();
  };
  EXPECT_LT(at("dhcp_offer"), at("dhcp_ack")) << ::testing::PrintToString(seen);
  EXPECT_LT(at("dhcp_ack"), at("tftp_done")) << ::testing::PrintToString(seen);
  // A machine that is not declared gets a lease but no timeline.
  EXPECT_NE(udhcpcOnce(kUnknownMac).find("lease of 192.0.2.1"), std::string::npos);
  EXPECT_TRUE(phases(provisionalName(*MacAddress::parse(kUnknownMac))).empty());
}

TEST_F(DhcpServeTest, ReloadReappliesNetworksAndPicksUpNewAddresses) {
  // The link has no address yet: nothing to serve on it.
  const auto config =
      writeSite("  - name: lan\n    subnet: 192.0.2.0/24\n    pool: 192.0.2.150-192.0.2.150\n");
  ASSERT_NO_FATAL_FAILURE(startApp(config));
  EXPECT_EQ(udhcpcOnce(kUnknownMac, 2).find("obtained"), std::string::npos);
  // The address appears, the pool moves: a reload serves both, no restart.
  ASSERT_EQ(server_->run("ip addr add 192.0.2.1/24 dev " + server_if_), 0);
  ASSERT_TRUE(app_->reload());
  EXPECT_NE(udhcpcOnce(kUnknownMac).find("lease of 192.0.2.150 obtained"), std::string::npos);
  // A second range: the first client keeps its lease, a new one spills into the range.
  writeSite(
      "  - name: lan\n    subnet: 192.0.2.0/24\n    pool: [192.0.2.150-192.0.2.150, "
      "192.0.2.160-192.0.2.160]\n");
  ASSERT_TRUE(app_->reload());
  EXPECT_NE(udhcpcOnce("52:54:00:aa:bb:01").find("lease of 192.0.2.160 obtained"),
            std::string::npos);
  EXPECT_NE(udhcpcOnce(kUnknownMac).find("lease of 192.0.2.150 obtained"), std::string::npos);
  // The network turns proxy-only: plain clients get nothing any more.
  writeSite("  - name: lan\n    subnet: 192.0.2.0/24\n    mode: proxy\n");
  ASSERT_TRUE(app_->reload());
  EXPECT_EQ(udhcpcOnce("52:54:00:aa:bb:02", 2).find("obtained"), std::string::npos);
}

std::string tokenIn(const std::string& script) {
  std::smatch m;
  return std::regex_search(script, m, std::regex("drover\\.token=([A-Za-z0-9_-]+)"))
             ? std::string(m[1])
             : "";
}

// What `curl args...` run in the client namespace received (empty when it failed).
std::string curlIn(const lab::Netns& ns, const std::filesystem::path& out,
                   const std::string& args) {
  std::filesystem::remove(out);
  ns.run("curl -s -o " + out.string() + " " + args);
  return lab::readFile(out.string());
}

// Where Drover leases the addresses, a script with a boot token goes only to the address
// that holds the lease of the MAC it names, and only an address holding that lease may
// exchange it.
TEST_F(DhcpServeTest, BootTokensGoToTheLeaseHolderOnly) {
  ASSERT_EQ(server_->run("ip addr add 192.0.2.1/24 dev " + server_if_), 0);
  const auto config = writeSite(kLan, /*listen_on_link=*/true);
  ASSERT_NO_FATAL_FAILURE(startApp(config));
  // node-1 takes its lease (its reservation); the client link gets that address and another.
  ASSERT_NE(udhcpcOnce(kMac1).find("lease of 192.0.2.10 obtained"), std::string::npos);
  ASSERT_EQ(client_->run("ip addr add 192.0.2.10/24 dev " + client_if_), 0);
  ASSERT_EQ(client_->run("ip addr add 192.0.2.50/24 dev " + client_if_), 0);
  const auto out = dir_.path() / "curl.out";
  const std::string http = "http://" + app_->endpointForTest("http");
  const std::string api = "https://" + app_->endpointForTest("api");
  const std::string ca = (app_->stateDir() / "tls/ca.crt").string();
  auto scriptFrom = [&](const std::string& source, const std::string& mac) {
    return curlIn(*client_, out,
                  "--interface " + source + " '" + http + "/boot.ipxe?mac=" + mac +
                      "&arch=x86_64&platform=pcbios'");
  };
  auto exchangeFrom = [&](const std::string& source, const std::string& token) {
    return nlohmann::json::parse(
        curlIn(*client_, out,
               "--interface " + source + " --cacert " + ca +
                   " -H 'Content-Type: application/json' -d '{\"token\":\"" + token + "\"}' " +
                   api + "/v1/agent/exchange"),
        nullptr, false);
  };
  // Another address on the link, knowing the MAC: refused.
  auto s = scriptFrom("192.0.2.50", kMac1);
  EXPECT_THAT(s, ::testing::HasSubstr("does not hold the lease"));
  EXPECT_TRUE(tokenIn(s).empty());
  // The holder of node-1's lease asking for node-2: refused too.
  EXPECT_TRUE(tokenIn(scriptFrom("192.0.2.10", kMac2)).empty());
  // The lease holder gets its token; exchanged from elsewhere it is refused (and not spent),
  // from the holder it works.
  const auto token = tokenIn(scriptFrom("192.0.2.10", kMac1));
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(exchangeFrom("192.0.2.50", token).value("error", ""), "wrong_source");
  const auto ok = exchangeFrom("192.0.2.10", token);
  EXPECT_EQ(ok.value("node", ""), "node-1") << ok.dump();
  EXPECT_EQ(exchangeFrom("192.0.2.10", token).value("error", ""), "invalid_token");  // spent
  EXPECT_GE(metrics::Registry::global().valueForTest("boot_token_refusals_total",
                                                     "reason=\"not_lease_holder\""),
            2);
  EXPECT_GE(metrics::Registry::global().valueForTest("boot_token_refusals_total",
                                                     "reason=\"wrong_source\""),
            1);
}

// `drover explain` shows exactly the script the server serves (token and bound ports aside).
TEST_F(ServeTest, ExplainShowsTheScriptTheServerServes) {
  auto loaded = cluster::loadConfigFile(config_.string());
  ASSERT_TRUE(loaded.ok());
  const auto inv = cluster::Inventory::build(loaded.config);
  auto ca = http::certificateFingerprint(app_->caFile());
  ASSERT_TRUE(ca);
  auto normalise = [&](std::string text) {
    text = std::regex_replace(text, std::regex("drover\\.token=[A-Za-z0-9_-]+"),
                              "drover.token=<token>");
    text = std::regex_replace(text, std::regex("127\\.0\\.0\\.1:[0-9]+"), "127.0.0.1:PORT");
    return text;
  };
  struct Case {
    const char* mac;
    const char* arch;
    const char* platform;
  };
  for (const auto& c : {Case{kMac1, "bios", "pcbios"}, Case{kMac2, "efi-x64", "efi"},
                        Case{kUnknownMac, "bios", "pcbios"}}) {
    cli::ExplainQuery q;
    q.mac = *MacAddress::parse(c.mac);
    q.arch = boot::findArchitecture(c.arch);
    const auto shown = cli::explainScript(inv.config(), cli::explain(inv, q), *ca);
    EXPECT_EQ(normalise(shown.text), normalise(script(c.mac, c.platform))) << c.mac;
  }
}

}  // namespace
}  // namespace drover::server::testing

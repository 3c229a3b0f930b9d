// The real `drover serve` under a DISCOVER flood, in network namespaces: 20,000 DISCOVERs
// from random MACs (tests/dhcp/scripts/discover_flood.py on a raw socket), while a
// declared machine (dhclient) gets its reserved address; then a new machine (dhclient)
// gets a pool address although the flood's offers fill the pool, and the metrics show the
// rate-limited DISCOVERs and the reclaimed offers. Times are printed, not bounded.
#include <chrono>
#include <cstdio>
#include <regex>

#include "tests/dhcp/support/lab.hpp"
#include "tests/support/cluster_yaml.hpp"

namespace drover::dhcp::test {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The value of one series in a Prometheus text page, -1 if absent.
double metric(const std::string& page, const std::string& series) {
  const auto at = page.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(page.substr(at + series.size() + 2));
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class FloodLab : public DhcpLab {
 protected:
  void SetUp() override {
    DhcpLab::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (const char* tool : {"/usr/sbin/dhclient", "/usr/bin/python3", "/usr/bin/curl"}) {
      if (haveTool(tool)) continue;
      if (std::getenv("CI") != nullptr) FAIL() << tool << " is not installed";
      GTEST_SKIP() << tool << " is not installed";
    }
  }

  void TearDown() override {
    serve_.reset();
    DhcpLab::TearDown();
  }

  void startServe(const std::string& dhcp_keys) {
    ::drover::test::ClusterYaml y;
    y.advertise = "192.0.2.1";
    y.interfaces = server_if_;
    y.http_listen = "127.0.0.1:8080";
    y.dhcp = dhcp_keys;
    y.networks =
        "  - name: lan\n"
        "    subnet: 192.0.2.0/24\n"
        "    pool: 192.0.2.100-192.0.2.149\n"
        "    gateway: 192.0.2.1\n";
    const std::filesystem::path dir(dir_);
    ::drover::test::writeSiteFiles(dir, "kernel");
    ::drover::test::writeFile(dir / "cluster.yaml", y.str());
    serve_ = std::make_unique<Process>(
        server_->exec({binaryDir() + "/bin/drover", "--log-level", "info", "serve", "--config",
                       (dir / "cluster.yaml").string()}),
        dir_ + "/serve.log");
    ASSERT_TRUE(waitFor([&] {
      return (readFile(dir_ + "/serve.log").find("DHCP_LISTEN") != std::string::npos &&
              !scrape().empty()) ||
             !serve_->running();
    })) << readFile(dir_ + "/serve.log");
    ASSERT_TRUE(serve_->running()) << readFile(dir_ + "/serve.log");
  }

  std::string scrape() {
    const std::string out = dir_ + "/metrics.txt";
    std::filesystem::remove(out);
    server_->run("curl -s -m 10 -o " + out + " http://127.0.0.1:8080/metrics");
    return readFile(out);
  }

  // dhclient on the client link as `name`, its own lease and pid files.
  Process& dhclientAs(const std::string& name) {
    return startClient({"dhclient", "-d", "-v", "-lf", dir_ + "/" + name + ".leases", "-pf",
                        dir_ + "/" + name + ".pid", "-sf", script(), client_if_},
                       name);
  }

  std::unique_ptr<Process> serve_;
};

TEST_F(FloodLab, ANewMachineGetsAnAddressAfterTwentyThousandDiscoversFromRandomMacs) {
  // Limits set low enough that this flood trips them: the keys reach the engine.
  ASSERT_NO_FATAL_FAILURE(startServe(
      "{ client_discover_rate: 2, client_discover_burst: 10, interface_discover_rate: 1000, "
      "interface_discover_burst: 2000 }"));
  // The declared node-1 asks while the flood runs.
  ASSERT_NO_FATAL_FAILURE(setClientMac("52:54:00:12:34:56"));
  const auto flood_start = Clock::now();
  Process flood(client_->exec({"python3", sourceDir() + "/tests/dhcp/scripts/discover_flood.py",
                               "--interface", client_if_, "--count", "20000", "--rate", "10000",
                               "--repeat", "200", "--safety", "30"}),
                dir_ + "/flood.out");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto reserved_start = Clock::now();
  auto& reserved = dhclientAs("reserved");
  ASSERT_TRUE(clientSaw("BOUND 192.0.2.10", std::chrono::seconds(25)))
      << readFile(dir_ + "/reserved.out");
  std::printf("node-1 (declared) bound its reserved 192.0.2.10 after %.2f s, during the flood\n",
              secondsSince(reserved_start));
  EXPECT_EQ(flood.wait(std::chrono::seconds(40)), 0) << readFile(dir_ + "/flood.out");
  std::printf("flood: %s", readFile(dir_ + "/flood.out").c_str());
  std::printf("flood started %.2f s ago\n", secondsSince(flood_start));
  reserved.signal(SIGKILL);
  reserved.wait();

  // A new machine now: the pool is full of the flood's offers (held 30 s).
  const auto before = scrape();
  const double offers_held = metric(before, R"(drover_dhcp_replies_total{type="offer"})");
  std::printf("offers sent during the flood: %.0f\n", offers_held);
  ASSERT_EQ(client_->run("ip -4 addr flush dev " + client_if_), 0);
  ASSERT_NO_FATAL_FAILURE(setClientMac("52:54:00:77:00:01"));
  std::filesystem::remove(clientLog());
  const auto fresh_start = Clock::now();
  dhclientAs("fresh");
  ASSERT_TRUE(clientSaw("BOUND 192.0.2.1", std::chrono::seconds(25)))
      << readFile(dir_ + "/fresh.out");
  const double took = secondsSince(fresh_start);
  const std::string fresh = readFile(dir_ + "/fresh.out");
  const int discovers = count(fresh, "DHCPDISCOVER");
  std::smatch bound;
  const std::string log = readFile(clientLog());
  std::regex_search(log, bound, std::regex(R"(BOUND (192\.0\.2\.1\d\d))"));
  std::printf("new machine bound %s after %.2f s (%d DISCOVERs sent)\n", bound.str(1).c_str(), took,
              discovers);
  EXPECT_TRUE(bound.size() > 1) << log;
  EXPECT_LE(discovers, 3) << fresh;  // its first attempts, far within the 30 s offer hold

  const auto page = scrape();
  const auto drops = [&](const char* reason) {
    return metric(page, std::string(R"(drover_dhcp_drops_total{reason=")") + reason + "\"}");
  };
  const double by_interface = drops("discover_rate_interface");
  const double by_client = drops("discover_rate_client");
  const double reclaimed = metric(page, "drover_dhcp_offers_reclaimed_total");
  std::printf(
      "drops: discover_rate_interface=%.0f discover_rate_client=%.0f pool_exhausted=%.0f; "
      "offers reclaimed=%.0f; DISCOVERs received=%.0f\n",
      by_interface, by_client, drops("pool_exhausted"), reclaimed,
      metric(page, R"(drover_dhcp_packets_total{type="discover"})"));
  EXPECT_GT(by_interface, 0) << page;
  EXPECT_GT(by_client, 0) << page;
  EXPECT_GT(reclaimed, 0) << page;
  EXPECT_EQ(drops("pool_exhausted"), 0) << page;
}

}  // namespace
}  // namespace drover::dhcp::test

// A small boot storm: `drover sim` (40 machines, acting as a DHCP relay) in a client
// namespace against a real `drover serve` in a server namespace. Every machine must boot
// (DORA with PXE options, TFTP of undionly.kpxe, DORA as iPXE, script, kernel, initrd),
// and the server's own /metrics must agree with what the machines did.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/cluster_yaml.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::sim {
namespace {

using dhcp::test::binaryDir;
using dhcp::test::Netns;
using dhcp::test::Process;
using dhcp::test::readFile;
using dhcp::test::sh;
using dhcp::test::waitFor;

constexpr int kClients = 40;

// Sum of the samples of `name` whose labels contain every `label` given.
double metric(const std::string& text, const std::string& name, const std::vector<std::string>& labels) {
  double sum = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with(name + "{") && !line.starts_with(name + " ")) continue;
    bool match = true;
    for (const auto& l : labels) match = match && line.find(l) != std::string::npos;
    if (match) sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

class StormTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    if (!std::filesystem::exists("/usr/lib/ipxe/undionly.kpxe")) GTEST_SKIP() << "needs Debian's ipxe package";
    if (sh("command -v curl") != 0) GTEST_SKIP() << "needs curl";
    drover_ = binaryDir() + "/bin/drover";
    ASSERT_TRUE(dhcp::test::haveTool(drover_)) << drover_ << " is not built";
    const auto tag = std::to_string(::getpid());
    srv_.emplace("simstorm" + tag + "s");
    cli_.emplace("simstorm" + tag + "c");
    sif_ = "sims" + tag;
    cif_ = "simc" + tag;
    ASSERT_TRUE(srv_->ok() && cli_->ok());
    ASSERT_TRUE(dhcp::test::link(*srv_, sif_, *cli_, cif_));
    ASSERT_EQ(srv_->run("ip addr add 192.0.2.1/24 dev " + sif_), 0);
    ASSERT_EQ(cli_->run("ip addr add 192.0.2.2/24 dev " + cif_), 0);
    // The relayed network and the leased addresses live in the client namespace: the
    // sim listens as relay on 198.51.100.1 and binds each machine to its lease.
    ASSERT_EQ(cli_->run("ip route add local 198.51.100.0/24 dev lo"), 0);
    ASSERT_EQ(srv_->run("ip route add 198.51.100.0/24 via 192.0.2.2"), 0);
  }

  std::string serverMetrics() {
    const auto out = dir_.path() / "metrics.txt";
    std::filesystem::remove(out);
    srv_->run("curl -s -o " + out.string() + " http://192.0.2.1:8080/metrics");
    return readFile(out.string());
  }

  void writeSite() {
    test::ClusterYaml y;
    y.advertise = "192.0.2.1";
    y.interfaces = sif_;
    y.tftp_listen = "192.0.2.1:69";
    y.http_listen = "192.0.2.1:8080";
    y.networks =
        "  - name: rack\n"
        "    subnet: 198.51.100.0/24\n"
        "    pool: 198.51.100.10-198.51.100.250\n"
        "    gateway: 198.51.100.1\n";
    y.join.clear();
    y.unknown = "install";
    y.nodes =
        "  - name: node-1\n"
        "    mac: 52:54:00:00:00:01\n"
        "    ip: 198.51.100.5\n";
    test::writeSiteFiles(dir_.path(), std::string(300 * 1024, 'k'), 1024 * 1024 + 17);
    test::writeFile(dir_.path() / "cluster.yaml", y.str());
  }

  // The site, and `drover serve` on it in the server namespace, answering /metrics.
  void startServe() {
    writeSite();
    serve_log_ = (dir_.path() / "serve.log").string();
    serve_.emplace(srv_->exec({drover_, "--log-level", "warn", "serve", "--config", (dir_.path() / "cluster.yaml").string()}),
                   serve_log_);
    ASSERT_TRUE(waitFor([&] { return serverMetrics().find("drover_http_requests_total") != std::string::npos || !serve_->running(); }))
        << readFile(serve_log_);
    ASSERT_TRUE(serve_->running()) << readFile(serve_log_);
  }

  test::TempDir dir_{"drover-sim"};
  std::string drover_, sif_, cif_, serve_log_;
  std::optional<Netns> srv_, cli_;
  std::optional<Process> serve_;  // declared after the namespaces: stopped before they go
};

TEST_F(StormTest, EveryMachineBootsAndTheServerCountersAgree) {
  ASSERT_NO_FATAL_FAILURE(startServe());
  auto& serve = *serve_;
  const auto& log = serve_log_;
  const auto before = serverMetrics();

  const auto json = (dir_.path() / "report.json").string();
  const auto out = (dir_.path() / "sim.out").string();
  Process sim(cli_->exec({drover_, "sim", "--server", "192.0.2.1", "--relay", "198.51.100.1", "--clients",
                          std::to_string(kClients), "--spread", "2s", "--concurrency", "25", "--bind-leased",
                          "--deadline", "3m", "--json", json}),
              out);
  const int rc = sim.wait(std::chrono::seconds(300));  // safety bound, not a measurement
  ASSERT_EQ(rc, 0) << readFile(out) << "\n--- serve ---\n" << readFile(log);

  const auto report = nlohmann::json::parse(readFile(json));
  EXPECT_EQ(report["clients"], kClients);
  EXPECT_EQ(report["completed"], kClients) << report.dump(2);
  EXPECT_EQ(report["failed"], 0);
  for (const char* phase : {"dhcp", "tftp", "ipxe_dhcp", "script", "kernel", "initrd", "boot"}) {
    EXPECT_EQ(report["phases"][phase]["count"], kClients) << phase;
  }
  const auto loader = std::filesystem::file_size("/usr/lib/ipxe/undionly.kpxe");
  EXPECT_EQ(report["bytes"]["tftp"], kClients * loader);
  EXPECT_EQ(report["bytes"]["http"].get<std::uint64_t>() % kClients, 0U);
  EXPECT_GT(report["bytes"]["http"].get<std::uint64_t>(), kClients * (300U * 1024 + 1024 * 1024 + 17));

  // The server saw exactly what the machines did: two DORAs each, one loader download
  // each (plus the aborted tsize probe), three HTTP GETs each (script, kernel, initrd).
  auto delta = [&](const std::string& after, const std::string& name, const std::vector<std::string>& labels) {
    return metric(after, name, labels) - metric(before, name, labels);
  };
  std::string after;
  const bool settled = waitFor([&] {
    after = serverMetrics();
    return delta(after, "drover_tftp_transfers_total", {"result=\"ok\""}) >= kClients;
  });
  EXPECT_TRUE(settled);
  EXPECT_EQ(delta(after, "drover_dhcp_replies_total", {"type=\"offer\""}), 2 * kClients);
  EXPECT_EQ(delta(after, "drover_dhcp_replies_total", {"type=\"ack\""}), 2 * kClients);
  EXPECT_EQ(delta(after, "drover_dhcp_replies_total", {"type=\"nak\""}), 0);
  EXPECT_EQ(delta(after, "drover_dhcp_drops_total", {}), 0);
  EXPECT_EQ(delta(after, "drover_tftp_transfers_total", {"result=\"ok\""}), kClients);
  EXPECT_EQ(delta(after, "drover_tftp_transfers_total", {"result=\"client_abort\""}), kClients);
  EXPECT_EQ(delta(after, "drover_tftp_transfers_total", {}), 2 * kClients);
  EXPECT_EQ(delta(after, "drover_tftp_drops_total", {}), 0);
  // Three GETs per machine; the /metrics polls of this test are the rest.
  EXPECT_GE(delta(after, "drover_http_requests_total", {"listener=\"http\"", "code=\"200\""}), 3 * kClients);
  EXPECT_EQ(delta(after, "drover_http_requests_total", {"listener=\"http\"", "code=\"404\""}), 0);
  EXPECT_EQ(delta(after, "drover_http_drops_total", {}), 0);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(), 0) << readFile(log);
}

TEST_F(StormTest, HttpOnlyRunStartsAtTheScriptUrl) {
  // --script-url: no DHCP, no TFTP; every machine fetches the entry script (whose chain the
  // sim expands with its MAC), then the kernel and initrd.
  ASSERT_NO_FATAL_FAILURE(startServe());
  auto& serve = *serve_;
  const auto& log = serve_log_;
  const auto before = serverMetrics();
  const auto json = (dir_.path() / "http-only.json").string();
  const auto out = (dir_.path() / "http-only.out").string();
  Process sim(cli_->exec({drover_, "sim", "--script-url", "http://192.0.2.1:8080/boot.ipxe", "--clients",
                          std::to_string(kClients), "--deadline", "3m", "-q", "--json", json}),
              out);
  ASSERT_EQ(sim.wait(std::chrono::seconds(300)), 0) << readFile(out) << "\n--- serve ---\n" << readFile(log);
  const auto report = nlohmann::json::parse(readFile(json));
  EXPECT_EQ(report["completed"], kClients) << report.dump(2);
  EXPECT_EQ(report["config"]["script_url"], "http://192.0.2.1:8080/boot.ipxe");
  for (const char* phase : {"script", "kernel", "initrd", "boot"}) EXPECT_EQ(report["phases"][phase]["count"], kClients) << phase;
  for (const char* phase : {"dhcp", "tftp", "ipxe_dhcp"}) EXPECT_EQ(report["phases"][phase]["count"], 0) << phase;
  EXPECT_EQ(report["bytes"]["tftp"], 0);
  const auto after = serverMetrics();
  EXPECT_EQ(metric(after, "drover_dhcp_replies_total", {}) - metric(before, "drover_dhcp_replies_total", {}), 0);
  EXPECT_EQ(metric(after, "drover_tftp_transfers_total", {}) - metric(before, "drover_tftp_transfers_total", {}), 0);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(), 0) << readFile(log);
}

TEST(SimCli, HttpOnlyAndPxeFlagsAreChecked) {
  const std::string drover = binaryDir() + "/bin/drover";
  ASSERT_TRUE(dhcp::test::haveTool(drover));
  EXPECT_EQ(sh(drover + " sim --clients 1"), 2) << "no server, relay or script URL";
  EXPECT_EQ(sh(drover + " sim --script-url ftp://x/"), 2);
  EXPECT_EQ(sh(drover + " sim --script-url http://192.0.2.1/ --bind-leased"), 2);
}

}  // namespace
}  // namespace drover::sim

// A DHCP test lab: a server namespace and a client namespace joined by a veth pair
// (192.0.2.0/24, server 192.0.2.1), a work directory, and the harness as a child process.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>

#include "tests/support/netns.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::dhcp::test {

class DhcpLab : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
    const std::string tag = uniqueTag(counter_++);
    work_.emplace("drover-dhcp-it");
    dir_ = work_->path().string();
    server_ = std::make_unique<Netns>("dhcps-" + tag);
    client_ = std::make_unique<Netns>("dhcpc-" + tag);
    server_if_ = "ds" + tag;
    client_if_ = "dc" + tag;
    ASSERT_TRUE(server_->ok() && client_->ok());
    ASSERT_TRUE(link(*server_, server_if_, *client_, client_if_));
    ASSERT_EQ(server_->run("ip addr add 192.0.2.1/24 dev " + server_if_), 0);
  }

  void TearDown() override {
    harness_.reset();
    clients_.clear();
    client_.reset();
    server_.reset();
    if (work_) std::filesystem::remove(clientLog());
    work_.reset();
  }

  static std::string networksJson(int lease_seconds) {
    return R"("networks":[{"name":"rack1","subnet":"192.0.2.0/24","pool":"192.0.2.100-192.0.2.199",)"
           R"("gateway":"192.0.2.1","dns":["192.0.2.1"],"domain":"lab.example","lease_seconds":)" +
           std::to_string(lease_seconds) + "}]";
  }

  std::string defaultConfig(int lease_seconds = 3600) const {
    return R"({"server_address":"192.0.2.1","interfaces":[")" + server_if_ + R"("],)" +
           networksJson(lease_seconds) +
           R"(,"reservations":[{"mac":"52:54:00:12:34:56","ip":"192.0.2.10","hostname":"master-1"}],)"
           R"("http_base":"http://192.0.2.1:8080"})";
  }

  // Starts the harness with `config` in the server namespace; waits until it listens.
  // `db`: the SQLite lease database (default <dir>/leases.db).
  void startHarness(const std::string& config, bool sqlite = true, std::string db = "") {
    harness_.reset();
    std::ofstream(dir_ + "/config.json") << config;
    std::vector<std::string> argv{binaryDir() + "/bin/dhcp_harness",
                                  "--config",
                                  dir_ + "/config.json",
                                  "--log-level",
                                  "debug",
                                  "--metrics-out",
                                  dir_ + "/metrics.txt"};
    if (sqlite) {
      argv.insert(argv.end(), {"--db", db.empty() ? dir_ + "/leases.db" : db});
    } else {
      argv.push_back("--memory");
    }
    std::filesystem::remove(dir_ + "/harness.out");
    harness_ = std::make_unique<Process>(server_->exec(argv), dir_ + "/harness.out");
    ASSERT_TRUE(waitFor([&] {
      return readFile(dir_ + "/harness.out").find("DHCP_HARNESS_READY") != std::string::npos ||
             !harness_->running();
    })) << readFile(dir_ + "/harness.out");
    ASSERT_TRUE(harness_->running()) << readFile(dir_ + "/harness.out");
  }

  void stopHarness() {
    if (!harness_) return;
    harness_->signal(SIGTERM);
    harness_->wait();
  }

  void setClientMac(const std::string& mac) {
    ASSERT_EQ(client_->run("ip link set " + client_if_ + " address " + mac), 0);
  }

  std::string clientLog() const { return "/tmp/drover-dhcp-client-" + client_if_ + ".log"; }
  std::string script() const { return sourceDir() + "/tests/dhcp/scripts/client-script.sh"; }

  // Waits until the client log has a line containing `text`.
  bool clientSaw(const std::string& text,
                 std::chrono::seconds safety = std::chrono::seconds(60)) const {
    return waitFor([&] { return readFile(clientLog()).find(text) != std::string::npos; }, safety);
  }

  Process& startClient(const std::vector<std::string>& argv, const std::string& name) {
    clients_.push_back(std::make_unique<Process>(client_->exec(argv), dir_ + "/" + name + ".out"));
    return *clients_.back();
  }

  std::vector<std::string> dhclient(const std::string& extra = "") const {
    std::vector<std::string> argv{
        "dhclient", "-d",    "-v", "-lf", dir_ + "/dhclient.leases", "-pf", dir_ + "/dhclient.pid",
        "-sf",      script()};
    if (!extra.empty()) argv.push_back(extra);
    argv.push_back(client_if_);
    return argv;
  }

  std::vector<std::string> udhcpc() const {
    return {"udhcpc", "-f", "-i", client_if_, "-s", script(), "-t", "20", "-T", "1"};
  }

  std::string metrics() const { return readFile(dir_ + "/metrics.txt"); }

  std::optional<::drover::test::TempDir> work_;
  std::string dir_, server_if_, client_if_;  // dir_: work_'s path
  std::unique_ptr<Netns> server_, client_;
  std::unique_ptr<Process> harness_;
  std::vector<std::unique_ptr<Process>> clients_;
  static inline int counter_ = 0;
};

}  // namespace drover::dhcp::test

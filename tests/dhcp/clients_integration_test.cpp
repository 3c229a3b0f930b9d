// Real clients against the server in network namespaces: ISC dhclient and busybox udhcpc.
#include "tests/dhcp/support/lab.hpp"

namespace drover::dhcp::test {
namespace {

TEST_F(DhcpLab, DhclientGetsItsReservationRenewsAndReleases) {
  if (!haveTool("/usr/sbin/dhclient")) GTEST_SKIP() << "dhclient not installed";
  ASSERT_NO_FATAL_FAILURE(startHarness(defaultConfig(6)));  // T1 = 3 s: renews during the test
  ASSERT_NO_FATAL_FAILURE(setClientMac("52:54:00:12:34:56"));
  auto& dh = startClient(dhclient(), "dhclient");
  ASSERT_TRUE(clientSaw("BOUND 192.0.2.10")) << readFile(dir_ + "/dhclient.out");
  EXPECT_NE(readFile(clientLog()).find("host=master-1"), std::string::npos);
  ASSERT_TRUE(clientSaw("RENEW 192.0.2.10")) << readFile(dir_ + "/dhclient.out");
  dh.signal(SIGTERM);
  dh.wait();
  auto& rel = startClient(dhclient("-r"), "dhclient-release");
  rel.wait();
  ASSERT_TRUE(clientSaw("RELEASE 192.0.2.10"));
  ASSERT_TRUE(waitFor(
      [&] { return readFile(dir_ + "/harness.out").find("DHCP_RELEASE") != std::string::npos; }));
  stopHarness();
  EXPECT_NE(metrics().find(R"(drover_dhcp_packets_total{type="release"} 1)"), std::string::npos)
      << metrics();
}

TEST_F(DhcpLab, UdhcpcGetsAPoolAddressRenewsAndReleases) {
  if (!haveTool("/usr/sbin/udhcpc") && !haveTool("/bin/udhcpc"))
    GTEST_SKIP() << "udhcpc not installed";
  ASSERT_NO_FATAL_FAILURE(startHarness(defaultConfig()));
  ASSERT_NO_FATAL_FAILURE(setClientMac("52:54:00:00:00:42"));
  auto& u = startClient(udhcpc(), "udhcpc");
  ASSERT_TRUE(clientSaw("bound 192.0.2.1")) << readFile(dir_ + "/udhcpc.out");
  const std::string log = readFile(clientLog());
  EXPECT_NE(log.find("bound 192.0.2.100"), std::string::npos) << log;
  u.signal(SIGUSR1);  // renew now
  ASSERT_TRUE(clientSaw("renew 192.0.2.100")) << readFile(dir_ + "/udhcpc.out");
  u.signal(SIGUSR2);  // release
  ASSERT_TRUE(waitFor([&] {
    return readFile(dir_ + "/harness.out").find("DHCP_RELEASE") != std::string::npos;
  })) << readFile(dir_ + "/udhcpc.out");
  u.signal(SIGTERM);
  u.wait();
}

TEST_F(DhcpLab, RestartKeepsLeases) {
  if (!haveTool("/usr/sbin/dhclient") || !haveTool("/usr/sbin/udhcpc"))
    GTEST_SKIP() << "clients not installed";
  ASSERT_NO_FATAL_FAILURE(startHarness(defaultConfig()));
  ASSERT_NO_FATAL_FAILURE(setClientMac("52:54:00:00:00:01"));
  auto& first = startClient(dhclient(), "dhclient");
  ASSERT_TRUE(clientSaw("BOUND 192.0.2.100")) << readFile(dir_ + "/dhclient.out");
  first.signal(SIGKILL);  // the client keeps its lease file and address
  first.wait();
  stopHarness();
  ASSERT_NO_FATAL_FAILURE(startHarness(defaultConfig()));
  EXPECT_NE(readFile(dir_ + "/harness.out").find("DHCP_LEASES_RESTORED count=1"),
            std::string::npos);
  // Another machine gets another address ...
  ASSERT_NO_FATAL_FAILURE(setClientMac("52:54:00:00:00:02"));
  auto& other = startClient(
      {"udhcpc", "-f", "-q", "-n", "-i", client_if_, "-s", script(), "-t", "20", "-T", "1"},
      "udhcpc");
  EXPECT_EQ(other.wait(), 0);
  ASSERT_TRUE(clientSaw("bound 192.0.2.101")) << readFile(clientLog());
  // ... and the first one, rebooting, keeps its own (INIT-REBOOT from its lease file).
  ASSERT_NO_FATAL_FAILURE(setClientMac("52:54:00:00:00:01"));
  auto& again = startClient(dhclient(), "dhclient-again");
  ASSERT_TRUE(clientSaw("REBOOT 192.0.2.100")) << readFile(dir_ + "/dhclient-again.out");
  again.signal(SIGTERM);
  again.wait();
}

TEST_F(DhcpLab, AnExhaustedFirstPoolSpillsIntoTheNext) {
  if (!haveTool("/usr/sbin/udhcpc") && !haveTool("/bin/udhcpc"))
    GTEST_SKIP() << "udhcpc not installed";
  std::string config = defaultConfig();
  const std::string one = R"("pool":"192.0.2.100-192.0.2.199")";
  config.replace(config.find(one), one.size(),
                 R"("pools":["192.0.2.100-192.0.2.100","192.0.2.150-192.0.2.151"])");
  ASSERT_NO_FATAL_FAILURE(startHarness(config));
  const char* expected[] = {"192.0.2.100", "192.0.2.150", "192.0.2.151"};
  int n = 0;
  for (const char* want : expected) {
    ASSERT_NO_FATAL_FAILURE(setClientMac("52:54:00:00:20:0" + std::to_string(n)));
    const std::string name = "udhcpc" + std::to_string(n++);
    auto& u = startClient(
        {"udhcpc", "-f", "-q", "-n", "-i", client_if_, "-s", "/bin/true", "-t", "20", "-T", "1"},
        name);
    EXPECT_EQ(u.wait(), 0) << readFile(dir_ + "/" + name + ".out");
    EXPECT_NE(readFile(dir_ + "/" + name + ".out").find(std::string("lease of ") + want + " obtained"),
              std::string::npos)
        << readFile(dir_ + "/" + name + ".out");
  }
}

TEST_F(DhcpLab, PingBeforeOfferSkipsAnAddressSomebodyAnswersFor) {
  if (!haveTool("/usr/sbin/udhcpc")) GTEST_SKIP() << "udhcpc not installed";
  std::string config = defaultConfig();
  config.insert(config.size() - 1, R"(,"ping_before_offer":true,"ping_timeout_ms":300)");
  ASSERT_NO_FATAL_FAILURE(startHarness(config));
  // A squatter on the link holds the pool's first address without a lease.
  ASSERT_EQ(client_->run("ip addr add 192.0.2.100/24 dev " + client_if_), 0);
  ASSERT_NO_FATAL_FAILURE(setClientMac("52:54:00:00:00:43"));
  // No lease hook: it would flush the squatter's address ("deconfig") before the DISCOVER.
  auto& u = startClient(
      {"udhcpc", "-f", "-q", "-n", "-i", client_if_, "-s", "/bin/true", "-t", "20", "-T", "1"},
      "udhcpc");
  EXPECT_EQ(u.wait(), 0) << readFile(dir_ + "/udhcpc.out");
  EXPECT_NE(readFile(dir_ + "/udhcpc.out").find("lease of 192.0.2.101 obtained"), std::string::npos)
      << readFile(dir_ + "/udhcpc.out");
  EXPECT_NE(readFile(dir_ + "/harness.out").find("DHCP_ADDRESS_IN_USE ip=192.0.2.100"),
            std::string::npos)
      << readFile(dir_ + "/harness.out");
}

TEST_F(DhcpLab, PxeFirmwareGetsTheRightBootFile) {
  ASSERT_NO_FATAL_FAILURE(startHarness(defaultConfig(), false));
  struct Case {
    std::string args, file;
    bool http, ipxe;
  };
  const Case cases[] = {
      {"--arch 0 --vendor PXEClient:Arch:00000:UNDI:002001", "undionly.kpxe", false, false},
      {"--arch 7 --vendor PXEClient:Arch:00007:UNDI:003016", "ipxe.efi", false, false},
      {"--arch 16 --vendor HTTPClient:Arch:00016:UNDI:003001", "http://192.0.2.1:8080/ipxe.efi",
       true, false},
      {"--arch 0 --vendor PXEClient:Arch:00000:UNDI:002001 --ipxe",
       "http://192.0.2.1:8080/boot.ipxe", false, true},
  };
  int n = 0;
  for (const auto& c : cases) {
    const std::string out = dir_ + "/pxe" + std::to_string(n) + ".out";
    const std::string cmd =
        "/usr/bin/python3 " + sourceDir() + "/tests/dhcp/scripts/pxe_client.py --iface " +
        client_if_ + " --mac 52:54:00:00:10:0" + std::to_string(n++) + " " + c.args + " > " + out;
    ASSERT_EQ(std::system(("ip netns exec " + client_->name() + " " + cmd).c_str()), 0)
        << readFile(out);
    const std::string got = readFile(out);
    EXPECT_NE(got.find("file=" + c.file + "\n"), std::string::npos) << got;
    EXPECT_NE(got.find("siaddr=192.0.2.1\n"), std::string::npos) << got;
    EXPECT_EQ(got.find("vendor=HTTPClient") != std::string::npos, c.http) << got;
    EXPECT_EQ(got.find("no_pxedhcp=1") != std::string::npos, c.ipxe) << got;
  }
}

}  // namespace
}  // namespace drover::dhcp::test

// proxyDHCP beside a real DHCP server (dnsmasq) on one link: dnsmasq leases the address,
// Drover answers the PXE client with boot information only.
#include "tests/dhcp/support/lab.hpp"

namespace drover::dhcp::test {
namespace {

TEST_F(DhcpLab, ProxyDhcpBesideDnsmasqAddsBootInfoOnly) {
  if (!haveTool("/usr/sbin/dnsmasq")) GTEST_SKIP() << "dnsmasq not installed";
  // Rewire: server and client both hang off a bridge in a third namespace running dnsmasq.
  const std::string tag = client_if_.substr(2);
  ASSERT_EQ(server_->run("ip link del " + server_if_), 0);
  Netns site("dhcpx-" + tag);
  ASSERT_TRUE(site.ok());
  const std::string br = "dx" + tag, sp = "dy" + tag, cp = "dz" + tag;
  ASSERT_EQ(site.run("ip link add " + br + " type bridge"), 0);
  ASSERT_TRUE(link(*server_, server_if_, site, sp));
  ASSERT_TRUE(link(*client_, client_if_, site, cp));
  ASSERT_EQ(site.run("ip link set " + sp + " master " + br), 0);
  ASSERT_EQ(site.run("ip link set " + cp + " master " + br), 0);
  ASSERT_EQ(site.run("ip link set " + br + " up"), 0);
  ASSERT_EQ(site.run("ip addr add 192.0.2.2/24 dev " + br), 0);
  ASSERT_EQ(server_->run("ip addr add 192.0.2.1/24 dev " + server_if_), 0);

  Process dnsmasq(
      site.exec({"dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0", "--interface=" + br,
                 "--bind-interfaces", "--no-ping", "--dhcp-range=192.0.2.150,192.0.2.199,1h",
                 "--dhcp-leasefile=" + dir_ + "/dnsmasq.leases",
                 "--pid-file=" + dir_ + "/dnsmasq.pid"}),
      dir_ + "/dnsmasq.out");
  ASSERT_NO_FATAL_FAILURE(startHarness(
      R"({"server_address":"192.0.2.1","interfaces":[")" + server_if_ +
          R"("],"networks":[{"name":"site","subnet":"192.0.2.0/24","mode":"proxy"}],"http_base":"http://192.0.2.1:8080"})",
      false));
  ASSERT_TRUE(waitFor([&] {
    return readFile(dir_ + "/dnsmasq.out").find("DHCP, IP range") != std::string::npos;
  })) << readFile(dir_ + "/dnsmasq.out");

  const std::string out = dir_ + "/pxe.out";
  const std::string cmd =
      "ip netns exec " + client_->name() + " /usr/bin/python3 " + sourceDir() +
      "/tests/dhcp/scripts/pxe_client.py --iface " + client_if_ +
      " --mac 52:54:00:00:20:01 --arch 7 --vendor PXEClient:Arch:00007:UNDI:003016 --collect 3 > " +
      out;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << readFile(out);
  const std::string got = readFile(out);
  // dnsmasq's offer: an address, no boot file.
  EXPECT_NE(got.find("server=192.0.2.2\ntype=2\nyiaddr=192.0.2.1"), std::string::npos) << got;
  // Drover's proxy offer: no address, the boot file, PXEClient.
  EXPECT_NE(got.find("server=192.0.2.1\ntype=2\nyiaddr=0.0.0.0\nsiaddr=192.0.2.1\nfile=ipxe.efi\n"),
            std::string::npos)
      << got;
  EXPECT_NE(got.find("vendor=PXEClient"), std::string::npos) << got;
  dnsmasq.signal(SIGTERM);
  dnsmasq.wait();
}

}  // namespace
}  // namespace drover::dhcp::test

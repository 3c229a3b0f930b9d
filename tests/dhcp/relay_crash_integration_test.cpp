// Relayed clients (ISC dhcrelay, and a scripted relay under load), and a crash under load:
// kill -9 and a power cut must never lose an acknowledged lease nor give one address to two
// clients.
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "dhcp/server/sqlite_lease_store.hpp"
#include "tests/dhcp/support/lab.hpp"
#include "tests/support/lazy_mount.hpp"

namespace drover::dhcp::test {
namespace {

class RelayLab : public DhcpLab {
 protected:
  std::string relayConfig() const {
    return R"({"server_address":"192.0.2.1","interfaces":[")" + server_if_ +
           R"("],"networks":[)"
           R"({"name":"rack1","subnet":"192.0.2.0/24","pool":"192.0.2.100-192.0.2.199"},)"
           R"({"name":"rack2","subnet":"198.51.100.0/24","pool":"198.51.100.10-198.51.100.250",)"
           R"("gateway":"198.51.100.1","lease_seconds":3600}]})";
  }

  // The far side of the server link speaks for 198.51.100.0/24.
  void routeRack2() {
    ASSERT_EQ(client_->run("ip addr add 192.0.2.2/24 dev " + client_if_), 0);
    ASSERT_EQ(server_->run("ip route add 198.51.100.0/24 via 192.0.2.2"), 0);
  }

  // ACK lines of a dhcp_load.py output: mac -> ip.
  static std::multimap<std::string, std::string> acks(const std::string& out) {
    std::multimap<std::string, std::string> m;
    std::istringstream in(out);
    std::string word, mac, ip;
    while (in >> word) {
      if (word == "ACK" && in >> mac >> ip) m.emplace(mac, ip);
    }
    return m;
  }

  void crashUnderLoad(const std::string& db, const std::string& db_after,
                      const std::function<void()>& crash);

  // `window`: exchanges in flight at once. One at a time keeps a run long enough (every ACK
  // waits for its fsync) that a kill lands in the middle of it even on an idle machine.
  int load(int first, int count, const std::string& name, int window = 16) {
    auto& p = startClient(
        {"/usr/bin/python3", sourceDir() + "/tests/dhcp/scripts/dhcp_load.py", "--server",
         "192.0.2.1", "--giaddr", "198.51.100.1", "--first", std::to_string(first), "--count",
         std::to_string(count), "--idle", "3", "--window", std::to_string(window)},
        name);
    return p.pid();
  }
};

TEST_F(RelayLab, ClientBehindIscDhcrelayGetsAnAddressOnTheRelaysSubnet) {
  if (!haveTool("/usr/sbin/dhcrelay") || !haveTool("/usr/sbin/udhcpc"))
    GTEST_SKIP() << "dhcrelay/udhcpc missing";
  ASSERT_NO_FATAL_FAILURE(routeRack2());
  // The client namespace is the relay; the machine sits one more link away.
  Netns host("dhcph-" + client_if_.substr(2));
  const std::string down = "dr" + client_if_.substr(2), host_if = "dh" + client_if_.substr(2);
  ASSERT_TRUE(host.ok() && link(*client_, down, host, host_if));
  ASSERT_EQ(client_->run("ip addr add 198.51.100.1/24 dev " + down), 0);
  ASSERT_NO_FATAL_FAILURE(startHarness(relayConfig()));
  auto& relay = startClient({"dhcrelay", "-4", "-d", "-a", "-id", down, "-iu", client_if_, "-pf",
                             dir_ + "/dhcrelay.pid", "192.0.2.1"},
                            "dhcrelay");
  ASSERT_TRUE(waitFor([&] {
    return readFile(dir_ + "/dhcrelay.out").find("Sending on") != std::string::npos;
  })) << readFile(dir_ + "/dhcrelay.out");
  Process machine(
      host.exec({"udhcpc", "-f", "-q", "-n", "-i", host_if, "-s", script(), "-t", "20", "-T", "1"}),
      dir_ + "/udhcpc.out");
  EXPECT_EQ(machine.wait(), 0) << readFile(dir_ + "/udhcpc.out")
                               << readFile(dir_ + "/dhcrelay.out");
  const std::string log = readFile("/tmp/drover-dhcp-client-" + host_if + ".log");
  std::filesystem::remove("/tmp/drover-dhcp-client-" + host_if + ".log");
  EXPECT_NE(log.find("bound 198.51.100.10"), std::string::npos)
      << log << readFile(dir_ + "/harness.out");
  relay.signal(SIGTERM);
  relay.wait();
}

// Starts the server on `db`, runs 200 relayed clients one exchange at a time, and calls
// `crash` once at least 20 were acknowledged. Then checks that every lease a client saw
// acknowledged is in the database at `db_after` (the same file, or what a disk kept of it),
// bound to its client, and that no address was given twice; restarts the server on
// `db_after` and checks new clients never get an address acknowledged before the crash.
void RelayLab::crashUnderLoad(const std::string& db, const std::string& db_after,
                              const std::function<void()>& crash) {
  ASSERT_NO_FATAL_FAILURE(routeRack2());
  ASSERT_EQ(client_->run("ip addr add 198.51.100.1/24 dev " + client_if_), 0);
  ASSERT_NO_FATAL_FAILURE(startHarness(relayConfig(), true, db));
  const std::string first_out = dir_ + "/load1.out";
  load(1, 200, "load1", /*window=*/1);
  ASSERT_TRUE(waitFor([&] { return acks(readFile(first_out)).size() >= 20; }))
      << readFile(first_out);
  crash();
  ASSERT_TRUE(waitFor([&] { return readFile(first_out).find("DONE") != std::string::npos; }));
  const auto before = acks(readFile(first_out));
  ASSERT_GE(before.size(), 20u);
  EXPECT_LT(before.size(), 200u) << "the crash came after the load: nothing was in flight";
  std::cout << "acknowledged before the crash: " << before.size() << " of 200\n";

  // Every acknowledged lease is in the store, bound to the client that got it.
  {
    auto store = SqliteLeaseStore::open(db_after);
    ASSERT_TRUE(store.ok());
    auto all = (*store)->loadAll();
    ASSERT_TRUE(all.ok());
    std::map<std::string, std::string> stored;  // ip -> mac
    for (const auto& l : *all) stored[l.ip.str()] = l.mac.str();
    for (const auto& [mac, ip] : before) EXPECT_EQ(stored[ip], mac) << ip;
  }
  std::set<std::string> taken;
  for (const auto& [mac, ip] : before) EXPECT_TRUE(taken.insert(ip).second) << ip << " given twice";

  ASSERT_NO_FATAL_FAILURE(startHarness(relayConfig(), true, db_after));
  const std::string second_out = dir_ + "/load2.out";
  load(1000, 30, "load2");
  ASSERT_TRUE(waitFor([&] { return readFile(second_out).find("DONE") != std::string::npos; }));
  const auto after = acks(readFile(second_out));
  EXPECT_EQ(after.size(), 30u) << readFile(second_out);
  for (const auto& [mac, ip] : after)
    EXPECT_FALSE(taken.count(ip)) << ip << " given to " << mac << " too";
}

// kill -9 keeps the page cache: this proves the server writes before it acknowledges.
TEST_F(RelayLab, KillNineUnderLoadNeverLosesAnAcknowledgedLease) {
  const std::string db = dir_ + "/leases.db";
  crashUnderLoad(db, db, [&] {
    harness_->signal(SIGKILL);
    harness_->wait();
  });
}

// A power cut also loses what was written but not yet synced: the database lives on
// lazyfs, which keeps written data in memory until fsync and drops it at the cut. This
// fails if the server acknowledged before its write was durable (checked by hand with
// SQLite's synchronous=NORMAL and OFF: the table itself is lost).
TEST_F(RelayLab, PowerCutUnderLoadNeverLosesAnAcknowledgedLease) {
  if (const auto why = LazyMount::unavailable(); !why.empty()) GTEST_SKIP() << why;
  LazyMount disk(dir_);
  ASSERT_TRUE(disk.ok()) << readFile(dir_ + "/lazyfs.out");
  crashUnderLoad(disk.mountpoint() + "/leases.db", disk.backing() + "/leases.db", [&] {
    harness_->signal(SIGKILL);
    harness_->wait();
    std::cout << disk.cut();
  });
}

}  // namespace
}  // namespace drover::dhcp::test

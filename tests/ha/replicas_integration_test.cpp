// Three `drover serve` replicas on a three-member etcd, each in its own network namespace
// on one bridge, and `drover sim` machines (a relay to all three replicas) in another:
// - a storm with one replica and one etcd member killed (-9) in the middle: every machine
//   boots, no address is held twice, every machine's lease is stored; the takeover time
//   is printed;
// - a replica restarted with an empty state directory rejoins and serves;
// - etcd without quorum: no address is handed out, and the replicas serve again when it
//   is back;
// - a replica cut off from etcd (routes dropped) stops answering, the others take its
//   machines, and it serves again once healed;
// - a power cut of the whole site (every replica and member killed, the members' data on
//   lazyfs, which drops what was not fsync'ed): every lease a client saw acknowledged is in
//   etcd after the members restart from what their disks kept.
// Skipped without root, etcd, iPXE or curl; under CI a missing tool fails instead.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/base64.hpp"
#include "state/etcd/wire.hpp"
#include "tests/support/cluster_yaml.hpp"
#include "tests/support/etcd_server.hpp"
#include "tests/support/lazy_mount.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::ha {
namespace {

using dhcp::test::binaryDir;
using dhcp::test::Netns;
using dhcp::test::Process;
using dhcp::test::readFile;
using dhcp::test::sh;
using dhcp::test::waitFor;
using Clock = std::chrono::steady_clock;

constexpr int kReplicas = 3, kMembers = 3;
const std::string kPrefix = "/site";

std::string replicaIp(int i) {
  return "192.0.2." + std::to_string(1 + i);
}
std::string memberIp(int i) {
  return "192.0.2." + std::to_string(11 + i);
}
const std::string kClientIp = "192.0.2.100";

// Sum of the samples of `name` (a Prometheus text line) whose labels contain `label`.
double metric(const std::string& text, const std::string& name, const std::string& label = "") {
  double sum = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with(name + "{") && !line.starts_with(name + " ")) continue;
    if (!label.empty() && line.find(label) == std::string::npos) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

class ReplicasOnEtcd : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string missing;
    if (::geteuid() != 0) missing = "root (network namespaces)";
    if (!drover::test::etcdAvailable()) missing = drover::test::kEtcdBinary;
    if (!std::filesystem::exists("/usr/lib/ipxe/undionly.kpxe")) missing = "Debian's ipxe";
    if (sh("command -v curl") != 0) missing = "curl";
    if (lazy_ && !dhcp::test::LazyMount::unavailable().empty())
      missing = dhcp::test::LazyMount::unavailable();
    if (!missing.empty()) {
      if (std::getenv("CI") != nullptr) FAIL() << "needs " << missing;
      GTEST_SKIP() << "needs " << missing;
    }
    drover_ = binaryDir() + "/bin/drover";
    ASSERT_TRUE(dhcp::test::haveTool(drover_)) << drover_ << " is not built";
    tag_ = std::to_string(::getpid());  // "ivhae0" + 7 digits at most: 13 characters
    sw_.emplace("has" + tag_);
    ASSERT_TRUE(sw_->ok());
    ASSERT_EQ(sw_->run("ip link add br0 type bridge"), 0);
    ASSERT_EQ(sw_->run("ip link set br0 up"), 0);
    for (int i = 0; i < kMembers; ++i)
      ASSERT_NO_FATAL_FAILURE(plug(members_ns_[i], "hae" + std::to_string(i), memberIp(i)));
    for (int i = 0; i < kReplicas; ++i) {
      ASSERT_NO_FATAL_FAILURE(plug(replicas_ns_[i], "har" + std::to_string(i), replicaIp(i)));
      ASSERT_EQ(replicas_ns_[i]->run("ip route add 198.18.0.0/16 via " + kClientIp), 0);
    }
    ASSERT_NO_FATAL_FAILURE(plug(client_ns_, "hac", kClientIp));
    etcd_root_ = dir_.path();
    if (lazy_) {
      lazy_disk_.emplace((dir_ / "etcd-disk").string());
      ASSERT_TRUE(lazy_disk_->ok()) << readFile((dir_ / "etcd-disk" / "lazyfs.out").string());
      etcd_root_ = lazy_disk_->mountpoint();
    }
    // The relayed network and the machines' leased addresses live in the client namespace.
    ASSERT_EQ(client_ns_->run("ip route add local 198.18.0.0/16 dev lo"), 0);
    for (int i = 0; i < kMembers; ++i) startMember(i);
    ASSERT_TRUE(waitFor([&] { return etcdHealthy(); }, std::chrono::seconds(60)))
        << readFile((dir_ / "etcd0.log").string());
    writeSite();
    for (int i = 0; i < kReplicas; ++i) ASSERT_NO_FATAL_FAILURE(startReplica(i));
    ASSERT_TRUE(waitFor([&] { return liveSeenBy(0) == kReplicas; }, std::chrono::seconds(30)));
  }

  // A namespace with an interface eth0 on the bridge, holding `ip`.
  void plug(std::optional<Netns>& ns, const std::string& name, const std::string& ip) {
    ns.emplace(name + tag_);
    ASSERT_TRUE(ns->ok());
    const std::string outer = "v" + name + tag_;
    ASSERT_EQ(sh("ip link add " + outer + " type veth peer name i" + outer), 0);
    ASSERT_EQ(sh("ip link set " + outer + " netns " + sw_->name()), 0);
    ASSERT_EQ(sh("ip link set i" + outer + " netns " + ns->name()), 0);
    ASSERT_EQ(ns->run("ip link set i" + outer + " name eth0"), 0);
    ASSERT_EQ(ns->run("ip addr add " + ip + "/24 dev eth0"), 0);
    ASSERT_EQ(ns->run("ip link set eth0 up"), 0);
    ASSERT_EQ(sw_->run("ip link set " + outer + " master br0"), 0);
    ASSERT_EQ(sw_->run("ip link set " + outer + " up"), 0);
  }

  void startMember(int i) {
    std::string cluster;
    for (int m = 0; m < kMembers; ++m)
      cluster += (m ? "," : "") + ("m" + std::to_string(m)) + "=http://" + memberIp(m) + ":2380";
    const std::string client_url = "http://" + memberIp(i) + ":2379";
    members_[i].emplace(
        members_ns_[i]->exec({drover::test::kEtcdBinary, "--name", "m" + std::to_string(i),
                              "--data-dir", (etcd_root_ / ("etcd" + std::to_string(i))).string(),
                              "--listen-client-urls", client_url, "--advertise-client-urls",
                              client_url, "--listen-peer-urls", "http://" + memberIp(i) + ":2380",
                              "--initial-advertise-peer-urls", "http://" + memberIp(i) + ":2380",
                              "--initial-cluster", cluster, "--initial-cluster-token",
                              "drover-ha-" + tag_}),
        (dir_ / ("etcd" + std::to_string(i) + ".log")).string());
  }

  // A gateway POST from the client namespace; the parsed answer (null when none).
  nlohmann::json etcdCall(const std::string& path, const nlohmann::json& body, int member = 0) {
    const auto out = dir_ / "etcd-answer.json";
    std::filesystem::remove(out);
    test::writeFile(dir_ / "etcd-body.json", body.dump());
    client_ns_->run("curl -s -m 3 -o " + out.string() + " -X POST --data @" +
                    (dir_ / "etcd-body.json").string() + " http://" + memberIp(member) + ":2379" +
                    path);
    return nlohmann::json::parse(readFile(out.string()), nullptr, false);
  }

  bool etcdHealthy() {
    const auto j = etcdCall("/v3/kv/range", {{"key", encodeBase64("health")}});
    return j.is_object() && j.contains("header");
  }

  // Every lease key: address -> the stored lease.
  std::map<std::string, nlohmann::json> leases(int member = 0) {
    const std::string prefix = kPrefix + "/leases/";
    const auto j = etcdCall(
        "/v3/kv/range",
        {{"key", encodeBase64(prefix)}, {"range_end", encodeBase64(etcd::prefixEnd(prefix))}},
        member);
    std::map<std::string, nlohmann::json> out;
    if (!j.is_object() || !j.contains("kvs")) return out;
    for (const auto& kv : j["kvs"]) {
      auto key = decodeBase64(kv["key"].get<std::string>());
      auto value = decodeBase64(kv["value"].get<std::string>());
      if (key && value) out[key->substr(prefix.size())] = nlohmann::json::parse(*value);
    }
    return out;
  }

  void writeSite() {
    test::ClusterYaml y;
    y.advertise = replicaIp(0);  // each replica gives its own with --advertise
    y.interfaces = "eth0";
    y.tftp_listen = "0.0.0.0:69";
    y.http_listen = "0.0.0.0:8080";
    y.api_listen = "0.0.0.0:8443";
    std::string endpoints;
    for (int m = 0; m < kMembers; ++m)
      endpoints += (m ? ", " : "") + ("\"http://" + memberIp(m) + ":2379\"");
    y.state = "{ backend: etcd, endpoints: [" + endpoints + "], prefix: " + kPrefix +
              ", replica_ttl: 2s }";
    y.networks =
        "  - name: rack\n"
        "    subnet: 198.18.0.0/16\n"
        "    pool: 198.18.0.10-198.18.3.250\n"
        "    gateway: 198.18.0.1\n";
    y.join.clear();
    y.unknown = "install";
    y.nodes =
        "  - name: node-1\n"
        "    mac: 52:54:00:00:00:01\n"
        "    ip: 198.18.0.5\n";
    test::writeSiteFiles(dir_.path(), std::string(64 * 1024, 'k'), 256 * 1024);
    test::writeFile(dir_ / "cluster.yaml", y.str());
  }

  void startReplica(int i, bool fresh_state = false) {
    auto state = dir_ / ("replica" + std::to_string(i));
    if (fresh_state) std::filesystem::remove_all(state);
    replicas_[i].emplace(
        replicas_ns_[i]->exec({drover_, "--log-level", "info", "serve", "--config",
                               (dir_ / "cluster.yaml").string(), "--state-dir", state.string(),
                               "--replica-id", "r" + std::to_string(i), "--advertise",
                               replicaIp(i)}),
        logOf(i));
    ASSERT_TRUE(waitFor([&] { return !metrics(i).empty() || !replicas_[i]->running(); }))
        << readFile(logOf(i));
    ASSERT_TRUE(replicas_[i]->running()) << readFile(logOf(i));
  }

  std::string logOf(int i) const {
    return (dir_ / ("replica" + std::to_string(i) + ".log")).string();
  }

  std::string metrics(int i) {
    const auto out = dir_ / ("metrics" + std::to_string(i) + ".txt");
    std::filesystem::remove(out);
    client_ns_->run("curl -s -m 10 -o " + out.string() + " http://" + replicaIp(i) +
                    ":8080/metrics");
    return readFile(out.string());
  }

  int liveSeenBy(int i) { return static_cast<int>(metric(metrics(i), "drover_ha_replicas_live")); }

  // `drover sim` with `clients` machines relayed to every replica, its report in
  // <name>.json.
  std::vector<std::string> simArgs(int clients, const std::string& name,
                                   const std::string& mac_base, const std::string& spread,
                                   const std::string& deadline) {
    return client_ns_->exec({drover_,
                             "sim",
                             "--server",
                             replicaIp(0) + "," + replicaIp(1) + "," + replicaIp(2),
                             "--relay",
                             "198.18.0.1",
                             "--clients",
                             std::to_string(clients),
                             "--spread",
                             spread,
                             "--concurrency",
                             "150",
                             "--bind-leased",
                             "--mac-base",
                             mac_base,
                             "--reboots",
                             "3",
                             "--deadline",
                             deadline,
                             "-q",
                             "--json",
                             (dir_ / (name + ".json")).string()});
  }

  // Runs `clients` machines to the end; the report (null on a bad run).
  nlohmann::json storm(int clients, const std::string& name, const std::string& mac_base,
                       const std::string& deadline = "3m") {
    Process sim(simArgs(clients, name, mac_base, "6s", deadline),
                (dir_ / (name + ".out")).string());
    sim.wait(std::chrono::seconds(400));  // a safety bound, not a measurement
    return nlohmann::json::parse(readFile((dir_ / (name + ".json")).string()), nullptr, false);
  }

  // The replicas' DHCP log lines that name `mac`.
  std::string linesAbout(const std::string& mac) {
    std::string out;
    for (int i = 0; i < kReplicas; ++i) {
      std::istringstream in(readFile(logOf(i)));
      for (std::string line; std::getline(in, line);)
        if (line.find(mac) != std::string::npos && line.find("[dhcp]") != std::string::npos)
          out += "r" + std::to_string(i) + ": " + line + "\n";
    }
    return out;
  }

  std::string serveLogs() {
    std::string all;
    for (int i = 0; i < kReplicas; ++i)
      all += "--- r" + std::to_string(i) + " ---\n" + readFile(logOf(i));
    return all;
  }

  // No MAC holds two bound addresses, and every MAC of `base` (`count` machines) holds one.
  // Every machine of `mac_prefix` (`count` of them) has its acknowledged lease stored, and
  // no address is stored for two clients (one key per address, so: every lease names one
  // MAC). A machine holding a second address (acknowledged by its new owner around a
  // takeover before the first one was seen) is printed: that address is held until the
  // lease ends, not given to anyone else.
  void expectLeasesOf(const std::string& mac_prefix, int count) {
    std::map<std::string, int> bound_per_mac;
    std::map<std::string, std::string> held;  // mac -> its leases, for the message
    for (const auto& [ip, l] : leases()) {
      ASSERT_TRUE(l.contains("mac") && l["mac"].is_string()) << ip;
      if (l["state"] != "bound") continue;
      ++bound_per_mac[l["mac"].get<std::string>()];
      held[l["mac"].get<std::string>()] += ip + " by " + l["by"].get<std::string>() + "; ";
    }
    int seen = 0, doubled = 0;
    for (const auto& [mac, n] : bound_per_mac) {
      if (!mac.starts_with(mac_prefix)) continue;
      ++seen;
      if (n > 1) {
        ++doubled;
        std::printf("%s holds %d addresses: %s\n", mac.c_str(), n, held[mac].c_str());
      }
    }
    EXPECT_EQ(seen, count) << "machines whose acknowledged lease is not stored";
    std::printf("%d of %d machines hold a second address until it expires\n", doubled, count);
  }

  test::TempDir dir_{"drover-ha"};
  bool lazy_ = false;                               // members' data on lazyfs
  std::optional<dhcp::test::LazyMount> lazy_disk_;  // outlives the members below
  std::filesystem::path etcd_root_;                 // where the members' data dirs are
  std::string drover_, tag_;
  std::optional<Netns> sw_, client_ns_;
  std::optional<Netns> members_ns_[kMembers], replicas_ns_[kReplicas];
  // Declared after the namespaces: stopped before they go.
  std::optional<Process> members_[kMembers], replicas_[kReplicas];
};

TEST_F(ReplicasOnEtcd, AStormSurvivesAReplicaAndAMemberKilled) {
  constexpr int kClients = 300;
  const auto json = (dir_ / "storm.json").string();
  Process sim(simArgs(kClients, "storm", "52:54:00:a0:00:00", "8s", "3m"),
              (dir_ / "storm.out").string());
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const auto killed = Clock::now();
  replicas_[1]->signal(SIGKILL);
  members_[2]->signal(SIGKILL);
  ASSERT_TRUE(waitFor([&] { return liveSeenBy(0) == 2; }, std::chrono::seconds(30)));
  const auto takeover =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed);
  std::printf(
      "replica r1 killed: the others took its clients over after %lld ms (replica_ttl 2s)\n",
      static_cast<long long>(takeover.count()));
  sim.wait(std::chrono::seconds(400));
  const auto report = nlohmann::json::parse(readFile(json), nullptr, false);
  ASSERT_TRUE(report.is_object()) << readFile((dir_ / "storm.out").string()) << serveLogs();
  EXPECT_EQ(report["completed"], kClients) << report["failures"].dump() << "\n" << serveLogs();
  std::printf("storm: %d machines, %s\n", kClients, report["phases"]["boot"].dump().c_str());
  expectLeasesOf("52:54:00:a0:", kClients);
  // The survivors both served, and saw each other's leases.
  for (int i : {0, 2})
    EXPECT_GT(metric(metrics(i), "drover_dhcp_replies_total", "type=\"ack\""), 0) << i;
  // Every replica shows the same cluster: the API of each lists the same nodes.
  std::set<std::size_t> counts;
  for (int i : {0, 2}) {
    const auto out = dir_ / ("nodes" + std::to_string(i) + ".json");
    const auto token =
        readFile((dir_ / ("replica" + std::to_string(i)) / "operator.token").string());
    client_ns_->run("curl -sk -m 5 -o " + out.string() + " -H 'Authorization: Bearer " +
                    token.substr(0, token.find('\n')) + "' https://" + replicaIp(i) +
                    ":8443/v1/nodes");
    const auto nodes = nlohmann::json::parse(readFile(out.string()), nullptr, false);
    ASSERT_TRUE(nodes.is_object() || nodes.is_array()) << readFile(out.string());
    const auto& list = nodes.is_object() && nodes.contains("nodes") ? nodes["nodes"] : nodes;
    counts.insert(list.size());
  }
  EXPECT_EQ(counts.size(), 1u) << "the replicas disagree on the cluster";
}

TEST_F(ReplicasOnEtcd, AReplicaRestartedWithAnEmptyDiskRejoinsAndServes) {
  replicas_[2]->signal(SIGKILL);
  replicas_[2]->wait();
  ASSERT_NO_FATAL_FAILURE(startReplica(2, /*fresh_state=*/true));
  ASSERT_TRUE(waitFor([&] { return liveSeenBy(2) == kReplicas; }, std::chrono::seconds(30)))
      << readFile(logOf(2));
  const auto report = storm(60, "rejoin", "52:54:00:b0:00:00");
  ASSERT_TRUE(report.is_object()) << serveLogs();
  EXPECT_EQ(report["completed"], 60) << report["failures"].dump() << "\n" << serveLogs();
  EXPECT_GT(metric(metrics(2), "drover_dhcp_replies_total", "type=\"ack\""), 0)
      << readFile(logOf(2));
  expectLeasesOf("52:54:00:b0:", 60);
}

TEST_F(ReplicasOnEtcd, WithoutQuorumNoAddressIsHandedOutAndServiceResumesAfter) {
  members_[1]->signal(SIGKILL);
  members_[2]->signal(SIGKILL);
  members_[1]->wait();
  members_[2]->wait();
  const auto lost = storm(10, "no-quorum", "52:54:00:c0:00:00", "20s");
  ASSERT_TRUE(lost.is_object());
  EXPECT_EQ(lost["completed"], 0) << "an address was acknowledged without a quorum";
  double store_errors = 0;
  for (int i = 0; i < kReplicas; ++i)
    store_errors += metric(metrics(i), "drover_dhcp_drops_total", "reason=\"store_error\"") +
                    metric(metrics(i), "drover_dhcp_drops_total", "reason=\"other_replica\"");
  EXPECT_GT(store_errors, 0) << "the refusals are counted";
  // /metrics answered with the last node gauges instead of waiting on the store.
  EXPECT_GT(metric(metrics(0), "drover_metrics_stale_scrapes_total", ""), 0);
  startMember(1);
  startMember(2);
  ASSERT_TRUE(waitFor([&] { return etcdHealthy(); }, std::chrono::seconds(60)));
  ASSERT_TRUE(waitFor([&] { return liveSeenBy(0) == kReplicas; }, std::chrono::seconds(30)))
      << serveLogs();
  const auto back = storm(40, "quorum-back", "52:54:00:c1:00:00");
  ASSERT_TRUE(back.is_object());
  EXPECT_EQ(back["completed"], 40) << back["failures"].dump() << "\n" << serveLogs();
  expectLeasesOf("52:54:00:c1:", 40);
}

TEST_F(ReplicasOnEtcd, AReplicaCutOffFromEtcdLeavesItsMachinesToTheOthersUntilHealed) {
  for (int m = 0; m < kMembers; ++m)
    ASSERT_EQ(replicas_ns_[0]->run("ip route add blackhole " + memberIp(m) + "/32"), 0);
  ASSERT_TRUE(waitFor([&] { return liveSeenBy(1) == 2; }, std::chrono::seconds(30)));
  const auto cut = storm(40, "partition", "52:54:00:d0:00:00");
  ASSERT_TRUE(cut.is_object());
  EXPECT_EQ(cut["completed"], 40) << cut["failures"].dump() << "\n" << serveLogs();
  const double acks_cut = metric(metrics(0), "drover_dhcp_replies_total", "type=\"ack\"");
  for (int m = 0; m < kMembers; ++m)
    ASSERT_EQ(replicas_ns_[0]->run("ip route del blackhole " + memberIp(m) + "/32"), 0);
  ASSERT_TRUE(waitFor([&] { return liveSeenBy(1) == kReplicas; }, std::chrono::seconds(30)))
      << readFile(logOf(0));
  const auto healed = storm(40, "healed", "52:54:00:d1:00:00");
  ASSERT_TRUE(healed.is_object());
  EXPECT_EQ(healed["completed"], 40) << healed["failures"].dump() << "\n" << serveLogs();
  EXPECT_GT(metric(metrics(0), "drover_dhcp_replies_total", "type=\"ack\""), acks_cut)
      << "the healed replica serves again\n"
      << readFile(logOf(0));
  expectLeasesOf("52:54:00:d0:", 40);
  expectLeasesOf("52:54:00:d1:", 40);
}

class PowerCutOnEtcd : public ReplicasOnEtcd {
 protected:
  void SetUp() override {
    lazy_ = true;
    ReplicasOnEtcd::SetUp();
  }
};

TEST_F(PowerCutOnEtcd, APowerCutOfTheWholeSiteLosesNoAcknowledgedLease) {
  const std::string log = (dir_ / "load.out").string();  // stdout and stderr
  Process load(
      client_ns_->exec(
          {"/usr/bin/python3", dhcp::test::sourceDir() + "/tests/dhcp/scripts/dhcp_load.py",
           "--server", replicaIp(0) + "," + replicaIp(1) + "," + replicaIp(2), "--giaddr",
           "198.18.0.1", "--first", "1", "--count", "400", "--window", "8", "--idle", "3"}),
      log);
  auto acked = [&] {
    std::map<std::string, std::string> m;  // mac -> ip
    std::istringstream in(readFile(log));
    for (std::string word, mac, ip; in >> word;)
      if (word == "ACK" && in >> mac >> ip) m[mac] = ip;
    return m;
  };
  ASSERT_TRUE(waitFor([&] { return acked().size() >= 40; })) << readFile(log) << serveLogs();
  for (auto& r : replicas_) r->signal(SIGKILL);
  for (auto& m : members_) m->signal(SIGKILL);
  for (auto& r : replicas_) r->wait();
  for (auto& m : members_) m->wait();
  std::cout << lazy_disk_->cut();
  ASSERT_TRUE(waitFor([&] { return readFile(log).find("DONE") != std::string::npos; }));
  const auto before = acked();
  EXPECT_LT(before.size(), 400u) << "the cut came after the load: nothing was in flight";
  std::printf("acknowledged before the power cut: %zu of 400\n", before.size());

  // The members come back from what their disks kept.
  etcd_root_ = lazy_disk_->backing();
  for (int i = 0; i < kMembers; ++i) startMember(i);
  ASSERT_TRUE(waitFor([&] { return etcdHealthy(); }, std::chrono::seconds(60)))
      << readFile((dir_ / "etcd0.log").string());
  const auto stored = leases();
  for (const auto& [mac, ip] : before) {
    auto it = stored.find(ip);
    ASSERT_NE(it, stored.end()) << ip << " acknowledged to " << mac << " is not stored";
    EXPECT_EQ(it->second["mac"], mac) << ip;
    EXPECT_EQ(it->second["state"], "bound") << ip;
  }
}

}  // namespace
}  // namespace drover::ha

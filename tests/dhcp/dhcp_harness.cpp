// drover-dhcp-harness: runs the DHCP server alone, for integration tests and benchmarks.
// Config is a small JSON file (see docs/dhcp.md); the boot policy is the test
// StaticBootPolicy (tests/dhcp/support/static_policy.hpp).
//
//   dhcp_harness --config net.json [--db leases.db | --memory] [--log-level info]
//                [--metrics-out file]
// Prints "DHCP_HARNESS_READY" on stdout once listening; SIGTERM/SIGINT stop it cleanly
// (and write the metrics to --metrics-out).
#include <utility>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "dhcp/server/sqlite_lease_store.hpp"
#include "dhcp/server/transport.hpp"
#include "tests/dhcp/support/static_policy.hpp"

namespace {

using namespace drover;
using namespace drover::dhcp;
using drover::dhcp::test::StaticBootPolicy;
using drover::dhcp::test::StaticReservation;
using nlohmann::json;

template <typename T>
T parsed(Result<T> r, const std::string& what) {
  if (!r.ok()) throw std::runtime_error(what + ": " + r.error().message);
  return std::move(*r);
}

Ipv4Address addr(const json& j) {
  return parsed(Ipv4Address::parse(j.get<std::string>()), "address");
}

ServerConfig serverConfig(const json& j) {
  ServerConfig c;
  if (j.contains("server_address")) c.server_address = addr(j["server_address"]);
  c.interfaces = j.value("interfaces", std::vector<std::string>{});
  c.offer_hold = std::chrono::seconds(j.value("offer_hold_seconds", 30));
  c.decline_quarantine = std::chrono::seconds(j.value("decline_quarantine_seconds", 3600));
  c.ping_before_offer = j.value("ping_before_offer", false);
  c.ping_timeout = std::chrono::milliseconds(j.value("ping_timeout_ms", 500));
  if (j.contains("discover_limits")) {  // {"client_rate": 2, ...}; 0 rates turn a limit off
    const auto& l = j["discover_limits"];
    auto& d = c.discover_limits;
    d.client_rate = l.value("client_rate", d.client_rate);
    d.client_burst = l.value("client_burst", d.client_burst);
    d.interface_rate = l.value("interface_rate", d.interface_rate);
    d.interface_burst = l.value("interface_burst", d.interface_burst);
  }
  for (const auto& n : j.at("networks")) {
    NetworkConfig net;
    net.name = n.at("name").get<std::string>();
    net.subnet = parsed(Cidr::parse(n.at("subnet").get<std::string>()), "subnet");
    net.mode =
        n.value("mode", "dhcp") == "proxy" ? NetworkConfig::Mode::Proxy : NetworkConfig::Mode::Dhcp;
    if (n.contains("pool"))
      net.pools.push_back(parsed(Ipv4Range::parse(n["pool"].get<std::string>()), "pool"));
    for (const auto& p : n.value("pools", json::array()))
      net.pools.push_back(parsed(Ipv4Range::parse(p.get<std::string>()), "pools"));
    if (n.contains("gateway")) net.gateway = addr(n["gateway"]);
    for (const auto& d : n.value("dns", json::array())) net.dns.push_back(addr(d));
    net.domain = n.value("domain", "");
    net.lease = std::chrono::seconds(n.value("lease_seconds", 3600));
    net.interface = n.value("interface", "");
    for (const auto& r : n.value("relays", json::array())) net.relays.push_back(addr(r));
    net.always_send = n.value("always_send", std::vector<std::uint8_t>{});
    c.networks.push_back(std::move(net));
  }
  return c;
}

StaticBootPolicy::Config policyConfig(const json& j) {
  StaticBootPolicy::Config p;
  for (const auto& r : j.value("reservations", json::array())) {
    StaticReservation res;
    if (r.contains("mac")) res.mac = parsed(MacAddress::parse(r["mac"].get<std::string>()), "mac");
    if (r.contains("uuid")) res.uuid = parsed(Uuid::parse(r["uuid"].get<std::string>()), "uuid");
    res.ip = addr(r.at("ip"));
    res.hostname = r.value("hostname", "");
    p.reservations.push_back(std::move(res));
  }
  for (const auto& m : j.value("ignored", json::array()))
    p.ignored.push_back(parsed(MacAddress::parse(m.get<std::string>()), "mac"));
  p.ignore_unknown = j.value("ignore_unknown", false);
  p.http_base = j.value("http_base", "");
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Drover DHCP server harness"};
  std::string config_path, db_path, level = "info", metrics_out;
  bool memory = false;
  app.add_option("--config", config_path, "JSON config")->required();
  app.add_option("--db", db_path, "SQLite lease database");
  app.add_flag("--memory", memory, "keep leases in memory only");
  app.add_option("--log-level", level, "trace..off");
  app.add_option("--metrics-out", metrics_out, "write Prometheus metrics here on exit");
  CLI11_PARSE(app, argc, argv);

  try {
    log::setup(level);
    std::ifstream in(config_path);
    if (!in) throw std::runtime_error("cannot read " + config_path);
    const json j = json::parse(in);
    const ServerConfig config = serverConfig(j);
    const StaticBootPolicy policy(policyConfig(j));

    std::unique_ptr<LeaseStore> store;
    if (memory || db_path.empty()) {
      store = std::make_unique<MemoryLeaseStore>();
    } else {
      store = parsed(SqliteLeaseStore::open(db_path), "lease store");
    }
    SystemClock clock;
    Engine engine(config, policy, clock);
    engine.restore(parsed(store->loadAll(), "load leases"));
    boost::asio::io_context io(1);
    GroupCommitter committer(*store);
    Transport transport(io, engine, committer);
    if (auto st = transport.start(); !st) throw std::runtime_error(st.error().message);
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) {
      transport.stop();
      io.stop();
    });
    std::printf("DHCP_HARNESS_READY\n");
    std::fflush(stdout);
    io.run();
    if (!metrics_out.empty()) std::ofstream(metrics_out) << metrics::Registry::global().render();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dhcp_harness: %s\n", e.what());
    return 1;
  }
  return 0;
}

// `drover serve`: one process runs DHCP, TFTP, the HTTP boot server and the TLS API from
// one cluster declaration, with one state store.
//
//   auto app = App::create({.config_path = "cluster.yaml"});   // loads, checks, opens the store
//   if (!app) ...;                                             // every error, with file:line:col
//   if (auto st = (*app)->start(); !st) ...;                   // binds every listener
//   (*app)->run();                                             // until stop(); SIGHUP -> reload()
//
// The declaration is published as an immutable Snapshot; reload() builds and checks a new
// one and swaps it in only if it is valid, so a bad edit never stops the old one serving.
// Requests in flight keep the snapshot they started with.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "boot/snapshot.hpp"
#include "cluster/diagnostics.hpp"
#include "common/result.hpp"

namespace drover::server {

struct Options {
  std::string config_path;
  // Overrides the directory of server.state.path (the database, keeping its file name; TLS
  // files, operator token, leases, image catalog).
  std::string state_dir;
  bool dhcp = true;  // run the DHCP server (needs root for port 67)
  bool tftp = true;  // run the TFTP server (needs root for port 69)
  int threads = 2;   // io_context threads for HTTP and the API, and as many for TFTP (DHCP: one)
  // Replicas (server.state.backend: etcd): this replica's name (default: the host name) and
  // the address it hands to machines instead of server.advertise, since the declaration is
  // the same file on every replica.
  std::string replica_id{};
  std::string advertise{};
  int session_ttl_s = 3600;  // a dashboard session ends this long after its last request
};

// Outcome of loading a declaration: the snapshot, or every problem found.
struct Loaded {
  std::shared_ptr<const boot::Snapshot> snapshot;
  cluster::Diagnostics errors;
};
// `advertise` (when not empty) replaces server.advertise.
Loaded loadSnapshot(const std::string& config_path, const std::string& advertise = {});

class App final : public boot::InventorySource {
 public:
  static Result<std::unique_ptr<App>> create(Options options);
  ~App() override;

  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Binds DHCP, TFTP, HTTP and API listeners; an environment error (port in use, no such
  // interface, no permission) names the listener.
  Status start();
  // Runs the io_context on `threads` threads until stop(). Handles SIGHUP (reload) and
  // SIGINT/SIGTERM (drain and stop) itself. Under systemd (Type=notify) it reports READY=1
  // once running, RELOADING=1 then READY=1 around a reload, and STOPPING=1.
  void run();
  // Re-reads the declaration; an invalid one is rejected with its errors and the current
  // one keeps serving. A valid one is live at once: nodes, profiles and images, and the
  // DHCP networks (pools, options, modes, interfaces and their current addresses), with
  // leases kept. An error from the DHCP side (an interface that is missing) is returned
  // after the rest has been applied.
  Status reload();
  // Stops accepting, lets requests in flight finish (bounded), stops every server.
  void stop();

  std::shared_ptr<const boot::Snapshot> current() const override;

  // The bound addresses ("http", "api", "tftp"), for tests that ask for port 0.
  std::string endpointForTest(const std::string& listener) const;
  const std::filesystem::path& stateDir() const;
  // A boot token for `node` valid for `ttl_ms` (negative: already expired), for tests.
  std::string issueBootTokenForTest(const std::string& node, std::int64_t ttl_ms);

  struct Impl;

 private:
  explicit App(std::unique_ptr<Impl> impl);
  static Status reloadDhcp(Impl& d, const cluster::Config& config);
  std::unique_ptr<Impl> impl_;
};

}  // namespace drover::server

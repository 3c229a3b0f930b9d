// A whole simulated storm: power machines on by the schedule, at most `concurrency` booting
// at once, each to its deadline; report progress about once a second; summarise. One
// io_context on the calling thread.
//
//   sim::Config c;  c.clients = 1000;  c.server = ...;  c.relay = ...;
//   sim::Runner runner(c);
//   auto summary = runner.run([](const sim::Progress& p) { ... });
//   runner.records();   // one per machine, index order
#pragma once

#include <functional>
#include <vector>

#include "common/result.hpp"
#include "sim/config.hpp"
#include "sim/report.hpp"

namespace drover::sim {

struct Progress {
  double elapsed_s = 0;
  std::uint32_t started = 0, active = 0, completed = 0, failed = 0, total = 0;
  bool final = false;  // the last call, after everything ended
};

// Fails only when the run cannot start (bad config, the relay port cannot be bound).
class Runner {
 public:
  explicit Runner(Config config) : config_(std::move(config)) {}
  Result<Summary> run(const std::function<void(const Progress&)>& progress = {});
  const std::vector<ClientRecord>& records() const { return records_; }

 private:
  Config config_;
  std::vector<ClientRecord> records_;
};

// Checks what run() needs: clients and concurrency > 0, server and relay set, at least one
// DHCP timeout, blksize 8..65464, windowsize >= 1.
Status validate(const Config& config);

}  // namespace drover::sim

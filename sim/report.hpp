// Results of a simulated boot storm: one record per machine, and the summary built from
// them (counts, p50/p95/p99 per phase and for the whole boot, failure reasons), as text and
// JSON. Pure: no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace drover::sim {

// The phases of one network boot, in order.
enum class Phase : std::uint8_t {
  Dhcp,      // firmware DORA (PXE options)
  Tftp,      // loader download (with the tsize probe)
  IpxeDhcp,  // iPXE's own DORA (option 77 "iPXE")
  Script,    // boot script(s) over HTTP
  Kernel,
  Initrd,
};
inline constexpr std::size_t kPhaseCount = 6;
std::string_view phaseName(Phase p);

struct ClientRecord {
  std::uint32_t index = 0;
  std::string mac;
  double power_on_ms = 0;  // from the start of the run
  double done_ms = 0;      // from the start of the run (finish or failure)
  std::array<std::optional<double>, kPhaseCount> phase_ms{};  // phases completed
  bool ok = false;
  std::string failure;  // "<phase>_<reason>", e.g. "dhcp_timeout", "tftp_error"
  std::uint32_t dhcp_retransmits = 0;
  std::uint32_t tftp_retransmits = 0;
  std::uint32_t http_retries = 0;
  std::uint64_t tftp_bytes = 0;
  std::uint64_t http_bytes = 0;
  std::vector<std::string> retry_reasons;  // "<phase>_<reason>" per HTTP retry

  double bootMs() const { return done_ms - power_on_ms; }
};

struct Percentiles {
  std::size_t count = 0;
  double p50 = 0, p95 = 0, p99 = 0, max = 0;
};

// Nearest-rank percentile (p in [0, 100]) of unsorted values; 0 for none.
double percentile(std::vector<double> values, double p);
Percentiles percentiles(std::vector<double> values);

struct Summary {
  std::uint32_t clients = 0;
  std::uint32_t completed = 0;
  std::uint32_t failed = 0;
  double storm_ms = 0;  // first power-on to the last successful boot
  double wall_ms = 0;   // the whole run
  std::map<std::string, Percentiles> phases;  // phase names and "boot"
  std::map<std::string, std::uint32_t> failures;
  std::map<std::string, std::uint32_t> retry_reasons;  // why HTTP GETs were retried
  std::uint64_t dhcp_retransmits = 0, tftp_retransmits = 0, http_retries = 0;
  std::uint64_t tftp_bytes = 0, http_bytes = 0;
};

Summary summarize(const std::vector<ClientRecord>& records, double wall_ms);

// Boots completed over time: (seconds since the start, completed so far), one row per
// completion, for plotting.
std::vector<std::pair<double, std::uint32_t>> completionTimeline(const std::vector<ClientRecord>& records);

nlohmann::json toJson(const Summary& s);
std::string toText(const Summary& s);

}  // namespace drover::sim

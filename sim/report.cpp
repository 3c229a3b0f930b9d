#include "sim/report.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace drover::sim {

std::string_view phaseName(Phase p) {
  switch (p) {
    case Phase::Dhcp: return "dhcp";
    case Phase::Tftp: return "tftp";
    case Phase::IpxeDhcp: return "ipxe_dhcp";
    case Phase::Script: return "script";
    case Phase::Kernel: return "kernel";
    case Phase::Initrd: return "initrd";
  }
  return "unknown";
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  p = std::clamp(p, 0.0, 100.0);
  // Nearest rank: the smallest value with at least p% of the values at or below it.
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  if (rank == 0) rank = 1;
  return values[rank - 1];
}

Percentiles percentiles(std::vector<double> values) {
  Percentiles r;
  r.count = values.size();
  if (values.empty()) return r;
  std::sort(values.begin(), values.end());
  r.p50 = percentile(values, 50);
  r.p95 = percentile(values, 95);
  r.p99 = percentile(values, 99);
  r.max = values.back();
  return r;
}

Summary summarize(const std::vector<ClientRecord>& records, double wall_ms) {
  Summary s;
  s.clients = static_cast<std::uint32_t>(records.size());
  s.wall_ms = wall_ms;
  std::array<std::vector<double>, kPhaseCount> phase_values;
  std::vector<double> boots;
  double first_on = -1, last_done = 0;
  for (const auto& r : records) {
    if (first_on < 0 || r.power_on_ms < first_on) first_on = r.power_on_ms;
    for (std::size_t i = 0; i < kPhaseCount; ++i) {
      if (r.phase_ms[i]) phase_values[i].push_back(*r.phase_ms[i]);
    }
    if (r.ok) {
      ++s.completed;
      boots.push_back(r.bootMs());
      last_done = std::max(last_done, r.done_ms);
    } else {
      ++s.failed;
      ++s.failures[r.failure.empty() ? "unknown" : r.failure];
    }
    for (const auto& why : r.retry_reasons) ++s.retry_reasons[why];
    s.dhcp_retransmits += r.dhcp_retransmits;
    s.tftp_retransmits += r.tftp_retransmits;
    s.http_retries += r.http_retries;
    s.tftp_bytes += r.tftp_bytes;
    s.http_bytes += r.http_bytes;
  }
  if (s.completed > 0) s.storm_ms = last_done - std::max(first_on, 0.0);
  for (std::size_t i = 0; i < kPhaseCount; ++i) {
    s.phases[std::string(phaseName(static_cast<Phase>(i)))] = percentiles(std::move(phase_values[i]));
  }
  s.phases["boot"] = percentiles(std::move(boots));
  return s;
}

std::vector<std::pair<double, std::uint32_t>> completionTimeline(const std::vector<ClientRecord>& records) {
  std::vector<double> done;
  for (const auto& r : records) {
    if (r.ok) done.push_back(r.done_ms / 1000.0);
  }
  std::sort(done.begin(), done.end());
  std::vector<std::pair<double, std::uint32_t>> out;
  out.reserve(done.size());
  for (std::size_t i = 0; i < done.size(); ++i) out.emplace_back(done[i], static_cast<std::uint32_t>(i + 1));
  return out;
}

namespace {

double round3(double v) { return std::round(v * 1000.0) / 1000.0; }

// Phases in boot order, then the whole boot.
std::vector<std::string> phaseOrder() {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < kPhaseCount; ++i) names.emplace_back(phaseName(static_cast<Phase>(i)));
  names.emplace_back("boot");
  return names;
}

}  // namespace

nlohmann::json toJson(const Summary& s) {
  nlohmann::json j;
  j["clients"] = s.clients;
  j["completed"] = s.completed;
  j["failed"] = s.failed;
  j["storm_seconds"] = round3(s.storm_ms / 1000.0);
  j["wall_seconds"] = round3(s.wall_ms / 1000.0);
  auto& phases = j["phases"] = nlohmann::json::object();
  for (const auto& [name, p] : s.phases) {
    phases[name] = {{"count", p.count},
                    {"p50_ms", round3(p.p50)},
                    {"p95_ms", round3(p.p95)},
                    {"p99_ms", round3(p.p99)},
                    {"max_ms", round3(p.max)}};
  }
  j["failures"] = nlohmann::json::object();
  for (const auto& [reason, n] : s.failures) j["failures"][reason] = n;
  j["retry_reasons"] = nlohmann::json::object();
  for (const auto& [reason, n] : s.retry_reasons) j["retry_reasons"][reason] = n;
  j["retransmits"] = {{"dhcp", s.dhcp_retransmits}, {"tftp", s.tftp_retransmits}, {"http_retries", s.http_retries}};
  j["bytes"] = {{"tftp", s.tftp_bytes}, {"http", s.http_bytes}};
  return j;
}

std::string toText(const Summary& s) {
  std::string out = fmt::format("boots: {} completed, {} failed of {}; storm {:.2f} s (run {:.2f} s)\n", s.completed,
                                s.failed, s.clients, s.storm_ms / 1000.0, s.wall_ms / 1000.0);
  out += fmt::format("{:<10} {:>6} {:>10} {:>10} {:>10} {:>10}\n", "phase", "count", "p50 ms", "p95 ms", "p99 ms",
                     "max ms");
  for (const auto& name : phaseOrder()) {
    auto it = s.phases.find(name);
    if (it == s.phases.end()) continue;
    const auto& p = it->second;
    out += fmt::format("{:<10} {:>6} {:>10.1f} {:>10.1f} {:>10.1f} {:>10.1f}\n", name, p.count, p.p50, p.p95, p.p99,
                       p.max);
  }
  out += fmt::format("retransmits: dhcp {} tftp {}; http retries {}; bytes: tftp {} http {}\n", s.dhcp_retransmits,
                     s.tftp_retransmits, s.http_retries, s.tftp_bytes, s.http_bytes);
  for (const auto& [reason, n] : s.retry_reasons) out += fmt::format("retried: {} {}\n", reason, n);
  for (const auto& [reason, n] : s.failures) out += fmt::format("failed: {} {}\n", reason, n);
  return out;
}

}  // namespace drover::sim

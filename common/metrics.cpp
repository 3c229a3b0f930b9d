#include "common/metrics.hpp"

#include <fmt/format.h>

namespace drover::metrics {

Counter& Registry::counter(const std::string& name, const std::string& help, const std::string& labels) {
  std::lock_guard lock(mu_);
  auto& fam = families_[name];
  fam.help = help;
  fam.is_counter = true;
  auto& slot = fam.counters[labels];
  if (slot == nullptr) slot = &counter_storage_.emplace_back(0);
  return *slot;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const std::string& labels) {
  std::lock_guard lock(mu_);
  auto& fam = families_[name];
  fam.help = help;
  fam.is_counter = false;
  auto& slot = fam.gauges[labels];
  if (slot == nullptr) slot = &gauge_storage_.emplace_back(0);
  return *slot;
}

std::string Registry::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  auto series = [&](const std::string& name, const std::string& labels, auto value) {
    if (labels.empty()) {
      out += fmt::format("drover_{} {}\n", name, value);
    } else {
      out += fmt::format("drover_{}{{{}}} {}\n", name, labels, value);
    }
  };
  for (const auto& [name, fam] : families_) {
    out += fmt::format("# HELP drover_{} {}\n# TYPE drover_{} {}\n", name, fam.help, name,
                       fam.is_counter ? "counter" : "gauge");
    for (const auto& [labels, c] : fam.counters) series(name, labels, c->load(std::memory_order_relaxed));
    for (const auto& [labels, g] : fam.gauges) series(name, labels, g->load(std::memory_order_relaxed));
  }
  return out;
}

std::int64_t Registry::valueForTest(const std::string& name, const std::string& labels) const {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  if (auto c = it->second.counters.find(labels); c != it->second.counters.end())
    return static_cast<std::int64_t>(c->second->load());
  if (auto g = it->second.gauges.find(labels); g != it->second.gauges.end()) return g->second->load();
  return 0;
}

Registry& Registry::global() {
  static Registry r;
  return r;
}

}  // namespace drover::metrics

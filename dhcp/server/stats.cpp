#include "dhcp/server/stats.hpp"

#include <string>

#include "dhcp/wire/message.hpp"

namespace drover::dhcp {
namespace {

std::string label(std::string_view key, std::string_view value) {
  return std::string(key) + "=\"" + std::string(value) + "\"";
}

}  // namespace

Stats::Stats(metrics::Registry& registry) : registry_(registry) {
  for (std::size_t i = 0; i < kDropReasons.size(); ++i)
    drops_[i] = &registry.counter("dhcp_drops_total",
                                  "DHCP datagrams dropped or left unanswered, by reason",
                                  label("reason", kDropReasons[i]));
  other_drop_ =
      &registry.counter("dhcp_drops_total", "DHCP datagrams dropped or left unanswered, by reason",
                        label("reason", "other"));
  for (std::uint8_t t = 0; t < received_.size(); ++t) {
    const auto name = wire::messageTypeName(t);
    received_[t] = &registry.counter(
        "dhcp_packets_total", "DHCP requests received, by message type", label("type", name));
    replied_[t] = &registry.counter("dhcp_replies_total", "DHCP replies sent, by message type",
                                    label("type", name));
  }
}

std::string_view Stats::drop(std::string_view reason) {
  for (std::size_t i = 0; i < kDropReasons.size(); ++i) {
    if (kDropReasons[i] == reason) {
      drops_[i]->fetch_add(1, std::memory_order_relaxed);
      return kDropReasons[i];
    }
  }
  other_drop_->fetch_add(1, std::memory_order_relaxed);
  return "other";
}

void Stats::received(std::uint8_t type) {
  received_[type < received_.size() ? type : 0]->fetch_add(1, std::memory_order_relaxed);
}

void Stats::replied(std::uint8_t type) {
  replied_[type < replied_.size() ? type : 0]->fetch_add(1, std::memory_order_relaxed);
}

}  // namespace drover::dhcp

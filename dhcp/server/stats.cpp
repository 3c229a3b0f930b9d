#include "dhcp/server/stats.hpp"

#include <string>

#include "dhcp/wire/message.hpp"

namespace drover::dhcp {
namespace {

std::string label(std::string_view key, std::string_view value) {
  return std::string(key) + "=\"" + std::string(value) + "\"";
}

}  // namespace

std::string_view toString(Drop d) {
  switch (d) {
    case Drop::Truncated:
      return "truncated";
    case Drop::Oversized:
      return "oversized";
    case Drop::BadCookie:
      return "bad_cookie";
    case Drop::BadHlen:
      return "bad_hlen";
    case Drop::OptionOverrun:
      return "option_overrun";
    case Drop::BadOptionLength:
      return "bad_option_length";
    case Drop::BadOverload:
      return "bad_overload";
    case Drop::OverloadLoop:
      return "overload_loop";
    case Drop::Bootreply:
      return "bootreply";
    case Drop::ZeroChaddr:
      return "zero_chaddr";
    case Drop::NoMessageType:
      return "no_message_type";
    case Drop::UnknownMessageType:
      return "unknown_message_type";
    case Drop::NoNetwork:
      return "no_network";
    case Drop::PolicyIgnore:
      return "policy_ignore";
    case Drop::PoolExhausted:
      return "pool_exhausted";
    case Drop::ReservationConflict:
      return "reservation_conflict";
    case Drop::NoPool:
      return "no_pool";
    case Drop::OtherServer:
      return "other_server";
    case Drop::OtherReplica:
      return "other_replica";
    case Drop::UnknownClient:
      return "unknown_client";
    case Drop::BadRequest:
      return "bad_request";
    case Drop::NotPxeClient:
      return "not_pxe_client";
    case Drop::ProxyMode:
      return "proxy_mode";
    case Drop::ProxyNotOurs:
      return "proxy_not_ours";
    case Drop::EncodeFailed:
      return "encode_failed";
    case Drop::StoreError:
      return "store_error";
    case Drop::SendFailed:
      return "send_failed";
    case Drop::AddressInUse:
      return "address_in_use";
    case Drop::ProbePending:
      return "probe_pending";
    case Drop::DiscoverRateClient:
      return "discover_rate_client";
    case Drop::DiscoverRateInterface:
      return "discover_rate_interface";
    case Drop::Other:
    case Drop::kCount:
      break;
  }
  return "other";
}

Drop dropForDecodeError(std::string_view code) {
  for (auto d :
       {Drop::Truncated, Drop::Oversized, Drop::BadCookie, Drop::BadHlen, Drop::OptionOverrun,
        Drop::BadOptionLength, Drop::BadOverload, Drop::OverloadLoop}) {
    if (toString(d) == code) return d;
  }
  return Drop::Other;
}

Stats::Stats(metrics::Registry& registry) : registry_(registry) {
  for (std::size_t i = 0; i < kDropCount; ++i)
    drops_[i] = &registry.counter("dhcp_drops_total",
                                  "DHCP datagrams dropped or left unanswered, by reason",
                                  label("reason", toString(static_cast<Drop>(i))));
  reclaimed_ = &registry.counter(
      "dhcp_offers_reclaimed_total",
      "Held offers never requested, given to another client because the pool was full", "");
  for (std::uint8_t t = 0; t < received_.size(); ++t) {
    const auto name = wire::messageTypeName(t);
    received_[t] = &registry.counter(
        "dhcp_packets_total", "DHCP requests received, by message type", label("type", name));
    replied_[t] = &registry.counter("dhcp_replies_total", "DHCP replies sent, by message type",
                                    label("type", name));
  }
}

void Stats::received(std::uint8_t type) {
  received_[type < received_.size() ? type : 0]->fetch_add(1, std::memory_order_relaxed);
}

void Stats::replied(std::uint8_t type) {
  replied_[type < replied_.size() ? type : 0]->fetch_add(1, std::memory_order_relaxed);
}

}  // namespace drover::dhcp

// Told about every finished DHCP exchange: an OFFER or NAK once it is sent, an ACK once its
// lease is durable and the reply is sent, a DECLINE or RELEASE once it is stored. For boot
// timelines and the like (the provisioner records them per node), like
// tftp::TransferObserver for TFTP.
//
// Called on the DHCP server's own thread: must not block (queue the work elsewhere).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/net.hpp"

namespace drover::dhcp {

struct Exchange {
  enum class Kind { Offer, Ack, Nak, Decline, Release };
  Kind kind = Kind::Offer;
  MacAddress mac;
  std::string client_id;              // option 61 as lower-case hex; empty without one
  std::optional<Uuid> uuid;           // option 97
  std::optional<std::uint16_t> arch;  // option 93, first entry
  Ipv4Address address;  // offered / acknowledged / declined / released; NAK: the one asked for
  std::string network;
  std::string boot_file;  // empty: no boot file in the reply
  std::string interface;  // receiving interface
  std::uint32_t xid = 0;
  bool proxy = false;  // a proxyDHCP answer (no lease)
};

// "offer", "ack", "nak", "decline", "release".
std::string_view kindName(Exchange::Kind kind);

class ExchangeObserver {
 public:
  virtual ~ExchangeObserver() = default;
  virtual void onOffer(const Exchange& /*e*/) {}
  virtual void onAck(const Exchange& /*e*/) {}
  virtual void onNak(const Exchange& /*e*/) {}
  virtual void onDecline(const Exchange& /*e*/) {}
  virtual void onRelease(const Exchange& /*e*/) {}
};

// Calls the observer's method for e.kind.
void notify(ExchangeObserver& observer, const Exchange& e);

}  // namespace drover::dhcp

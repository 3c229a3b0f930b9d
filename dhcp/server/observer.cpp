#include "dhcp/server/observer.hpp"

namespace drover::dhcp {

std::string_view kindName(Exchange::Kind kind) {
  switch (kind) {
    case Exchange::Kind::Offer:
      return "offer";
    case Exchange::Kind::Ack:
      return "ack";
    case Exchange::Kind::Nak:
      return "nak";
    case Exchange::Kind::Decline:
      return "decline";
    case Exchange::Kind::Release:
      return "release";
  }
  return "unknown";
}

void notify(ExchangeObserver& observer, const Exchange& e) {
  switch (e.kind) {
    case Exchange::Kind::Offer:
      observer.onOffer(e);
      break;
    case Exchange::Kind::Ack:
      observer.onAck(e);
      break;
    case Exchange::Kind::Nak:
      observer.onNak(e);
      break;
    case Exchange::Kind::Decline:
      observer.onDecline(e);
      break;
    case Exchange::Kind::Release:
      observer.onRelease(e);
      break;
  }
}

}  // namespace drover::dhcp

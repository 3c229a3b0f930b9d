// Per-datagram working state shared by engine.cpp and engine_reply.cpp.
#pragma once

#include "dhcp/server/engine.hpp"

namespace drover::dhcp {

struct Engine::Request {
  const PacketContext& ctx;
  wire::Message msg;
  std::string key;  // Engine::clientKey(msg)
  const NetworkConfig* network = nullptr;
  Ipv4Address server_id;
  std::int64_t now = 0;
  Drop reason = Drop::PoolExhausted;  // why chooseAddress() found nothing
};

}  // namespace drover::dhcp

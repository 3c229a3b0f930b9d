// Which clients this server answers when several servers share one lease store (replicas
// of `drover serve` on etcd). Every client has one owner among the live servers, so only one
// of them answers its broadcasts; each server allocates first from its own share of every
// pool, so that two servers seldom race for one address (the store's compare-and-swap
// settles the races that remain). Without one, the engine answers every client.
#pragma once

#include <string_view>

#include "common/net.hpp"

namespace drover::dhcp {

class Responsibility {
 public:
  virtual ~Responsibility() = default;
  // This server answers `client_key` (Engine::clientKey, or an address's dotted form for a
  // lease without a client). Called on the engine's thread: must not block.
  virtual bool owns(std::string_view client_key) const = 0;
  // `ip` is in this server's share of the pools.
  virtual bool prefers(Ipv4Address ip) const = 0;
};

}  // namespace drover::dhcp

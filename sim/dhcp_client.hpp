// The DHCP side of the simulated machines. Messages are built like PXE firmware and iPXE
// build them (buildDiscover / buildRequest, pure). They travel through one Relay: the sim
// acts as a DHCP relay agent (giaddr = its own address, hops 1), sends every request to the
// server by unicast and receives the replies the server unicasts back to the relay's port,
// so the simulated machines need no addresses of their own. Single-threaded: everything
// runs on one io_context thread.
#pragma once

#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/net.hpp"
#include "common/result.hpp"
#include "dhcp/wire/message.hpp"
#include "sim/config.hpp"

namespace drover::sim {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// How the machine presents itself: PXE firmware (first DORA) or iPXE (second).
struct Identity {
  MacAddress mac;
  Uuid uuid;
  std::uint16_t arch = 0;
  bool ipxe = false;
};

dhcp::wire::Message buildDiscover(const Identity& id, std::uint32_t xid, Ipv4Address giaddr);
dhcp::wire::Message buildRequest(const Identity& id, std::uint32_t xid, Ipv4Address giaddr,
                                 const dhcp::wire::Message& offer);

// What a machine learns from its ACK.
struct Lease {
  Ipv4Address address;
  Ipv4Address next_server;  // siaddr, else option 66 if it is an address, else option 54
  std::string boot_file;    // file field, else option 67
};
Lease leaseFrom(const dhcp::wire::Message& ack);

class Relay {
 public:
  Relay(asio::io_context& io, const Config& config);
  Status open();
  void close();

  // Sends `m` to the server and waits for a reply with its xid whose type is `want` or a
  // NAK, until `timeout` or `deadline`. nullopt on timeout. Replies that arrive for nobody
  // are counted (stray()).
  asio::awaitable<std::optional<dhcp::wire::Message>> exchange(const dhcp::wire::Message& m,
                                                               dhcp::wire::MessageType want,
                                                               Millis timeout,
                                                               Clock::time_point deadline);

  std::uint64_t stray() const { return stray_; }
  std::uint64_t sendErrors() const { return send_errors_; }

 private:
  struct Waiter {
    std::uint8_t want = 0;
    asio::steady_timer* timer = nullptr;
    std::optional<dhcp::wire::Message>* slot = nullptr;
  };
  asio::awaitable<void> receiveLoop();

  asio::io_context& io_;
  const Config& config_;
  asio::ip::udp::socket socket_;
  std::vector<asio::ip::udp::endpoint> servers_;
  std::unordered_map<std::uint32_t, Waiter> waiters_;
  std::uint64_t stray_ = 0;
  std::uint64_t send_errors_ = 0;
  bool open_ = false;
};

}  // namespace drover::sim

// The DHCP server's network side (Boost.Asio): one UDP socket per interface, bound to the
// server port with SO_BINDTODEVICE so broadcasts are received and answered on the right
// link (plus the PXE boot server port when a network is in proxy mode). Each datagram goes
// through the Engine; replies whose lease changed are sent only after the GroupCommitter
// has made the change durable. A reply to a client without an address goes straight to its
// hardware address (a static ARP entry, as dnsmasq does) and falls back to broadcast.
//
// Runs on one io_context thread (the engine is single-threaded); the committer completes
// on its own thread and posts the send back.
#pragma once

#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dhcp/server/engine.hpp"
#include "dhcp/server/group_commit.hpp"
#include "dhcp/server/pinger.hpp"

namespace drover::dhcp {

struct InterfaceAddress {
  std::string name;
  Ipv4Address address;  // unspecified if the interface has none
};

// The IPv4 interfaces of this host (network namespace), loopback excluded.
std::vector<InterfaceAddress> listInterfaces();

class Transport {
 public:
  Transport(boost::asio::io_context& io, Engine& engine, GroupCommitter& committer);
  ~Transport();

  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Opens every socket and starts receiving; an environment error (no such interface,
  // address in use, no permission) comes back as an Error naming the interface.
  Status start();
  // Closes the sockets; pending completions still run.
  void stop();

  struct Listener;

 private:
  Status open(const InterfaceAddress& ifa, std::uint16_t port, bool proxy);
  void receive(const std::shared_ptr<Listener>& l);
  void onDatagram(const std::shared_ptr<Listener>& l, std::size_t size,
                  const boost::asio::ip::udp::endpoint& from);
  void send(const std::shared_ptr<Listener>& l, const Reply& reply);
  void commit(std::vector<LeaseWrite> writes, const std::shared_ptr<Listener>& l,
              std::optional<Reply> reply);
  void scheduleReclaim();

  boost::asio::io_context& io_;
  Engine& engine_;
  GroupCommitter& committer_;
  std::vector<std::shared_ptr<Listener>> listeners_;
  boost::asio::steady_timer reclaim_timer_;
  Pinger pinger_;
  // Shared with pending callbacks: closed by the destructor, so a commit completing later
  // (on the committer thread) never posts to a transport, or io_context, that is gone.
  struct Gate {
    std::mutex mu;
    std::atomic<bool> open{true};
  };
  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace drover::dhcp

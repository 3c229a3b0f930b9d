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
#include "dhcp/server/observer.hpp"
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
  // `observer` (may be null) hears of each exchange once its reply is sent, after the
  // lease is durable for an ACK; it must outlive the io_context's run.
  Transport(boost::asio::io_context& io, Engine& engine, GroupCommitter& committer,
            ExchangeObserver* observer = nullptr);
  ~Transport();

  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Opens every socket and starts receiving; an environment error (no such interface,
  // address in use, no permission) comes back as an Error naming the interface.
  Status start();
  // After Engine::reconfigure() (on the io thread): listens on what the new configuration
  // names now, re-reading interface addresses (an address added after start is picked up),
  // closing listeners no longer wanted and opening new ones; leases are untouched. Keeps
  // going past a failure and returns the first one.
  Status reconfigure();
  // Closes the sockets; pending completions still run.
  void stop();

  struct Listener;

 private:
  struct Wanted {
    InterfaceAddress ifa;
    std::uint16_t port;
    bool proxy;
  };
  // The listeners the engine's configuration asks for; named interfaces that do not exist
  // go to `missing`.
  std::vector<Wanted> wanted(std::vector<std::string>& missing) const;
  Status open(const InterfaceAddress& ifa, std::uint16_t port, bool proxy);
  void receive(const std::shared_ptr<Listener>& l);
  void onDatagram(const std::shared_ptr<Listener>& l, std::size_t size,
                  const boost::asio::ip::udp::endpoint& from);
  void send(const std::shared_ptr<Listener>& l, const Reply& reply);
  void commit(std::vector<LeaseWrite> writes, const std::shared_ptr<Listener>& l,
              std::optional<Reply> reply, std::optional<Exchange> exchange);
  void observe(const std::optional<Exchange>& exchange);
  void scheduleReclaim();

  boost::asio::io_context& io_;
  Engine& engine_;
  GroupCommitter& committer_;
  ExchangeObserver* observer_;
  std::vector<std::shared_ptr<Listener>> listeners_;
  boost::asio::steady_timer reclaim_timer_;
  Pinger pinger_;
  bool pinger_open_ = false;
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

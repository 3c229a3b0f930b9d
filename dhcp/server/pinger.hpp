// ICMP echo probes for ping-before-offer: probe(ip, timeout, done) sends one echo request
// and calls done(true) if that address answered within the timeout, done(false) otherwise.
// A raw ICMP socket (root or CAP_NET_RAW); runs on the transport's io_context thread.
#pragma once

#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/icmp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <unordered_map>

#include "common/net.hpp"
#include "common/result.hpp"

namespace drover::dhcp {

class Pinger {
 public:
  using Done = std::function<void(bool answered)>;

  explicit Pinger(boost::asio::io_context& io);
  ~Pinger();
  Pinger(const Pinger&) = delete;
  Pinger& operator=(const Pinger&) = delete;

  Status open();
  void close();
  void probe(Ipv4Address ip, std::chrono::milliseconds timeout, Done done);

 private:
  struct Pending {
    Ipv4Address ip;
    Done done;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };
  void receive();
  void finish(std::uint16_t seq, bool answered);

  boost::asio::io_context& io_;
  boost::asio::ip::icmp::socket socket_;
  std::array<std::uint8_t, 1500> buffer_{};
  boost::asio::ip::icmp::endpoint from_;
  std::uint16_t id_;
  std::uint16_t next_seq_ = 1;
  std::unordered_map<std::uint16_t, Pending> pending_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace drover::dhcp

// Answers IPv6 router solicitations on the boot networks with a router advertisement that
// announces nothing: router lifetime 0 (not a default router), no prefixes, no DHCPv6
// flags. iPXE runs IPv6 autoconfiguration beside DHCPv4 and waits for an advertisement
// for about 13 s on a link without one before it goes on; this one ends that wait at once
// and changes nothing for hosts on the link (see docs/operations.md, "IPv6 router advertisements").
//
// One raw ICMPv6 socket per interface (filtered to solicitations, joined to ff02::2, hop
// limit 255 checked on receive and set on send). A solicitation from an address gets a
// unicast reply; one from the unspecified address gets a multicast reply to ff02::1, at
// most one per 3 s per interface (RFC 4861 MIN_DELAY_BETWEEN_RAS). Runs on the caller's
// io_context thread.
#pragma once

#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace spdlog {
class logger;
}

namespace drover::ndp {

struct ResponderConfig {
  std::vector<std::string> interfaces;  // empty: every interface with IPv6 enabled but lo
};

class Responder {
 public:
  explicit Responder(boost::asio::io_context& io);
  ~Responder();

  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;

  // Opens a socket on each interface. An interface with IPv6 disabled is skipped (logged);
  // a named interface that does not exist, or a socket that cannot be opened (no
  // CAP_NET_RAW), is an error naming it.
  Status start(const ResponderConfig& config);
  // Closes every socket; start() may be called again (reload).
  void stop();

  // The interfaces being answered on.
  std::vector<std::string> interfaces() const;

  struct Link;

 private:
  void receive(const std::shared_ptr<Link>& link);
  void onReadable(const std::shared_ptr<Link>& link);

  boost::asio::io_context& io_;
  std::vector<std::shared_ptr<Link>> links_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace drover::ndp

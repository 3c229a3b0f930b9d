#include "dhcp/server/transport.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>

#include <boost/asio/post.hpp>

namespace drover::dhcp {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {
constexpr int kReceiveBuffer = 4 << 20;
}  // namespace

struct Transport::Listener {
  Listener(asio::io_context& io, InterfaceAddress ifa, std::uint16_t bound_port, bool is_proxy)
      : iface(std::move(ifa)), port(bound_port), proxy(is_proxy), socket(io) {}
  InterfaceAddress iface;
  std::uint16_t port;
  bool proxy;
  udp::socket socket;
  std::array<std::byte, wire::kMaxMessageSize + 1> buffer{};  // +1: bigger reads are "oversized"
  udp::endpoint from;
};

std::vector<InterfaceAddress> listInterfaces() {
  std::vector<InterfaceAddress> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_name == nullptr || (i->ifa_flags & IFF_LOOPBACK) != 0) continue;
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const InterfaceAddress& a) { return a.name == i->ifa_name; });
    if (it == out.end()) it = out.insert(out.end(), InterfaceAddress{i->ifa_name, {}});
    if (i->ifa_addr != nullptr && i->ifa_addr->sa_family == AF_INET &&
        it->address.isUnspecified()) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      it->address = Ipv4Address(ntohl(sin->sin_addr.s_addr));
    }
  }
  ::freeifaddrs(list);
  return out;
}

Transport::Transport(asio::io_context& io, Engine& engine, GroupCommitter& committer,
                     ExchangeObserver* observer)
    : io_(io),
      engine_(engine),
      committer_(committer),
      observer_(observer),
      reclaim_timer_(io),
      pinger_(io),
      log_(log::get("dhcp")) {}

Transport::~Transport() {
  {
    std::lock_guard lock(gate_->mu);
    gate_->open = false;
  }
  stop();
}

std::vector<Transport::Wanted> Transport::wanted(std::vector<std::string>& missing) const {
  const auto& cfg = engine_.config();
  const auto all = listInterfaces();
  std::vector<InterfaceAddress> chosen;
  if (cfg.interfaces.empty()) {
    chosen = all;
  } else {
    for (const auto& name : cfg.interfaces) {
      auto it = std::find_if(all.begin(), all.end(),
                             [&](const InterfaceAddress& a) { return a.name == name; });
      if (it == all.end()) {
        missing.push_back(name);
      } else {
        chosen.push_back(*it);
      }
    }
  }
  const bool any_proxy =
      std::any_of(cfg.networks.begin(), cfg.networks.end(),
                  [](const NetworkConfig& n) { return n.mode == NetworkConfig::Mode::Proxy; });
  std::vector<Wanted> out;
  for (const auto& ifa : chosen) {
    out.push_back(Wanted{ifa, cfg.server_port, false});
    if (any_proxy) out.push_back(Wanted{ifa, cfg.proxy_port, true});
  }
  return out;
}

Status Transport::start() {
  std::vector<std::string> missing;
  const auto want = wanted(missing);
  if (!missing.empty())
    return makeError("no_interface", "interface " + missing.front() + " not found");
  for (const auto& w : want)
    if (auto st = open(w.ifa, w.port, w.proxy); !st) return st;
  if (engine_.config().ping_before_offer) {
    if (auto st = pinger_.open(); !st) return st;
    pinger_open_ = true;
  }
  scheduleReclaim();
  return {};
}

Status Transport::reconfigure() {
  std::vector<std::string> missing;
  const auto want = wanted(missing);
  auto same = [](const Wanted& w, const Listener& l) {
    return w.ifa.name == l.iface.name && w.port == l.port && w.proxy == l.proxy;
  };
  std::erase_if(listeners_, [&](const std::shared_ptr<Listener>& l) {
    const bool keep =
        std::any_of(want.begin(), want.end(), [&](const Wanted& w) { return same(w, *l); });
    if (!keep) {
      boost::system::error_code ec;
      l->socket.close(ec);
      log_->info("DHCP_UNLISTEN interface={} port={}", l->iface.name, l->port);
    }
    return !keep;
  });
  Status result;
  for (const auto& w : want) {
    auto it = std::find_if(listeners_.begin(), listeners_.end(),
                           [&](const std::shared_ptr<Listener>& l) { return same(w, *l); });
    if (it == listeners_.end()) {
      if (auto st = open(w.ifa, w.port, w.proxy); !st) {
        log_->error("DHCP_LISTEN_FAILED {}", st.error().message);
        if (result) result = st;
      }
    } else if ((*it)->iface.address != w.ifa.address) {
      log_->info("DHCP_INTERFACE_ADDRESS interface={} address={} was={}", w.ifa.name,
                 w.ifa.address.str(), (*it)->iface.address.str());
      (*it)->iface.address = w.ifa.address;
    }
  }
  for (const auto& name : missing) {
    log_->warn("DHCP_NO_INTERFACE interface={}", name);
    if (result) result = makeError("no_interface", "interface " + name + " not found");
  }
  if (engine_.config().ping_before_offer && !pinger_open_) {
    if (auto st = pinger_.open(); !st) {
      if (result) result = st;
    } else {
      pinger_open_ = true;
    }
  }
  return result;
}

Status Transport::open(const InterfaceAddress& ifa, std::uint16_t port, bool proxy) {
  auto l = std::make_shared<Listener>(io_, ifa, port, proxy);
  boost::system::error_code ec;
  auto fail = [&](const char* what) {
    return makeError("listen_failed", std::string(what) + " on " + ifa.name + ":" +
                                          std::to_string(port) + ": " + ec.message());
  };
  l->socket.open(udp::v4(), ec);
  if (ec) return fail("socket");
  l->socket.set_option(udp::socket::reuse_address(true), ec);
  l->socket.set_option(asio::socket_base::broadcast(true), ec);
  // Room for a power-on burst (thousands of DISCOVERs, some through relays) while lease
  // commits run. SO_RCVBUFFORCE passes net.core.rmem_max (the server runs with
  // CAP_NET_ADMIN as root); without it SO_RCVBUF is capped there.
  if (::setsockopt(l->socket.native_handle(), SOL_SOCKET, SO_RCVBUFFORCE, &kReceiveBuffer,
                   sizeof kReceiveBuffer) != 0)
    l->socket.set_option(asio::socket_base::receive_buffer_size(kReceiveBuffer), ec);
  if (::setsockopt(l->socket.native_handle(), SOL_SOCKET, SO_BINDTODEVICE, ifa.name.c_str(),
                   static_cast<socklen_t>(ifa.name.size())) != 0) {
    ec.assign(errno, boost::system::system_category());
    return fail("SO_BINDTODEVICE");
  }
  l->socket.bind(udp::endpoint(asio::ip::address_v4::any(), port), ec);
  if (ec) return fail("bind");
  log_->info("DHCP_LISTEN interface={} address={} port={}{}", ifa.name, ifa.address.str(), port,
             proxy ? " proxy=1" : "");
  listeners_.push_back(l);
  receive(l);
  return {};
}

void Transport::stop() {
  boost::system::error_code ec;
  reclaim_timer_.cancel();
  pinger_.close();
  for (auto& l : listeners_) l->socket.close(ec);
  listeners_.clear();
}

void Transport::receive(const std::shared_ptr<Listener>& l) {
  l->socket.async_receive_from(
      asio::buffer(l->buffer), l->from,
      [this, l, gate = gate_](const boost::system::error_code& ec, std::size_t n) {
        if (!gate->open || ec == asio::error::operation_aborted || !l->socket.is_open()) return;
        if (!ec) onDatagram(l, n, l->from);
        receive(l);
      });
}

void Transport::onDatagram(const std::shared_ptr<Listener>& l, std::size_t size,
                           const udp::endpoint& from) {
  PacketContext ctx;
  ctx.interface = l->iface.name;
  ctx.interface_address = l->iface.address;
  ctx.source = Ipv4Address(from.address().to_v4().to_uint());
  ctx.source_port = from.port();
  ctx.proxy_port = l->proxy;
  Outcome out = engine_.handle(wire::ByteView(l->buffer.data(), size), ctx);
  if (out.probe && out.reply) {
    auto reply = std::make_shared<Reply>(std::move(*out.reply));
    pinger_.probe(*out.probe, engine_.config().ping_timeout,
                  [this, l, reply, ip = *out.probe, exchange = out.exchange](bool answered) {
                    auto writes = engine_.probeResult(ip, answered);
                    if (!answered) {
                      if (l->socket.is_open()) {
                        send(l, *reply);
                        observe(exchange);
                      }
                      return;
                    }
                    commit(std::move(writes), l, std::nullopt, std::nullopt);
                  });
    return;
  }
  if (out.writes.empty()) {
    if (out.reply) send(l, *out.reply);
    observe(out.exchange);
    return;
  }
  commit(std::move(out.writes), l, std::move(out.reply), std::move(out.exchange));
}

void Transport::observe(const std::optional<Exchange>& exchange) {
  if (observer_ != nullptr && exchange) notify(*observer_, *exchange);
}

void Transport::commit(std::vector<LeaseWrite> writes, const std::shared_ptr<Listener>& l,
                       std::optional<Reply> pending, std::optional<Exchange> exchange) {
  // Durable first, then the reply (an ACK is never sent for a lease that could be lost).
  struct After {
    std::optional<Reply> reply;
    std::optional<Exchange> exchange;
    std::vector<LeaseWrite> writes;
  };
  auto after = std::make_shared<After>(After{std::move(pending), std::move(exchange), writes});
  committer_.submit(std::move(writes), [this, &io = io_, l, after, gate = gate_](const Status& st) {
    std::lock_guard lock(gate->mu);
    if (!gate->open) return;  // shutting down: the reply is not sent (the lease is stored)
    asio::post(io, [this, l, after, st, gate] {
      if (!gate->open) return;
      if (!st.ok()) {
        engine_.stats().drop(Drop::StoreError);
        engine_.rollback(after->writes);
        log_->error("DHCP_STORE_FAILED error={}", st.error().message);
        return;
      }
      if (after->reply) {
        if (!l->socket.is_open()) return;
        send(l, *after->reply);
      }
      observe(after->exchange);
    });
  });
}

void Transport::send(const std::shared_ptr<Listener>& l, const Reply& reply) {
  const auto& d = reply.destination;
  boost::system::error_code ec;
  auto payload = asio::buffer(reply.payload.data(), reply.payload.size());
  auto broadcast = [&] {
    l->socket.send_to(payload, udp::endpoint(asio::ip::address_v4::broadcast(), d.port), 0, ec);
  };
  switch (d.kind) {
    case Destination::Kind::Broadcast:
      broadcast();
      break;
    case Destination::Kind::Unicast:
      l->socket.send_to(payload, udp::endpoint(asio::ip::address_v4(d.ip.value()), d.port), 0, ec);
      break;
    case Destination::Kind::Hardware: {
      // The client has no address yet: a static ARP entry lets a plain UDP send reach it.
      arpreq req{};
      auto* pa = reinterpret_cast<sockaddr_in*>(&req.arp_pa);
      pa->sin_family = AF_INET;
      pa->sin_addr.s_addr = htonl(d.ip.value());
      req.arp_ha.sa_family = ARPHRD_ETHER;
      std::memcpy(req.arp_ha.sa_data, d.mac.octets().data(), 6);
      req.arp_flags = ATF_COM;
      std::strncpy(req.arp_dev, l->iface.name.c_str(), sizeof(req.arp_dev) - 1);
      if (::ioctl(l->socket.native_handle(), SIOCSARP, &req) == 0) {
        l->socket.send_to(payload, udp::endpoint(asio::ip::address_v4(d.ip.value()), d.port), 0,
                          ec);
        if (!ec) break;
      }
      ec.clear();
      broadcast();
      break;
    }
  }
  if (ec) {
    engine_.stats().drop(Drop::SendFailed);
    log_->warn("DHCP_SEND_FAILED interface={} to={} error={}", l->iface.name, d.ip.str(),
               ec.message());
  }
}

void Transport::scheduleReclaim() {
  reclaim_timer_.expires_after(std::chrono::seconds(60));
  reclaim_timer_.async_wait([this, gate = gate_](const boost::system::error_code& ec) {
    if (ec || !gate->open) return;
    auto writes = engine_.reclaimExpired();
    if (!writes.empty()) committer_.submit(std::move(writes), [](const Status&) {});
    scheduleReclaim();
  });
}

}  // namespace drover::dhcp

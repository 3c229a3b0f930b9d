#include "ndp/server/responder.hpp"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

#include <boost/asio/posix/stream_descriptor.hpp>

#include "common/log.hpp"
#include "common/metrics.hpp"
#include "ndp/wire/router.hpp"

namespace drover::ndp {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kMinMulticastGap = std::chrono::seconds(3);

struct Counters {
  metrics::Counter& solicitations;
  metrics::Counter& advertisements;
  metrics::Counter& drop_malformed;
  metrics::Counter& drop_hop_limit;
  metrics::Counter& drop_rate;
  metrics::Counter& drop_send;

  static Counters& get() {
    static Counters c = [] {
      auto& r = metrics::Registry::global();
      auto drop = [&r](const char* reason) -> metrics::Counter& {
        return r.counter("drover_ndp_dropped_total", "Router solicitations not answered, by reason",
                         std::string("reason=\"") + reason + "\"");
      };
      return Counters{
          r.counter("drover_ndp_solicitations_total", "IPv6 router solicitations received"),
          r.counter("drover_ndp_advertisements_total", "IPv6 router advertisements sent"),
          drop("malformed"),
          drop("hop_limit"),
          drop("rate_limited"),
          drop("send_failed")};
    }();
    return c;
  }
};

bool ipv6Enabled(const std::string& name) {
  std::ifstream f("/proc/sys/net/ipv6/conf/" + name + "/disable_ipv6");
  int disabled = 1;
  return f && (f >> disabled) && disabled == 0;
}

std::optional<MacAddress> hardwareAddress(int fd, const std::string& name) {
  ifreq req{};
  std::strncpy(req.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (::ioctl(fd, SIOCGIFHWADDR, &req) != 0) return std::nullopt;
  std::array<std::uint8_t, 6> octets{};
  std::memcpy(octets.data(), req.ifr_hwaddr.sa_data, octets.size());
  MacAddress mac(octets);
  if (mac.isZero()) return std::nullopt;
  return mac;
}

Status fail(const std::string& iface, const char* what) {
  return makeError("ndp_socket", "interface " + iface + ": " + what + ": " + std::strerror(errno));
}

template <typename T>
bool setOpt(int fd, int level, int name, const T& value) {
  return ::setsockopt(fd, level, name, &value, sizeof value) == 0;
}

}  // namespace

struct Responder::Link {
  Link(asio::io_context& io, std::string n, unsigned idx)
      : name(std::move(n)), index(idx), fd(io) {}
  std::string name;
  unsigned index;
  asio::posix::stream_descriptor fd;
  wire::Bytes advertisement;  // the same for every reply on this link
  Clock::time_point last_multicast{};
  log::RateLimit replies{200, std::chrono::seconds(1)};
  log::RateLimit log_limit{5, std::chrono::seconds(10)};
};

Responder::Responder(asio::io_context& io) : io_(io), log_(log::get("ndp")) {}

Responder::~Responder() {
  stop();
}

Status Responder::start(const ResponderConfig& config) {
  stop();
  std::vector<std::string> names = config.interfaces;
  if (names.empty()) {
    if (auto* list = ::if_nameindex(); list != nullptr) {
      for (auto* i = list; i->if_index != 0; ++i)
        if (std::string(i->if_name) != "lo") names.emplace_back(i->if_name);
      ::if_freenameindex(list);
    }
  }
  for (const auto& name : names) {
    unsigned index = ::if_nametoindex(name.c_str());
    if (index == 0) return makeError("no_interface", "interface " + name + " not found");
    if (!ipv6Enabled(name)) {
      log_->info("NDP_SKIP interface={} reason=ipv6_disabled", name);
      continue;
    }
    int raw = ::socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    if (raw < 0) return fail(name, "raw ICMPv6 socket");
    auto link = std::make_shared<Link>(io_, name, index);
    link->fd.assign(raw);

    icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    ICMP6_FILTER_SETPASS(wire::kRouterSolicitation, &filter);
    const int on = 1, off = 0, hops = wire::kHopLimit;
    ipv6_mreq group{};
    ::inet_pton(AF_INET6, "ff02::2", &group.ipv6mr_multiaddr);
    group.ipv6mr_interface = index;
    if (!setOpt(raw, IPPROTO_ICMPV6, ICMP6_FILTER, filter) ||
        ::setsockopt(raw, SOL_SOCKET, SO_BINDTODEVICE, name.c_str(), name.size()) != 0 ||
        !setOpt(raw, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, on) ||
        !setOpt(raw, IPPROTO_IPV6, IPV6_UNICAST_HOPS, hops) ||
        !setOpt(raw, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, hops) ||
        !setOpt(raw, IPPROTO_IPV6, IPV6_MULTICAST_IF, index) ||
        !setOpt(raw, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, off) ||
        !setOpt(raw, IPPROTO_IPV6, IPV6_JOIN_GROUP, group))
      return fail(name, "socket options");

    wire::RouterAdvertisement ra;  // lifetime 0, no flags, no prefixes: announces nothing
    ra.source_mac = hardwareAddress(raw, name);
    link->advertisement = wire::encodeRouterAdvertisement(ra);
    log_->info("NDP_LISTEN interface={} mac={}", name,
               ra.source_mac ? ra.source_mac->str() : "none");
    links_.push_back(link);
    receive(link);
  }
  Counters::get();  // the series exist from the start
  return {};
}

void Responder::stop() {
  for (auto& link : links_) {
    boost::system::error_code ignored;
    link->fd.close(ignored);
  }
  links_.clear();
}

std::vector<std::string> Responder::interfaces() const {
  std::vector<std::string> out;
  for (const auto& l : links_) out.push_back(l->name);
  return out;
}

void Responder::receive(const std::shared_ptr<Link>& link) {
  link->fd.async_wait(asio::posix::stream_descriptor::wait_read,
                      [this, link](boost::system::error_code ec) {
                        if (ec || !link->fd.is_open()) return;  // closed by stop()
                        onReadable(link);
                        receive(link);
                      });
}

void Responder::onReadable(const std::shared_ptr<Link>& link) {
  auto& counters = Counters::get();
  std::array<std::byte, 1500> buffer;
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control;
  for (int burst = 0; burst < 64; ++burst) {  // bounded: other links get their turn
    sockaddr_in6 from{};
    iovec iov{buffer.data(), buffer.size()};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    ssize_t n = ::recvmsg(link->fd.native_handle(), &msg, 0);
    if (n < 0) return;  // EAGAIN: drained
    counters.solicitations++;

    int hop_limit = -1;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c))
      if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)
        std::memcpy(&hop_limit, CMSG_DATA(c), sizeof hop_limit);
    if (hop_limit != wire::kHopLimit) {
      counters.drop_hop_limit++;
      continue;
    }
    auto rs =
        wire::parseRouterSolicitation(wire::ByteView(buffer.data(), static_cast<std::size_t>(n)));
    if (!rs) {
      counters.drop_malformed++;
      std::uint64_t suppressed = 0;
      if (link->log_limit.allow(suppressed))
        log_->info("NDP_DROP interface={} reason={} suppressed={}", link->name, rs.error().code,
                   suppressed);
      continue;
    }
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    to.sin6_scope_id = link->index;
    if (IN6_IS_ADDR_UNSPECIFIED(&from.sin6_addr)) {
      auto now = Clock::now();
      if (now - link->last_multicast < kMinMulticastGap) {
        counters.drop_rate++;
        continue;
      }
      link->last_multicast = now;
      ::inet_pton(AF_INET6, "ff02::1", &to.sin6_addr);
    } else {
      std::uint64_t over = 0;
      if (!link->replies.allow(over)) {
        counters.drop_rate++;
        continue;
      }
      to.sin6_addr = from.sin6_addr;
    }
    ssize_t sent =
        ::sendto(link->fd.native_handle(), link->advertisement.data(), link->advertisement.size(),
                 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    if (sent < 0) {
      counters.drop_send++;
      std::uint64_t suppressed = 0;
      if (link->log_limit.allow(suppressed))
        log_->warn("NDP_SEND_FAILED interface={} error={} suppressed={}", link->name,
                   std::strerror(errno), suppressed);
      continue;
    }
    counters.advertisements++;
    if (log_->should_log(spdlog::level::debug)) {
      char text[INET6_ADDRSTRLEN] = {};
      ::inet_ntop(AF_INET6, &from.sin6_addr, text, sizeof text);
      log_->debug("NDP_ADVERTISE interface={} to={}", link->name, text);
    }
  }
}

}  // namespace drover::ndp

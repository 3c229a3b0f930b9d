#include "sim/dhcp_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/socket.h>

#include <array>

namespace drover::sim {

namespace wire = dhcp::wire;
namespace opt = dhcp::wire::opt;
using asio::redirect_error;
using asio::use_awaitable;

namespace {

// What PXE ROMs and iPXE ask for (option 55), roughly.
constexpr std::array<std::uint8_t, 17> kParameterList = {1,  3,  6,  12, 15, 17, 26, 28, 40,
                                                         41, 42, 43, 60, 66, 67, 97, 175};
constexpr std::uint16_t kMaxMessageSize = 1472;
constexpr int kRelayBuffer = 16 << 20;  // what iPXE sends in option 57

std::string vendorClass(std::uint16_t arch) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "PXEClient:Arch:%05u:UNDI:003016", static_cast<unsigned>(arch));
  return buf;
}

void addIdentity(wire::Message& m, const Identity& id) {
  m.setMac(id.mac);
  m.flags = wire::kBroadcastFlag;  // PXE ROMs ask for broadcast replies
  m.options.setU16(opt::kMaxMessageSize, kMaxMessageSize);
  m.options.set(opt::kParameterList,
                wire::ByteView(reinterpret_cast<const std::byte*>(kParameterList.data()),
                               kParameterList.size()));
  m.options.setU16(opt::kClientArch, id.arch);
  const std::byte ndi[] = {std::byte{1}, std::byte{3}, std::byte{16}};  // UNDI 3.16
  m.options.set(opt::kClientNdi, wire::ByteView(ndi));
  wire::Bytes uuid(17, std::byte{0});
  for (std::size_t i = 0; i < 16; ++i) uuid[i + 1] = static_cast<std::byte>(id.uuid.bytes()[i]);
  m.options.set(opt::kClientUuid, std::move(uuid));
  m.options.setString(opt::kVendorClass, vendorClass(id.arch));
  if (id.ipxe) {
    m.options.setString(opt::kUserClass, "iPXE");
    // iPXE's encapsulated options: feature flags for HTTP, and its version.
    const std::byte encap[] = {std::byte{wire::ipxe::kFeatureHttp},
                               std::byte{1},
                               std::byte{1},
                               std::byte{wire::ipxe::kVersion},
                               std::byte{3},
                               std::byte{1},
                               std::byte{21},
                               std::byte{1}};
    m.options.set(opt::kIpxeEncap, wire::ByteView(encap));
  }
}

std::string cString(const std::string& s) {
  return s.substr(0, s.find('\0'));
}

}  // namespace

wire::Message buildDiscover(const Identity& id, std::uint32_t xid, Ipv4Address giaddr) {
  wire::Message m;
  m.xid = xid;
  m.giaddr = giaddr;
  m.hops = giaddr.isUnspecified() ? 0 : 1;
  m.setType(wire::MessageType::Discover);
  addIdentity(m, id);
  return m;
}

wire::Message buildRequest(const Identity& id, std::uint32_t xid, Ipv4Address giaddr,
                           const wire::Message& offer) {
  wire::Message m;
  m.xid = xid;
  m.giaddr = giaddr;
  m.hops = giaddr.isUnspecified() ? 0 : 1;
  m.setType(wire::MessageType::Request);
  addIdentity(m, id);
  m.options.setIpv4(opt::kRequestedAddress, offer.yiaddr);
  if (auto sid = offer.options.ipv4(opt::kServerId)) m.options.setIpv4(opt::kServerId, *sid);
  return m;
}

Lease leaseFrom(const wire::Message& ack) {
  Lease l;
  l.address = ack.yiaddr;
  l.next_server = ack.siaddr;
  if (l.next_server.isUnspecified()) {
    if (auto s = ack.options.string(opt::kTftpServer)) {
      if (auto a = Ipv4Address::parse(cString(*s))) l.next_server = *a;
    }
  }
  if (l.next_server.isUnspecified()) {
    if (auto sid = ack.options.ipv4(opt::kServerId)) l.next_server = *sid;
  }
  l.boot_file = ack.file;
  if (l.boot_file.empty()) l.boot_file = ack.options.string(opt::kBootfile).value_or("");
  // Firmware reads these as C strings; dnsmasq, for one, NUL-terminates option 67.
  l.boot_file = cString(l.boot_file);
  return l;
}

Relay::Relay(asio::io_context& io, const Config& config) : io_(io), config_(config), socket_(io) {
  servers_.emplace_back(asio::ip::address_v4(config.server.value()), config.server_port);
  for (const auto& s : config.more_servers)
    servers_.emplace_back(asio::ip::address_v4(s.value()), config.server_port);
}

Status Relay::open() {
  boost::system::error_code ec;
  socket_.open(asio::ip::udp::v4(), ec);
  if (!ec) socket_.set_option(asio::socket_base::reuse_address(true), ec);
  // A storm is a burst: room for many replies in flight, so that the sim is never the one
  // dropping them. SO_RCVBUFFORCE passes net.core.rmem_max when allowed (CAP_NET_ADMIN).
  if (!ec) {
    const int size = kRelayBuffer;
    if (::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) !=
        0) {
      socket_.set_option(asio::socket_base::receive_buffer_size(size), ec);
    }
    if (::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) !=
        0) {
      socket_.set_option(asio::socket_base::send_buffer_size(size), ec);
    }
  }
  if (!ec) socket_.bind({asio::ip::address_v4(config_.relay.value()), config_.relay_port}, ec);
  if (ec) {
    return makeError("relay_bind", "cannot listen as a relay on " + config_.relay.str() + ":" +
                                       std::to_string(config_.relay_port) + ": " + ec.message());
  }
  open_ = true;
  asio::co_spawn(io_, receiveLoop(), asio::detached);
  return {};
}

void Relay::close() {
  open_ = false;
  boost::system::error_code ec;
  socket_.close(ec);
}

asio::awaitable<void> Relay::receiveLoop() {
  std::vector<std::byte> buf(wire::kMaxMessageSize);
  asio::ip::udp::endpoint from;
  while (open_) {
    boost::system::error_code ec;
    const auto n = co_await socket_.async_receive_from(asio::buffer(buf), from,
                                                       redirect_error(use_awaitable, ec));
    if (ec) {
      if (!open_ || ec == asio::error::operation_aborted) co_return;
      continue;
    }
    auto m = wire::decode(wire::ByteView(buf.data(), n));
    if (!m || m->op != static_cast<std::uint8_t>(wire::Op::BootReply)) {
      ++stray_;
      continue;
    }
    auto it = waiters_.find(m->xid);
    const auto type = m->messageType().value_or(0);
    if (it == waiters_.end() || it->second.slot->has_value() ||
        (type != it->second.want && type != static_cast<std::uint8_t>(wire::MessageType::Nak))) {
      ++stray_;
      continue;
    }
    *it->second.slot = std::move(*m);
    it->second.timer->cancel();
  }
}

asio::awaitable<std::optional<wire::Message>> Relay::exchange(const wire::Message& m,
                                                              wire::MessageType want,
                                                              Millis timeout,
                                                              Clock::time_point deadline) {
  std::optional<wire::Message> reply;
  auto encoded = wire::encode(m, wire::kMinMaxMessageSize);
  if (!encoded) co_return reply;
  asio::steady_timer timer(io_);
  waiters_[m.xid] = Waiter{static_cast<std::uint8_t>(want), &timer, &reply};
  boost::system::error_code ec;
  for (const auto& server : servers_) {
    co_await socket_.async_send_to(asio::buffer(*encoded), server,
                                   redirect_error(use_awaitable, ec));
    if (ec) ++send_errors_;
  }
  if (!reply) {
    timer.expires_at(std::min(Clock::now() + timeout, deadline));
    co_await timer.async_wait(redirect_error(use_awaitable, ec));
  }
  waiters_.erase(m.xid);
  co_return reply;
}

}  // namespace drover::sim

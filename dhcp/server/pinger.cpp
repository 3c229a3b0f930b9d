#include "dhcp/server/pinger.hpp"

#include <unistd.h>

#include <vector>

#include "common/log.hpp"

namespace drover::dhcp {

namespace asio = boost::asio;
using asio::ip::icmp;

namespace {

constexpr std::uint8_t kEchoRequest = 8;
constexpr std::uint8_t kEchoReply = 0;

std::uint16_t checksum(const std::vector<std::uint8_t>& b) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < b.size(); i += 2)
    sum += static_cast<std::uint32_t>((b[i] << 8) | b[i + 1]);
  if (b.size() % 2 != 0) sum += static_cast<std::uint32_t>(b.back() << 8);
  while ((sum >> 16) != 0) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

}  // namespace

Pinger::Pinger(asio::io_context& io)
    : io_(io), socket_(io), id_(static_cast<std::uint16_t>(::getpid() & 0xffff)) {}

Pinger::~Pinger() {
  *alive_ = false;
  close();
}

Status Pinger::open() {
  boost::system::error_code ec;
  socket_.open(icmp::v4(), ec);
  if (ec) return makeError("listen_failed", "ICMP socket for ping-before-offer: " + ec.message());
  receive();
  return {};
}

void Pinger::close() {
  boost::system::error_code ec;
  socket_.close(ec);
  for (auto& [seq, p] : pending_) p.timer->cancel();
}

void Pinger::probe(Ipv4Address ip, std::chrono::milliseconds timeout, Done done) {
  const std::uint16_t seq = next_seq_++;
  std::vector<std::uint8_t> packet{kEchoRequest,
                                   0,
                                   0,
                                   0,
                                   static_cast<std::uint8_t>(id_ >> 8),
                                   static_cast<std::uint8_t>(id_ & 0xff),
                                   static_cast<std::uint8_t>(seq >> 8),
                                   static_cast<std::uint8_t>(seq & 0xff),
                                   'd',
                                   'r',
                                   'o',
                                   'v',
                                   'e',
                                   'r',
                                   0,
                                   0};
  const std::uint16_t sum = checksum(packet);
  packet[2] = static_cast<std::uint8_t>(sum >> 8);
  packet[3] = static_cast<std::uint8_t>(sum & 0xff);
  boost::system::error_code ec;
  socket_.send_to(asio::buffer(packet), icmp::endpoint(asio::ip::address_v4(ip.value()), 0), 0, ec);
  if (ec) {  // cannot probe: offer anyway (the client's DECLINE still protects it)
    done(false);
    return;
  }
  auto timer = std::make_unique<asio::steady_timer>(io_, timeout);
  timer->async_wait([this, seq, alive = alive_](const boost::system::error_code& wait_ec) {
    if (*alive && !wait_ec) finish(seq, false);
  });
  pending_[seq] = Pending{ip, std::move(done), std::move(timer)};
  log::get("dhcp")->debug("DHCP_PROBE ip={} id={} seq={}", ip.str(), id_, seq);
}

void Pinger::finish(std::uint16_t seq, bool answered) {
  auto it = pending_.find(seq);
  if (it == pending_.end()) return;
  Pending p = std::move(it->second);
  pending_.erase(it);
  p.timer->cancel();
  p.done(answered);
}

void Pinger::receive() {
  socket_.async_receive_from(
      asio::buffer(buffer_), from_,
      [this, alive = alive_](const boost::system::error_code& ec, std::size_t n) {
        if (!*alive || ec == asio::error::operation_aborted || !socket_.is_open()) return;
        // Raw socket: IPv4 header, then ICMP.
        const std::size_t ihl = n > 0 ? (buffer_[0] & 0x0f) * 4u : 0;
        if (!ec && n >= ihl + 8 && buffer_[ihl] == kEchoReply &&
            ((buffer_[ihl + 4] << 8) | buffer_[ihl + 5]) == id_) {
          const auto seq = static_cast<std::uint16_t>((buffer_[ihl + 6] << 8) | buffer_[ihl + 7]);
          auto it = pending_.find(seq);
          if (it != pending_.end() && it->second.ip.value() == from_.address().to_v4().to_uint()) {
            log::get("dhcp")->debug("DHCP_PROBE_ANSWERED ip={} seq={}", it->second.ip.str(), seq);
            finish(seq, true);
          }
        }
        receive();
      });
}

}  // namespace drover::dhcp

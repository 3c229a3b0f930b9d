#include "tftp/server/datagram_batch.hpp"

#include <netinet/in.h>
#include <netinet/udp.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // linux/udp.h, since Linux 4.18
#endif

namespace drover::tftp {
namespace {

// The largest UDP payload one IPv4 datagram holds, which bounds a segmented send's total.
constexpr std::size_t kMaxUdpPayload = 65507;

}  // namespace

void DatagramBatch::set(std::size_t i, const void* head, std::size_t head_size, const void* body,
                        std::size_t body_size) {
  iov_[2 * i] = {const_cast<void*>(head), head_size};
  iov_[2 * i + 1] = {const_cast<void*>(body), body_size};
}

std::size_t DatagramBatch::send(int fd, const sockaddr* peer, socklen_t peer_len, std::size_t from,
                                std::size_t to, std::size_t segment) {
  const std::size_t count = to - from;
  const bool several = count >= 2 && segment > 0 && segment <= kMaxUdpPayload / 2;
  if (several && segmentation_ == Segmentation::kUnasked) {
    // A kernel without UDP_SEGMENT (before 4.18) would not refuse the control message but
    // ignore it, and send the blocks as one datagram: ask the socket once first.
    int current = 0;
    socklen_t len = sizeof current;
    segmentation_ = ::getsockopt(fd, SOL_UDP, UDP_SEGMENT, &current, &len) == 0
                        ? Segmentation::kOn
                        : Segmentation::kOff;
  }
  if (several && segmentation_ == Segmentation::kOn) {
    const std::size_t n = std::min(count, kMaxUdpPayload / segment);
    if (auto sent = sendSegmented(fd, peer, peer_len, from, n, segment); sent > 0) return sent;
    // EINVAL (the route's MTU is below a segment, or the socket sends without checksums),
    // EIO (no checksum offload on the way out): not for this batch, again.
    if (errno != EINVAL && errno != EIO) return 0;
    segmentation_ = Segmentation::kOff;
  }
  return sendEach(fd, peer, peer_len, from, count);
}

std::size_t DatagramBatch::sendSegmented(int fd, const sockaddr* peer, socklen_t peer_len,
                                         std::size_t from, std::size_t count, std::size_t segment) {
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(std::uint16_t))> control{};
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr*>(peer);
  msg.msg_namelen = peer_len;
  msg.msg_iov = &iov_[2 * from];
  msg.msg_iovlen = 2 * count;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
  const auto size = static_cast<std::uint16_t>(segment);
  std::memcpy(CMSG_DATA(c), &size, sizeof size);
  return ::sendmsg(fd, &msg, 0) >= 0 ? count : 0;
}

std::size_t DatagramBatch::sendEach(int fd, const sockaddr* peer, socklen_t peer_len,
                                    std::size_t from, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    msgs_[i] = {};
    msgs_[i].msg_hdr.msg_name = const_cast<sockaddr*>(peer);
    msgs_[i].msg_hdr.msg_namelen = peer_len;
    msgs_[i].msg_hdr.msg_iov = &iov_[2 * (from + i)];
    msgs_[i].msg_hdr.msg_iovlen = 2;
  }
  const int r = ::sendmmsg(fd, msgs_.data(), static_cast<unsigned>(count), 0);
  return r > 0 ? static_cast<std::size_t>(r) : 0;
}

}  // namespace drover::tftp

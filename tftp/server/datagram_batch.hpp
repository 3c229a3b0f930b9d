// Sending a run of datagrams to one peer in as few system calls as the kernel allows: with
// UDP segmentation offload (one sendmsg carrying up to 64 equal-size datagrams, cut apart
// by the kernel or the NIC) where the socket and route take it, else with sendmmsg.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>

namespace drover::tftp {

class DatagramBatch {
 public:
  static constexpr std::size_t kMaxDatagrams = 64;

  // Datagram i is the two pieces head(i) + body(i); every one but the last of a call to
  // send() must be `segment` bytes long.
  void set(std::size_t i, const void* head, std::size_t head_size, const void* body,
           std::size_t body_size);

  // Sends datagrams [from, to) to `peer` on the non-blocking UDP socket `fd`. Returns how
  // many left (at least one), or 0 with errno set (EAGAIN when the socket buffer is full).
  // Where the kernel lacks segmentation (checked once, on the socket), or refuses it once
  // (a route whose MTU is below `segment` plus headers, a device without checksum
  // offload), this batch uses sendmmsg only.
  std::size_t send(int fd, const sockaddr* peer, socklen_t peer_len, std::size_t from,
                   std::size_t to, std::size_t segment);

  bool segmenting() const { return segmentation_ != Segmentation::kOff; }

 private:
  std::size_t sendSegmented(int fd, const sockaddr* peer, socklen_t peer_len, std::size_t from,
                            std::size_t count, std::size_t segment);
  std::size_t sendEach(int fd, const sockaddr* peer, socklen_t peer_len, std::size_t from,
                       std::size_t count);

  std::array<iovec, 2 * kMaxDatagrams> iov_{};
  std::array<mmsghdr, kMaxDatagrams> msgs_{};
  // kUnasked until the socket was asked whether it knows UDP_SEGMENT.
  enum class Segmentation : std::uint8_t { kUnasked, kOn, kOff };
  Segmentation segmentation_ = Segmentation::kUnasked;
};

}  // namespace drover::tftp

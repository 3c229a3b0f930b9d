// A TFTP read the way PXE firmware does it: optionally a tsize probe (RRQ with tsize and
// blksize, abort after the OACK), then the download with blksize and windowsize (RFC 2347,
// 2348, 2349, 7440), ACKing each window, retransmitting on timeout with doubling, and
// falling back to plain RFC 1350 when the server answers with DATA. Coroutine, one socket
// per transfer (its own TID).
#pragma once

#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "sim/config.hpp"

namespace drover::sim {

struct TftpRequest {
  boost::asio::ip::udp::endpoint server;
  std::string file;
  std::optional<boost::asio::ip::address_v4> bind;  // local address, if any
  bool probe = true;
  std::uint16_t blksize = 1468;
  std::uint16_t windowsize = 1;
  Millis timeout{1000};
  int retries = 5;
  std::chrono::steady_clock::time_point deadline;
};

struct TftpResult {
  std::uint64_t bytes = 0;
  std::optional<std::uint64_t> tsize;  // from the probe
  std::size_t blksize = 512;           // negotiated
  std::uint16_t windowsize = 1;
  std::uint32_t retransmits = 0;
};

// Error codes: "timeout", "deadline", "error" (the server sent ERROR), "size" (the bytes
// received differ from tsize), "socket".
boost::asio::awaitable<Result<TftpResult>> tftpGet(boost::asio::io_context& io, TftpRequest req,
                                                   std::uint32_t* retransmits);

}  // namespace drover::sim

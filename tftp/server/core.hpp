// Internal to the server: state shared by the listener and every transfer coroutine.
#pragma once

#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "common/log.hpp"
#include "common/metrics.hpp"
#include "tftp/server/file_cache.hpp"
#include "tftp/server/server.hpp"
#include "tftp/wire/packet.hpp"

namespace drover::tftp {

using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

enum class Drop {
  Malformed,         // datagram that does not parse
  UnknownTid,        // packet on a transfer socket from another address/port (error 5 sent)
  UnexpectedPacket,  // parses, but makes no sense here (DATA to the server, ACK to port 69)
  DuplicateRequest,  // RRQ retransmitted while its transfer runs
  Busy,              // max_transfers reached (no answer: the client retransmits)
  DuplicateAck,      // ACK for the block just before the window
  StaleAck,          // ACK for an older or unsent block
  kCount,
};
std::string_view dropName(Drop d);

struct Metrics {
  explicit Metrics(metrics::Registry& r);
  metrics::Counter& transfer(TransferResult r) { return *transfers[static_cast<std::size_t>(r)]; }
  void drop(Drop d) { drops[static_cast<std::size_t>(d)]->fetch_add(1, std::memory_order_relaxed); }

  std::array<metrics::Counter*, 8> transfers{};
  std::array<metrics::Counter*, static_cast<std::size_t>(Drop::kCount)> drops{};
  metrics::Counter& bytes;
  metrics::Gauge& active;
};

// One transfer's socket and timer, both on the transfer's strand.
//
// The timer is armed lazily: a receive only records its deadline, and the timer is re-armed
// when it fires early (the deadline moved later) or when a deadline moves earlier. In the
// common case (each ACK pushes the deadline later) a packet costs no timer system call.
struct TransferIo {
  explicit TransferIo(const Strand& s) : strand(s), socket(s), timer(s) {}
  Strand strand;
  boost::asio::ip::udp::socket socket;
  boost::asio::steady_timer timer;
  std::chrono::steady_clock::time_point deadline;  // of the receive in progress
  bool waiting = false;      // a receive is in progress
  bool timed_out = false;    // the timer cancelled the receive in progress
  bool timer_armed = false;
  std::uint64_t arm_gen = 0;  // which arming a timer completion belongs to
};

// Arms io->timer for io->deadline (see TransferIo).
void armTransferTimer(const std::shared_ptr<TransferIo>& io);

struct Server::Core {
  Core(boost::asio::io_context& io_ctx, Config c, VirtualFiles* v, TransferObserver* o,
       metrics::Registry& r)
      : io(io_ctx), config(std::move(c)), vfs(v), observer(o), metrics(r), log(log::get("tftp")),
        listen_strand(boost::asio::make_strand(io_ctx)), listener(listen_strand) {}

  // Registers a new transfer for `client`; refused if one from the same address and port
  // is already running, or just finished for the very same request bytes (a retransmitted
  // RRQ that was read late: answering it would start a transfer to a port that has moved
  // on), or the server is full / stopping. `request` is a hash of the RRQ datagram.
  enum class Admit { Yes, Duplicate, Busy, Stopping };
  Admit admit(const Endpoint& client, std::size_t request, const std::shared_ptr<TransferIo>& transfer_io);
  void release(const Endpoint& client);

  // How long a finished transfer's request is remembered (boot-storm finding: under load
  // clients retransmit RRQs that the listener reads only after the transfer ended).
  static constexpr std::chrono::seconds kLateDuplicateHold{5};

  boost::asio::io_context& io;
  Config config;
  VirtualFiles* vfs;
  TransferObserver* observer;
  std::unique_ptr<FileCache> cache;
  Metrics metrics;
  std::shared_ptr<spdlog::logger> log;
  log::RateLimit log_limit{50, std::chrono::seconds(1)};
  Strand listen_strand;
  boost::asio::ip::udp::socket listener;
  std::atomic<bool> stopping{false};

  std::mutex mu;  // guards `active`, `requests` and `finished`
  std::map<Endpoint, std::weak_ptr<TransferIo>> active;
  std::map<Endpoint, std::size_t> requests;  // the request each active transfer serves
  struct Finished {
    std::size_t request = 0;
    std::chrono::steady_clock::time_point until;
  };
  std::map<Endpoint, Finished> finished;
};

// Starts a transfer for an admitted request; the coroutine runs on io->strand.
void spawnTransfer(std::shared_ptr<Server::Core> core, std::shared_ptr<TransferIo> io,
                   wire::Request request, Endpoint client);

}  // namespace drover::tftp

// The sending side of one read transfer as a pure state machine: which block to send next,
// what an ACK or a timeout does, when the transfer is done. No sockets, no clock: the
// server feeds it events, so every rule here is unit-tested without either.
//
// Blocks are numbered with 64-bit indices from 1 (index 0 stands for the OACK when options
// were negotiated); on the wire a block number is the index modulo 65536, so files longer
// than 65535 blocks roll over to 0 and keep going.
//
// Rules (RFC 1350, RFC 7440):
//  - Up to `windowsize` unacknowledged blocks are in flight; nothing follows the OACK until
//    it is acknowledged (ACK 0).
//  - An ACK for a block in flight acknowledges it and everything before it; the window
//    restarts right after it (a receiver that saw a gap ACKs the last block it has).
//  - An ACK for the block before the window (a duplicate) or older (stale), or for a block
//    not sent yet, changes nothing: duplicates never trigger a resend, which is what
//    prevents the Sorcerer's Apprentice syndrome.
//  - A timeout resends the window from its first block, up to `max_retries` times in a row;
//    any progress resets the count.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

namespace drover::tftp {

class SendWindow {
 public:
  struct Config {
    std::uint16_t windowsize = 1;
    bool oack = false;  // an OACK goes first and must be acknowledged with ACK 0
    int max_retries = 5;
  };

  enum class Ack { Progress, Done, Duplicate, Unexpected };
  enum class Timeout { Resend, GiveUp };

  explicit SendWindow(Config config);

  // The index to send now (0 = the OACK), or nullopt when the window is full or every
  // block up to the last has been sent. Each call moves past the returned index.
  std::optional<std::uint64_t> nextToSend();

  // How many indices nextToSend() would return now, as far as the last block is known
  // (lets a sender read and send them in one batch).
  std::uint64_t sendable() const;

  // The sender found that block `index` is the last one (shorter than blksize).
  void markLast(std::uint64_t index) { last_ = index; }

  Ack onAck(std::uint16_t wire_block);
  Timeout onTimeout();

  static std::uint16_t wireBlock(std::uint64_t index) { return static_cast<std::uint16_t>(index & 0xffff); }

  bool done() const { return last_ && base_ > *last_; }
  std::uint64_t base() const { return base_; }  // first block not yet acknowledged
  std::uint64_t next() const { return next_; }  // next block nextToSend() would return
  std::optional<std::uint64_t> last() const { return last_; }
  int retries() const { return retries_; }

 private:
  std::uint64_t window_;
  int max_retries_;
  std::uint64_t base_;
  std::uint64_t next_;
  std::uint64_t sent_end_;  // one past the highest index ever sent
  std::optional<std::uint64_t> last_;
  int retries_ = 0;
};

// Retransmit timeout after `retries` consecutive timeouts: base doubled each time, capped.
inline std::chrono::milliseconds retransmitTimeout(std::chrono::milliseconds base, int retries,
                                                   std::chrono::milliseconds cap) {
  auto t = base;
  for (int i = 0; i < retries && t < cap; ++i) t *= 2;
  return std::min(t, cap);
}

}  // namespace drover::tftp

#include <gtest/gtest.h>

#include <vector>

#include "tftp/server/send_window.hpp"

namespace drover::tftp {
namespace {

using Ack = SendWindow::Ack;

// Sends everything nextToSend() allows; block `last` is the final one.
std::vector<std::uint64_t> drain(SendWindow& w, std::uint64_t last) {
  std::vector<std::uint64_t> sent;
  while (auto i = w.nextToSend()) {
    sent.push_back(*i);
    if (*i == last) w.markLast(last);
  }
  return sent;
}

TEST(TftpSendWindow, LockStepWithoutOptions) {
  SendWindow w({.windowsize = 1, .oack = false, .max_retries = 3});
  EXPECT_EQ(drain(w, 3), (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(w.onAck(1), Ack::Progress);
  EXPECT_EQ(drain(w, 3), (std::vector<std::uint64_t>{2}));
  EXPECT_EQ(w.onAck(2), Ack::Progress);
  EXPECT_EQ(drain(w, 3), (std::vector<std::uint64_t>{3}));
  EXPECT_EQ(w.onAck(3), Ack::Done);
  EXPECT_TRUE(w.done());
  EXPECT_TRUE(drain(w, 3).empty());
}

TEST(TftpSendWindow, OackMustBeAcknowledgedFirst) {
  SendWindow w({.windowsize = 8, .oack = true, .max_retries = 3});
  EXPECT_EQ(drain(w, 100), (std::vector<std::uint64_t>{0}));
  EXPECT_EQ(w.onAck(1), Ack::Unexpected);  // nothing but the OACK is out
  EXPECT_EQ(w.onAck(0), Ack::Progress);
  EXPECT_EQ(drain(w, 100), (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(TftpSendWindow, EmptyFileIsOneEmptyBlock) {
  SendWindow w({.windowsize = 4, .oack = false, .max_retries = 3});
  EXPECT_EQ(drain(w, 1), (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(w.onAck(1), Ack::Done);
}

TEST(TftpSendWindow, AckInsideWindowMovesIt) {
  SendWindow w({.windowsize = 4, .oack = false, .max_retries = 3});
  EXPECT_EQ(drain(w, 100), (std::vector<std::uint64_t>{1, 2, 3, 4}));
  // The receiver lost block 3 and acknowledges 2: the window restarts at 3.
  EXPECT_EQ(w.onAck(2), Ack::Progress);
  EXPECT_EQ(drain(w, 100), (std::vector<std::uint64_t>{3, 4, 5, 6}));
  EXPECT_EQ(w.onAck(6), Ack::Progress);
  EXPECT_EQ(drain(w, 8), (std::vector<std::uint64_t>{7, 8}));
  EXPECT_EQ(w.onAck(8), Ack::Done);
}

TEST(TftpSendWindow, DuplicateStaleAndFutureAcksChangeNothing) {
  SendWindow w({.windowsize = 4, .oack = false, .max_retries = 3});
  drain(w, 100);
  EXPECT_EQ(w.onAck(4), Ack::Progress);
  EXPECT_EQ(drain(w, 100), (std::vector<std::uint64_t>{5, 6, 7, 8}));
  EXPECT_EQ(w.onAck(4), Ack::Duplicate);
  EXPECT_EQ(w.onAck(2), Ack::Unexpected);
  EXPECT_EQ(w.onAck(9), Ack::Unexpected);
  EXPECT_EQ(w.onAck(1000), Ack::Unexpected);
  EXPECT_TRUE(drain(w, 100).empty()) << "no resend after duplicate or stale ACKs";
  EXPECT_EQ(w.base(), 5u);
}

TEST(TftpSendWindow, SorcerersApprenticeEveryAckTwice) {
  // Every ACK is delivered twice (a delayed copy): the number of blocks sent must equal
  // the number of blocks, not double on each round.
  for (std::uint16_t ws : {1, 4, 16}) {
    SendWindow w({.windowsize = ws, .oack = true, .max_retries = 3});
    const std::uint64_t last = 1000;
    std::uint64_t sends = 0;
    while (!w.done()) {
      auto sent = drain(w, last);
      sends += sent.size();
      ASSERT_FALSE(sent.empty());
      const auto acked = SendWindow::wireBlock(sent.back());
      w.onAck(acked);
      EXPECT_EQ(w.onAck(acked), w.done() ? Ack::Unexpected : Ack::Duplicate);
    }
    EXPECT_EQ(sends, last + 1) << "windowsize " << ws;  // + the OACK
  }
}

TEST(TftpSendWindow, TimeoutResendsWindowThenGivesUp) {
  SendWindow w({.windowsize = 3, .oack = false, .max_retries = 2});
  drain(w, 100);
  EXPECT_EQ(w.onTimeout(), SendWindow::Timeout::Resend);
  EXPECT_EQ(drain(w, 100), (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(w.onTimeout(), SendWindow::Timeout::Resend);
  EXPECT_EQ(w.retries(), 2);
  // Progress resets the count.
  EXPECT_EQ(w.onAck(1), Ack::Progress);
  EXPECT_EQ(w.retries(), 0);
  drain(w, 100);
  EXPECT_EQ(w.onTimeout(), SendWindow::Timeout::Resend);
  EXPECT_EQ(w.onTimeout(), SendWindow::Timeout::Resend);
  EXPECT_EQ(w.onTimeout(), SendWindow::Timeout::GiveUp);
}

TEST(TftpSendWindow, BlockNumbersRollOver) {
  EXPECT_EQ(SendWindow::wireBlock(65535), 65535);
  EXPECT_EQ(SendWindow::wireBlock(65536), 0);
  EXPECT_EQ(SendWindow::wireBlock(65537), 1);
  for (std::uint16_t ws : {1, 16}) {
    SendWindow w({.windowsize = ws, .oack = false, .max_retries = 3});
    const std::uint64_t last = 3 * 65536 + 7;
    while (!w.done()) {
      auto sent = drain(w, last);
      ASSERT_FALSE(sent.empty());
      ASSERT_NE(w.onAck(SendWindow::wireBlock(sent.back())), Ack::Unexpected);
    }
    EXPECT_EQ(w.base(), last + 1);
  }
}

TEST(TftpSendWindow, DuplicateAcrossRollover) {
  SendWindow w({.windowsize = 1, .oack = false, .max_retries = 3});
  for (std::uint64_t i = 1; i <= 65535; ++i) {
    drain(w, 1 << 20);
    ASSERT_EQ(w.onAck(SendWindow::wireBlock(i)), Ack::Progress);
  }
  EXPECT_EQ(drain(w, 1 << 20), (std::vector<std::uint64_t>{65536}));
  EXPECT_EQ(w.onAck(65535), Ack::Duplicate);
  EXPECT_EQ(w.onAck(0), Ack::Progress);
  EXPECT_EQ(w.base(), 65537u);
}

TEST(TftpSendWindow, SendableMatchesNextToSend) {
  SendWindow w({.windowsize = 8, .oack = true, .max_retries = 3});
  EXPECT_EQ(w.sendable(), 1u);
  drain(w, 100);
  EXPECT_EQ(w.sendable(), 0u);
  w.onAck(0);
  EXPECT_EQ(w.sendable(), 8u);
  w.nextToSend();
  w.nextToSend();
  EXPECT_EQ(w.sendable(), 6u);
  w.markLast(5);
  EXPECT_EQ(w.sendable(), 3u);
  EXPECT_EQ(drain(w, 5), (std::vector<std::uint64_t>{3, 4, 5}));
  EXPECT_EQ(w.sendable(), 0u);
}

TEST(TftpSendWindow, BackoffDoublesUpToCap) {
  using std::chrono::milliseconds;
  EXPECT_EQ(retransmitTimeout(milliseconds(500), 0, milliseconds(4000)), milliseconds(500));
  EXPECT_EQ(retransmitTimeout(milliseconds(500), 1, milliseconds(4000)), milliseconds(1000));
  EXPECT_EQ(retransmitTimeout(milliseconds(500), 3, milliseconds(4000)), milliseconds(4000));
  EXPECT_EQ(retransmitTimeout(milliseconds(500), 60, milliseconds(4000)), milliseconds(4000));
}

}  // namespace
}  // namespace drover::tftp

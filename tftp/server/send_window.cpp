#include "tftp/server/send_window.hpp"

namespace drover::tftp {

namespace {
// Keeps the blocks in flight plus the one before them distinct modulo 65536.
constexpr std::uint64_t kMaxWindow = 32768;
}  // namespace

SendWindow::SendWindow(Config config)
    : window_(std::clamp<std::uint64_t>(config.windowsize, 1, kMaxWindow)),
      max_retries_(config.max_retries),
      base_(config.oack ? 0 : 1),
      next_(base_),
      sent_end_(base_) {}

std::optional<std::uint64_t> SendWindow::nextToSend() {
  if (base_ == 0 && next_ > 0) return std::nullopt;  // OACK sent, waiting for ACK 0
  if (next_ >= base_ + window_) return std::nullopt;
  if (last_ && next_ > *last_) return std::nullopt;
  sent_end_ = std::max(sent_end_, next_ + 1);
  return next_++;
}

std::uint64_t SendWindow::sendable() const {
  if (base_ == 0) return next_ == 0 ? 1 : 0;
  std::uint64_t end = base_ + window_;
  if (last_) end = std::min(end, *last_ + 1);
  return end > next_ ? end - next_ : 0;
}

SendWindow::Ack SendWindow::onAck(std::uint16_t wire_block) {
  if (done()) return Ack::Unexpected;
  // Blocks sent and not acknowledged: [base_, sent_end_), at most window_ of them, so the
  // match is unique. (After a timeout next_ is back at base_ but those blocks are still out.)
  for (std::uint64_t k = base_; k < sent_end_; ++k) {
    if (wireBlock(k) != wire_block) continue;
    base_ = k + 1;
    next_ = base_;
    retries_ = 0;
    return done() ? Ack::Done : Ack::Progress;
  }
  if (base_ > 0 && wireBlock(base_ - 1) == wire_block) return Ack::Duplicate;
  return Ack::Unexpected;
}

SendWindow::Timeout SendWindow::onTimeout() {
  if (++retries_ > max_retries_) return Timeout::GiveUp;
  next_ = base_;
  return Timeout::Resend;
}

}  // namespace drover::tftp

// Boot phases seen by the protocol servers, written to the nodes' timelines: a finished
// TFTP transfer becomes "tftp_done" (or "tftp_failed") on the node whose reserved address
// fetched it; a DHCP exchange becomes "dhcp_offer", "dhcp_ack", "dhcp_nak", "dhcp_decline"
// or "dhcp_release" on the node matched by MAC (or UUID). Machines that match no node only
// show in the DHCP metrics. The servers call in on their own threads and must not block,
// so the store writes run on one background thread, in order.
#pragma once

#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <boost/asio/thread_pool.hpp>

#include "dhcp/server/observer.hpp"
#include "server/context.hpp"
#include "tftp/server/server.hpp"

namespace drover::server {

class TimelineObserver final : public tftp::TransferObserver, public dhcp::ExchangeObserver {
 public:
  explicit TimelineObserver(Context& ctx) : ctx_(ctx) {}
  ~TimelineObserver() override;

  void onTransferDone(const tftp::TransferRecord& record) override;

  void onOffer(const dhcp::Exchange& e) override { onExchange(e); }
  void onAck(const dhcp::Exchange& e) override { onExchange(e); }
  void onNak(const dhcp::Exchange& e) override { onExchange(e); }
  void onDecline(const dhcp::Exchange& e) override { onExchange(e); }
  void onRelease(const dhcp::Exchange& e) override { onExchange(e); }

  // Queues a timeline entry for `node` (background thread).
  void post(std::string node, std::string phase, std::string message);

 private:
  void onExchange(const dhcp::Exchange& e);

  Context& ctx_;
  boost::asio::thread_pool writer_{1};
};

}  // namespace drover::server

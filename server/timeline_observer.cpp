#include "server/timeline_observer.hpp"

#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include "server/handoff.hpp"

namespace drover::server {

TimelineObserver::~TimelineObserver() { writer_.join(); }

void TimelineObserver::post(std::string node, std::string phase, std::string message) {
  boost::asio::post(writer_, [this, node = std::move(node), phase = std::move(phase),
                              message = std::move(message)]() mutable {
    recordEvent(ctx_, node, std::move(phase), std::move(message));
  });
}

void TimelineObserver::onTransferDone(const tftp::TransferRecord& record) {
  if (!record.client.address().is_v4()) return;
  auto snapshot = ctx_.source.current();
  if (!snapshot) return;
  const Ipv4Address ip(record.client.address().to_v4().to_uint());
  auto it = snapshot->node_by_ip.find(ip);
  if (it == snapshot->node_by_ip.end()) return;
  const bool ok = record.result == tftp::TransferResult::Ok;
  // PXE firmware asks for the size and aborts on purpose; that is not a boot phase.
  if (record.result == tftp::TransferResult::ClientAbort) return;
  post(it->second->name.value, ok ? "tftp_done" : "tftp_failed",
       fmt::format("{} {} bytes blksize={} windowsize={} {}", record.path, record.bytes, record.blksize,
                   record.windowsize, ok ? "" : tftp::resultName(record.result)));
}

void TimelineObserver::onExchange(const dhcp::Exchange& e) {
  auto snapshot = ctx_.source.current();
  if (!snapshot) return;
  const auto match = snapshot->inventory.match(e.mac, e.uuid);
  if (!match.known()) return;
  std::string message = fmt::format("{} mac={} net={}", e.address.isUnspecified() ? "-" : e.address.str(),
                                    e.mac.str(), e.network.empty() ? "-" : e.network);
  if (e.arch) message += fmt::format(" arch={}", *e.arch);
  if (!e.boot_file.empty()) message += " file=" + e.boot_file;
  if (e.proxy) message += " proxy";
  post(match.node->name.value, fmt::format("dhcp_{}", dhcp::kindName(e.kind)), std::move(message));
  // A network boot (the client names its architecture, as PXE firmware does; an installed
  // OS renewing its lease does not) reaches a node sent to the network for a reinstall.
  if (e.arch && ctx_.handoff &&
      (e.kind == dhcp::Exchange::Kind::Offer || e.kind == dhcp::Exchange::Kind::Ack)) {
    boost::asio::post(
        writer_, [h = ctx_.handoff, node = match.node->name.value,
                  how = fmt::format("dhcp_{}", dhcp::kindName(e.kind))] { h->heard(node, how); });
  }
}

}  // namespace drover::server

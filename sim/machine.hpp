// One simulated machine's network boot, as firmware and iPXE do it: DORA with PXE options,
// TFTP download of the loader, DORA again as iPXE, then the boot script(s), kernel and
// initrd over one keep-alive HTTP connection. Every step has firmware-like retries and the
// whole boot a deadline; the outcome lands in a ClientRecord.
#pragma once

#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "sim/config.hpp"
#include "sim/dhcp_client.hpp"
#include "sim/report.hpp"

namespace drover::sim {

// Runs one boot to its end (success, failure or deadline), filling `record`. `start` is the
// run's start; record.index and record.power_on_ms are set by the caller.
boost::asio::awaitable<void> bootMachine(boost::asio::io_context& io, const Config& config, Relay& relay,
                                         Clock::time_point start, ClientRecord& record);

}  // namespace drover::sim

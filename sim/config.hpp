// What one `drover sim` run does: how many simulated PXE machines, how they power on, what
// firmware they imitate and how patient they are. Plain values; the CLI fills them in.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"
#include "common/result.hpp"

namespace drover::sim {

using Millis = std::chrono::milliseconds;

struct Config {
  std::uint32_t clients = 100;           // simulated machines, each with its own MAC
  std::uint32_t concurrency = 1000;      // machines booting at once; later ones wait
  Millis spread{0};                      // power-on times spread uniformly over this
  std::uint64_t seed = 1;                // for the power-on schedule
  Millis deadline{std::chrono::minutes(5)};  // per machine, from its power-on
  Millis run_limit{std::chrono::minutes(30)};  // the whole run, a safety bound

  // DHCP: the server (unicast, as a relay does) and the relay address the sim acts as.
  Ipv4Address server{};
  std::vector<Ipv4Address> more_servers;  // relayed to as well, as a relay with several servers
  std::uint16_t server_port = 67;
  Ipv4Address relay{};                   // giaddr; the sim listens on relay:relay_port
  std::uint16_t relay_port = 67;
  MacAddress mac_base{std::array<std::uint8_t, 6>{0x52, 0x54, 0x00, 0x5a, 0x00, 0x00}};
  std::uint16_t arch = 0;                // option 93: 0 BIOS, 7 EFI x64, ...
  // Firmware retransmit schedule for DISCOVER and REQUEST (PXE spec: 4, 8, 16, 32 s).
  std::vector<Millis> dhcp_timeouts{Millis(4000), Millis(8000), Millis(16000), Millis(32000)};

  // TFTP, like firmware: a tsize probe aborted after the OACK, then the download.
  bool tftp_probe = true;
  std::uint16_t blksize = 1468;
  std::uint16_t windowsize = 4;          // EDK2 asks for 4; 1 leaves the option out
  Millis tftp_timeout{1000};             // first retransmit timeout, doubled per retry
  int tftp_retries = 5;

  // HTTP (iPXE): one keep-alive connection per machine; failed GETs retried.
  int http_retries = 2;
  // A failed boot starts over from DHCP this many times (before the deadline), as firmware
  // that loops over its boot order does.
  int reboots = 0;
  Millis http_timeout{std::chrono::seconds(60)};  // per request, no progress

  // HTTP only: every machine starts at this iPXE script URL, with no DHCP and no TFTP (as a
  // machine with a static address that boots from a URL). Measures the HTTP side alone:
  // the script, kernel and initrd of every machine. Empty: the whole PXE boot.
  std::string script_url;

  // Bind each machine's TFTP and HTTP sockets to its leased address (needs a local route
  // for the pool, e.g. `ip route add local 198.51.100.0/24 dev lo`).
  bool bind_leased = false;
};

}  // namespace drover::sim

namespace drover::sim {

// "250ms", "4s", "5m", "1h", or a plain number of seconds ("4"). Fractions allowed ("1.5s").
Result<Millis> parseDuration(std::string_view text);
// A comma-separated list of durations: "4s,8s,16s,32s" or "4,8,16,32".
Result<std::vector<Millis>> parseDurations(std::string_view text);

}  // namespace drover::sim

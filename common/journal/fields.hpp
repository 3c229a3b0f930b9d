// One log line as the fields of a journald entry. A line is an event word and key=value
// pairs (common/log.hpp):
//
//   dhcp, info, `DHCP_ACK mac=52:54:00:12:34:56 ip=192.0.2.10 why="a b"` ->
//     MESSAGE=DHCP_ACK mac=52:54:00:12:34:56 ip=192.0.2.10 why="a b"
//     PRIORITY=6  SYSLOG_IDENTIFIER=drover  DROVER_COMPONENT=dhcp  DROVER_EVENT=DHCP_ACK
//     DROVER_MAC=52:54:00:12:34:56  DROVER_IP=192.0.2.10  DROVER_WHY=a b
//
// The event is the leading word if it is UPPER_CASE ([A-Z][A-Z0-9_]*). A pair's key is
// upper-cased ('-' and '.' become '_'); a value is the rest of its word, or the text between
// double quotes. Bounded: at most kMaxPairs pairs, keys of at most kMaxKey characters,
// values cut to kMaxValue bytes; the first of two equal keys wins, and keys that would
// shadow DROVER_COMPONENT or DROVER_EVENT are left out.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/common.h>

namespace drover::journal {

inline constexpr std::size_t kMaxPairs = 16;
inline constexpr std::size_t kMaxKey = 32;
inline constexpr std::size_t kMaxEvent = 64;
inline constexpr std::size_t kMaxValue = 256;

// syslog(3) priority of a spdlog level: trace and debug 7, info 6, warn 4, error 3,
// critical 2.
int priority(spdlog::level::level_enum level);

// The leading UPPER_CASE event word of `text`, or "" if it has none.
std::string_view eventOf(std::string_view text);

// The entry's fields, each "NAME=value": MESSAGE, PRIORITY, SYSLOG_IDENTIFIER,
// DROVER_COMPONENT, DROVER_EVENT (when there is one), then DROVER_<KEY> per pair.
std::vector<std::string> entryFields(spdlog::level::level_enum level, std::string_view logger,
                                     std::string_view text);

}  // namespace drover::journal

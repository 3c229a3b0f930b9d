// A DHCP lease as it is kept in etcd: one JSON value per address, with the replica that
// wrote it. Pure: no I/O; decoding never throws and names what is wrong.
//
//   {"ip":"192.0.2.10","client":"<base64 client key>","mac":"52:54:00:12:34:56",
//    "state":"bound","expires":1767225600,"network":"rack1","hostname":"node-1","by":"a"}
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "dhcp/server/lease_store.hpp"

namespace drover::ha {

struct StoredLease {
  dhcp::Lease lease;
  std::string by;  // the replica that wrote it
};

std::string encodeLease(const dhcp::Lease& lease, std::string_view by);
// Error code lease_corrupt, its message naming the field.
Result<StoredLease> decodeLease(std::string_view json);

// "<prefix>/leases/" and the key of one address under it.
std::string leasePrefix(std::string_view prefix);
std::string leaseKey(std::string_view prefix, Ipv4Address ip);

}  // namespace drover::ha

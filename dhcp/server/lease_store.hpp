// Leases and the durable store behind them.
//
// The engine keeps every lease in memory (LeaseTable) and sends each change to a
// LeaseStore as a LeaseWrite; a reply that depends on a change is sent only after apply()
// has returned success for it. Backends: MemoryLeaseStore (tests), SqliteLeaseStore
// (default). Every backend passes tests/dhcp/lease_store_conformance_test.cpp.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/net.hpp"
#include "common/result.hpp"
#include "common/wire.hpp"

namespace drover::dhcp {

enum class LeaseState : std::uint8_t {
  Offered = 0,   // held for an OFFER; kept in memory only, never stored
  Bound = 1,     // ACKed
  Released = 2,  // RELEASEd; the address is free but remembered for the same client
  Declined = 3,  // DECLINEd: quarantined until `expires`, client key cleared
};

std::string_view leaseStateName(LeaseState s);

struct Lease {
  Ipv4Address ip;
  std::string client_key;  // option 61, else htype + chaddr (see Engine::clientKey)
  MacAddress mac;
  LeaseState state = LeaseState::Bound;
  std::int64_t expires = 0;  // Unix seconds
  std::string network;
  std::string hostname;

  friend bool operator==(const Lease&, const Lease&) = default;
};

// True if `lease` leaves its address free for `client_key` at `now`: the client's own lease,
// a released or expired one; a Declined address only once its quarantine has passed.
bool leaseFreeFor(const Lease& lease, const std::string& client_key, std::int64_t now);

struct LeaseWrite {
  enum class Op : std::uint8_t { Put, Remove };  // Remove: by lease.ip
  Op op = Op::Put;
  Lease lease;
};

class LeaseStore {
 public:
  virtual ~LeaseStore() = default;
  // Every stored lease, for a restart.
  virtual Result<std::vector<Lease>> loadAll() = 0;
  // Applies the writes in order, atomically, and returns once they are durable. Leases are
  // keyed by address: a Put replaces the lease for the same ip.
  virtual Status apply(std::span<const LeaseWrite> writes) = 0;
  // Applies several independent groups of writes (one per reply) and says how each one went.
  // By default all of them in one apply(), so they share its outcome; a store shared with
  // other servers overrides it so that one group's conflict does not fail the others.
  virtual std::vector<Status> applyGroups(std::span<const std::vector<LeaseWrite>> groups);
};

// Keeps leases in a map; durable for the life of the object. Thread-safe.
class MemoryLeaseStore final : public LeaseStore {
 public:
  Result<std::vector<Lease>> loadAll() override;
  Status apply(std::span<const LeaseWrite> writes) override;

 private:
  std::mutex mu_;
  std::unordered_map<std::uint32_t, Lease> leases_;
};

}  // namespace drover::dhcp

// A StateStore that answers the boot path's reads from memory: node records (present or
// absent) and the last entries of each node's timeline, kept current by the writes that go
// through it. Only right when every write to the inner store goes through this object: one
// `drover serve` on its own SQLite database. Not for etcd, where other replicas write.
//
// The script route reads a node's record and its last timeline entries on every request;
// from SQLite each read costs a transaction (file locks, a statement), which is most of
// what separates a script from a static file. Misses are read from the inner store under
// the write lock, so a write cannot slip between the read and the fill. Memory is bounded
// (the whole cache is dropped past kMaxNodes names).
#pragma once

#include <memory>

#include "state/forwarding_store.hpp"

namespace drover::state {

std::unique_ptr<StateStore> cachingStore(std::unique_ptr<StateStore> inner);

}  // namespace drover::state

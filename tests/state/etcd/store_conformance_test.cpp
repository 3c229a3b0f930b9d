// EtcdStore passes the StateStore conformance suite, against a real etcd (skipped without
// /usr/bin/etcd, failed without it when CI is set).
#include "tests/state/store_conformance.hpp"
#include "tests/state/etcd/store_support.hpp"

namespace drover::state {
namespace {

INSTANTIATE_TYPED_TEST_SUITE_P(Etcd, StoreConformance, ::testing::Types<EtcdFactory>);

}  // namespace
}  // namespace drover::state

// A `drover serve` replica for the HA tests: started on a shared declaration (no DHCP, no
// TFTP) against the shared test etcd, and waited for until its record is in etcd.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ha/membership.hpp"
#include "tests/ha/etcd_fixture.hpp"
#include "tests/support/netns.hpp"

namespace drover::ha::test {

// Starts replica `id` with state in dir/id and its log in dir/id.log; `info` gets the
// record it published. A failed wait is a test failure carrying the replica's log.
inline void startReplica(const std::string& drover, const std::filesystem::path& dir,
                         const std::string& prefix, const std::string& id,
                         std::unique_ptr<dhcp::test::Process>& process, ReplicaInfo& info) {
  process = std::make_unique<dhcp::test::Process>(
      std::vector<std::string>{drover, "--log-level", "info", "serve", "--config",
                               (dir / "cluster.yaml").string(), "--state-dir", (dir / id).string(),
                               "--replica-id", id, "--no-dhcp", "--no-tftp"},
      (dir / (id + ".log")).string());
  auto etcd = SharedEtcd::client();
  ASSERT_TRUE(dhcp::test::waitFor(
      [&] {
        auto kv = etcd->get(prefix + "/replicas/" + id);
        if (!kv || !*kv) return false;
        auto decoded = decodeReplica((*kv)->value);
        if (!decoded) return false;
        info = *decoded;
        return true;
      },
      std::chrono::seconds(30)))
      << dhcp::test::readFile((dir / (id + ".log")).string());
}

}  // namespace drover::ha::test

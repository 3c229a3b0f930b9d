// Two `drover serve` replicas (the real binary, no DHCP or TFTP, listeners on 127.0.0.1 port
// 0) on one etcd, and an upstream (image_server.py) that serves a url-declared kernel:
// - the kernel fetched by r0 is served by r1 from r0's copy (the upstream is gone), with the
//   same bytes;
// - when r0's copy has rotted, r1 refuses it (counted in its /metrics) and takes the
//   upstream's;
// - `drover images list` says the same through either replica's state directory.
// Skipped without etcd; under CI a missing etcd fails instead.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ha/membership.hpp"
#include "images/fetch/fetcher.hpp"
#include "images/verify/signature.hpp"
#include "tests/ha/etcd_fixture.hpp"
#include "tests/ha/replica_process.hpp"
#include "tests/images/image_server.hpp"
#include "tests/support/cluster_yaml.hpp"
#include "tests/support/netns.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::ha {
namespace {

using dhcp::test::Process;
using dhcp::test::readFile;
using dhcp::test::waitFor;

std::string sha256Hex(const std::string& s) {
  images::verify::Sha256Hasher h;
  h.update({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  return h.finish().hex();
}

// Sum of the samples of `name` whose labels contain `label`.
double metric(const std::string& text, const std::string& name, const std::string& label) {
  double sum = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with(name + "{") && !line.starts_with(name + " ")) continue;
    if (line.find(label) == std::string::npos) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

class ImagesOnReplicas : public ::testing::Test {
 protected:
  void SetUp() override {
    DROVER_REQUIRE_SHARED_ETCD();
    drover_ = dhcp::test::binaryDir() + "/bin/drover";
    ASSERT_TRUE(std::filesystem::exists(drover_)) << drover_ << " is not built";
    prefix_ = test::SharedEtcd::prefix();
    std::filesystem::create_directories(dir_ / "upstream");
    drover::test::writeFile(dir_ / "upstream/vmlinuz", kernel_);
    upstream_ = std::make_unique<drover::test::ImageServer>(dir_ / "upstream");

    drover::test::ClusterYaml y;
    y.state = fmt::format("{{ backend: etcd, endpoints: [\"{}\"], prefix: {}, replica_ttl: 2s }}",
                          test::SharedEtcd::get()->endpoint, prefix_);
    std::string yaml = y.str();
    const std::string local = "kernel: { path: images/vmlinuz }";
    yaml.replace(
        yaml.find(local), local.size(),
        fmt::format("kernel: {{ url: \"{}\", sha256: \"{}\" }}", upstream_->url("vmlinuz"), sha_));
    drover::test::writeSiteFiles(dir_.path(), "local-kernel");
    drover::test::writeFile(dir_ / "cluster.yaml", yaml);
    for (int i = 0; i < 2; ++i) ASSERT_NO_FATAL_FAILURE(start(i));
  }

  void start(int i) {
    ReplicaInfo info;
    ASSERT_NO_FATAL_FAILURE(test::startReplica(drover_, dir_.path(), prefix_,
                                               "r" + std::to_string(i), replicas_[i], info));
    http_[i] = info.http_url;
  }

  void TearDown() override {
    for (auto& r : replicas_)
      if (r) {
        r->signal(SIGTERM);
        r->wait();
      }
  }

  Result<std::string> get(int i, const std::string& path) {
    return images::fetch::fetchSmall(http_[i] + path, "", 1 << 20);
  }
  std::filesystem::path blobOf(int i) const {
    return dir_ / ("r" + std::to_string(i)) / "images/blobs/sha256" / sha_;
  }

  std::string imagesList(int i) {
    const auto out = dir_ / ("list" + std::to_string(i) + ".json");
    const int rc =
        dhcp::test::sh(fmt::format("({} images list --json --config {} --state-dir {} > {} 2>&1)",
                                   drover_, (dir_ / "cluster.yaml").string(),
                                   (dir_ / ("r" + std::to_string(i))).string(), out.string()));
    EXPECT_EQ(rc, 0) << readFile(out.string());
    return readFile(out.string());
  }

  drover::test::TempDir dir_{"drover-ha-images"};
  std::string drover_, prefix_;
  const std::string kernel_ = std::string(96 * 1024, 'K') + "end";
  const std::string sha_ = sha256Hex(kernel_);
  std::unique_ptr<drover::test::ImageServer> upstream_;
  std::unique_ptr<Process> replicas_[2];
  std::string http_[2];
};

TEST_F(ImagesOnReplicas, AKernelFetchedByOneReplicaIsServedByTheOtherAndARottenCopyIsRefused) {
  auto first = get(0, "/assets/boot-env/kernel");
  ASSERT_TRUE(first.ok()) << first.error().message << readFile((dir_ / "r0.log").string());
  EXPECT_EQ(*first, kernel_);
  std::filesystem::remove(dir_ / "upstream/vmlinuz");

  // r1 has never seen it and the upstream is gone: r0's copy, by digest.
  auto second = get(1, "/assets/boot-env/kernel");
  ASSERT_TRUE(second.ok()) << second.error().message << readFile((dir_ / "r1.log").string());
  EXPECT_EQ(*second, kernel_);
  EXPECT_EQ(upstream_->gets("vmlinuz"), 1);
  auto m0 = get(0, "/metrics");
  ASSERT_TRUE(m0.ok());
  EXPECT_EQ(metric(*m0, "drover_image_blobs_served_total", ""), 1) << *m0;

  // Both replicas list one catalog.
  EXPECT_EQ(imagesList(0), imagesList(1));
  const std::string listed = imagesList(1);
  EXPECT_NE(listed.find(sha_), std::string::npos) << listed;

  // r0's copy rots (same length); r1 loses its own: r1 refuses r0's bytes and goes upstream.
  std::filesystem::permissions(blobOf(0), std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  drover::test::writeFile(blobOf(0), std::string(kernel_.size(), 'R'));
  std::filesystem::remove(blobOf(1));
  drover::test::writeFile(dir_ / "upstream/vmlinuz", kernel_);
  auto third = get(1, "/assets/boot-env/kernel");
  ASSERT_TRUE(third.ok()) << third.error().message << readFile((dir_ / "r1.log").string());
  EXPECT_EQ(*third, kernel_);
  EXPECT_EQ(upstream_->gets("vmlinuz"), 2);
  auto m1 = get(1, "/metrics");
  ASSERT_TRUE(m1.ok());
  EXPECT_EQ(metric(*m1, "drover_image_peer_refused_total", "reason=\"peer_sha256_mismatch\""), 1)
      << *m1;
  EXPECT_NE(readFile((dir_ / "r1.log").string()).find("IMAGE_PEER_REFUSED"), std::string::npos);
}

}  // namespace
}  // namespace drover::ha

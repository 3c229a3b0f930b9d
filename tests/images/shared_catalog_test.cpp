// The catalog shared by replicas, in process: the metadata conformance suite on the file
// backend and on etcd, and two or three catalogs (each its own blob store, one etcd prefix)
// standing for replicas, their blob endpoints and the upstream served by one image_server.py
// (/peer/<id>/blobs/sha256/<hex>: the same paths `drover serve` answers on, under a prefix):
// - an image fetched by A is served by B with the same bytes, fetched from A, not upstream;
// - a peer that sends other bytes is refused (counted) and the next source tried; when every
//   source lies nothing is published;
// - a captured disk published on A is installable from B, its capture record with it;
// - concurrent requests for one missing blob fetch it once.
// Skipped without /usr/bin/etcd; failed without it when CI is set.
#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/metrics.hpp"
#include "images/catalog/catalog.hpp"
#include "images/shared/etcd_metadata.hpp"
#include "tests/images/image_server.hpp"
#include "tests/images/metadata_conformance.hpp"
#include "tests/support/etcd_server.hpp"

namespace drover::images {
namespace {

using test::TempDir;

// One etcd member for the whole binary, started on first use.
struct Etcd {
  static test::EtcdServer* get() {
    static std::unique_ptr<test::EtcdServer> server = [] {
      if (!test::etcdAvailable()) return std::unique_ptr<test::EtcdServer>();
      auto s = std::make_unique<test::EtcdServer>();
      if (!s->start()) {
        why() = s->log();
        return std::unique_ptr<test::EtcdServer>();
      }
      return s;
    }();
    return server.get();
  }
  static std::string& why() {
    static std::string w;
    return w;
  }
  static std::shared_ptr<etcd::Client> client() {
    auto c = etcd::Client::create({get()->endpoint});
    EXPECT_TRUE(c.ok());
    return std::make_shared<etcd::Client>(std::move(*c));
  }
  static std::string prefix() {
    static std::atomic<int> n{0};
    return "/images-test/" + std::to_string(++n) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }
};

#define REQUIRE_ETCD()                                                         \
  do {                                                                         \
    DROVER_REQUIRE_ETCD();                                                     \
    ASSERT_NE(Etcd::get(), nullptr) << "etcd did not start:\n" << Etcd::why(); \
  } while (0)

struct FileFactory {
  static void setUpSuite() {}
  static void tearDownSuite() {}
  void setUp() {}
  std::unique_ptr<store::Metadata> make(const std::filesystem::path& dir) {
    root = dir;
    return another();
  }
  std::unique_ptr<store::Metadata> another() { return std::make_unique<store::FileMetadata>(root); }
  std::filesystem::path root;
};

struct EtcdFactory {
  static void setUpSuite() {}
  static void tearDownSuite() {}
  void setUp() { REQUIRE_ETCD(); }
  std::unique_ptr<store::Metadata> make(const std::filesystem::path&) {
    prefix = Etcd::prefix();
    return another();
  }
  std::unique_ptr<store::Metadata> another() {
    return std::make_unique<shared::EtcdMetadata>(Etcd::client(), prefix);
  }
  std::string prefix;
};

}  // namespace
}  // namespace drover::images

namespace drover::images::store {
INSTANTIATE_TYPED_TEST_SUITE_P(File, MetadataConformance, ::testing::Types<FileFactory>);
INSTANTIATE_TYPED_TEST_SUITE_P(Etcd, MetadataConformance, ::testing::Types<EtcdFactory>);
}  // namespace drover::images::store

namespace drover::images {
namespace {

std::string readAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::uint64_t refused(const std::string& reason) {
  return static_cast<std::uint64_t>(metrics::Registry::global().valueForTest(
      "image_peer_refused_total", "reason=\"" + reason + "\""));
}

// Replicas: catalogs on one etcd prefix, each with a store of its own and its blob endpoint
// (image_server.py over <store>/blobs/sha256), and an upstream.
class SharedCatalog : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_ETCD();
    prefix_ = Etcd::prefix();
    server_ = std::make_unique<test::ImageServer>(dir_.path());
  }

  // Replica `id`, serving its blobs; `slow`: its endpoint answers after a pause.
  catalog::Catalog& replica(const std::string& id, bool slow = false) {
    catalog::Options o;
    o.root = dir_ / id;
    o.metadata = std::make_shared<shared::EtcdMetadata>(Etcd::client(), prefix_);
    o.replica_id = id;
    o.max_attempts = 1;
    o.backoff = std::chrono::milliseconds(10);
    o.peer_url = [this](const std::string& peer) -> std::string {
      auto it = endpoints_.find(peer);
      return it == endpoints_.end() ? "" : it->second;
    };
    auto& c = catalogs_[id];
    c = std::make_unique<catalog::Catalog>(o);
    EXPECT_TRUE(c->init().ok());
    endpoints_[id] = server_->url((slow ? "slow/peer/" : "peer/") + id);
    return *c;
  }

  catalog::ArtifactSpec spec(const std::string& content) {
    catalog::ArtifactSpec s;
    s.image = "web";
    s.kind = "disk";
    s.url = server_->url("disk.img");
    s.sha256 = store::digestOf(content);
    return s;
  }

  TempDir dir_{"drover-shared-catalog"};
  std::string prefix_;
  std::unique_ptr<test::ImageServer> server_;  // the upstream, and every replica's endpoint
  std::map<std::string, std::string> endpoints_;
  std::map<std::string, std::unique_ptr<catalog::Catalog>> catalogs_;
};

TEST_F(SharedCatalog, AnImageFetchedByAIsServedByBWithTheSameBytesFromA) {
  const std::string content(200 * 1024, 'w');
  test::writeFile(dir_ / "disk.img", content);
  auto& a = replica("a");
  auto& b = replica("b");
  auto got_a = a.ensure(spec(content));
  ASSERT_TRUE(got_a.ok()) << got_a.error().message;
  std::filesystem::remove(dir_ / "disk.img");  // from now on only A has it

  // Both list the same catalog.
  auto la = a.list(), lb = b.list();
  ASSERT_TRUE(la.ok() && lb.ok());
  EXPECT_EQ(store::encodeIndex(*la), store::encodeIndex(*lb));

  auto got_b = b.ensure(spec(content));
  ASSERT_TRUE(got_b.ok()) << got_b.error().message;
  EXPECT_EQ(got_b->sha256, got_a->sha256);
  EXPECT_EQ(readAll(got_b->path), content);
  EXPECT_EQ(server_->gets("peer/a/blobs/sha256/" + got_a->sha256.hex()), 1);
  EXPECT_EQ(server_->gets("disk.img"), 1);
  // B holds it now too, and says so.
  auto holders = shared::EtcdMetadata(Etcd::client(), prefix_).holders(got_a->sha256);
  ASSERT_TRUE(holders.ok());
  EXPECT_EQ(*holders, (std::vector<std::string>{"a", "b"}));
}

TEST_F(SharedCatalog, APeerThatSendsOtherBytesIsRefusedAndTheNextSourceTried) {
  const std::string content(64 * 1024, 'c');
  test::writeFile(dir_ / "disk.img", content);
  auto& a = replica("a");
  auto& good = replica("c");
  auto& b = replica("b");
  auto first = a.ensure(spec(content));
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(good.ensure(spec(content)).ok());  // C fetched it from A, when A's copy was sound
  std::filesystem::remove(dir_ / "disk.img");
  // A's copy rots: same length, other bytes. A serves it as it is.
  std::filesystem::permissions(first->path, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  std::string rotten = content;
  rotten[1000] = 'X';
  test::writeFile(first->path, rotten);

  const std::string path = "blobs/sha256/" + first->sha256.hex();
  const auto before = refused("peer_sha256_mismatch");
  const int a_before = server_->gets("peer/a/" + path);
  auto got = b.version("web", "disk", first->sha256);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(readAll(got->path), content);
  EXPECT_EQ(refused("peer_sha256_mismatch"), before + 1);
  EXPECT_EQ(server_->gets("peer/a/" + path), a_before + 1);  // A first (ids in order), refused
  EXPECT_EQ(server_->gets("peer/c/" + path), 1);             // then C
  EXPECT_EQ(server_->gets("disk.img"), 1);                   // A's first fetch only
}

TEST_F(SharedCatalog, WhenEverySourceLiesNothingIsPublished) {
  const std::string content(32 * 1024, 'l');
  test::writeFile(dir_ / "disk.img", content);
  auto& a = replica("a");
  auto& b = replica("b");
  auto first = a.ensure(spec(content));
  ASSERT_TRUE(first.ok()) << first.error().message;
  std::filesystem::permissions(first->path, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  test::writeFile(first->path, std::string(content.size(), 'X'));
  test::writeFile(dir_ / "disk.img", std::string(content.size() + 10, 'Y'));  // longer, too

  const auto peer = refused("peer_sha256_mismatch"), up = refused("upstream_sha256_mismatch");
  auto got = b.version("web", "disk", first->sha256);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, "sha256_mismatch");
  EXPECT_EQ(refused("peer_sha256_mismatch"), peer + 1);
  EXPECT_EQ(refused("upstream_sha256_mismatch"), up + 1);
  EXPECT_FALSE(b.blobs().has(first->sha256));
  EXPECT_TRUE(b.blobs().list().empty());
  for (const auto& e : std::filesystem::directory_iterator(b.blobs().tmpDir()))
    EXPECT_FALSE(e.path().extension() == ".fetch") << e.path();
}

TEST_F(SharedCatalog, ADiskCapturedOnAIsInstallableFromB) {
  auto& a = replica("a");
  auto& b = replica("b");
  const std::string captured(96 * 1024, 'z');
  std::filesystem::create_directories(a.blobs().tmpDir());
  test::writeFile(a.blobs().tmpDir() / "capture-node-1.partial", captured);
  catalog::LocalFile lf;
  lf.image = "web";
  lf.file = a.blobs().tmpDir() / "capture-node-1.partial";
  lf.expected = store::digestOf(captured);
  lf.source = "capture://node-1";
  lf.metadata_json = R"({"format":"raw.zst","node":"node-1"})";
  auto published = a.publishLocal(lf);
  ASSERT_TRUE(published.ok()) << published.error().message;

  // What B's install plan does: the declared image's current version (the capture; the
  // upstream has nothing), and its capture record.
  catalog::ArtifactSpec s;
  s.image = "web";
  s.kind = "disk";
  s.url = server_->url("disk.img");
  auto current = b.ensure(s);
  ASSERT_TRUE(current.ok()) << current.error().message;
  EXPECT_EQ(current->sha256, lf.expected);
  EXPECT_EQ(readAll(current->path), captured);
  auto meta = b.metadataOf(lf.expected);
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(*meta, lf.metadata_json);
  // The plan's URL names the version: B serves it by digest.
  auto version = b.version("web", "disk", lf.expected);
  ASSERT_TRUE(version.ok()) << version.error().message;
  EXPECT_EQ(server_->gets("disk.img"), 0);
}

TEST_F(SharedCatalog, ConcurrentRequestsForOneMissingBlobFetchItOnce) {
  const std::string content(128 * 1024, 'q');
  test::writeFile(dir_ / "disk.img", content);
  auto& a = replica("a", /*slow=*/true);
  auto& b = replica("b");
  auto first = a.ensure(spec(content));
  ASSERT_TRUE(first.ok()) << first.error().message;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      auto got = b.version("web", "disk", first->sha256);
      if (got && readAll(got->path) == content) ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(server_->gets("slow/peer/a/blobs/sha256/" + first->sha256.hex()), 1);
}

// Background checks on replicas: every replica may try, one asks upstream (the others find
// its claim, or its fresh check, on the shared index and skip).
TEST_F(SharedCatalog, OneReplicaChecksAnImageAtATime) {
  const std::string content(64 * 1024, 'u');
  test::writeFile(dir_ / "disk.img", content);
  auto& a = replica("a");
  auto& b = replica("b");
  auto s = spec(content);
  s.url = server_->url("slow/disk.img");  // each check lasts half a second
  s.interval = std::chrono::seconds(1);
  ASSERT_TRUE(a.ensure(s).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  std::vector<std::thread> threads;
  std::mutex mu;
  std::map<std::string, int> results;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      catalog::CheckOptions o;
      o.owner = "replica-" + std::to_string(i);  // four processes, on two stores
      auto r = (i % 2 == 0 ? a : b).check(s, o);
      std::lock_guard lock(mu);
      ++results[r.result + (r.reason.empty() ? "" : ":" + r.reason)];
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(results["unchanged"], 1);
  EXPECT_EQ(results["skipped:claimed"] + results["skipped:not_due"], 3);
  EXPECT_EQ(server_->gets("slow/disk.img"), 2);  // the first fetch and one conditional GET
}

// A version one replica collects is deleted from every replica's store, by each replica's
// own collection (from the "collected" event on the shared index).
TEST_F(SharedCatalog, AVersionCollectedByOneReplicaLeavesEveryStore) {
  const std::string v1(32 * 1024, '1'), v2(32 * 1024, '2');
  test::writeFile(dir_ / "disk.img", v1);
  auto& a = replica("a");
  auto& b = replica("b");
  auto old = a.ensure(spec(v1));
  ASSERT_TRUE(old.ok());
  ASSERT_TRUE(b.version("web", "disk", old->sha256).ok());  // B holds a copy too
  test::writeFile(dir_ / "disk.img", v2);
  auto s2 = spec(v2);  // the declaration moved on
  s2.expire = std::chrono::seconds(1);
  ASSERT_TRUE(a.ensure(s2).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto by_a = a.collect({s2}, {});
  ASSERT_TRUE(by_a.ok()) << by_a.error().message;
  EXPECT_EQ(by_a->removed.size(), 1u);
  EXPECT_FALSE(a.blobs().has(old->sha256));
  EXPECT_TRUE(b.blobs().has(old->sha256));
  auto by_b = b.collect({s2}, {});
  ASSERT_TRUE(by_b.ok()) << by_b.error().message;
  EXPECT_TRUE(by_b->removed.empty());  // collected once, by A
  EXPECT_EQ(by_b->blobs_removed, 1u);
  EXPECT_FALSE(b.blobs().has(old->sha256));
  auto holders = shared::EtcdMetadata(Etcd::client(), prefix_).holders(old->sha256);
  ASSERT_TRUE(holders.ok());
  EXPECT_TRUE(holders->empty());
}

}  // namespace
}  // namespace drover::images

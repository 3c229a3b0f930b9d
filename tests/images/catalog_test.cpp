// The catalog against a real upstream (tests/images/image_server.py on loopback): checksum
// mismatch refused, 404 and TLS failures named, interrupted downloads resumed, concurrent
// uses sharing one download, 304 re-checks, new versions, expiry and pinning, signatures.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "images/catalog/catalog.hpp"
#include "images/verify/signature.hpp"
#include "tests/images/image_server.hpp"
#include "tests/images/keys.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::images::catalog {
namespace {

using test::TempDir;

Sha256 digestOf(const std::string& s) {
  verify::Sha256Hasher h;
  h.update({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  return h.finish();
}

std::string content(std::size_t n, char seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + (i * 7) % 61);
  return s;
}

std::string readAll(const std::filesystem::path& p) {
  return *verify::readSmallFile(p, 64 << 20);
}

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(upstream_);
    test::writeFile(upstream_ / "disk.raw", disk_);
    server_ = std::make_unique<test::ImageServer>(upstream_);
    catalog_ = makeCatalog();
  }
  std::unique_ptr<Catalog> makeCatalog(int attempts = 3) {
    Options o;
    o.root = dir_.path() / "state" / "images";
    o.trust_keys = {{"release", dir_.path() / "k.pub"}};
    o.max_attempts = attempts;
    o.backoff = std::chrono::milliseconds(10);
    o.now_ms = [this] { return now_.load(); };
    auto c = std::make_unique<Catalog>(o);
    EXPECT_TRUE(c->init());
    return c;
  }
  ArtifactSpec spec(const std::string& path, std::optional<Sha256> sha) const {
    ArtifactSpec s;
    s.image = "debian-12";
    s.kind = "disk";
    s.url = server_->url(path);
    s.sha256 = sha;
    return s;
  }
  std::size_t versions() const {
    auto d = catalog_->list();
    const auto* e = d->find("debian-12", "disk");
    return e == nullptr ? 0 : e->versions.size();
  }

  TempDir dir_{"catalog-test"};
  std::filesystem::path upstream_ = dir_.path() / "upstream";
  std::string disk_ = content(3 << 20, 'a');
  std::unique_ptr<test::ImageServer> server_;
  std::atomic<std::int64_t> now_{1'000'000'000'000};
  std::unique_ptr<Catalog> catalog_;
};

TEST_F(CatalogTest, FetchesVerifiesAndThenServesFromTheCache) {
  auto r = catalog_->ensure(spec("disk.raw", digestOf(disk_)));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->fetched);
  EXPECT_EQ(r->sha256, digestOf(disk_));
  EXPECT_EQ(readAll(r->path), disk_);
  auto again = catalog_->ensure(spec("disk.raw", digestOf(disk_)));
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->fetched);
  EXPECT_EQ(server_->gets("disk.raw"), 1);
  EXPECT_EQ(versions(), 1u);
  for (const auto& row : catalog_->verifyAll()) EXPECT_TRUE(row.status) << row.what;
}

TEST_F(CatalogTest, ChecksumMismatchIsRefusedAndNothingIsPublished) {
  auto r = catalog_->ensure(spec("disk.raw", digestOf("something else")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "sha256_mismatch");
  EXPECT_TRUE(catalog_->blobs().list().empty());
  EXPECT_EQ(versions(), 0u);
}

TEST_F(CatalogTest, NotFoundAndTlsFailuresAreNamed) {
  auto r = catalog_->ensure(spec("missing.raw", digestOf(disk_)));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "not_found");
  EXPECT_NE(r.error().message.find("404"), std::string::npos);

  auto tls = spec("disk.raw", digestOf(disk_));
  tls.url.replace(0, 4, "https");  // a TLS handshake with a plain HTTP server
  r = catalog_->ensure(tls);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "tls") << r.error().message;
  EXPECT_TRUE(catalog_->blobs().list().empty());
}

TEST_F(CatalogTest, InterruptedDownloadIsResumedWithRange) {
  auto r = catalog_->ensure(spec("drop-once/disk.raw", digestOf(disk_)));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(readAll(r->path), disk_);
  auto stats = server_->stats();
  ASSERT_EQ(stats["ranges"].size(), 1u) << stats.dump();
  EXPECT_NE(stats["ranges"][0].get<std::string>().find("bytes="), std::string::npos);
  EXPECT_EQ(stats["gets"]["/drop-once/disk.raw"], 2);
}

TEST_F(CatalogTest, PartialFileFromAFailedRunIsResumedByTheNextOne) {
  auto once = makeCatalog(1);
  auto r = once->ensure(spec("drop-once/disk.raw", digestOf(disk_)));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "network");
  const auto partial = dir_.path() / "state/images/tmp" / (digestOf(disk_).hex() + ".partial");
  ASSERT_TRUE(std::filesystem::exists(partial));
  EXPECT_GT(std::filesystem::file_size(partial), 0u);
  r = catalog_->ensure(spec("drop-once/disk.raw", digestOf(disk_)));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(readAll(r->path), disk_);
  EXPECT_EQ(server_->stats()["ranges"].size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(partial));
}

TEST_F(CatalogTest, FileChangedUpstreamSinceThePartialIsFetchedWhole) {
  // The first run keeps half of the old file; then upstream replaces it. The resume sends
  // If-Range with the old ETag, so the server answers with the whole new file instead of
  // its second half (which would splice two versions together).
  const std::string changed = content(3 << 20, 'k');
  auto once = makeCatalog(1);
  auto r = once->ensure(spec("drop-once/disk.raw", digestOf(changed)));
  ASSERT_FALSE(r);
  test::writeFile(upstream_ / "disk.raw", changed);
  r = catalog_->ensure(spec("drop-once/disk.raw", digestOf(changed)));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(readAll(r->path), changed);
  auto ranges = server_->stats()["ranges"];
  ASSERT_EQ(ranges.size(), 1u) << ranges.dump();
  EXPECT_NE(ranges[0].get<std::string>().find("if-range=\""), std::string::npos) << ranges.dump();
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "state/images/tmp" /
                                       (digestOf(changed).hex() + ".partial.validator")));
}

TEST_F(CatalogTest, ConcurrentUsesShareOneDownload) {
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto r =
          catalog_->ensure(spec("slow/disk.raw", digestOf(disk_)), i == 0 ? Mode::Pull : Mode::Use);
      if (r && r->sha256 == digestOf(disk_)) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads);
  EXPECT_EQ(server_->gets("slow/disk.raw"), 1);
  // A second catalog over the same store (another process, in effect) finds it cached.
  auto other = makeCatalog();
  ASSERT_TRUE(other->ensure(spec("slow/disk.raw", digestOf(disk_))));
  EXPECT_EQ(server_->gets("slow/disk.raw"), 1);
}

TEST_F(CatalogTest, UpdateIntervalRechecksWith304AndANewUpstreamBecomesANewVersion) {
  auto s = spec("disk.raw", std::nullopt);  // no pinned digest: the signature vouches
  ASSERT_TRUE(test::makeKeyPair(dir_.path(), "k", "ec"));
  ASSERT_TRUE(test::sign(dir_.path(), "k", upstream_ / "disk.raw", upstream_ / "disk.raw.sig"));
  s.signature = SignatureSpec{server_->url("disk.raw.sig"), {}, "release"};
  s.interval = std::chrono::hours(1);
  auto first = catalog_->ensure(s);
  ASSERT_TRUE(first) << first.error().message;

  now_ += 30 * 60 * 1000;  // within the interval: no request
  ASSERT_TRUE(catalog_->ensure(s));
  EXPECT_EQ(server_->gets("disk.raw"), 1);

  now_ += 31 * 60 * 1000;  // past it: a conditional GET, answered 304
  auto same = catalog_->ensure(s);
  ASSERT_TRUE(same);
  EXPECT_EQ(same->sha256, first->sha256);
  EXPECT_FALSE(same->fetched);
  EXPECT_EQ(server_->gets("disk.raw"), 2);
  EXPECT_EQ(versions(), 1u);

  const std::string v2 = content(1 << 20, 'k');
  test::writeFile(upstream_ / "disk.raw", v2);
  ASSERT_TRUE(test::sign(dir_.path(), "k", upstream_ / "disk.raw", upstream_ / "disk.raw.sig"));
  now_ += 2 * 60 * 60 * 1000;
  auto next = catalog_->ensure(s);
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_TRUE(next->changed);
  EXPECT_EQ(next->sha256, digestOf(v2));
  EXPECT_EQ(versions(), 2u);
  // The version a node was installed with is still there.
  auto old = catalog_->version("debian-12", "disk", first->sha256);
  ASSERT_TRUE(old);
  EXPECT_EQ(readAll(old->path), disk_);
}

// A version found upstream after a pulled one is not pinned: only the pulled one stays
// forever, the new one expires like any other once it is no longer current.
TEST_F(CatalogTest, AVersionFoundAfterAPulledOneIsNotPinned) {
  auto s = spec("disk.raw", std::nullopt);
  ASSERT_TRUE(test::makeKeyPair(dir_.path(), "k", "ec"));
  ASSERT_TRUE(test::sign(dir_.path(), "k", upstream_ / "disk.raw", upstream_ / "disk.raw.sig"));
  s.signature = SignatureSpec{server_->url("disk.raw.sig"), {}, "release"};
  s.interval = std::chrono::hours(1);
  ASSERT_TRUE(catalog_->ensure(s, Mode::Pull));
  const std::string v2 = content(1 << 16, 'p');
  test::writeFile(upstream_ / "disk.raw", v2);
  ASSERT_TRUE(test::sign(dir_.path(), "k", upstream_ / "disk.raw", upstream_ / "disk.raw.sig"));
  now_ += 2 * 60 * 60 * 1000;
  auto next = catalog_->ensure(s);
  ASSERT_TRUE(next) << next.error().message;
  ASSERT_TRUE(next->changed);
  auto d = catalog_->list();
  ASSERT_TRUE(d);
  const auto* e = d->find("debian-12", "disk");
  ASSERT_NE(e, nullptr);
  ASSERT_EQ(e->versions.size(), 2u);
  EXPECT_TRUE(e->versions[0].pinned) << "the pulled version";
  EXPECT_FALSE(e->versions[1].pinned) << "the version found after it";
}

TEST_F(CatalogTest, PinnedDigestRefusesChangedUpstreamAndKeepsTheCachedVersion) {
  auto s = spec("disk.raw", digestOf(disk_));
  s.interval = std::chrono::minutes(1);
  ASSERT_TRUE(catalog_->ensure(s));
  test::writeFile(upstream_ / "disk.raw", content(1000, 'z'));
  auto refreshed = catalog_->refresh(s);
  ASSERT_FALSE(refreshed);
  EXPECT_EQ(refreshed.error().code, "upstream_changed");
  now_ += 2 * 60 * 1000;
  auto r = catalog_->ensure(s);  // the failed check is logged; the cache still answers
  ASSERT_TRUE(r);
  EXPECT_EQ(r->sha256, digestOf(disk_));
  EXPECT_EQ(versions(), 1u);
}

TEST_F(CatalogTest, ExpiryCollectsOnlyUnusedCachedVersions) {
  // Three artifacts: one used recently, one not used for long, one pulled (pinned) long ago.
  test::writeFile(upstream_ / "a.raw", "aaaa");
  test::writeFile(upstream_ / "b.raw", "bbbb");
  test::writeFile(upstream_ / "c.raw", "cccc");
  auto make = [&](const std::string& image, const std::string& file, const std::string& data) {
    ArtifactSpec s = spec(file, digestOf(data));
    s.image = image;
    s.expire = std::chrono::hours(24);
    return s;
  };
  const auto a = make("recent", "a.raw", "aaaa"), b = make("stale", "b.raw", "bbbb"),
             c = make("pulled", "c.raw", "cccc");
  ASSERT_TRUE(catalog_->ensure(b));
  ASSERT_TRUE(catalog_->ensure(c, Mode::Pull));
  now_ += 20LL * 60 * 60 * 1000;
  ASSERT_TRUE(catalog_->ensure(a));
  now_ += 10LL * 60 * 60 * 1000;  // b and c unused for 30h, a for 10h
  auto report = catalog_->gc({a, b, c});
  ASSERT_TRUE(report);
  ASSERT_EQ(report->removed.size(), 1u);
  EXPECT_EQ(report->removed[0].substr(0, 11), "stale/disk@");
  EXPECT_EQ(report->blobs_removed, 1u);
  EXPECT_EQ(catalog_->blobs().list().size(), 2u);
  EXPECT_FALSE(catalog_->blobs().has(digestOf("bbbb")));

  // rm forgets even a pinned image.
  auto rm = catalog_->remove("pulled");
  ASSERT_TRUE(rm);
  EXPECT_EQ(rm->removed.size(), 1u);
  EXPECT_FALSE(catalog_->blobs().has(digestOf("cccc")));
  EXPECT_TRUE(catalog_->blobs().has(digestOf("aaaa")));
}

TEST_F(CatalogTest, SignatureIsRequiredAndCheckedWhenConfigured) {
  ASSERT_TRUE(test::makeKeyPair(dir_.path(), "k", "ec"));
  ASSERT_TRUE(test::makeKeyPair(dir_.path(), "mallory", "ec"));
  auto s = spec("disk.raw", digestOf(disk_));
  s.signature = SignatureSpec{server_->url("disk.raw.sig"), {}, "release"};

  // No signature upstream: refused.
  auto r = catalog_->ensure(s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "signature_unavailable");

  // Signed by another key: refused, nothing published.
  ASSERT_TRUE(
      test::sign(dir_.path(), "mallory", upstream_ / "disk.raw", upstream_ / "disk.raw.sig"));
  r = catalog_->ensure(s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "signature_mismatch");
  EXPECT_TRUE(catalog_->blobs().list().empty());

  // A key that is not trusted: refused before any download.
  auto untrusted = s;
  untrusted.signature->key = "nobody";
  EXPECT_EQ(catalog_->ensure(untrusted).error().code, "untrusted_key");

  // Signed by the trusted key (signature file given as a local path): published.
  ASSERT_TRUE(test::sign(dir_.path(), "k", upstream_ / "disk.raw", dir_.path() / "local.sig"));
  s.signature = SignatureSpec{"", dir_.path() / "local.sig", "release"};
  r = catalog_->ensure(s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->sha256, digestOf(disk_));
}

// The background check (Catalog::check) and collection (Catalog::collect) that `drover
// serve` schedules: a claim another process holds is respected, an unchanged upstream costs
// one 304, new content becomes the current version, a bad signature is a failed check that
// keeps the current one, and collection keeps what pending installs name.
TEST_F(CatalogTest, BackgroundChecksClaimRecordAndCollect) {
  auto s = spec("disk.raw", std::nullopt);
  ASSERT_TRUE(test::makeKeyPair(dir_.path(), "k", "ec"));
  ASSERT_TRUE(test::makeKeyPair(dir_.path(), "mallory", "ec"));
  ASSERT_TRUE(test::sign(dir_.path(), "k", upstream_ / "disk.raw", upstream_ / "disk.raw.sig"));
  s.signature = SignatureSpec{server_->url("disk.raw.sig"), {}, "release"};
  s.interval = std::chrono::minutes(1);
  s.expire = std::chrono::hours(1);
  const CheckOptions mine{.owner = "a", .claim_for = std::chrono::minutes(15), .jitter_ms = 500};

  EXPECT_EQ(catalog_->check(s, mine).reason, "not_cached");  // the first fetch is a use's
  auto first = catalog_->ensure(s);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(catalog_->check(s, mine).reason, "not_due");

  now_ += 61 * 1000;
  auto r = catalog_->check(s, mine);
  EXPECT_EQ(r.result, "unchanged") << r.detail;
  EXPECT_EQ(server_->gets("disk.raw"), 2);  // the first fetch, then one conditional GET
  now_ += 61 * 1000;
  EXPECT_EQ(catalog_->check(s, mine).result, "unchanged");
  EXPECT_EQ(server_->gets("disk.raw"), 3);

  // Another replica holds the claim: skipped, nothing asked.
  now_ += 61 * 1000;
  store::FileMetadata meta(dir_.path() / "state" / "images");
  ASSERT_TRUE(meta.update([&](store::IndexData& d) {
    auto& e = d.entry("debian-12", "disk");
    e.claim_owner = "b";
    e.claim_until_ms = now_ + 1000;
    return Status::success();
  }));
  EXPECT_EQ(catalog_->check(s, mine).reason, "claimed");
  EXPECT_EQ(server_->gets("disk.raw"), 3);
  now_ += 2000;  // the claim lapsed (its holder died)

  const std::string v2 = content(1 << 20, 'k');
  test::writeFile(upstream_ / "disk.raw", v2);
  ASSERT_TRUE(test::sign(dir_.path(), "k", upstream_ / "disk.raw", upstream_ / "disk.raw.sig"));
  r = catalog_->check(s, mine);
  EXPECT_EQ(r.result, "updated") << r.detail;
  ASSERT_TRUE(r.current);
  EXPECT_EQ(*r.current, digestOf(v2));

  // Signed by someone else: refused, the current version stays.
  now_ += 61 * 1000;
  test::writeFile(upstream_ / "disk.raw", content(1000, 'x'));
  ASSERT_TRUE(
      test::sign(dir_.path(), "mallory", upstream_ / "disk.raw", upstream_ / "disk.raw.sig"));
  r = catalog_->check(s, mine);
  EXPECT_EQ(r.result, "failed");
  EXPECT_EQ(r.reason, "signature_mismatch");
  EXPECT_EQ(*r.current, digestOf(v2));

  auto index = catalog_->list();
  const auto* e = index->find("debian-12", "disk");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->last_result, "failed");
  EXPECT_EQ(e->next_check_ms, now_ + 60'000 + 500);
  EXPECT_TRUE(e->claim_owner.empty());
  std::vector<std::string> kinds;
  for (const auto& ev : e->events) kinds.push_back(ev.event);
  EXPECT_EQ(kinds, (std::vector<std::string>{"unchanged", "updated", "failed"}));
  EXPECT_EQ(e->events[0].count, 2);

  // The first version, unused for two hours: a pending install keeps it, then it goes.
  now_ += 2LL * 60 * 60 * 1000;
  auto kept = catalog_->collect({s}, {first->sha256.hex()});
  ASSERT_TRUE(kept);
  EXPECT_TRUE(kept->removed.empty());
  auto gone = catalog_->collect({s}, {});
  ASSERT_TRUE(gone);
  ASSERT_EQ(gone->removed.size(), 1u);  // the current version stays, however old
  EXPECT_EQ(gone->blobs_removed, 1u);
  EXPECT_FALSE(catalog_->blobs().has(first->sha256));
  EXPECT_TRUE(catalog_->blobs().has(digestOf(v2)));
  index = catalog_->list();
  EXPECT_EQ(index->find("debian-12", "disk")->events.back().event, "collected");
  EXPECT_EQ(index->find("debian-12", "disk")->events.back().sha256, first->sha256.hex());
}

}  // namespace
}  // namespace drover::images::catalog

// Captured disks in the catalog: digestZstdFile checks what an upload is (stream and raw
// digests, truncated and corrupt streams), publishLocal publishes it as a pinned version
// with its metadata, and never publishes a file whose sha256 is not the expected one.
#include <zstd.h>

#include <random>

#include <gtest/gtest.h>

#include "images/catalog/capture_digest.hpp"
#include "images/catalog/catalog.hpp"
#include "images/verify/signature.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::images::catalog {
namespace {

using test::TempDir;

std::string disk() {
  std::string d(300 * 1024, '\0');
  std::mt19937 rng(7);
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = i < 100 * 1024 ? static_cast<char>(rng()) : static_cast<char>(i / 4096);
  return d;
}

std::string zstd(const std::string& raw) {
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), 3));
  return out;
}

Sha256 sha(const std::string& s) {
  verify::Sha256Hasher h;
  h.update({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  return h.finish();
}

TEST(CaptureDigest, GivesTheStreamAndTheRawDigests) {
  TempDir dir("capture-digest");
  const auto raw = disk();
  const auto z = zstd(raw);
  test::writeFile(dir.path() / "up", z);
  auto d = digestZstdFile(dir.path() / "up");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->sha256, sha(z));
  EXPECT_EQ(d->size, z.size());
  EXPECT_EQ(d->raw_sha256, sha(raw));
  EXPECT_EQ(d->raw_size, raw.size());
}

TEST(CaptureDigest, ADiskOfWholeBlocksEndsItsFrame) {
  // Every block decodes to exactly one output buffer: the last one fills it and ends the frame.
  TempDir dir("capture-digest");
  const std::string raw(4 * 1024 * 1024, '\0');
  test::writeFile(dir.path() / "up", zstd(raw));
  auto d = digestZstdFile(dir.path() / "up");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->raw_size, raw.size());
  EXPECT_EQ(d->raw_sha256, sha(raw));
}

TEST(CaptureDigest, RefusesTruncatedCorruptAndEmptyUploads) {
  TempDir dir("capture-digest");
  const auto z = zstd(disk());
  test::writeFile(dir.path() / "short", z.substr(0, z.size() / 2));
  EXPECT_EQ(digestZstdFile(dir.path() / "short").error().code, "truncated");
  std::string bad = z;
  bad[0] = 'X';  // no longer a zstd frame
  test::writeFile(dir.path() / "bad", bad);
  EXPECT_EQ(digestZstdFile(dir.path() / "bad").error().code, "decompress");
  test::writeFile(dir.path() / "empty", "");
  EXPECT_EQ(digestZstdFile(dir.path() / "empty").error().code, "empty");
  EXPECT_EQ(digestZstdFile(dir.path() / "missing").error().code, "eio");
}

class PublishLocal : public ::testing::Test {
 protected:
  void SetUp() override {
    Options o;
    o.root = dir_.path() / "images";
    catalog_ = std::make_unique<Catalog>(o);
    ASSERT_TRUE(catalog_->init());
  }
  LocalFile upload(const std::string& content, const Sha256& expected) {
    const auto tmp = catalog_->blobs().tmpDir() / "capture-node-1.partial";
    test::writeFile(tmp, content);
    return LocalFile{"node-1-capture", "disk", tmp, expected, "capture://node-1", R"({"raw_sha256":"x"})", true};
  }

  TempDir dir_{"capture-publish"};
  std::unique_ptr<Catalog> catalog_;
};

TEST_F(PublishLocal, PublishesAPinnedVersionWithItsMetadata) {
  const auto z = zstd(disk());
  auto r = catalog_->publishLocal(upload(z, sha(z)));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->sha256, sha(z));
  EXPECT_TRUE(catalog_->blobs().has(sha(z)));
  EXPECT_FALSE(std::filesystem::exists(catalog_->blobs().tmpDir() / "capture-node-1.partial"));
  auto index = catalog_->list();
  ASSERT_TRUE(index);
  const auto* e = index->find("node-1-capture", "disk");
  ASSERT_NE(e, nullptr);
  ASSERT_EQ(e->versions.size(), 1u);
  EXPECT_TRUE(e->current()->pinned);
  EXPECT_EQ(e->current()->url, "capture://node-1");
  EXPECT_EQ(e->current()->size, z.size());
  EXPECT_EQ(*catalog_->metadataOf(sha(z)), R"({"raw_sha256":"x"})");
  // Cached by digest like any other version, and kept by gc (pinned).
  EXPECT_TRUE(catalog_->version("node-1-capture", "disk", sha(z)));
  auto gc = catalog_->gc({});
  ASSERT_TRUE(gc);
  EXPECT_TRUE(gc->removed.empty());

  // A second capture is a new current version; the first stays.
  const auto z2 = zstd(disk() + "more");
  ASSERT_TRUE(catalog_->publishLocal(upload(z2, sha(z2))));
  index = catalog_->list();
  e = index->find("node-1-capture", "disk");
  ASSERT_EQ(e->versions.size(), 2u);
  EXPECT_EQ(e->current()->sha256, sha(z2));

  // rm forgets both, with their metadata.
  ASSERT_TRUE(catalog_->remove("node-1-capture"));
  EXPECT_FALSE(catalog_->metadataOf(sha(z)));
  EXPECT_FALSE(catalog_->blobs().has(sha(z)));
}

TEST_F(PublishLocal, AFileThatIsNotTheExpectedOneIsNeverPublished) {
  const auto z = zstd(disk());
  auto r = catalog_->publishLocal(upload(z, sha("something else")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "sha256_mismatch");
  EXPECT_TRUE(catalog_->blobs().list().empty());
  EXPECT_FALSE(std::filesystem::exists(catalog_->blobs().tmpDir() / "capture-node-1.partial"));
  EXPECT_TRUE(catalog_->list()->entries.empty());
  EXPECT_FALSE(catalog_->metadataOf(sha(z)));
}

}  // namespace
}  // namespace drover::images::catalog

// The content-addressed store: only verified blobs are published, under their digest; the
// index survives a round trip.
#include <gtest/gtest.h>

#include "images/store/blob_store.hpp"
#include "images/store/index.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::images::store {
namespace {

using test::TempDir;

const Sha256 kAbc = *Sha256::parse("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

// Writes `content` as a download in progress and publishes it as a blob that must be "abc".
Result<Sha256> publishAsAbc(BlobStore& store, const std::string& content) {
  test::writeFile(store.tmpDir() / "x.partial", content);
  verify::FileCheck check;
  check.expected = &kAbc;
  return store.publish(store.tmpDir() / "x.partial", check);
}

TEST(BlobStoreTest, PublishesUnderTheDigestAndRemovesTheTempFile) {
  TempDir dir("store-test");
  BlobStore store(dir.path());
  ASSERT_TRUE(store.init());
  auto d = publishAsAbc(store, "abc");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(*d, kAbc);
  EXPECT_TRUE(store.has(kAbc));
  EXPECT_EQ(store.size(kAbc), 3u);
  EXPECT_FALSE(std::filesystem::exists(store.tmpDir() / "x.partial"));
  EXPECT_TRUE(store.verify(kAbc));
  EXPECT_EQ(store.list().size(), 1u);
}

TEST(BlobStoreTest, BadBlobIsNeverPublished) {
  TempDir dir("store-test");
  BlobStore store(dir.path());
  ASSERT_TRUE(store.init());
  auto d = publishAsAbc(store, "abd");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, "sha256_mismatch");
  EXPECT_TRUE(store.list().empty());
  EXPECT_FALSE(std::filesystem::exists(store.tmpDir() / "x.partial"));
}

TEST(BlobStoreTest, VerifyNoticesACorruptedBlob) {
  TempDir dir("store-test");
  BlobStore store(dir.path());
  ASSERT_TRUE(store.init());
  test::writeFile(store.blobPath(kAbc), "abd");
  EXPECT_EQ(store.verify(kAbc).error().code, "sha256_mismatch");
}

TEST(IndexTest, RoundTrip) {
  TempDir dir("store-test");
  Index index(dir.path() / "index.json");
  ASSERT_TRUE(index.read()->entries.empty());
  ASSERT_TRUE(index.update([](IndexData& d) {
    auto& e = d.entry("debian-12", "disk");
    e.checked_ms = 7;
    e.versions.push_back({kAbc, 3, "http://x/y", "\"e1\"", "Sun, 22 Nov 2026 10:00:00 GMT", 1, 2, true});
    return Status::success();
  }));
  auto d = index.read();
  ASSERT_TRUE(d);
  const Entry* e = d->find("debian-12", "disk");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->checked_ms, 7);
  ASSERT_EQ(e->versions.size(), 1u);
  EXPECT_EQ(e->current()->sha256, kAbc);
  EXPECT_EQ(e->current()->etag, "\"e1\"");
  EXPECT_TRUE(e->current()->pinned);
  EXPECT_TRUE(d->references(kAbc));
  // A failing change writes nothing.
  EXPECT_FALSE(index.update([](IndexData& x) {
    x.entries.clear();
    return Status(makeError("no", "no"));
  }));
  EXPECT_EQ(index.read()->entries.size(), 1u);
}

TEST(IndexTest, CorruptIndexIsAnError) {
  TempDir dir("store-test");
  test::writeFile(dir.path() / "index.json", "{nope");
  EXPECT_EQ(Index(dir.path() / "index.json").read().error().code, "bad_index");
}

}  // namespace
}  // namespace drover::images::store

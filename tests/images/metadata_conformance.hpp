// The catalog metadata conformance suite (images/store/metadata.hpp): every backend passes
// it. A test binary includes this file once and instantiates the suite with its factories:
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(Name, MetadataConformance, ::testing::Types<F1, F2>);
//
// A factory has static setUpSuite()/tearDownSuite(), setUp() (per test; it may GTEST_SKIP
// or FAIL), make(dir), which opens fresh, empty metadata, and another(), a second handle on
// the same metadata (another process, another replica).
#pragma once

#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "images/store/metadata.hpp"
#include "images/verify/signature.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::images::store {

inline Sha256 digestOf(const std::string& text) {
  verify::Sha256Hasher h;
  h.update({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
  return h.finish();
}

template <class Factory>
class MetadataConformance : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { Factory::setUpSuite(); }
  static void TearDownTestSuite() { Factory::tearDownSuite(); }
  void SetUp() override {
    factory_.setUp();
    if (IsSkipped() || HasFatalFailure()) return;
    meta_ = factory_.make(dir_.path());
    ASSERT_NE(meta_, nullptr);
  }
  static Status addVersion(Metadata& m, const std::string& image, const std::string& content) {
    return m.update([&](IndexData& d) {
      auto& e = d.entry(image, "disk");
      e.versions.push_back(Version{digestOf(content), content.size(),
                                   "https://example.org/" + content, "", "", 1, 2, false});
      return Status::success();
    });
  }
  test::TempDir dir_{"drover-meta"};
  Factory factory_;
  std::unique_ptr<Metadata> meta_;
};

TYPED_TEST_SUITE_P(MetadataConformance);

TYPED_TEST_P(MetadataConformance, EmptyUntilWrittenThenEveryFieldRoundTrips) {
  Metadata& m = *this->meta_;
  auto empty = m.read();
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_TRUE(empty->entries.empty());
  const Version v{digestOf("one"),
                  3,
                  "capture://node-1",
                  "\"e1\"",
                  "Sat, 05 Dec 2026 08:00:00 GMT",
                  1000,
                  2000,
                  true};
  ASSERT_TRUE(m.update([&](IndexData& d) {
                 auto& e = d.entry("web", "disk");
                 e.checked_ms = 1500;
                 e.versions.push_back(v);
                 return Status::success();
               }).ok());
  auto other = this->factory_.another();
  auto got = other->read();
  ASSERT_TRUE(got.ok()) << got.error().message;
  const Entry* e = got->find("web", "disk");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->checked_ms, 1500);
  ASSERT_EQ(e->versions.size(), 1u);
  const Version& r = e->versions[0];
  EXPECT_EQ(r.sha256, v.sha256);
  EXPECT_EQ(r.size, v.size);
  EXPECT_EQ(r.url, v.url);
  EXPECT_EQ(r.etag, v.etag);
  EXPECT_EQ(r.last_modified, v.last_modified);
  EXPECT_EQ(r.fetched_ms, v.fetched_ms);
  EXPECT_EQ(r.used_ms, v.used_ms);
  EXPECT_EQ(r.pinned, v.pinned);
  EXPECT_TRUE(got->references(v.sha256));
}

TYPED_TEST_P(MetadataConformance, AFailedChangeWritesNothing) {
  Metadata& m = *this->meta_;
  ASSERT_TRUE(this->addVersion(m, "web", "one").ok());
  auto st = m.update([](IndexData& d) {
    d.entries.clear();
    return Status(makeError("refused", "no"));
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "refused");
  auto got = m.read();
  ASSERT_TRUE(got.ok());
  EXPECT_NE(got->find("web", "disk"), nullptr);
}

TYPED_TEST_P(MetadataConformance, ConcurrentUpdatesFromTwoHandlesAreAllKept) {
  constexpr int kEach = 8;
  auto a = this->factory_.another();
  auto b = this->factory_.another();
  auto run = [&](Metadata* m, const std::string& who) {
    for (int i = 0; i < kEach; ++i)
      EXPECT_TRUE(this->addVersion(*m, "web", who + std::to_string(i)).ok());
  };
  std::thread ta(run, a.get(), "a"), tb(run, b.get(), "b");
  ta.join();
  tb.join();
  auto got = this->meta_->read();
  ASSERT_TRUE(got.ok());
  const Entry* e = got->find("web", "disk");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->versions.size(), 2u * kEach);
}

TYPED_TEST_P(MetadataConformance, SidecarsKeepBytesAndGoTogether) {
  Metadata& m = *this->meta_;
  const Sha256 d = digestOf("blob");
  auto none = m.sidecar(Sidecar::kSignature, d);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  const std::string sig("\x00\x01\xff\xfe signature\n", 15);
  ASSERT_TRUE(m.putSidecar(Sidecar::kSignature, d, sig).ok());
  ASSERT_TRUE(m.putSidecar(Sidecar::kCapture, d, R"({"format":"raw.zst"})").ok());
  auto other = this->factory_.another();
  auto got = other->sidecar(Sidecar::kSignature, d);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, sig);
  auto cap = other->sidecar(Sidecar::kCapture, d);
  ASSERT_TRUE(cap.ok() && cap->has_value());
  EXPECT_EQ(**cap, R"({"format":"raw.zst"})");
  EXPECT_FALSE(other->sidecar(Sidecar::kCapture, digestOf("other"))->has_value());
  ASSERT_TRUE(m.removeSidecars(d).ok());
  EXPECT_FALSE(other->sidecar(Sidecar::kSignature, d)->has_value());
  EXPECT_FALSE(other->sidecar(Sidecar::kCapture, d)->has_value());
}

TYPED_TEST_P(MetadataConformance, HoldersAreSharedWhenTheBackendIs) {
  Metadata& m = *this->meta_;
  const Sha256 d = digestOf("blob");
  ASSERT_TRUE(m.addHolder(d, "r1").ok());
  ASSERT_TRUE(m.addHolder(d, "r0").ok());
  ASSERT_TRUE(m.addHolder(d, "r1").ok());  // again: still once
  ASSERT_TRUE(m.addHolder(digestOf("other"), "r2").ok());
  auto other = this->factory_.another();
  auto got = other->holders(d);
  ASSERT_TRUE(got.ok());
  if (!m.shared()) {
    EXPECT_TRUE(got->empty());
    return;
  }
  EXPECT_EQ(*got, (std::vector<std::string>{"r0", "r1"}));
  ASSERT_TRUE(other->removeHolder(d, "r1").ok());
  EXPECT_EQ(*m.holders(d), (std::vector<std::string>{"r0"}));
}

REGISTER_TYPED_TEST_SUITE_P(MetadataConformance, EmptyUntilWrittenThenEveryFieldRoundTrips,
                            AFailedChangeWritesNothing, ConcurrentUpdatesFromTwoHandlesAreAllKept,
                            SidecarsKeepBytesAndGoTogether, HoldersAreSharedWhenTheBackendIs);

}  // namespace drover::images::store

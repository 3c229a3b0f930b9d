#include "http/file_plan.hpp"

#include <gtest/gtest.h>

namespace drover::http {
namespace {

TEST(RangeTest, FirstBytes) {
  auto r = parseRange("bytes=0-99", 1000);
  ASSERT_EQ(r.kind, RangeKind::kSingle);
  EXPECT_EQ(r.range.offset, 0u);
  EXPECT_EQ(r.range.length, 100u);
}

TEST(RangeTest, OpenEnded) {
  auto r = parseRange("bytes=900-", 1000);
  ASSERT_EQ(r.kind, RangeKind::kSingle);
  EXPECT_EQ(r.range.offset, 900u);
  EXPECT_EQ(r.range.length, 100u);
}

TEST(RangeTest, Suffix) {
  auto r = parseRange("bytes=-10", 1000);
  ASSERT_EQ(r.kind, RangeKind::kSingle);
  EXPECT_EQ(r.range.offset, 990u);
  EXPECT_EQ(r.range.length, 10u);
  auto whole = parseRange("bytes=-5000", 1000);
  ASSERT_EQ(whole.kind, RangeKind::kSingle);
  EXPECT_EQ(whole.range.offset, 0u);
  EXPECT_EQ(whole.range.length, 1000u);
}

TEST(RangeTest, EndClampedToSize) {
  auto r = parseRange("bytes=10-5000", 100);
  ASSERT_EQ(r.kind, RangeKind::kSingle);
  EXPECT_EQ(r.range.length, 90u);
}

TEST(RangeTest, Unsatisfiable) {
  EXPECT_EQ(parseRange("bytes=1000-", 1000).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(parseRange("bytes=-0", 1000).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(parseRange("bytes=0-", 0).kind, RangeKind::kUnsatisfiable);
}

TEST(RangeTest, IgnoredForms) {
  EXPECT_EQ(parseRange("bytes=0-1,5-9", 1000).kind, RangeKind::kNone);  // several: whole file
  EXPECT_EQ(parseRange("items=0-1", 1000).kind, RangeKind::kNone);
  EXPECT_EQ(parseRange("bytes=5-1", 1000).kind, RangeKind::kNone);
  EXPECT_EQ(parseRange("bytes=a-b", 1000).kind, RangeKind::kNone);
  EXPECT_EQ(parseRange("bytes=99999999999999999999-", 1000).kind, RangeKind::kNone);
}

TEST(HttpDateTest, RoundTrip) {
  EXPECT_EQ(formatHttpDate(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), std::optional<std::time_t>(784111777));
  EXPECT_FALSE(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"));
  EXPECT_FALSE(parseHttpDate("Sun, 06 Nox 1994 08:49:37 GMT"));
}

TEST(FilePlanTest, EtagMatchGives304) {
  ConditionalHeaders h;
  h.if_none_match = "\"other\", W/\"abc\"";
  auto p = planFileResponse(h, 100, "\"abc\"", 1000);
  EXPECT_EQ(p.status, 304u);
  h.if_none_match = "\"other\"";
  EXPECT_EQ(planFileResponse(h, 100, "\"abc\"", 1000).status, 200u);
  h.if_none_match = "*";
  EXPECT_EQ(planFileResponse(h, 100, "\"abc\"", 1000).status, 304u);
}

TEST(FilePlanTest, IfNoneMatchWinsOverIfModifiedSince) {
  ConditionalHeaders h;
  h.if_none_match = "\"other\"";
  h.if_modified_since = formatHttpDate(2000);
  EXPECT_EQ(planFileResponse(h, 100, "\"abc\"", 1000).status, 200u);
}

TEST(FilePlanTest, IfModifiedSince) {
  ConditionalHeaders h;
  std::string later = formatHttpDate(2000), earlier = formatHttpDate(500);
  h.if_modified_since = later;
  EXPECT_EQ(planFileResponse(h, 100, "\"abc\"", 1000).status, 304u);
  h.if_modified_since = earlier;
  EXPECT_EQ(planFileResponse(h, 100, "\"abc\"", 1000).status, 200u);
}

TEST(FilePlanTest, RangeAndIfRange) {
  ConditionalHeaders h;
  h.range = "bytes=10-19";
  auto p = planFileResponse(h, 100, "\"abc\"", 1000);
  EXPECT_EQ(p.status, 206u);
  EXPECT_EQ(p.content_range, "bytes 10-19/100");
  h.if_range = "\"abc\"";
  EXPECT_EQ(planFileResponse(h, 100, "\"abc\"", 1000).status, 206u);
  h.if_range = "\"stale\"";
  auto full = planFileResponse(h, 100, "\"abc\"", 1000);
  EXPECT_EQ(full.status, 200u);
  EXPECT_EQ(full.body.length, 100u);
}

TEST(FilePlanTest, Unsatisfiable416) {
  ConditionalHeaders h;
  h.range = "bytes=100-";
  auto p = planFileResponse(h, 100, "\"abc\"", 1000);
  EXPECT_EQ(p.status, 416u);
  EXPECT_EQ(p.content_range, "bytes */100");
  EXPECT_EQ(p.body.length, 0u);
}

TEST(EtagTest, ChecksumPreferred) {
  EXPECT_EQ(makeEtag(10, 5, "deadbeef"), "\"deadbeef\"");
  EXPECT_EQ(makeEtag(16, 255), "\"10-ff\"");
}

}  // namespace
}  // namespace drover::http

// The etcd gateway's JSON: base64, prefix ranges, what etcd leaves out, what it must not send.
#include "state/etcd/wire.hpp"

#include <gtest/gtest.h>

namespace drover::etcd {
namespace {

using nlohmann::json;

TEST(EtcdWire, Base64RoundTrip) {
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto back = decodeBase64(encodeBase64(s));
    ASSERT_TRUE(back.ok()) << s;
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(encodeBase64("drover"), "ZHJvdmVy");
  EXPECT_FALSE(decodeBase64("abc").ok());
  EXPECT_EQ(decodeBase64("a*c=").error().code, "etcd_bad_response");
}

TEST(EtcdWire, PrefixEnd) {
  EXPECT_EQ(prefixEnd("nodes/"), "nodes0");
  EXPECT_EQ(prefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(prefixEnd(""), std::string(1, '\0'));
  EXPECT_EQ(prefixEnd(std::string("\xff", 1)), std::string(1, '\0'));
}

TEST(EtcdWire, EncodesComparesAndOps) {
  EXPECT_EQ(
      encodeCompare({"k", Compare::Target::kCreate, Compare::Result::kEqual, 0, {}}),
      json::parse(R"({"key":"aw==","target":"CREATE","result":"EQUAL","create_revision":"0"})"));
  EXPECT_EQ(encodeCompare({"k", Compare::Target::kMod, Compare::Result::kLess, 7, {}}),
            json::parse(R"({"key":"aw==","target":"MOD","result":"LESS","mod_revision":"7"})"));
  EXPECT_EQ(encodeOp(Op::put("k", "v", 12)),
            json::parse(R"({"request_put":{"key":"aw==","value":"dg==","lease":"12"}})"));
  EXPECT_EQ(encodeOp(Op::erase("k")), json::parse(R"({"request_delete_range":{"key":"aw=="}})"));
}

TEST(EtcdWire, PrefixDeletesAndPreviousValues) {
  EXPECT_EQ(encodeOp(Op::erasePrefix("k")),
            json::parse(R"({"request_delete_range":{"key":"aw==","range_end":"bA=="}})"));
  EXPECT_EQ(encodeOp(Op::erase("k", /*prev_kv=*/true)),
            json::parse(R"({"request_delete_range":{"key":"aw==","prev_kv":true}})"));
  auto txn = decodeTxn(json::parse(R"({"succeeded":true,"responses":[
      {"response_delete_range":{"deleted":"1","prev_kvs":[{"key":"aw==","value":"dg=="}]}}]})"));
  ASSERT_TRUE(txn.ok()) << txn.error().message;
  ASSERT_EQ(txn->responses.at(0).prev_kvs.size(), 1u);
  EXPECT_EQ(txn->responses[0].prev_kvs[0].value, "v");
  EXPECT_FALSE(decodeKvs(json::parse(R"({"prev_kvs":3})"), "prev_kvs").ok());
}

TEST(EtcdWire, AbsentFieldsAreZero) {
  // An empty value and lease 0 are left out; so is "succeeded" when false.
  auto kvs = decodeKvs(json::parse(
      R"({"kvs":[{"key":"aw==","create_revision":"2","mod_revision":"5","version":"3"}]})"));
  ASSERT_TRUE(kvs.ok()) << kvs.error().message;
  EXPECT_EQ(*kvs, (std::vector<KeyValue>{{"k", "", 2, 5, 3, 0}}));
  EXPECT_TRUE(decodeKvs(json::parse(R"({"header":{}})"))->empty());

  auto txn = decodeTxn(json::parse(R"({"header":{"revision":"9"},"responses":[
      {"response_range":{"kvs":[{"key":"aw==","value":"dg==","mod_revision":"4"}],"count":"1"}},
      {"response_delete_range":{"deleted":"1"}}, {"response_put":{}}]})"));
  ASSERT_TRUE(txn.ok()) << txn.error().message;
  EXPECT_FALSE(txn->succeeded);
  EXPECT_EQ(txn->revision, 9);
  ASSERT_EQ(txn->responses.size(), 3u);
  EXPECT_EQ(txn->responses[0].kvs.at(0).value, "v");
  EXPECT_EQ(txn->responses[1].deleted, 1);
  EXPECT_EQ(txn->responses[2].kind, Op::Kind::kPut);
}

TEST(EtcdWire, RejectsWhatEtcdDoesNotSend) {
  for (const char* body : {R"({"kvs":"x"})", R"({"kvs":[{"key":"!!!!"}]})",
                           R"({"kvs":[{"key":1}]})", R"({"kvs":[{"mod_revision":"12x"}]})",
                           R"({"kvs":[{"version":"9223372036854775808"}]})", R"({"kvs":[3]})"}) {
    auto r = decodeKvs(json::parse(body));
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().code, "etcd_bad_response") << body;
  }
  for (const char* body : {R"({"succeeded":"yes"})", R"({"responses":[{"response_watch":{}}]})",
                           R"({"responses":[{}]})", R"({"header":{"revision":true}})"}) {
    EXPECT_FALSE(decodeTxn(json::parse(body)).ok()) << body;
  }
}

TEST(EtcdWire, WatchMessages) {
  auto w = decodeWatch(json::parse(R"({"header":{"revision":"3"},"events":[
      {"kv":{"key":"YQ==","create_revision":"2","mod_revision":"2","version":"1","value":"Yg=="}},
      {"type":"DELETE","kv":{"key":"YQ==","mod_revision":"3"}}]})"));
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->revision, 3);
  ASSERT_EQ(w->events.size(), 2u);
  EXPECT_EQ(w->events[0].type, Event::Type::kPut);
  EXPECT_EQ(w->events[0].kv.value, "b");
  EXPECT_EQ(w->events[1].type, Event::Type::kDelete);
  EXPECT_EQ(w->events[1].kv.mod_revision, 3);
  EXPECT_TRUE(decodeWatch(json::parse(R"({"header":{},"created":true})"))->created);
  auto compacted = decodeWatch(json::parse(R"({"canceled":true,"compact_revision":"7"})"));
  EXPECT_TRUE(compacted->canceled);
  EXPECT_EQ(compacted->compact_revision, 7);
  EXPECT_FALSE(decodeWatch(json::parse(R"({"events":[{"type":"EXPIRE"}]})")).ok());
  EXPECT_FALSE(decodeWatch(json::parse(R"({"events":[{"kv":[]}]})")).ok());
}

TEST(EtcdWire, ErrorBodies) {
  auto e = decodeError(json::parse(R"({"error":"etcdserver: requested lease not found",
      "message":"etcdserver: requested lease not found","code":5})"),
                       "etcd POST /v3/kv/put");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, "etcd_not_found");
  EXPECT_NE(e->message.find("requested lease not found"), std::string::npos) << e->message;
  auto streamed =
      decodeError(json::parse(R"({"error":{"grpc_code":14,"message":"no leader"}})"), "x");
  ASSERT_TRUE(streamed.has_value());
  EXPECT_EQ(streamed->code, "etcd_unavailable");
  EXPECT_EQ(decodeError(json::parse(R"({"error":"x","code":99})"), "x")->code, "etcd_error");
  EXPECT_FALSE(decodeError(json::parse(R"({"header":{}})"), "x").has_value());
}

}  // namespace
}  // namespace drover::etcd

// The JSON values of EtcdStore: round trips, what an older or newer writer may leave out, and
// values that are not that JSON.
#include "state/etcd/records.hpp"

#include <gtest/gtest.h>

namespace drover::state::etcd_records {
namespace {

TEST(EtcdRecords, NodeRoundTrip) {
  NodeRecord r;
  r.name = "worker-1";
  r.mac = "52:54:00:12:34:56";
  r.uuid = "c0ffee00-0000-4000-8000-000000000001";
  r.status = {NodeState::kJoined, true, true};
  r.state_since_ms = 1'700'000'000'123;
  r.facts_json = R"({"cpu": {"count": 2}})";
  r.install_version = "1.2";
  r.credential_hash = std::string(64, 'a');
  r.capture_image = "img";
  r.capture_token_hash = std::string(64, 'c');
  auto back = decodeNode("/k", encodeNode(r));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, r);

  auto minimal = decodeNode("/k", R"({"name":"n","state":"installing"})");
  ASSERT_TRUE(minimal.ok());
  EXPECT_EQ(minimal->status.state, NodeState::kInstalling);
  EXPECT_EQ(minimal->facts_json, "{}");
}

TEST(EtcdRecords, EntriesAndTokensRoundTrip) {
  TimelineEntry e{5, "image_progress", "50% \"quoted\"\n"};
  EXPECT_EQ(*decodeEntry("/k", encodeEntry(e)), e);
  TokenRecord t{"h", "boot", "n", 99};
  auto back = decodeToken("/k", encodeToken(t));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->hash, "h");
  EXPECT_EQ(back->node, "n");
  EXPECT_EQ(back->expires_ms, 99);
}

TEST(EtcdRecords, InvalidUtf8IsReplacedNotThrown) {
  TimelineEntry e{1, "p", "bad \xff byte"};
  auto back = decodeEntry("/k", encodeEntry(e));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->message, "bad \xef\xbf\xbd byte");
}

TEST(EtcdRecords, CorruptValuesNameTheKey) {
  for (const char* v : {"", "{", "null", "[1]", R"({"state":"joined"})", R"({"name":1})",
                        R"({"name":"n","state":"joined","reinstall_requested":"yes"})"}) {
    auto r = decodeNode("/p/nodes/n", v);
    ASSERT_FALSE(r.ok()) << v;
    EXPECT_EQ(r.error().code, "state_corrupt");
    EXPECT_NE(r.error().message.find("/p/nodes/n"), std::string::npos);
  }
  EXPECT_EQ(decodeEntry("/k", R"({"ts_ms":1.5,"phase":"p"})").error().code, "state_corrupt");
  EXPECT_EQ(decodeToken("/k", R"({"kind":"boot"})").error().code, "state_corrupt");
  for (const char* v : {R"({"node":"n"})", R"({"method":"agent","attempt":7})",
                        R"({"method":"agent","delivered":1})"})
    EXPECT_EQ(decodeHandoff("/p/handoffs/n", v).error().code, "state_corrupt") << v;
}

}  // namespace
}  // namespace drover::state::etcd_records

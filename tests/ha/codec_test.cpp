#include <gtest/gtest.h>

#include <map>

#include "ha/lease_codec.hpp"
#include "ha/membership.hpp"

namespace drover::ha {
namespace {

dhcp::Lease sample() {
  return dhcp::Lease{*Ipv4Address::parse("192.0.2.10"),
                     std::string("\x01\x52\x54\x00\x00\x00\x01\x00\xff", 9),
                     *MacAddress::parse("52:54:00:00:00:01"),
                     dhcp::LeaseState::Bound,
                     1'767'225'600,
                     "rack1",
                     "node-1"};
}

TEST(LeaseCodec, RoundTripsEveryFieldAndTheWriter) {
  for (auto state :
       {dhcp::LeaseState::Bound, dhcp::LeaseState::Released, dhcp::LeaseState::Declined}) {
    auto l = sample();
    l.state = state;
    auto back = decodeLease(encodeLease(l, "replica-a"));
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->lease, l);
    EXPECT_EQ(back->by, "replica-a");
  }
}

TEST(LeaseCodec, NamesWhatIsWrong) {
  const std::map<std::string, std::string> cases = {
      {"", "not a JSON object"},
      {"[]", "not a JSON object"},
      {R"({"ip":"192.0.2.300"})", "bad ip"},
      {R"({"ip":"192.0.2.1","client":"%%"})", "not base64"},
      {R"({"ip":"192.0.2.1","client":"AQ==","mac":"zz"})", "bad mac"},
      {R"({"ip":"192.0.2.1","client":"AQ==","mac":"52:54:00:00:00:01","state":"offered"})",
       "unknown state"},
      {R"({"ip":"192.0.2.1","client":"AQ==","mac":"52:54:00:00:00:01","state":"bound","expires":"1"})",
       "expires"},
      {R"({"ip":"192.0.2.1","client":"AQ==","mac":"52:54:00:00:00:01","state":"bound","expires":1,"network":2})",
       "network"},
  };
  for (const auto& [in, why] : cases) {
    auto r = decodeLease(in);
    ASSERT_FALSE(r.ok()) << in;
    EXPECT_EQ(r.error().code, "lease_corrupt");
    EXPECT_NE(r.error().message.find(why), std::string::npos) << in << " -> " << r.error().message;
  }
}

TEST(ReplicaCodec, RoundTripsAndRefusesAnEmptyId) {
  ReplicaInfo r{"a", "192.0.2.1", "https://192.0.2.1:9443", "http://192.0.2.1:8080", "ff", 42};
  auto back = decodeReplica(encodeReplica(r));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, r);
  r.id.clear();
  EXPECT_EQ(decodeReplica(encodeReplica(r)).error().code, "replica_corrupt");
}

TEST(Ownership, EveryClientHasOneOwnerAndTheShareIsFair) {
  const std::vector<std::string> ids{"a", "b", "c"};
  std::map<std::string, int> share;
  for (int i = 0; i < 3000; ++i) ++share[ownerOf("client-" + std::to_string(i), ids)];
  ASSERT_EQ(share.size(), 3u);
  for (const auto& [id, n] : share) {
    EXPECT_GT(n, 800) << id;
    EXPECT_LT(n, 1200) << id;
  }
  EXPECT_EQ(ownerOf("x", {}), "");
}

TEST(Ownership, OnlyTheLostReplicasClientsMove) {
  const std::vector<std::string> three{"a", "b", "c"}, two{"a", "c"};
  int moved = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string key = "client-" + std::to_string(i);
    const auto before = ownerOf(key, three), after = ownerOf(key, two);
    if (before != "b") {
      EXPECT_EQ(before, after) << key;
    } else {
      ++moved;
      EXPECT_NE(after, "b");
    }
  }
  EXPECT_GT(moved, 800);
}

TEST(Ownership, DoesNotDependOnTheOrderOfIds) {
  for (int i = 0; i < 100; ++i) {
    const std::string key = "k" + std::to_string(i);
    EXPECT_EQ(ownerOf(key, {"a", "b", "c"}), ownerOf(key, {"c", "a", "b"}));
  }
}

TEST(ApiUrls, TheOtherLiveReplicasAfterThisOneByIdBounded) {
  auto replica = [](std::string id, std::string url) {
    ReplicaInfo r;
    r.id = std::move(id);
    r.api_url = std::move(url);
    return r;
  };
  const std::vector<ReplicaInfo> live = {replica("r3", "https://192.0.2.4:8443"),
                                         replica("r0", "https://192.0.2.1:8443"),
                                         replica("r2", "https://192.0.2.3:8443"),
                                         replica("r1", "https://192.0.2.2:8443"),
                                         replica("r4", ""),
                                         replica("r5", "https://192.0.2.3:8443")};
  // After r1 in id order, then around: r2, r3, (r4 has none, r5 repeats r2's), r0.
  EXPECT_EQ(otherApiUrls(live, "r1", "https://192.0.2.2:8443", 3),
            (std::vector<std::string>{"https://192.0.2.3:8443", "https://192.0.2.4:8443",
                                      "https://192.0.2.1:8443"}));
  EXPECT_EQ(otherApiUrls(live, "r0", "https://192.0.2.1:8443", 1),
            (std::vector<std::string>{"https://192.0.2.2:8443"}));
  // Another replica advertising this one's URL is not named twice.
  EXPECT_EQ(otherApiUrls(live, "r9", "https://192.0.2.1:8443", 8),
            (std::vector<std::string>{"https://192.0.2.2:8443", "https://192.0.2.3:8443",
                                      "https://192.0.2.4:8443"}));
  EXPECT_TRUE(
      otherApiUrls({replica("r0", "https://192.0.2.1:8443")}, "r0", "https://192.0.2.1:8443", 3)
          .empty());
}

}  // namespace
}  // namespace drover::ha

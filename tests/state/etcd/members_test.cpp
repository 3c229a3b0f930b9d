// The membership decisions (state/etcd/members.hpp) and the gateway's member JSON, without a
// server: who bootstraps and who joins as a learner, the peer list, the quorum rule.
#include "state/etcd/members.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace drover::etcd {
namespace {

using nlohmann::json;

Member voter(std::uint64_t id, const std::string& name, const std::string& ip) {
  return {id, name, {"http://" + ip + ":2380"}, {"http://" + ip + ":2379"}, false};
}

TEST(EtcdMembersTest, DecodesTheGatewaysMemberList) {
  // As etcd 3.4's gateway writes it: ids as decimal strings beyond int64, a learner added
  // and not started has no name and no client URLs.
  const auto j = json::parse(R"({"header":{"member_id":"13668033151171901709"},"members":[
    {"ID":"13668033151171901709","name":"a","peerURLs":["http://127.0.0.1:23801"],
     "clientURLs":["http://127.0.0.1:23791"]},
    {"ID":"16081253743401318137","peerURLs":["http://127.0.0.1:23802"],"isLearner":true}]})");
  auto m = decodeMembers(j);
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[0].id, 13668033151171901709ull);
  EXPECT_TRUE((*m)[0].started());
  EXPECT_FALSE((*m)[0].learner);
  EXPECT_EQ((*m)[1].id, 16081253743401318137ull);
  EXPECT_TRUE((*m)[1].learner);
  EXPECT_FALSE((*m)[1].started());
  EXPECT_TRUE((*m)[1].name.empty());

  auto st = decodeStatus(json::parse(
      R"({"header":{"member_id":"16081253743401318137"},"leader":"13668033151171901709"})"));
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->id, 16081253743401318137ull);
  EXPECT_EQ(st->leader, 13668033151171901709ull);
}

TEST(EtcdMembersTest, BadMemberJsonIsAnError) {
  for (const char* bad :
       {R"({"members":{}})", R"({"members":[{"ID":"x1"}]})",
        R"({"members":[{"ID":"1","peerURLs":"http://a"}]})",
        R"({"members":[{"ID":"1","isLearner":"yes"}]})",
        R"({"members":[{"ID":"99999999999999999999"}]})", R"({"members":[{"ID":"1","name":3}]})"}) {
    auto m = decodeMembers(json::parse(bad));
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_EQ(m.error().code, "etcd_bad_response") << bad;
  }
}

TEST(EtcdMembersTest, PlanJoin) {
  const std::string me = "http://192.0.2.12:2380";
  // Nobody answered: the first members bootstrap from the declaration.
  EXPECT_EQ(planJoin(std::nullopt, me), JoinAction::kBootstrap);
  const std::vector<Member> running{voter(1, "a", "192.0.2.10"), voter(2, "b", "192.0.2.11")};
  EXPECT_EQ(planJoin(running, me), JoinAction::kAddLearner);
  auto with = running;
  with.push_back({3, "", {me}, {}, true});  // added before, never started
  EXPECT_EQ(planJoin(with, me), JoinAction::kResumeLearner);
  with.back() = {3, "c", {me}, {}, false};  // bootstrapped with, never started
  EXPECT_EQ(planJoin(with, me), JoinAction::kBootstrapPeer);
  with.back() = voter(3, "c", "192.0.2.12");  // ran before: its data went with a reinstall
  EXPECT_EQ(planJoin(with, me), JoinAction::kReplaceStale);
}

TEST(EtcdMembersTest, InitialClusterIsEtcdsOwnListWithTheJoinerNamed) {
  std::vector<Member> members{voter(1, "a", "192.0.2.10"),
                              {7, "", {"http://192.0.2.13:2380"}, {}, true},
                              {3, "", {"http://192.0.2.12:2380"}, {}, true}};
  EXPECT_EQ(initialCluster(members, "c", "http://192.0.2.12:2380"),
            "a=http://192.0.2.10:2380,=http://192.0.2.13:2380,c=http://192.0.2.12:2380");
}

TEST(EtcdMembersTest, RemovalKeepsAMajorityOfTheRemainingVotersHealthy) {
  const std::string c = "http://192.0.2.12:2380";
  const std::vector<Member> three{voter(1, "a", "192.0.2.10"), voter(2, "b", "192.0.2.11"),
                                  voter(3, "c", "192.0.2.12")};
  auto all = checkRemoval(three, {1, 2, 3}, c);
  EXPECT_EQ(all.verdict, RemovalVerdict::kAllowed);
  EXPECT_EQ(all.voters_after, 2);
  EXPECT_EQ(all.healthy_after, 2);
  // The target itself down: the others are still both healthy.
  EXPECT_EQ(checkRemoval(three, {1, 2}, c).verdict, RemovalVerdict::kAllowed);
  // Another one down: one healthy of two remaining is no majority.
  auto refused = checkRemoval(three, {1, 3}, c);
  EXPECT_EQ(refused.verdict, RemovalVerdict::kRefused);
  EXPECT_THAT(refused.reason, ::testing::HasSubstr("1 healthy of 2 voting members"));
  // Five members, two down besides the target: two healthy of four is no majority; one
  // down: three of four is.
  std::vector<Member> five = three;
  five.push_back(voter(4, "d", "192.0.2.13"));
  five.push_back(voter(5, "e", "192.0.2.14"));
  EXPECT_EQ(checkRemoval(five, {1, 2, 3}, c).verdict, RemovalVerdict::kRefused);
  EXPECT_EQ(checkRemoval(five, {1, 2, 3, 4}, c).verdict, RemovalVerdict::kAllowed);
  // Learners do not count, and removing one is always allowed.
  auto learners = three;
  learners.push_back({9, "", {"http://192.0.2.20:2380"}, {}, true});
  EXPECT_EQ(checkRemoval(learners, {}, "http://192.0.2.20:2380").verdict, RemovalVerdict::kAllowed);
  EXPECT_EQ(checkRemoval(learners, {1, 3}, c).voters_after, 2);
  // Not listed, or the only voter.
  EXPECT_EQ(checkRemoval(three, {1, 2, 3}, "http://192.0.2.99:2380").verdict,
            RemovalVerdict::kNotMember);
  EXPECT_EQ(checkRemoval({voter(3, "c", "192.0.2.12")}, {3}, c).verdict,
            RemovalVerdict::kOnlyMember);
}

}  // namespace
}  // namespace drover::etcd

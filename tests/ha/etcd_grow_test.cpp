// The cluster's etcd grows and shrinks through the agent's etcd_join / etcd_promote steps
// and the server's removal before a reinstall, against real etcd members (/usr/bin/etcd) on
// loopback ports: one member, a second and a third joining later as learners and promoted, a
// reinstall (removed first, then joining again with an empty data directory), a member
// whose data is gone without a removal (replaced), and the quorum refusal and its forced
// override. Prints how long each part took: etcd refuses a reconfiguration for about five
// seconds after a member joined (strict reconfiguration check), so most of it is waiting.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/etcd_steps.hpp"
#include "agent/join.hpp"
#include "state/etcd/client.hpp"
#include "state/etcd/members.hpp"
#include "tests/support/etcd_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover {
namespace {

using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;

etcd::RetryOptions patient() {
  etcd::RetryOptions r;
  r.attempts = 200;
  r.interval = std::chrono::milliseconds(100);
  return r;
}

etcd::Options quick() {
  etcd::Options o;
  o.connect_timeout_s = 1;
  o.request_timeout_s = 3;
  return o;
}

// One member: its ports are fixed for the test, its process and data come and go.
struct Member {
  std::string name;
  std::string client_url, peer_url;
  std::filesystem::path data;
  std::filesystem::path log;
  pid_t pid = -1;

  Member(const std::string& n, const std::filesystem::path& dir)
      : name(n),
        client_url(test::loopbackUrl(test::closedPort())),
        peer_url(test::loopbackUrl(test::closedPort())),
        data(dir / n),
        log(dir / (n + ".log")) {}

  void start(const std::string& initial_cluster, const std::string& state) {
    pid = ::fork();
    if (pid == 0) {
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execl(test::kEtcdBinary, test::kEtcdBinary, "--name", name.c_str(), "--data-dir",
              data.c_str(), "--listen-client-urls", client_url.c_str(), "--advertise-client-urls",
              client_url.c_str(), "--listen-peer-urls", peer_url.c_str(),
              "--initial-advertise-peer-urls", peer_url.c_str(), "--initial-cluster",
              initial_cluster.c_str(), "--initial-cluster-state", state.c_str(),
              "--initial-cluster-token", "drover-grow-test", static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  // Until it knows a leader (a learner answers status too).
  bool ready() {
    auto c = etcd::Client::create({client_url}, quick());
    for (int i = 0; i < 200 && c.ok(); ++i) {
      auto st = c->status();
      if (st && st->leader != 0) return true;
      if (::waitpid(pid, nullptr, WNOHANG) == pid) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  void stop(int signal = SIGTERM) {
    if (pid <= 0) return;
    ::kill(pid, signal);
    ::waitpid(pid, nullptr, 0);
    pid = -1;
  }
  // A reinstall: the disk, and the data with it, is gone.
  void wipe() {
    stop();
    std::filesystem::remove_all(data);
  }
  std::string logText() const { return test::readFile(log); }
  ~Member() { stop(); }
};

agent::PlannedStep joinStep(const Member& self, const std::vector<const Member*>& others,
                            const std::string& declared) {
  agent::PlannedStep s;
  s.etcd = "join";
  std::string endpoints;
  for (const auto* o : others) endpoints += (endpoints.empty() ? "" : ",") + o->client_url;
  s.etcd_args = {{"endpoints", endpoints},
                 {"name", self.name},
                 {"peer_url", self.peer_url},
                 {"initial_cluster", declared},
                 {"data_dir", self.data.string()}};
  return s;
}

agent::PlannedStep promoteStep(const agent::PlannedStep& join) {
  agent::PlannedStep s;
  s.etcd = "promote";
  s.etcd_args = {{"endpoints", join.etcd_args.at("endpoints")},
                 {"peer_url", join.etcd_args.at("peer_url")}};
  return s;
}

class EtcdGrowTest : public ::testing::Test {
 protected:
  void SetUp() override { DROVER_REQUIRE_ETCD(); }

  agent::EtcdStepOptions stepOptions() {
    agent::EtcdStepOptions o;
    o.client = quick();
    o.retry.attempts = 200;
    o.retry.interval = std::chrono::milliseconds(100);
    return o;
  }

  // What the recipe does on `self`: etcd_join, start etcd with what it found, etcd_promote.
  // The timeline messages are collected.
  void join(Member& self, const std::vector<const Member*>& others, const std::string& declared) {
    agent::EtcdSteps steps(stepOptions(), [&](const std::string& m) { timeline_.push_back(m); });
    const auto j = joinStep(self, others, declared);
    auto vars = steps.run(j);
    ASSERT_TRUE(vars.ok()) << vars.error().message;
    self.start(vars->at("ETCD_INITIAL_CLUSTER"), vars->at("ETCD_INITIAL_CLUSTER_STATE"));
    ASSERT_TRUE(self.ready()) << self.logText();
    auto promoted = steps.run(promoteStep(j));
    ASSERT_TRUE(promoted.ok()) << promoted.error().message << "\n" << self.logText();
  }

  std::vector<etcd::Member> members(const Member& via) {
    auto c = etcd::Client::create({via.client_url}, quick());
    EXPECT_TRUE(c.ok());
    auto list = c->memberList();
    EXPECT_TRUE(list.ok()) << list.error().message;
    return list.ok() ? *list : std::vector<etcd::Member>{};
  }

  // Every member listed is a started voter, and `via` serves a linearizable read of `key`
  // (a member just promoted may still take itself for a learner for a moment).
  void expectWhole(const Member& via, std::size_t voters) {
    auto c = etcd::Client::create({via.client_url}, quick());
    ASSERT_TRUE(c.ok());
    Result<std::vector<etcd::Member>> list = makeError("none", "not asked");
    for (int i = 0; i < 50; ++i) {
      list = c->memberList();
      if (list.ok()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(list.ok()) << list.error().message;
    EXPECT_EQ(list->size(), voters);
    for (const auto& m : *list) {
      EXPECT_FALSE(m.learner) << m.name;
      EXPECT_TRUE(m.started()) << m.name;
    }
    auto kv = c->get("/grow/key");
    ASSERT_TRUE(kv.ok()) << kv.error().message;
    ASSERT_TRUE(kv->has_value());
    EXPECT_EQ((*kv)->value, "written before");
  }

  void lap(const char* what) {
    const auto now = Clock::now();
    std::printf("[ time ] %-46s %6lld ms\n", what,
                static_cast<long long>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(now - last_).count()));
    last_ = now;
  }

  test::TempDir dir_{"drover-etcd-grow"};
  std::vector<std::string> timeline_;
  Clock::time_point last_ = Clock::now();
};

TEST_F(EtcdGrowTest, GrowsByLearnersReinstallsAndRefusesToLoseQuorum) {
  Member m1("m1", dir_.path()), m2("m2", dir_.path()), m3("m3", dir_.path());
  // The first master of an empty cluster: nobody else is declared, it bootstraps.
  join(m1, {}, "m1=" + m1.peer_url);
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_THAT(timeline_.back(), HasSubstr("bootstrapping"));
  {
    auto c = etcd::Client::create({m1.client_url}, quick());
    ASSERT_TRUE(c->put("/grow/key", "written before").ok());
  }
  lap("first member bootstrapped");

  // Declared later: the declaration now lists all three, but m2 joins the running cluster.
  const std::string declared = "m1=" + m1.peer_url + ",m2=" + m2.peer_url + ",m3=" + m3.peer_url;
  join(m2, {&m1, &m3}, declared);  // m3 does not run yet: unreachable, skipped
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_THAT(timeline_[timeline_.size() - 2], HasSubstr("joining the running etcd cluster"));
  EXPECT_THAT(timeline_.back(), HasSubstr("promoted"));
  expectWhole(m2, 2);
  lap("second member joined as a learner, promoted");
  join(m3, {&m1, &m2}, declared);
  ASSERT_FALSE(HasFatalFailure());
  expectWhole(m3, 3);
  lap("third member joined as a learner, promoted");

  // Reinstall m3: removed first (two healthy of two remaining), then it joins again empty.
  const std::vector<std::string> all{m1.client_url, m2.client_url, m3.client_url};
  auto removed = etcd::removeMember(all, m3.peer_url, false, quick(), patient());
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_TRUE(removed->removed);
  EXPECT_EQ(removed->check.verdict, etcd::RemovalVerdict::kAllowed);
  EXPECT_THAT(removed->message, HasSubstr("2 of the 2 remaining voting members are healthy"));
  m3.wipe();
  EXPECT_EQ(members(m1).size(), 2u);
  // Asked again (say a second reinstall request): not a member any more, no fuss.
  auto again = etcd::removeMember(all, m3.peer_url, false, quick(), patient());
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->check.verdict, etcd::RemovalVerdict::kNotMember);
  EXPECT_FALSE(again->removed);
  join(m3, {&m1, &m2}, declared);
  ASSERT_FALSE(HasFatalFailure());
  expectWhole(m3, 3);
  lap("third member removed, reinstalled, joined again");

  // m2's disk is replaced without a removal: its join finds the stale member and replaces it.
  m2.wipe();
  join(m2, {&m1, &m3}, declared);
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_THAT(timeline_[timeline_.size() - 2], HasSubstr("replaced this node's former member"));
  expectWhole(m2, 3);
  lap("second member's data lost, replaced, joined again");

  // m3 is down: removing m1 would leave m2 alone healthy of two voters. Refused, then forced.
  m3.stop(SIGKILL);
  auto refused = etcd::removeMember(all, m1.peer_url, false, quick(), patient());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "etcd_quorum");
  EXPECT_THAT(refused.error().message,
              HasSubstr("would leave 1 healthy of 2 voting members, fewer than the quorum of 2"));
  EXPECT_EQ(members(m1).size(), 3u);
  auto forced = etcd::removeMember(all, m1.peer_url, true, quick(), patient());
  ASSERT_TRUE(forced.ok()) << forced.error().message;
  // etcd's own reconfiguration check refuses it too: the reinstall goes on, the member stays
  // (its node's next join replaces it once the cluster is whole again).
  EXPECT_TRUE(forced->forced);
  EXPECT_FALSE(forced->removed);
  EXPECT_THAT(forced->message, HasSubstr("forced: the removal of etcd member"));
  EXPECT_EQ(members(m1).size(), 3u);
  lap("quorum refusal, forced removal");
}

TEST_F(EtcdGrowTest, NoMemberAnsweringIsRefusedUnlessForced) {
  const std::vector<std::string> nobody{test::loopbackUrl(test::closedPort())};
  const auto peer = test::loopbackUrl(test::closedPort());
  auto refused = etcd::removeMember(nobody, peer, false, quick());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "etcd_unreachable");
  auto forced = etcd::removeMember(nobody, peer, true, quick());
  ASSERT_TRUE(forced.ok()) << forced.error().message;
  EXPECT_FALSE(forced->removed);
  EXPECT_TRUE(forced->forced);
}

}  // namespace
}  // namespace drover

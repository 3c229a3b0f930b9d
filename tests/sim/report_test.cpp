// The sim's pure parts: percentiles, the summary and its JSON/text, the power-on schedule,
// machine identities, durations, and the bit of iPXE script a machine follows.
#include <gtest/gtest.h>

#include <set>

#include "sim/config.hpp"
#include "sim/ipxe_script.hpp"
#include "sim/report.hpp"
#include "sim/schedule.hpp"

namespace drover::sim {
namespace {

TEST(Percentile, NearestRank) {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);  // unsorted on purpose
  EXPECT_EQ(percentile(v, 50), 50);
  EXPECT_EQ(percentile(v, 95), 95);
  EXPECT_EQ(percentile(v, 99), 99);
  EXPECT_EQ(percentile(v, 100), 100);
  EXPECT_EQ(percentile(v, 0), 1);
  EXPECT_EQ(percentile({}, 50), 0);
  EXPECT_EQ(percentile({7}, 99), 7);
  const auto p = percentiles({3, 1, 2});
  EXPECT_EQ(p.count, 3U);
  EXPECT_EQ(p.p50, 2);
  EXPECT_EQ(p.max, 3);
}

ClientRecord done(std::uint32_t i, double on, double off) {
  ClientRecord r;
  r.index = i;
  r.power_on_ms = on;
  r.done_ms = off;
  r.ok = true;
  for (auto& p : r.phase_ms) p = (off - on) / kPhaseCount;
  r.tftp_bytes = 100;
  r.http_bytes = 1000;
  return r;
}

TEST(Summary, CountsPercentilesAndFailures) {
  std::vector<ClientRecord> records{done(0, 0, 100), done(1, 10, 310), done(2, 20, 220)};
  ClientRecord bad;
  bad.index = 3;
  bad.power_on_ms = 5;
  bad.done_ms = 900;
  bad.failure = "tftp_timeout";
  bad.phase_ms[0] = 4;
  bad.tftp_retransmits = 5;
  records.push_back(bad);
  const auto s = summarize(records, 1000);
  EXPECT_EQ(s.clients, 4U);
  EXPECT_EQ(s.completed, 3U);
  EXPECT_EQ(s.failed, 1U);
  EXPECT_EQ(s.storm_ms, 310);  // first power-on (0) to the last successful boot
  EXPECT_EQ(s.phases.at("boot").count, 3U);
  EXPECT_EQ(s.phases.at("boot").p50, 200);
  EXPECT_EQ(s.phases.at("boot").max, 300);
  EXPECT_EQ(s.phases.at("dhcp").count, 4U);  // the failed machine finished its DHCP
  EXPECT_EQ(s.phases.at("tftp").count, 3U);
  EXPECT_EQ(s.failures.at("tftp_timeout"), 1U);
  EXPECT_EQ(s.tftp_retransmits, 5U);
  EXPECT_EQ(s.http_bytes, 3000U);

  const auto j = toJson(s);
  EXPECT_EQ(j["clients"], 4);
  EXPECT_EQ(j["completed"], 3);
  EXPECT_EQ(j["failed"], 1);
  EXPECT_DOUBLE_EQ(j["storm_seconds"].get<double>(), 0.31);
  EXPECT_DOUBLE_EQ(j["phases"]["boot"]["p50_ms"].get<double>(), 200);
  EXPECT_EQ(j["phases"]["kernel"]["count"], 3);
  EXPECT_EQ(j["failures"]["tftp_timeout"], 1);
  EXPECT_EQ(j["retransmits"]["tftp"], 5);
  EXPECT_EQ(j["bytes"]["tftp"], 300);
  // Round trip through text: what --json writes parses back.
  EXPECT_EQ(nlohmann::json::parse(j.dump()), j);

  const auto text = toText(s);
  EXPECT_NE(text.find("3 completed, 1 failed of 4"), std::string::npos) << text;
  EXPECT_NE(text.find("failed: tftp_timeout 1"), std::string::npos) << text;
  // Phases in boot order, the whole boot last.
  EXPECT_LT(text.find("dhcp"), text.find("tftp"));
  EXPECT_LT(text.find("initrd"), text.find("boot "));
}

TEST(Summary, NothingCompleted) {
  ClientRecord bad;
  bad.failure = "dhcp_timeout";
  const auto s = summarize({bad}, 50);
  EXPECT_EQ(s.completed, 0U);
  EXPECT_EQ(s.storm_ms, 0);
  EXPECT_EQ(s.phases.at("boot").count, 0U);
  EXPECT_EQ(toJson(s)["phases"]["boot"]["p99_ms"], 0);
}

TEST(Timeline, OneRowPerCompletionInTimeOrder) {
  std::vector<ClientRecord> records{done(0, 0, 3000), done(1, 0, 1000)};
  records.push_back(ClientRecord{});  // failed: not in the timeline
  const auto t = completionTimeline(records);
  ASSERT_EQ(t.size(), 2U);
  EXPECT_EQ(t[0], std::make_pair(1.0, 1U));
  EXPECT_EQ(t[1], std::make_pair(3.0, 2U));
}

TEST(Schedule, SpreadIsDeterministicAndBounded) {
  const auto a = powerOnSchedule(1000, Millis(10000), 7);
  const auto b = powerOnSchedule(1000, Millis(10000), 7);
  const auto c = powerOnSchedule(1000, Millis(10000), 8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  Millis lo = Millis::max(), hi = Millis::min();
  for (auto t : a) {
    EXPECT_GE(t.count(), 0);
    EXPECT_LE(t.count(), 10000);
    lo = std::min(lo, t);
    hi = std::max(hi, t);
  }
  // Spread over the window, not bunched at one end.
  EXPECT_LT(lo.count(), 1000);
  EXPECT_GT(hi.count(), 9000);
  for (auto t : powerOnSchedule(10, Millis(0), 1)) EXPECT_EQ(t.count(), 0);
}

TEST(Schedule, StartOrderFollowsPowerOnTimes) {
  const std::vector<Millis> s{Millis(30), Millis(10), Millis(20), Millis(10)};
  EXPECT_EQ(startOrder(s), (std::vector<std::uint32_t>{1, 3, 2, 0}));
}

TEST(Identity, DistinctMacsAndStableUuids) {
  const auto base = *MacAddress::parse("52:54:00:5a:ff:ff");
  EXPECT_EQ(clientMac(base, 0).str(), "52:54:00:5a:ff:ff");
  EXPECT_EQ(clientMac(base, 1).str(), "52:54:00:5b:00:00");
  std::set<std::string> macs, uuids;
  for (std::uint32_t i = 0; i < 5000; ++i) {
    const auto mac = clientMac(base, i);
    macs.insert(mac.str());
    uuids.insert(clientUuid(mac).str());
  }
  EXPECT_EQ(macs.size(), 5000U);
  EXPECT_EQ(uuids.size(), 5000U);
  EXPECT_EQ(clientUuid(base), clientUuid(base));
}

TEST(Durations, UnitsAndLists) {
  EXPECT_EQ(*parseDuration("250ms"), Millis(250));
  EXPECT_EQ(*parseDuration("4s"), Millis(4000));
  EXPECT_EQ(*parseDuration("4"), Millis(4000));
  EXPECT_EQ(*parseDuration("1.5s"), Millis(1500));
  EXPECT_EQ(*parseDuration("5m"), Millis(300000));
  EXPECT_FALSE(parseDuration("").ok());
  EXPECT_FALSE(parseDuration("-1s").ok());
  EXPECT_FALSE(parseDuration("3 weeks").ok());
  EXPECT_FALSE(parseDuration("10d").ok());
  EXPECT_EQ(*parseDurations("4,8,16,32"), (std::vector<Millis>{Millis(4000), Millis(8000), Millis(16000), Millis(32000)}));
  EXPECT_FALSE(parseDurations("4s,x").ok());
}

TEST(IpxeScript, ExpandsSettings) {
  const Settings s{{"netX/mac", "52:54:00:00:00:01"}, {"uuid", "u-1"}};
  EXPECT_EQ(expand("a?mac=${netX/mac}&uuid=${uuid}&x=${nope}", s), "a?mac=52:54:00:00:00:01&uuid=u-1&x=");
  EXPECT_EQ(expand("${netX/mac:hexhyp}", s), "52-54-00-00-00-01");
  EXPECT_EQ(expand("open ${brace", s), "open ${brace");
}

TEST(IpxeScript, FollowsDroversInstallAndEntryScripts) {
  const Settings s{{"netX/mac", "52:54:00:00:00:01"}};
  const auto install = parseScript(
      "#!ipxe\n# Drover: install n1.\necho Drover: installing n1\n"
      "kernel http://192.0.2.1:8080/assets/boot-env/kernel drover.api=x drover.mode=install || goto failed\n"
      "initrd --name initrd.img http://192.0.2.1:8080/assets/boot-env/initrd || goto failed\n"
      "boot || goto failed\n:failed\nsleep 5\nchain --autofree --replace http://192.0.2.1:8080/boot.ipxe\n",
      s);
  ASSERT_EQ(install.size(), 3U);
  EXPECT_EQ(install[0].kind, ScriptAction::Kind::Kernel);
  EXPECT_EQ(install[0].url, "http://192.0.2.1:8080/assets/boot-env/kernel");
  EXPECT_EQ(install[1].kind, ScriptAction::Kind::Initrd);
  EXPECT_EQ(install[1].url, "http://192.0.2.1:8080/assets/boot-env/initrd");
  EXPECT_EQ(install[2].kind, ScriptAction::Kind::Boot);

  const auto entry = parseScript(
      "#!ipxe\nisset ${netX/mac} || dhcp || goto retry\n"
      "chain --autofree --replace http://h:8080/boot.ipxe?mac=${netX/mac} || goto retry\n:retry\n"
      "chain --autofree --replace http://h:8080/boot.ipxe\n",
      s);
  ASSERT_EQ(entry.size(), 1U);
  EXPECT_EQ(entry[0].kind, ScriptAction::Kind::Chain);
  EXPECT_EQ(entry[0].url, "http://h:8080/boot.ipxe?mac=52:54:00:00:00:01");
  EXPECT_TRUE(parseScript("#!ipxe\necho nothing to do\n", s).empty());
}

TEST(IpxeScript, HttpUrls) {
  EXPECT_EQ(*parseHttpUrl("http://192.0.2.1:8080/boot.ipxe?mac=x"), (HttpUrl{"192.0.2.1", 8080, "/boot.ipxe?mac=x"}));
  EXPECT_EQ(*parseHttpUrl("http://192.0.2.1"), (HttpUrl{"192.0.2.1", 80, "/"}));
  EXPECT_FALSE(parseHttpUrl("https://192.0.2.1/").has_value());
  EXPECT_FALSE(parseHttpUrl("http://:80/").has_value());
  EXPECT_FALSE(parseHttpUrl("http://h:99999/").has_value());
  EXPECT_FALSE(parseHttpUrl("tftp://h/x").has_value());
}

}  // namespace
}  // namespace drover::sim

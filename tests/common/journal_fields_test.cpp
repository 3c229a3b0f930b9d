// The mapping of one log line to journal fields (common/journal/fields.hpp) and the
// $JOURNAL_STREAM match: pure functions.
#include "common/journal/fields.hpp"

#include <sys/stat.h>

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/journal/sink.hpp"

namespace drover::journal {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Not;

// The DROVER_<KEY> fields of an entry, after the five fixed ones.
std::vector<std::string> pairs(const std::vector<std::string>& fields) {
  return {fields.begin() + 5, fields.end()};
}

TEST(JournalFields, EventComponentAndPairs) {
  EXPECT_THAT(
      entryFields(spdlog::level::info, "dhcp",
                  "DHCP_ACK mac=52:54:00:12:34:56 xid=0x1234 ip=192.0.2.10 lease=3600"),
      ElementsAre("MESSAGE=DHCP_ACK mac=52:54:00:12:34:56 xid=0x1234 ip=192.0.2.10 lease=3600",
                  "PRIORITY=6", "SYSLOG_IDENTIFIER=drover", "DROVER_COMPONENT=dhcp",
                  "DROVER_EVENT=DHCP_ACK", "DROVER_MAC=52:54:00:12:34:56", "DROVER_XID=0x1234",
                  "DROVER_IP=192.0.2.10", "DROVER_LEASE=3600"));
}

TEST(JournalFields, PriorityFollowsTheLevel) {
  EXPECT_EQ(priority(spdlog::level::trace), 7);
  EXPECT_EQ(priority(spdlog::level::debug), 7);
  EXPECT_EQ(priority(spdlog::level::info), 6);
  EXPECT_EQ(priority(spdlog::level::warn), 4);
  EXPECT_EQ(priority(spdlog::level::err), 3);
  EXPECT_EQ(priority(spdlog::level::critical), 2);
  EXPECT_THAT(entryFields(spdlog::level::err, "agent", "AGENT_HEARTBEAT_FAILED error=timeout"),
              Contains("PRIORITY=3"));
}

TEST(JournalFields, EventIsTheLeadingUpperCaseWord) {
  EXPECT_EQ(eventOf("SERVE_STOPPED"), "SERVE_STOPPED");
  EXPECT_EQ(eventOf("HA_REPLICA_JOINED id=r2 ttl=10s"), "HA_REPLICA_JOINED");
  EXPECT_EQ(eventOf("DHCP_LISTEN_FAILED eth9: no such device"), "DHCP_LISTEN_FAILED");
  EXPECT_EQ(eventOf("RAND_bytes failed"), "");
  EXPECT_EQ(eventOf("listening on 192.0.2.1"), "");
  EXPECT_EQ(eventOf("2XX_EVENT a=b"), "");
  EXPECT_EQ(eventOf(" LEADING_SPACE"), "");
  EXPECT_EQ(eventOf(""), "");
  EXPECT_EQ(eventOf(std::string(kMaxEvent + 1, 'A')), "");
  // No event word: no DROVER_EVENT, the pairs are still fields.
  const auto fields = entryFields(spdlog::level::warn, "serve", "RAND_bytes failed code=5");
  EXPECT_THAT(fields,
              ElementsAre("MESSAGE=RAND_bytes failed code=5", "PRIORITY=4",
                          "SYSLOG_IDENTIFIER=drover", "DROVER_COMPONENT=serve", "DROVER_CODE=5"));
}

TEST(JournalFields, QuotedValuesAreOneValue) {
  const auto fields =
      entryFields(spdlog::level::info, "dhcp",
                  R"(DHCP_NAK mac=aa why="not on this net x=y" requested=192.0.2.9)");
  EXPECT_THAT(pairs(fields), ElementsAre("DROVER_MAC=aa", "DROVER_WHY=not on this net x=y",
                                         "DROVER_REQUESTED=192.0.2.9"));
  // An unterminated quote takes the rest of the line.
  EXPECT_THAT(pairs(entryFields(spdlog::level::info, "ha", R"(HA_X error="cut off a=b)")),
              ElementsAre("DROVER_ERROR=cut off a=b"));
  EXPECT_THAT(pairs(entryFields(spdlog::level::info, "ha", "HA_X empty= quoted=\"\"")),
              ElementsAre("DROVER_EMPTY=", "DROVER_QUOTED="));
}

TEST(JournalFields, KeysAreSanitisedNamesOrLeftOut) {
  const auto fields =
      entryFields(spdlog::level::info, "http",
                  "HTTP_X state-dir=/var/lib/drover a.b=1 9lives=no _under=no Mixed_Case=yes "
                  "http://host/x=1 peer=192.0.2.1:80 component=forged event=forged peer=second "
                  "k\xc3\xa9y=v " +
                      std::string(kMaxKey + 1, 'k') + "=long");
  EXPECT_THAT(pairs(fields), ElementsAre("DROVER_STATE_DIR=/var/lib/drover", "DROVER_A_B=1",
                                         "DROVER_MIXED_CASE=yes", "DROVER_PEER=192.0.2.1:80"));
  for (const auto& f : fields) {
    const auto name = f.substr(0, f.find('='));
    EXPECT_EQ(name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"), std::string::npos)
        << f;
    EXPECT_LE(name.size(), 64u) << f;
  }
  EXPECT_THAT(fields, Contains("DROVER_COMPONENT=http"));
  EXPECT_THAT(fields, Contains("DROVER_EVENT=HTTP_X"));
  EXPECT_THAT(fields, Not(Contains("DROVER_COMPONENT=forged")));
}

TEST(JournalFields, PairsAndValuesAreBounded) {
  std::string text = "MANY_PAIRS";
  for (int i = 0; i < 40; ++i) text += " k" + std::to_string(i) + "=" + std::to_string(i);
  text += " big=" + std::string(10000, 'v');
  const auto fields = entryFields(spdlog::level::info, "images", text);
  EXPECT_EQ(pairs(fields).size(), kMaxPairs);
  EXPECT_EQ(pairs(fields).back(), "DROVER_K15=15");
  EXPECT_EQ(fields.front(), "MESSAGE=" + text);  // the message itself is whole

  const auto big = entryFields(spdlog::level::info, "images", "BIG v=" + std::string(10000, 'v'));
  EXPECT_EQ(pairs(big).at(0), "DROVER_V=" + std::string(kMaxValue, 'v') + "...");
}

TEST(JournalFields, AValueEndsAtWhitespace) {
  // Lines caused by remote input are sanitised before logging; other bytes, NUL included,
  // stay in their value (libsystemd sends such a value in its binary form).
  const auto fields =
      entryFields(spdlog::level::info, "tftp", std::string("TFTP_X file=a\0b\nFORGED=1 c=d", 28));
  EXPECT_THAT(pairs(fields),
              ElementsAre(std::string("DROVER_FILE=a\0b", 15), "DROVER_FORGED=1", "DROVER_C=d"));
}

TEST(JournalStream, MatchesDeviceAndInode) {
  EXPECT_TRUE(streamMatches("8:1234", 8, 1234));
  EXPECT_TRUE(streamMatches("66307:18446744073709551615", 66307, 18446744073709551615ull));
  EXPECT_FALSE(streamMatches("8:1234", 8, 1235));
  EXPECT_FALSE(streamMatches("9:1234", 8, 1234));
  for (const char* bad : {"", ":", "8:", ":1234", "8:1234x", "8 :1234", "-8:1234", "8:1234:5",
                          "99999999999999999999999:1"}) {
    EXPECT_FALSE(streamMatches(bad, 8, 1234)) << bad;
  }
}

TEST(LogTarget, WordsAndTheirMeaning) {
  auto to_stderr = useJournal("stderr");
  ASSERT_TRUE(to_stderr);
  EXPECT_FALSE(*to_stderr);
  auto bad = useJournal("syslog");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "bad_log_target");
  struct stat st {};
  const bool socket = ::stat(std::string(kSocketPath).c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
  auto journal = useJournal("journal");
  EXPECT_EQ(journal.ok(), socket);
  if (!socket) {
    EXPECT_EQ(journal.error().code, "no_journal");
    EXPECT_THAT(journal.error().message, ::testing::HasSubstr(std::string(kSocketPath)));
  }
}

}  // namespace
}  // namespace drover::journal

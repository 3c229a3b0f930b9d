// The journal sink against a stand-in journald: in a child process with a mount namespace
// of its own, /run is an empty tmpfs and the test binds /run/systemd/journal/socket itself,
// so that libsystemd's sd_journal_sendv sends it the real datagrams. Needs root (unshare);
// touches neither the host's /run nor its journal.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/journal/sink.hpp"
#include "common/log.hpp"
#include "common/log_sink.hpp"
#include "common/metrics.hpp"

namespace drover::journal {
namespace {

using Entry = std::map<std::string, std::string>;

// One datagram of the native protocol: "NAME=value\n", or "NAME\n" + 64-bit little-endian
// size + value + "\n" for a value with a newline.
Entry parseDatagram(const std::string& d) {
  Entry e;
  std::size_t pos = 0;
  while (pos < d.size()) {
    const auto stop = d.find_first_of("=\n", pos);
    if (stop == std::string::npos) break;
    if (d[stop] == '=') {
      auto end = d.find('\n', stop);
      if (end == std::string::npos) end = d.size();
      e[d.substr(pos, stop - pos)] = d.substr(stop + 1, end - stop - 1);
      pos = end + 1;
    } else {
      if (stop + 9 > d.size()) break;
      std::uint64_t len = 0;
      for (int i = 7; i >= 0; --i) len = (len << 8) | static_cast<unsigned char>(d[stop + 1 + i]);
      if (stop + 9 + len > d.size()) break;
      e[d.substr(pos, stop - pos)] = d.substr(stop + 9, len);
      pos = stop + 9 + len + 1;
    }
  }
  return e;
}

void writeAll(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    const auto n = ::write(fd, s.data() + off, s.size() - off);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

// What the child saw, as length-prefixed records: "<tag> <size>\n<bytes>".
void record(int fd, const std::string& tag, const std::string& bytes) {
  writeAll(fd, tag + " " + std::to_string(bytes.size()) + "\n" + bytes);
}

std::string stderrLog() {
  std::string out;
  char buf[4096];
  ::lseek(STDERR_FILENO, 0, SEEK_SET);
  for (ssize_t n; (n = ::read(STDERR_FILENO, buf, sizeof buf)) > 0;)
    out.append(buf, static_cast<std::size_t>(n));
  return out;
}

std::string stderrStream() {
  struct stat st {};
  ::fstat(STDERR_FILENO, &st);
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

// The child: exits 3 when it cannot have its own /run, 0 after it recorded everything.
[[noreturn]] void child(int out) {
  if (::unshare(CLONE_NEWNS) != 0 ||
      ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount("tmpfs", "/run", "tmpfs", 0, "size=1m,mode=0755") != 0)
    ::_exit(3);
  const int err = ::open("/run/stderr.log", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (err < 0 || ::dup2(err, STDERR_FILENO) < 0) ::_exit(4);

  auto without = useJournal("journal");
  record(out, "journal-without-socket", without ? "ok" : without.error().message);

  ::mkdir("/run/systemd", 0755);
  ::mkdir("/run/systemd/journal", 0755);
  const int sock = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, "/run/systemd/journal/socket");
  if (sock < 0 || ::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) ::_exit(5);

  auto with = useJournal("journal");
  record(out, "journal-with-socket", with && *with ? "journal" : "not journal");
  ::setenv("JOURNAL_STREAM", stderrStream().c_str(), 1);
  auto automatic = useJournal("auto");
  record(out, "auto-stderr-is-stream", automatic && *automatic ? "journal" : "stderr");
  ::setenv("JOURNAL_STREAM", "1:1", 1);
  automatic = useJournal("auto");
  record(out, "auto-other-stream", automatic && *automatic ? "journal" : "stderr");

  log::setup("info");
  auto before = log::get("journal-before");  // made before the sink: switched to it
  log::useSink(makeSink());
  before->info("DHCP_ACK mac=52:54:00:12:34:56 ip=192.0.2.10 why=\"two words\"");
  log::get("journal-after")->warn("AGENT_HEARTBEAT_FAILED node=n1 error=timeout\nsecond line");
  log::get("journal-after")->debug("BELOW_LEVEL");
  for (int i = 0; i < 3; ++i) {
    pollfd p{sock, POLLIN, 0};
    if (::poll(&p, 1, i < 2 ? 2000 : 100) != 1) break;  // the third: nothing more expected
    std::string buf(65536, '\0');
    const auto n = ::recv(sock, buf.data(), buf.size(), 0);
    if (n < 0) break;
    buf.resize(static_cast<std::size_t>(n));
    record(out, "datagram", buf);
  }

  // journald refuses (its socket file is there, nobody reads it: ECONNREFUSED): the line
  // goes to stderr, and is counted.
  ::close(sock);
  log::get("journal-after")->error("STATE_READ_FAILED error=gone");
  record(out, "stderr", stderrLog());
  record(out, "failures",
         std::to_string(metrics::Registry::global().valueForTest("log_journal_failures_total")));
  ::_exit(0);
}

TEST(JournalSink, SendsStructuredEntriesToJournald) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: a mount namespace with its own /run";
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    child(fds[1]);
  }
  ::close(fds[1]);
  std::string all;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    all.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 3) GTEST_SKIP() << "no mount namespace here (unshare, mount)";
  ASSERT_EQ(WEXITSTATUS(status), 0);

  std::multimap<std::string, std::string> got;
  const auto one = [&got](const std::string& tag) {
    const auto it = got.find(tag);
    return it == got.end() ? std::string("(none)") : it->second;
  };
  for (std::size_t pos = 0; pos < all.size();) {
    const auto space = all.find(' ', pos);
    const auto nl = all.find('\n', space);
    ASSERT_NE(nl, std::string::npos);
    const auto len = std::stoul(all.substr(space + 1, nl - space - 1));
    got.emplace(all.substr(pos, space - pos), all.substr(nl + 1, len));
    pos = nl + 1 + len;
  }
  EXPECT_THAT(one("journal-without-socket"), ::testing::HasSubstr("/run/systemd/journal/socket"));
  EXPECT_EQ(one("journal-with-socket"), "journal");
  EXPECT_EQ(one("auto-stderr-is-stream"), "journal");
  EXPECT_EQ(one("auto-other-stream"), "stderr");

  std::vector<Entry> entries;
  for (auto [it, end] = got.equal_range("datagram"); it != end; ++it)
    entries.push_back(parseDatagram(it->second));
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0],
            (Entry{{"MESSAGE", "DHCP_ACK mac=52:54:00:12:34:56 ip=192.0.2.10 why=\"two words\""},
                   {"PRIORITY", "6"},
                   {"SYSLOG_IDENTIFIER", "drover"},
                   {"DROVER_COMPONENT", "journal-before"},
                   {"DROVER_EVENT", "DHCP_ACK"},
                   {"DROVER_MAC", "52:54:00:12:34:56"},
                   {"DROVER_IP", "192.0.2.10"},
                   {"DROVER_WHY", "two words"}}));
  EXPECT_EQ(entries[1].at("MESSAGE"), "AGENT_HEARTBEAT_FAILED node=n1 error=timeout\nsecond line");
  EXPECT_EQ(entries[1].at("PRIORITY"), "4");
  EXPECT_EQ(entries[1].at("DROVER_COMPONENT"), "journal-after");
  EXPECT_EQ(entries[1].at("DROVER_EVENT"), "AGENT_HEARTBEAT_FAILED");
  EXPECT_EQ(entries[1].at("DROVER_ERROR"), "timeout");
  EXPECT_EQ(entries[1].count("CODE_FILE"), 0u);

  const auto err = one("stderr");
  EXPECT_THAT(err, ::testing::HasSubstr("[journal-after] STATE_READ_FAILED error=gone"));
  EXPECT_THAT(err, ::testing::Not(::testing::HasSubstr("DHCP_ACK")));
  EXPECT_EQ(one("failures"), "1");
}

}  // namespace
}  // namespace drover::journal

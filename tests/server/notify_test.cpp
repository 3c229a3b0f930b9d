// drover serve under a service manager (Type=notify): READY=1 once every listener is bound
// and it runs, RELOADING=1 then READY=1 around a SIGHUP reload (a refused one named in
// STATUS), STOPPING=1 on SIGTERM.
#include <poll.h>
#include <signal.h>
#include <sys/un.h>

#include <cstdlib>
#include <cstring>

#include "common/fd.hpp"
#include "tests/server/serve_fixture.hpp"

namespace drover::server::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// An abstract datagram socket standing in for systemd's, named by NOTIFY_SOCKET while it
// lives.
class FakeManager {
 public:
  FakeManager() {
    const std::string name = "@drover-serve-notify-" + std::to_string(::getpid());
    fd_ = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path + 1, name.data() + 1, name.size() - 1);
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), len), 0);
    ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  }
  ~FakeManager() { ::unsetenv("NOTIFY_SOCKET"); }
  FakeManager(const FakeManager&) = delete;
  FakeManager& operator=(const FakeManager&) = delete;

  // The next message, or "" when none came within 10 s.
  std::string receive() {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) return {};
    char buf[1024];
    const auto n = ::recv(fd_.get(), buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }

 private:
  UniqueFd fd_;
};

TEST(ServeNotify, ReadyReloadingAndStoppingReachTheServiceManager) {
  FakeManager manager;
  test::TempDir dir("drover-serve-notify");
  const auto config = makeSite(dir.path(), "discover");
  RunningApp app(config);
  ASSERT_TRUE(app.ok());
  ASSERT_EQ(manager.receive(), "READY=1\nSTATUS=serving");

  ASSERT_EQ(::kill(::getpid(), SIGHUP), 0);
  EXPECT_THAT(manager.receive(), StartsWith("RELOADING=1\nMONOTONIC_USEC="));
  EXPECT_EQ(manager.receive(), "READY=1\nSTATUS=serving");

  test::writeFile(config, "server: [unclosed\n");
  ASSERT_EQ(::kill(::getpid(), SIGHUP), 0);
  EXPECT_THAT(manager.receive(), StartsWith("RELOADING=1\n"));
  const auto refused = manager.receive();
  EXPECT_THAT(refused, StartsWith("READY=1\nSTATUS=serving; last reload: "));
  EXPECT_THAT(refused, HasSubstr("still serving the previous declaration"));

  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  EXPECT_EQ(manager.receive(), "STOPPING=1");
  app.stop();
}

}  // namespace
}  // namespace drover::server::testing

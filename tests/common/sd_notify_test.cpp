// notifyService against a datagram socket standing in for the service manager's.
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>
#include <cstring>

#include <gtest/gtest.h>

#include "common/fd.hpp"
#include "common/sd_notify.hpp"

namespace drover {
namespace {

// Binds a datagram socket at `name` ("@..." abstract) and sets NOTIFY_SOCKET to it for the
// scope's lifetime.
class FakeManager {
 public:
  explicit FakeManager(const std::string& name) : name_(name) {
    fd_ = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, name.data(), name.size());
    if (name[0] == '@') addr.sun_path[0] = '\0';
    const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), len), 0)
        << std::strerror(errno);
    ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  }
  ~FakeManager() {
    ::unsetenv("NOTIFY_SOCKET");
    if (name_[0] == '/') ::unlink(name_.c_str());
  }
  std::string receive() {
    char buf[512];
    const auto n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }

 private:
  std::string name_;
  UniqueFd fd_;
};

TEST(SdNotify, WithoutNotifySocketNothingIsSent) {
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_TRUE(notifyService("READY=1"));
}

TEST(SdNotify, ReadyReachesAPathSocket) {
  const std::string path = "/tmp/drover-notify-" + std::to_string(::getpid());
  FakeManager manager(path);
  ASSERT_TRUE(notifyService("READY=1\nSTATUS=serving"));
  EXPECT_EQ(manager.receive(), "READY=1\nSTATUS=serving");
}

TEST(SdNotify, ReloadingReachesAnAbstractSocketWithItsTime) {
  FakeManager manager("@drover-notify-" + std::to_string(::getpid()));
  ASSERT_TRUE(notifyService(reloadingMessage()));
  const auto got = manager.receive();
  EXPECT_EQ(got.rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << got;
  EXPECT_GT(got.size(), std::strlen("RELOADING=1\nMONOTONIC_USEC="));
}

TEST(SdNotify, ABadSocketIsAnError) {
  ::setenv("NOTIFY_SOCKET", "relative/path", 1);
  auto st = notifyService("READY=1");
  ::unsetenv("NOTIFY_SOCKET");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "notify_socket");
  ::setenv("NOTIFY_SOCKET", "/nonexistent/drover/notify", 1);
  EXPECT_FALSE(notifyService("READY=1"));
  ::unsetenv("NOTIFY_SOCKET");
}

}  // namespace
}  // namespace drover

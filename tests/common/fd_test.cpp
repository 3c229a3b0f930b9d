#include "common/fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace drover {
namespace {

bool isOpen(int fd) {
  return ::fcntl(fd, F_GETFD) != -1;
}

TEST(UniqueFd, ClosesOnDestructionAndMove) {
  int raw = -1;
  {
    UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(fd);
    raw = fd.get();
    UniqueFd moved(std::move(fd));
    EXPECT_FALSE(fd.valid());
    EXPECT_EQ(moved.get(), raw);
    EXPECT_TRUE(isOpen(raw));
  }
  EXPECT_FALSE(isOpen(raw));

  UniqueFd a(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const int first = a.get();
  a = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));  // opened before `first` closes
  EXPECT_NE(a.get(), first);
  EXPECT_FALSE(isOpen(first));
}

TEST(UniqueFd, CloseReportsAndReleaseKeepsOpen) {
  UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  EXPECT_EQ(fd.close(), 0);
  EXPECT_FALSE(fd.valid());
  EXPECT_EQ(fd.close(), 0);  // nothing owned: a no-op

  UniqueFd kept(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const int raw = kept.release();
  EXPECT_FALSE(kept.valid());
  EXPECT_TRUE(isOpen(raw));
  ::close(raw);
}

}  // namespace
}  // namespace drover

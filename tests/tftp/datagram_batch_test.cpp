#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "common/fd.hpp"
#include "tftp/server/datagram_batch.hpp"

namespace drover::tftp {
namespace {

// A pair of UDP sockets on loopback: `out` sends (non-blocking), `in` receives.
struct Pair {
  UniqueFd out{::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)};
  UniqueFd in{::socket(AF_INET, SOCK_DGRAM, 0)};
  sockaddr_in to{};

  Pair() {
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(in.get(), reinterpret_cast<const sockaddr*>(&to), sizeof to), 0);
    socklen_t len = sizeof to;
    EXPECT_EQ(::getsockname(in.get(), reinterpret_cast<sockaddr*>(&to), &len), 0);
    const timeval limit{5, 0};  // a lost datagram fails the test instead of hanging it
    ::setsockopt(in.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  }
  const sockaddr* peer() const { return reinterpret_cast<const sockaddr*>(&to); }

  std::string receive() {
    std::array<char, 70000> buf{};
    const auto n = ::recv(in.get(), buf.data(), buf.size(), 0);
    return n < 0 ? std::string("<nothing>") : std::string(buf.data(), static_cast<std::size_t>(n));
  }
};

// `count` datagrams of a 4-byte head and a body of `blksize` bytes, the last one `last`
// bytes; every byte says which datagram it belongs to.
struct Batch {
  std::vector<std::array<char, 4>> heads;
  std::vector<std::string> bodies;

  Batch(std::size_t count, std::size_t blksize, std::size_t last) {
    for (std::size_t i = 0; i < count; ++i) {
      heads.push_back({'h', 'd', 'r', static_cast<char>('a' + i % 26)});
      bodies.emplace_back(i + 1 == count ? last : blksize, static_cast<char>('A' + i % 26));
    }
  }
  void load(DatagramBatch& b) const {
    for (std::size_t i = 0; i < heads.size(); ++i)
      b.set(i, heads[i].data(), heads[i].size(), bodies[i].data(), bodies[i].size());
  }
  std::string datagram(std::size_t i) const {
    return std::string(heads[i].data(), heads[i].size()) + bodies[i];
  }
};

void expectArrivesApart(Pair& pair, const Batch& batch, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i < to; ++i)
    EXPECT_EQ(pair.receive(), batch.datagram(i)) << "datagram " << i;
}

TEST(TftpDatagramBatch, SegmentedSendArrivesAsSeparateDatagrams) {
  Pair pair;
  const Batch batch(5, 1468, 100);
  DatagramBatch b;
  batch.load(b);
  EXPECT_EQ(b.send(pair.out.get(), pair.peer(), sizeof pair.to, 0, 5, 4 + 1468), 5u)
      << std::strerror(errno);
  EXPECT_TRUE(b.segmenting()) << "loopback takes UDP segmentation offload (Linux >= 4.18)";
  expectArrivesApart(pair, batch, 0, 5);
}

TEST(TftpDatagramBatch, AWholeWindowGoesOutInAsManyCallsAsTheDatagramLimitNeeds) {
  Pair pair;
  int big = 4 * 1024 * 1024;
  ::setsockopt(pair.in.get(), SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  const Batch batch(64, 1468, 0);  // an empty last block, as for a file of whole blocks
  DatagramBatch b;
  batch.load(b);
  std::size_t sent = 0;
  int calls = 0;
  while (sent < 64 && calls < 64) {
    const auto n = b.send(pair.out.get(), pair.peer(), sizeof pair.to, sent, 64, 4 + 1468);
    ASSERT_GT(n, 0u) << std::strerror(errno);
    sent += n;
    ++calls;
  }
  EXPECT_EQ(sent, 64u);
  EXPECT_EQ(calls, 2) << "at most 65,507 bytes (44 datagrams of 1,472) per segmented send";
  expectArrivesApart(pair, batch, 0, 64);
}

TEST(TftpDatagramBatch, FallsBackToOneDatagramEachWhenTheKernelRefusesSegmentation) {
  Pair pair;
  // Without UDP checksums (SO_NO_CHECK) the kernel refuses a segmented send (EINVAL): the
  // batch must still arrive whole, and stay on sendmmsg afterwards.
  const int on = 1;
  ASSERT_EQ(::setsockopt(pair.out.get(), SOL_SOCKET, SO_NO_CHECK, &on, sizeof on), 0);
  const Batch batch(6, 512, 7);
  DatagramBatch b;
  batch.load(b);
  std::size_t sent = 0;
  while (sent < 6) {
    const auto n = b.send(pair.out.get(), pair.peer(), sizeof pair.to, sent, 6, 4 + 512);
    ASSERT_GT(n, 0u) << std::strerror(errno);
    sent += n;
  }
  EXPECT_FALSE(b.segmenting());
  expectArrivesApart(pair, batch, 0, 6);
}

// A socket that does not know UDP_SEGMENT (as on a kernel before 4.18, which would ignore
// the control message and glue the blocks into one datagram) is asked before the first
// segmented send: here a connected pair of Unix datagram sockets stands in for it.
TEST(TftpDatagramBatch, ASocketWithoutSegmentationGetsOneDatagramEach) {
  std::array<int, 2> fds{};
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, fds.data()), 0);
  UniqueFd out(fds[0]), in(fds[1]);
  const Batch batch(3, 512, 9);
  DatagramBatch b;
  batch.load(b);
  EXPECT_EQ(b.send(out.get(), nullptr, 0, 0, 3, 4 + 512), 3u) << std::strerror(errno);
  EXPECT_FALSE(b.segmenting());
  for (std::size_t i = 0; i < 3; ++i) {
    std::array<char, 2048> buf{};
    const auto n = ::recv(in.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    ASSERT_GT(n, 0) << "datagram " << i;
    EXPECT_EQ(std::string(buf.data(), static_cast<std::size_t>(n)), batch.datagram(i));
  }
}

TEST(TftpDatagramBatch, ASingleDatagramIsSentPlainly) {
  Pair pair;
  const Batch batch(1, 512, 3);
  DatagramBatch b;
  batch.load(b);
  EXPECT_EQ(b.send(pair.out.get(), pair.peer(), sizeof pair.to, 0, 1, 4 + 512), 1u);
  expectArrivesApart(pair, batch, 0, 1);
}

}  // namespace
}  // namespace drover::tftp

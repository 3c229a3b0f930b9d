// Misbehaving clients (a scripted python3 client) and many concurrent real clients. The
// server must stay correct and free every transfer: the active-transfers gauge returns to 0.
#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/tftp/server_fixture.hpp"

namespace drover::tftp::testing {
namespace {

std::string script() {
  const char* src = std::getenv("DROVER_SOURCE_DIR");
  return std::string(src != nullptr ? src : ".") + "/tests/tftp/misbehaving_client.py";
}

class TftpMisbehaving : public ServerFixture {
 protected:
  void SetUp() override {
    // Short timeouts so abandoned transfers end quickly; these are server settings, not
    // assertions about time.
    config_.retransmit_timeout = std::chrono::milliseconds(200);
    config_.max_retransmit_timeout = std::chrono::milliseconds(400);
    config_.max_retries = 3;
    sha_ = addFile("medium.bin", randomBytes(200'000, 11));
    startServer();
  }

  int scenario(const std::string& name) {
    return run("python3 " + script() + " " + std::to_string(port()) + " " + name + " medium.bin " + sha_);
  }

  std::string sha_;
};

TEST_F(TftpMisbehaving, NeverAcks) {
  EXPECT_EQ(scenario("never_ack"), 0);
  EXPECT_EQ(waitIdle(), 0);
  EXPECT_EQ(transfers("timeout"), 1);
}

TEST_F(TftpMisbehaving, DuplicateAndStaleAcksCauseNoDuplicateBursts) {
  EXPECT_EQ(scenario("reack_old"), 0);
  EXPECT_EQ(waitIdle(), 0);
  EXPECT_EQ(transfers("ok"), 1);
  EXPECT_GT(drops("duplicate_ack"), 0);
  EXPECT_GT(drops("stale_ack"), 0);
}

TEST_F(TftpMisbehaving, VanishesMidTransfer) {
  EXPECT_EQ(scenario("vanish"), 0);
  EXPECT_EQ(waitIdle(), 0);
  EXPECT_EQ(transfers("timeout"), 1);
}

TEST_F(TftpMisbehaving, SecondPortGetsUnknownTidAndTransferGoesOn) {
  EXPECT_EQ(scenario("second_port"), 0);
  EXPECT_EQ(waitIdle(), 0);
  EXPECT_EQ(transfers("ok"), 1);
  EXPECT_EQ(drops("unknown_tid"), 1);
}

TEST_F(TftpMisbehaving, ClientErrorAfterTsizeIsANormalEnd) {
  EXPECT_EQ(scenario("tsize_probe"), 0);
  EXPECT_EQ(waitIdle(), 0);
  EXPECT_EQ(transfers("client_abort"), 1);
  EXPECT_EQ(transfers("error"), 0);
}

TEST_F(TftpMisbehaving, GarbageIsDroppedAndCounted) {
  EXPECT_EQ(scenario("garbage"), 0);
  EXPECT_EQ(waitIdle(), 0);
  EXPECT_EQ(transfers("ok"), 1);
  EXPECT_GE(drops("malformed"), 4);
  EXPECT_GE(drops("unexpected_packet"), 2);
  EXPECT_EQ(drops("duplicate_request"), 1);
}

TEST_F(TftpMisbehaving, AllAtOnce) {
  // Every scenario in parallel, twice: nothing leaks, the good transfers complete.
  std::string cmd = "sh -c '";
  for (int round = 0; round < 2; ++round)
    for (const char* s : {"never_ack", "reack_old", "vanish", "second_port", "tsize_probe", "garbage"})
      cmd += "python3 " + script() + " " + std::to_string(port()) + " " + s + " medium.bin " + sha_ +
             " || echo FAILED " + s + " > " + out(std::string("fail-") + s).string() + " & ";
  cmd += "wait'";
  run(cmd);
  for (const char* s : {"never_ack", "reack_old", "vanish", "second_port", "tsize_probe", "garbage"})
    EXPECT_FALSE(std::filesystem::exists(out(std::string("fail-") + s))) << s;
  EXPECT_EQ(waitIdle(), 0);
  EXPECT_EQ(transfers("ok"), 6);
  EXPECT_EQ(transfers("timeout"), 4);
  EXPECT_EQ(transfers("client_abort"), 2);
}

class TftpConcurrent : public ServerFixture {
 protected:
  void SetUp() override { startServer(2); }  // two io threads: transfers on strands in parallel
};

TEST_F(TftpConcurrent, FiftyClientsAllCompleteWithCorrectBytes) {
  std::vector<std::string> shas;
  for (int f = 0; f < 5; ++f)
    shas.push_back(addFile("f" + std::to_string(f) + ".bin", randomBytes(1'000'000 + 777 * f, 100 + f)));
  const std::string p = std::to_string(port());
  std::string cmd = "sh -c '";
  for (int i = 0; i < 50; ++i) {
    const std::string file = "f" + std::to_string(i % 5) + ".bin";
    const std::string dest = out("c" + std::to_string(i)).string();
    switch (i % 3) {
      case 0:
        cmd += "curl -s --tftp-blksize 1468 -o " + dest + " tftp://127.0.0.1:" + p + "/" + file;
        break;
      case 1:
        cmd += "atftp --option \"blksize 1468\" --option \"windowsize 16\" -g -r " + file + " -l " + dest +
               " 127.0.0.1 " + p + " >/dev/null 2>&1";
        break;
      default:
        cmd += "tftp -m binary 127.0.0.1 " + p + " -c get " + file + " " + dest;
        break;
    }
    cmd += " & ";
  }
  cmd += "wait'";
  run(cmd);
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(sha256File(out("c" + std::to_string(i))), shas[static_cast<std::size_t>(i % 5)]) << "client " << i;
  EXPECT_EQ(waitIdle(), 0);
  EXPECT_EQ(transfers("ok"), 50);
}

}  // namespace
}  // namespace drover::tftp::testing

// The server against real clients: tftp-hpa, atftp and curl, downloads compared by
// SHA-256. Loopback only, ephemeral port.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>

#include "tests/tftp/server_fixture.hpp"
#include "tftp/wire/netascii.hpp"
#include "tftp/wire/packet.hpp"

namespace drover::tftp::testing {
namespace {

class TftpClients : public ServerFixture {
 protected:
  void SetUp() override { startServer(); }

  std::string hpa(const std::string& args) const {
    return "tftp 127.0.0.1 " + std::to_string(port()) + " " + args + " >/dev/null 2>&1";
  }
  std::string atftp(const std::string& options, const std::string& file, const std::string& dest) const {
    return "atftp " + options + " -g -r " + file + " -l " + out(dest).string() + " 127.0.0.1 " +
           std::to_string(port()) + " >/dev/null 2>&1";
  }
};

TEST_F(TftpClients, TftpHpaOctetIncludingEmptyAndBlockMultiple) {
  const auto small = addFile("small.bin", randomBytes(1000, 1));
  const auto exact = addFile("exact.bin", randomBytes(512 * 4, 2));
  const auto empty = addFile("empty.bin", "");
  ASSERT_EQ(run(hpa("-m binary -c get small.bin " + out("small").string())), 0);
  ASSERT_EQ(run(hpa("-m binary -c get exact.bin " + out("exact").string())), 0);
  ASSERT_EQ(run(hpa("-m binary -c get empty.bin " + out("empty").string())), 0);
  EXPECT_EQ(sha256File(out("small")), small);
  EXPECT_EQ(sha256File(out("exact")), exact);
  EXPECT_EQ(sha256File(out("empty")), empty);
  EXPECT_EQ(waitIdle(), 0);
  EXPECT_EQ(transfers("ok"), 3);
  EXPECT_EQ(metric("tftp_bytes_total"), 1000 + 2048);
}

TEST_F(TftpClients, TftpHpaRollsBlockNumbersOver) {
  // More than 65535 blocks of 512 bytes: block numbers wrap past 65535.
  const std::size_t size = 65535u * 512 + 5 * 512 + 100;
  const auto big = addFile("big.bin", randomBytes(size, 3));
  ASSERT_EQ(run(hpa("-m binary -c get big.bin " + out("big").string())), 0);
  EXPECT_EQ(sha256File(out("big")), big);
  EXPECT_EQ(waitIdle(), 0);
  EXPECT_EQ(transfers("ok"), 1);
}

TEST_F(TftpClients, TftpHpaNetascii) {
  const std::string text = "#!ipxe\nchain http://192.0.2.1/boot.ipxe\r\nbare\rcr\n" + std::string(700, 'x') + "\n";
  addFile("script.txt", text);
  ASSERT_EQ(run(hpa("-m ascii -c get script.txt " + out("script").string())), 0);
  EXPECT_EQ(readFile(out("script")), text);
}

TEST_F(TftpClients, AtftpBlksizeAndWindowsize) {
  const auto medium = addFile("medium.bin", randomBytes(3'000'000, 4));
  const auto big = addFile("big.bin", randomBytes(20'000'000 + 17, 5));
  ASSERT_EQ(run(atftp("--option \"blksize 1468\" --option \"windowsize 16\"", "medium.bin", "m")), 0);
  ASSERT_EQ(run(atftp("--option \"blksize 1468\" --option \"windowsize 16\" --option \"tsize 0\"", "big.bin", "b")), 0);
  ASSERT_EQ(run(atftp("", "medium.bin", "plain")), 0);
  // The largest window the server grants: a whole window read and sent in one batch.
  ASSERT_EQ(run(atftp("--option \"blksize 1468\" --option \"windowsize 64\"", "big.bin", "w64")), 0);
  EXPECT_EQ(sha256File(out("m")), medium);
  EXPECT_EQ(sha256File(out("b")), big);
  EXPECT_EQ(sha256File(out("plain")), medium);
  EXPECT_EQ(sha256File(out("w64")), big);
  ASSERT_EQ(waitIdle(), 0);
  auto records = observer_.records();
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].blksize, 1468u);
  EXPECT_EQ(records[0].windowsize, 16);
  EXPECT_EQ(records[2].blksize, 512u);
  EXPECT_EQ(records[3].windowsize, 64);
}

TEST_F(TftpClients, BlksizeIsClampedToTheConfiguredMaximum) {
  const auto medium = addFile("medium.bin", randomBytes(500'000, 6));
  ASSERT_EQ(run(atftp("--option \"blksize 8192\"", "medium.bin", "m")), 0);
  EXPECT_EQ(sha256File(out("m")), medium);
  ASSERT_EQ(waitIdle(), 0);
  auto records = observer_.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].blksize, 1468u);
}

TEST_F(TftpClients, CurlDefaultAndBlksize) {
  const auto medium = addFile("dir/medium.bin", randomBytes(2'000'000, 7));
  ASSERT_EQ(run("curl -s -o " + out("a").string() + " " + url("dir/medium.bin")), 0);
  ASSERT_EQ(run("curl -s --tftp-blksize 1468 -o " + out("b").string() + " " + url("dir/medium.bin")), 0);
  ASSERT_EQ(run("curl -s --tftp-no-options -o " + out("c").string() + " " + url("dir/medium.bin")), 0);
  EXPECT_EQ(sha256File(out("a")), medium);
  EXPECT_EQ(sha256File(out("b")), medium);
  EXPECT_EQ(sha256File(out("c")), medium);
  EXPECT_EQ(waitIdle(), 0);
  EXPECT_EQ(transfers("ok"), 3);
}

TEST_F(TftpClients, VirtualFilesComeFromTheHook) {
  vfs_.set("boot.ipxe", "#!ipxe\necho virtual\n");
  addFile("boot.ipxe", "from disk\n");
  ASSERT_EQ(run("curl -s -o " + out("v").string() + " " + url("boot.ipxe")), 0);
  EXPECT_EQ(readFile(out("v")), "#!ipxe\necho virtual\n");
  ASSERT_EQ(waitIdle(), 0);
  auto records = observer_.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].virtual_file);
  EXPECT_EQ(records[0].path, "boot.ipxe");
  EXPECT_EQ(records[0].result, TransferResult::Ok);
  EXPECT_EQ(records[0].bytes, 20u);
}

// A file elsewhere on disk under another name (the signed shim and GRUB, the boot
// environment); one that is gone is "not found".
TEST_F(TftpClients, AliasedFilesAreServedFromTheirPath) {
  const auto elsewhere = dir_.write("system/shimx64.efi.signed", randomBytes(300'000, 8));
  vfs_.alias("shimx64.efi", elsewhere);
  vfs_.alias("gone.efi", dir_.path() / "system/missing");
  ASSERT_EQ(run("curl -s --tftp-blksize 1468 -o " + out("s").string() + " " + url("shimx64.efi")), 0);
  EXPECT_EQ(readFile(out("s")), readFile(elsewhere));
  EXPECT_NE(run("curl -s -o " + out("g").string() + " " + url("gone.efi")), 0);
  ASSERT_EQ(waitIdle(), 0);
  auto records = observer_.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].result, TransferResult::Ok);
  EXPECT_EQ(records[0].bytes, 300'000u);
  EXPECT_FALSE(records[0].virtual_file);
  EXPECT_EQ(records[1].result, TransferResult::NotFound);
}

TEST_F(TftpClients, ErrorsAreAnsweredAndCounted) {
  dir_.write("secret.txt", "outside the root\n");
  EXPECT_NE(run("curl -s -o " + out("x").string() + " " + url("missing.bin")), 0);
  // tftp-hpa exits 0 even when the server answers with an error: check what happened.
  run(hpa("-m binary -c get ../secret.txt " + out("y").string()));
  EXPECT_NE(readFile(out("y")), "outside the root\n");
  run(hpa("-m binary -c put " + (dir_ / "secret.txt").string() + " upload.txt"));
  EXPECT_FALSE(std::filesystem::exists(root() / "upload.txt"));
  EXPECT_EQ(waitIdle(), 0);
  EXPECT_EQ(transfers("not_found"), 1);
  EXPECT_EQ(transfers("access_denied"), 1);
  EXPECT_EQ(transfers("refused"), 1);
}

// Raw RRQs with hostile names, over the wire: every one is answered with an ERROR, never
// with data.
TEST_F(TftpClients, HostileNamesOverTheWireGetErrors) {
  dir_.write("secret.txt", "outside the root\n");
  std::filesystem::create_symlink(dir_ / "secret.txt", root() / "link");
  std::filesystem::create_symlink("../secret.txt", root() / "rel");
  const std::string names[] = {"../secret.txt", "..\\secret.txt", "/../secret.txt", "a/../../secret.txt",
                               "link", "rel", (dir_ / "secret.txt").string(), "//..//secret.txt",
                               "a\x01b", std::string(255, 'a'), ".", "/"};
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  timeval tv{10, 0};  // safety only
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port());
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (const auto& name : names) {
    wire::Bytes rrq;
    wire::encodeRequest({wire::Opcode::Rrq, name, wire::Mode::Octet, {}}, rrq);
    ASSERT_EQ(::sendto(fd, rrq.data(), rrq.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
              static_cast<ssize_t>(rrq.size()));
    std::array<std::byte, 600> in{};
    const ssize_t n = ::recv(fd, in.data(), in.size(), 0);
    ASSERT_GE(n, 4) << name;
    auto p = wire::parsePacket(std::span(in).first(static_cast<std::size_t>(n)));
    ASSERT_TRUE(p.ok()) << name;
    auto* err = std::get_if<wire::ErrorPacket>(&*p);
    ASSERT_NE(err, nullptr) << "hostile name got data: " << name;
    EXPECT_TRUE(err->code == wire::ErrorCode::AccessViolation || err->code == wire::ErrorCode::FileNotFound) << name;
  }
  ::close(fd);
  EXPECT_EQ(waitIdle(), 0);
  EXPECT_EQ(transfers("ok"), 0);
}

class TftpSearchPath : public ServerFixture {
 protected:
  void SetUp() override {
    config_.search_path = {"/usr/lib/ipxe"};
    startServer();
  }
};

TEST_F(TftpSearchPath, ServesDebianIpxeBinaries) {
  const std::filesystem::path ipxe = "/usr/lib/ipxe/undionly.kpxe";
  ASSERT_TRUE(std::filesystem::exists(ipxe)) << "install Debian's ipxe package (scripts/setup.sh)";
  ASSERT_EQ(run("curl -s --tftp-blksize 1468 -o " + out("u").string() + " " + url("undionly.kpxe")), 0);
  EXPECT_EQ(sha256File(out("u")), sha256File(ipxe));
  // A file in the root shadows the search path.
  addFile("undionly.kpxe", "local build\n");
  ASSERT_EQ(run("curl -s -o " + out("l").string() + " " + url("undionly.kpxe")), 0);
  EXPECT_EQ(readFile(out("l")), "local build\n");
}

}  // namespace
}  // namespace drover::tftp::testing

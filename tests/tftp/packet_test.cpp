#include <gtest/gtest.h>

#include <string>

#include "tftp/wire/packet.hpp"

namespace drover::tftp::wire {
namespace {

using namespace std::string_literals;

ByteView bytesOf(const std::string& s) { return drover::wire::asBytes(s); }

std::string str(const Bytes& b) { return std::string(drover::wire::asChars(b)); }

TEST(TftpPacket, ParsesPlainReadRequest) {
  const std::string d = "\0\1undionly.kpxe\0octet\0"s;
  auto req = parseRequest(bytesOf(d));
  ASSERT_TRUE(req.ok()) << req.error().code;
  EXPECT_EQ(req->opcode, Opcode::Rrq);
  EXPECT_EQ(req->filename, "undionly.kpxe");
  EXPECT_EQ(req->mode, Mode::Octet);
  EXPECT_TRUE(req->options.empty());
}

TEST(TftpPacket, ModeAndOptionNamesAreCaseInsensitive) {
  const std::string d = "\0\1f\0NetASCII\0BLKSIZE\0001024\0TSize\0000\0"s;
  auto req = parseRequest(bytesOf(d));
  ASSERT_TRUE(req.ok()) << req.error().code;
  EXPECT_EQ(req->mode, Mode::Netascii);
  ASSERT_EQ(req->options.size(), 2u);
  EXPECT_EQ(req->options[0], (Option{"blksize", "1024"}));
  EXPECT_EQ(req->options[1], (Option{"tsize", "0"}));
}

TEST(TftpPacket, FirstOfDuplicateOptionsWins) {
  const std::string d = "\0\1f\0octet\0blksize\0001024\0blksize\0008\0"s;
  auto req = parseRequest(bytesOf(d));
  ASSERT_TRUE(req.ok());
  ASSERT_EQ(req->options.size(), 1u);
  EXPECT_EQ(req->options[0].value, "1024");
}

TEST(TftpPacket, TrailingNulPaddingIsIgnored) {
  const std::string d = "\0\1f\0octet\0\0\0\0"s;
  auto req = parseRequest(bytesOf(d));
  ASSERT_TRUE(req.ok());
  EXPECT_TRUE(req->options.empty());
}

TEST(TftpPacket, RejectsMalformedRequests) {
  struct Case {
    std::string bytes;
    const char* code;
  };
  const Case cases[] = {
      {""s, "short"},
      {"\0"s, "short"},
      {"\0\1abc"s, "no_filename"},
      {"\0\1\0octet\0"s, "bad_filename"},
      {"\0\1f\0octet"s, "no_mode"},
      {"\0\1f\0binary\0"s, "bad_mode"},
      {"\0\1f\0octet\0blksize\0001024"s, "bad_option"},
      {"\0\1f\0octet\0\0\0001024\0"s, "bad_option"},
      {"\0\11f\0octet\0"s, "bad_opcode"},
      {"\0\1"s + std::string(256, 'a') + "\0octet\0"s, "filename_too_long"},
  };
  for (const auto& c : cases) {
    auto p = parsePacket(bytesOf(c.bytes));
    ASSERT_FALSE(p.ok()) << c.code;
    EXPECT_EQ(p.error().code, c.code);
  }
}

TEST(TftpPacket, RejectsTooManyOptions) {
  std::string d = "\0\1f\0octet\0"s;
  for (int i = 0; i < 17; ++i) d += "o" + std::to_string(i) + "\0v\0"s;
  auto p = parsePacket(bytesOf(d));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, "too_many_options");
}

TEST(TftpPacket, ParsesAckErrorDataOack) {
  auto ack = parsePacket(bytesOf("\0\4\xff\xfe"s));
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(std::get<Ack>(*ack).block, 0xfffe);

  auto longAck = parsePacket(bytesOf("\0\4\0\1\0"s));
  ASSERT_FALSE(longAck.ok());
  EXPECT_EQ(longAck.error().code, "trailing_bytes");

  auto err = parsePacket(bytesOf("\0\5\0\10tsize probe"s));
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(std::get<ErrorPacket>(*err).code, ErrorCode::OptionRefused);
  EXPECT_EQ(std::get<ErrorPacket>(*err).message, "tsize probe");

  auto data = parsePacket(bytesOf("\0\3\0\7hey"s));
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(std::get<Data>(*data).block, 7);
  EXPECT_EQ(std::get<Data>(*data).payload.size(), 3u);

  auto oack = parsePacket(bytesOf("\0\6blksize\0001468\0"s));
  ASSERT_TRUE(oack.ok());
  EXPECT_EQ(std::get<Oack>(*oack).options, (std::vector<Option>{{"blksize", "1468"}}));
}

TEST(TftpPacket, EncodersProduceWireBytes) {
  Bytes out;
  encodeAck(0x1234, out);
  EXPECT_EQ(str(out), "\0\4\x12\x34"s);
  encodeError(ErrorCode::FileNotFound, "nope", out);
  EXPECT_EQ(str(out), "\0\5\0\1nope\0"s);
  encodeError(ErrorCode::NotDefined, "a\0b"s, out);
  EXPECT_EQ(str(out), "\0\5\0\0a\0"s);
  encodeData(65535, bytesOf("xy"), out);
  EXPECT_EQ(str(out), "\0\3\xff\xffxy"s);
  encodeOack({{"tsize", "42"}, {"blksize", "1468"}}, out);
  EXPECT_EQ(str(out), "\0\6tsize\00042\0blksize\0001468\0"s);

  Bytes buf(6);
  writeDataHeader(258, buf);
  EXPECT_EQ(str(Bytes(buf.begin(), buf.begin() + 4)), "\0\3\1\2"s);
}

TEST(TftpPacket, RequestRoundTrip) {
  Request req{Opcode::Rrq, "boot/vmlinuz", Mode::Netascii, {{"blksize", "1468"}, {"windowsize", "16"}}};
  Bytes out;
  encodeRequest(req, out);
  auto back = parseRequest(out);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, req);
}

TEST(TftpPacket, ParseRequestRefusesOtherOpcodes) {
  auto r = parseRequest(bytesOf("\0\4\0\1"s));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "not_request");
}

}  // namespace
}  // namespace drover::tftp::wire

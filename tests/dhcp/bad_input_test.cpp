// Bad datagrams are counted, named drops; never a crash.
#include <set>
#include <string_view>

#include "tests/dhcp/support/engine_fixture.hpp"

namespace drover::dhcp::test {
namespace {

TEST_F(EngineTest, EveryBadShapeIsANamedCountedDrop) {
  auto good = *wire::encode(discoverFor(1));
  auto dropOf = [&](const wire::Bytes& b) {
    return std::string(engine_->handle(b, onLink()).drop);
  };
  EXPECT_EQ(dropOf(wire::Bytes(good.begin(), good.begin() + 100)), "truncated");
  EXPECT_EQ(dropOf(wire::Bytes(wire::kMaxMessageSize + 1)), "oversized");
  auto bad_cookie = good;
  bad_cookie[237] = std::byte{0};
  EXPECT_EQ(dropOf(bad_cookie), "bad_cookie");
  auto overrun = wire::Bytes(good.begin(), good.begin() + 240);
  overrun.insert(overrun.end(),
                 {std::byte{53}, std::byte{1}, std::byte{1}, std::byte{60}, std::byte{200}});
  EXPECT_EQ(dropOf(overrun), "option_overrun");
  auto reply = discoverFor(1);
  reply.op = 2;
  EXPECT_EQ(dropOf(*wire::encode(reply)), "bootreply");
  auto zero = discoverFor(1);
  zero.chaddr.fill(0);
  EXPECT_EQ(dropOf(*wire::encode(zero)), "zero_chaddr");
  auto bootp = discoverFor(1);
  bootp.options.erase(wire::opt::kMessageType);
  EXPECT_EQ(dropOf(*wire::encode(bootp)), "no_message_type");
  for (const char* reason : {"truncated", "oversized", "bad_cookie", "option_overrun", "bootreply",
                             "zero_chaddr", "no_message_type"})
    EXPECT_EQ(drops(reason), 1) << reason;
}

TEST_F(EngineTest, CorpusNeverCrashesTheEngine) {
  for (const char* name : {"bad-overload-loop.bin", "bad-truncated.bin", "bad-cookie.bin",
                           "bad-option-overrun.bin", "bad-bootreply.bin", "bad-zero-chaddr.bin"}) {
    auto bytes = bytesOf(corpusFile(name));
    auto out = engine_->handle(bytes, onLink());
    EXPECT_FALSE(out.reply) << name;
    EXPECT_FALSE(out.drop.empty()) << name;
  }
}

// The drop reasons are an enum: every one has its own label and its own series from the
// start, and each decode error of the codec lands on its named reason, not on "other".
TEST_F(EngineTest, EveryDropReasonIsItsOwnSeries) {
  const std::string rendered = registry_->render();
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < kDropCount; ++i) {
    const std::string name(toString(static_cast<Drop>(i)));
    EXPECT_TRUE(names.insert(toString(static_cast<Drop>(i))).second) << name;
    EXPECT_NE(rendered.find("dhcp_drops_total{reason=\"" + name + "\"} 0"), std::string::npos)
        << name;
  }
  EXPECT_EQ(toString(Drop::Other), "other");
  for (const char* code : {"truncated", "oversized", "bad_cookie", "bad_hlen", "option_overrun",
                           "bad_option_length", "bad_overload", "overload_loop"})
    EXPECT_EQ(toString(dropForDecodeError(code)), code);
  EXPECT_EQ(dropForDecodeError("no_such_code"), Drop::Other);
  engine_->stats().drop(Drop::StoreError);
  EXPECT_EQ(drops("store_error"), 1);
}

}  // namespace
}  // namespace drover::dhcp::test

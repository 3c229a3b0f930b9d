// The agent checks the plan's detached signature over the image stream, alongside the
// sha256: a good signature installs, a bad one (other key, other bytes, garbage) is refused
// with a named error and the target is never flushed as written. Also across a resume.
#include <gtest/gtest.h>

#include "agent/api_client.hpp"
#include "agent/digest.hpp"
#include "agent/image_stream.hpp"
#include "images/verify/signature.hpp"
#include "tests/agent/test_server.hpp"
#include "tests/images/keys.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::agent {
namespace {

class AgentSignatureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.ok());
    ASSERT_TRUE(drover::test::makeKeyPair(dir_.path(), "release", "ec"));
    ASSERT_TRUE(drover::test::makeKeyPair(dir_.path(), "mallory", "rsa"));
    image_.resize(2 * 1024 * 1024 + 17);
    for (std::size_t i = 0; i < image_.size(); ++i) image_[i] = static_cast<std::uint8_t>(i * 31 + 7);
    server_.addFile("disk.raw", image_);
    drover::test::writeFile(dir_.path() / "disk.raw",
                            std::string_view(reinterpret_cast<const char*>(image_.data()), image_.size()));
  }
  // base64 of `signer`'s signature over the image, as the server puts it in the plan.
  std::string signature(const std::string& signer) {
    EXPECT_TRUE(drover::test::sign(dir_.path(), signer, dir_.path() / "disk.raw", dir_.path() / "sig", true));
    return *images::verify::readSmallFile(dir_.path() / "sig");
  }
  std::string pem(const std::string& name) { return *images::verify::readSmallFile(dir_.path() / (name + ".pub")); }
  StreamOptions options(const std::string& path = "/disk.raw") {
    StreamOptions o;
    o.url = server_.url(path);
    o.sha256 = sha256Hex(image_);
    o.format = "raw";
    o.size = image_.size();
    o.backoff_initial = std::chrono::milliseconds(10);
    o.backoff_max = std::chrono::milliseconds(50);
    return o;
  }
  Result<StreamResult> stream(const StreamOptions& o) {
    auto sink = FileSink::open(dir_.path() / "target");
    if (!sink) return sink.error();
    return streamImage(o, **sink);
  }

  drover::test::TempDir dir_{"agent-sig-test"};
  test::TestServer server_;
  std::vector<std::uint8_t> image_;
};

TEST_F(AgentSignatureTest, GoodSignatureInstalls) {
  auto o = options();
  o.signature = signature("release");
  o.signature_key = pem("release");
  auto r = stream(o);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->signature_verified);
  EXPECT_EQ(r->written, image_.size());
}

TEST_F(AgentSignatureTest, SignatureByAnotherKeyIsRefused) {
  auto o = options();
  o.signature = signature("mallory");
  o.signature_key = pem("release");
  auto r = stream(o);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().code == "signature_mismatch" || r.error().code == "signature_invalid") << r.error().code;
}

TEST_F(AgentSignatureTest, SignatureOfOtherBytesIsRefused) {
  auto other = image_;
  other.back() ^= 1;
  drover::test::writeFile(dir_.path() / "disk.raw",
                          std::string_view(reinterpret_cast<const char*>(other.data()), other.size()));
  auto o = options();
  o.signature = signature("release");
  o.signature_key = pem("release");
  auto r = stream(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "signature_mismatch");
}

TEST_F(AgentSignatureTest, BadKeyOrGarbageSignatureIsRefusedBeforeWriting) {
  auto o = options();
  o.signature = signature("release");
  o.signature_key = "not a key";
  auto r = stream(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "key_invalid");
  EXPECT_TRUE(server_.requests().empty());

  o.signature_key = pem("release");
  o.signature = "!!";
  r = stream(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "signature_invalid");
}

TEST_F(AgentSignatureTest, VerifiedAcrossAResume) {
  auto o = options("/disk.raw?drop_after=700000");
  o.signature = signature("release");
  o.signature_key = pem("release");
  auto r = stream(o);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->signature_verified);
  EXPECT_EQ(r->resumes, 1);
}

TEST(PlanSignatureTest, SignatureWithoutKeyIsABadPlan) {
  const std::string sha(64, 'a');
  auto ok = parsePlan(R"({"image":{"url":"http://x/d","sha256":")" + sha +
                      R"(","signature":"c2ln","signature_key":"pem"},"disk":"/dev/sda"})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->image.signature, "c2ln");
  EXPECT_EQ(ok->image.signature_key, "pem");
  EXPECT_FALSE(parsePlan(R"({"image":{"url":"http://x/d","sha256":")" + sha +
                         R"(","signature":"c2ln"},"disk":"/dev/sda"})"));
}

}  // namespace
}  // namespace drover::agent

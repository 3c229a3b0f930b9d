// Checksums and detached signatures: what `openssl dgst -sha256 -sign` writes verifies,
// anything else is refused with a named error.
#include <gtest/gtest.h>

#include "images/verify/signature.hpp"
#include "tests/images/keys.hpp"
#include "tests/support/temp_dir.hpp"

namespace drover::images::verify {
namespace {

using test::TempDir;

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(Sha256HasherTest, KnownVector) {
  Sha256Hasher h;
  h.update(bytes("ab"));
  h.update(bytes("c"));
  EXPECT_EQ(h.finish().hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

class SignatureTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(test::makeKeyPair(dir_.path(), "k", GetParam()));
    ASSERT_TRUE(test::makeKeyPair(dir_.path(), "other", GetParam()));
    test::writeFile(file_, std::string(300000, 'x') + "image");
  }
  TempDir dir_{"verify-test"};
  std::filesystem::path file_ = dir_.path() / "disk.raw";
};

TEST_P(SignatureTest, GoodSignatureVerifiesInOnePassWithTheChecksum) {
  ASSERT_TRUE(test::sign(dir_.path(), "k", file_, dir_.path() / "disk.sig"));
  auto key = PublicKey::load(dir_.path() / "k.pub");
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(key->type(), GetParam() == "rsa" ? "rsa" : "ecdsa");
  auto sig = decodeSignature(*readSmallFile(dir_.path() / "disk.sig"));
  ASSERT_TRUE(sig);
  auto expected = checkFile(file_);
  ASSERT_TRUE(expected);
  auto got = checkFile(file_, {&*expected, &*key, *sig});
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, *expected);
}

TEST_P(SignatureTest, Base64SignatureIsAccepted) {
  ASSERT_TRUE(test::sign(dir_.path(), "k", file_, dir_.path() / "disk.sig", true));
  auto key = PublicKey::load(dir_.path() / "k.pub");
  auto sig = decodeSignature(*readSmallFile(dir_.path() / "disk.sig"));
  ASSERT_TRUE(key && sig);
  EXPECT_TRUE(checkFile(file_, {nullptr, &*key, *sig}));
}

TEST_P(SignatureTest, OtherKeyOrOtherBytesAreRefused) {
  ASSERT_TRUE(test::sign(dir_.path(), "k", file_, dir_.path() / "disk.sig"));
  auto sig = decodeSignature(*readSmallFile(dir_.path() / "disk.sig"));
  auto other = PublicKey::load(dir_.path() / "other.pub");
  ASSERT_TRUE(sig && other);
  auto r = checkFile(file_, {nullptr, &*other, *sig});
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().code == "signature_mismatch" || r.error().code == "signature_invalid") << r.error().code;

  auto key = PublicKey::load(dir_.path() / "k.pub");
  test::writeFile(file_, std::string(300000, 'x') + "imagE");
  r = checkFile(file_, {nullptr, &*key, *sig});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "signature_mismatch");
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, SignatureTest, ::testing::Values("ec", "rsa"));

TEST(PublicKeyTest, Ed25519AndGarbageAreRefusedWithAReason) {
  TempDir dir("verify-test");
  ASSERT_TRUE(test::makeKeyPair(dir.path(), "ed", "ed25519"));
  auto ed = PublicKey::load(dir.path() / "ed.pub");
  ASSERT_FALSE(ed);
  EXPECT_EQ(ed.error().code, "key_unsupported");
  EXPECT_EQ(PublicKey::fromPem("hello").error().code, "key_invalid");
  EXPECT_EQ(PublicKey::load(dir.path() / "missing.pub").error().code, "key_unreadable");
}

TEST(ChecksumTest, MismatchNamesBothDigests) {
  TempDir dir("verify-test");
  test::writeFile(dir.path() / "f", "abc");
  auto wrong = *Sha256::parse(std::string(64, '0'));
  auto r = checkFile(dir.path() / "f", {&wrong, nullptr, {}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "sha256_mismatch");
  EXPECT_NE(r.error().message.find("ba7816bf"), std::string::npos);
}

TEST(DecodeSignatureTest, NonBase64TextIsRefused) {
  EXPECT_FALSE(decodeSignature("abc"));  // not a multiple of 4
  EXPECT_EQ(decodeSignature(std::string("\x30\x45\x02", 3))->size(), 3u);  // DER kept as is
}

}  // namespace
}  // namespace drover::images::verify

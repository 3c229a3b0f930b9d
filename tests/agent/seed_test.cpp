#include "agent/seed.hpp"

#include <fstream>
#include <iterator>

#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/agent/test_server.hpp"

namespace drover::agent {
namespace {

namespace fs = std::filesystem;

const SeedData kSeed{"#cloud-config\nhostname: worker-1\nusers: []\n", "worker-1", "worker-1"};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(Seed, MetaDataQuotesValues) {
  SeedData s{"#cloud-config\n", "id: \"x\"", "host"};
  EXPECT_EQ(renderMetaData(s), "instance-id: \"id: \\\"x\\\"\"\nlocal-hostname: \"host\"\n");
}

TEST(Seed, DirectoryLayout) {
  test::TempDir root;
  ASSERT_TRUE(writeSeedDir(root.path(), kSeed).ok());
  const auto dir = root.path() / "var/lib/cloud/seed/nocloud";
  EXPECT_EQ(slurp(dir / "user-data"), kSeed.user_data);
  EXPECT_EQ(slurp(dir / "meta-data"), "instance-id: \"worker-1\"\nlocal-hostname: \"worker-1\"\n");
  // Written again (reinstall over an existing root): replaced, not appended.
  ASSERT_TRUE(writeSeedDir(root.path(), kSeed).ok());
  EXPECT_EQ(slurp(dir / "user-data"), kSeed.user_data);
}

TEST(Seed, RefusesSomethingThatIsNotCloudConfig) {
  test::TempDir root;
  SeedData bad = kSeed;
  bad.user_data = "<html>";
  EXPECT_FALSE(writeSeedDir(root.path(), bad).ok());
}

TEST(Seed, CidataImageReadBackWithMtools) {
  if (::access("/usr/bin/mcopy", X_OK) != 0 || ::access("/usr/sbin/mkfs.vfat", X_OK) != 0) {
    GTEST_SKIP() << "mtools/dosfstools missing (scripts/packages/agent.txt)";
  }
  test::TempDir tmp;
  const auto img = tmp.path() / "cidata.img";
  auto st = buildCidataImage(img, kSeed);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(fs::file_size(img), 2048u * 1024);
  // Read it back with mtools: the label and both files.
  const auto out = tmp.path() / "out";
  ASSERT_EQ(std::system(("mtype -i '" + img.string() + "' ::user-data > '" + out.string() + "'").c_str()), 0);
  EXPECT_EQ(slurp(out), kSeed.user_data);
  ASSERT_EQ(std::system(("mtype -i '" + img.string() + "' ::meta-data > '" + out.string() + "'").c_str()), 0);
  EXPECT_NE(slurp(out).find("instance-id: \"worker-1\""), std::string::npos);
  ASSERT_EQ(std::system(("mlabel -s -i '" + img.string() + "' :: > '" + out.string() + "'").c_str()), 0);
  EXPECT_NE(slurp(out).find("CIDATA"), std::string::npos);
  if (::access("/usr/sbin/blkid", X_OK) == 0) {
    ASSERT_EQ(std::system(("/usr/sbin/blkid -o value -s LABEL '" + img.string() + "' > '" + out.string() + "'").c_str()), 0);
    EXPECT_EQ(slurp(out), "CIDATA\n");
  }
}

TEST(Seed, CidataToolFailureIsReported) {
  test::TempDir tmp;
  auto fail = [](const ExecRequest&) -> Result<int> { return 1; };
  auto st = buildCidataImage(tmp.path() / "x.img", kSeed, fail);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("mkfs.vfat failed"), std::string::npos);
}

}  // namespace
}  // namespace drover::agent

// Checks on an imported root filesystem shared by the OCI import tests: the tool script,
// its hard link and its relative symlink, as both test images lay them out.
#pragma once

#include <sys/stat.h>

#include <filesystem>

#include <gtest/gtest.h>

namespace drover::test {

inline void expectToolLinks(const std::filesystem::path& root) {
  struct stat a {}, b {};
  ASSERT_EQ(::stat((root / "bin/tool").c_str(), &a), 0);
  ASSERT_EQ(::stat((root / "bin/tool-hard").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino) << "hard link kept";
  EXPECT_EQ(a.st_mode & 0777, 0755u);
  EXPECT_EQ(std::filesystem::read_symlink(root / "link-to-tool"), "bin/tool");
}

}  // namespace drover::test

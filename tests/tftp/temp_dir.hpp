// The shared test TempDir (tests/support/temp_dir.hpp) with the two helpers the TFTP tests
// use: `dir / "name"` and write(rel, content).
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "tests/support/temp_dir.hpp"

namespace drover::tftp::testing {

class TempDir : public ::drover::test::TempDir {
 public:
  TempDir() : ::drover::test::TempDir("drover-tftp") {}

  std::filesystem::path operator/(const std::string& rel) const { return path() / rel; }

  // Writes `content` to `rel`, creating parent directories.
  std::filesystem::path write(const std::string& rel, const std::string& content) const {
    auto p = path() / rel;
    ::drover::test::writeFile(p, content);
    return p;
  }
};

inline std::string readAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace drover::tftp::testing

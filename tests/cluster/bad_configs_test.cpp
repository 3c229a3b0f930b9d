// Every tests/testdata/bad-configs/NAME.yaml is loaded (named "NAME.yaml", as if the
// operator ran `drover validate NAME.yaml` in that folder) and must produce exactly the
// lines of NAME.expected, each with its line and column.
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cluster/loader.hpp"

namespace drover::cluster {
namespace {

namespace fs = std::filesystem;

fs::path badConfigDir() {
  const char* src = std::getenv("DROVER_SOURCE_DIR");
  return fs::path(src ? src : ".") / "tests/testdata/bad-configs";
}

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

std::vector<fs::path> badConfigs() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(badConfigDir()))
    if (e.path().extension() == ".yaml") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(BadConfigs, EachFileGivesExactlyItsExpectedMessages) {
  auto files = badConfigs();
  ASSERT_GE(files.size(), 40u);
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    auto expected_file = fs::path(file).replace_extension(".expected");
    ASSERT_TRUE(fs::exists(expected_file)) << "missing " << expected_file;
    const auto expected = lines(readFile(expected_file));
    ASSERT_FALSE(expected.empty());

    const std::string name = file.filename().string();
    auto result = loadConfigText(readFile(file), name, file.parent_path());
    EXPECT_FALSE(result.ok());
    std::vector<std::string> got;
    for (const auto& e : result.errors) got.push_back(e.str());
    EXPECT_THAT(got, ::testing::ElementsAreArray(expected));

    // Every message names the file, a line and a column that exist in the file.
    const auto text_lines = readFile(file);
    const int line_count =
        static_cast<int>(std::count(text_lines.begin(), text_lines.end(), '\n')) + 1;
    const std::regex form("^" + std::regex_replace(name, std::regex(R"([.])"), R"(\.)") +
                          R"(:(\d+):(\d+): .+)");
    for (const auto& e : result.errors) {
      std::smatch m;
      const auto s = e.str();
      ASSERT_TRUE(std::regex_match(s, m, form)) << s;
      EXPECT_GE(e.pos.line, 1) << s;
      EXPECT_LE(e.pos.line, line_count) << s;
      EXPECT_GE(e.pos.col, 1) << s;
    }
  }
}

TEST(BadConfigs, ValidateCommandStyleLoadFromDiskAgrees) {
  // Loading through the file API names the file as given and finds the same errors.
  for (const auto& file : badConfigs()) {
    auto by_text = loadConfigText(readFile(file), file.string(), file.parent_path());
    auto by_file = loadConfigFile(file.string());
    ASSERT_EQ(by_text.errors.size(), by_file.errors.size()) << file;
    for (std::size_t i = 0; i < by_text.errors.size(); ++i)
      EXPECT_EQ(by_text.errors[i].str(), by_file.errors[i].str());
  }
}

}  // namespace
}  // namespace drover::cluster

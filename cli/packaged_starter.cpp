#include "cli/packaged_starter.hpp"

#include <fstream>
#include <iterator>
#include <string>

namespace drover::cli {

bool isPackagedStarter(const std::filesystem::path& path) {
  const auto starter = packagedStarter();
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size != starter.size()) return false;
  std::ifstream in(path, std::ios::binary);
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return in.good() || in.eof() ? text == starter : false;
}

}  // namespace drover::cli

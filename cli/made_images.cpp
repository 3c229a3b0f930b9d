#include "cli/made_images.hpp"

#include <fstream>
#include <map>
#include <system_error>

namespace drover::cli {

namespace fs = std::filesystem;

nlohmann::json listMadeImages(const fs::path& state_dir, const cluster::Config& config) {
  std::map<std::string, nlohmann::json> by_name;
  std::error_code ec;
  for (fs::directory_iterator it(state_dir / "images" / "oci", ec), end; !ec && it != end;
       it.increment(ec)) {
    std::ifstream in(it->path() / kMadeRecord);
    if (!in) continue;
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (!j.is_object()) continue;
    // Its own error code: the iteration's must not end with a path that does not resolve.
    std::error_code path_ec;
    const auto disk = fs::weakly_canonical(it->path() / "disk.raw", path_ec);
    nlohmann::json declared = nlohmann::json::array();
    for (const auto& [name, image] : config.images) {
      if (image.disk && !image.disk->path.empty() &&
          fs::weakly_canonical(image.disk->path, path_ec) == disk)
        declared.push_back(name);
    }
    j["declared_as"] = declared;
    j["name"] = it->path().filename().string();
    by_name[it->path().filename().string()] = std::move(j);
  }
  nlohmann::json out = nlohmann::json::array();
  for (auto& [_, j] : by_name) out.push_back(std::move(j));
  return out;
}

}  // namespace drover::cli

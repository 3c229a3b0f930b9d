#include "provisioner/serve/server_files.hpp"

#include <filesystem>

#include "provisioner/boot/server_configs.hpp"
#include "provisioner/http/static_files.hpp"

namespace drover::serve {

Result<http::FileBody> openDeclaredFile(const inventory::Config& config, const std::string& path,
                                        std::string_view checksum) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = config.base_dir / p;
  auto root = http::StaticRoot::open(p.parent_path());
  if (!root) return root.error();
  return root->openFile(p.filename().string(), checksum);
}

bool isLoaderName(const inventory::Config& config, std::string_view name) {
  const auto& b = config.server.boot;
  if (name.empty()) return false;
  if (name == b.bios_loader || name == b.efi_loader || name == b.arm64_loader) return true;
  return name == "ipxe.efi" || name == "snponly.efi";
}

Result<http::FileBody> openLoader(const inventory::Config& config, const std::string& name) {
  for (const std::filesystem::path& dir : {std::filesystem::path(config.server.tftp.root),
                                          std::filesystem::path(boot::kIpxeDir)}) {
    auto root = http::StaticRoot::open(dir);
    if (!root) continue;
    if (auto file = root->openFile(name); file) return file;
  }
  return makeError("not_found", "no such loader in the TFTP root or " + std::string(boot::kIpxeDir));
}

}  // namespace drover::serve

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
  if (auto root = http::StaticRoot::open(config.server.tftp.root); root) {
    if (auto file = root->openFile(name); file) return file;
  }
  // Debian's directory is a system one whose entries may be symlinks (ipxe.efi points to
  // /boot/ipxe.efi): resolve it, then open the real file. `name` is one of the loader
  // names the declaration hands out, never a path from the request.
  std::error_code ec;
  const auto real = std::filesystem::canonical(std::filesystem::path(boot::kIpxeDir) / name, ec);
  if (!ec) {
    if (auto dir = http::StaticRoot::open(real.parent_path()); dir) {
      if (auto file = dir->openFile(real.filename().string()); file) return file;
    }
  }
  return makeError("not_found", "no such loader in the TFTP root or " + std::string(boot::kIpxeDir));
}

}  // namespace drover::serve

// The cross-field checks of image signing: every signature names a key under trust.keys,
// and every trusted key is a public key images can be verified with.
#include <fmt/format.h>

#include "cluster/checks.hpp"
#include "images/verify/signature.hpp"

namespace drover::cluster {

void checkTrust(const Config& c, Diagnostics& out) {
  auto report = [&](const auto& at, std::string message) {
    out.push_back(Diagnostic{c.file, at.pos, at.path, std::move(message)});
  };
  for (const auto& [name, path] : c.trust.keys) {
    auto key = images::verify::PublicKey::load(path.value);
    if (!key) report(path, fmt::format("trusted key \"{}\": {}", name, key.error().message));
  }
  for (const auto& [name, img] : c.images) {
    for (const auto* a : {&img.kernel, &img.initrd, &img.disk}) {
      if (!*a || !(*a)->signature) continue;
      const auto& key = (*a)->signature->key;
      if (!key.value.empty() && c.trust.keys.count(key.value) == 0)
        report(key, fmt::format("key \"{}\" is not under trust.keys", key.value));
    }
  }
}

}  // namespace drover::cluster

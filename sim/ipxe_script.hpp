// The little of iPXE's script language a simulated machine needs: expand ${...} settings,
// find the kernel, initrd and chain URLs, and split an http:// URL. Pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drover::sim {

// iPXE settings a script may use: "netX/mac", "net0/mac", "mac", "uuid", "buildarch",
// "platform", "ip", ... Unknown names expand to "" (as in iPXE). The ":hexhyp" type
// suffix gives the MAC with hyphens.
using Settings = std::map<std::string, std::string>;
std::string expand(std::string_view text, const Settings& settings);

struct ScriptAction {
  enum class Kind { Kernel, Initrd, Chain, Boot } kind;
  std::string url;  // expanded; empty for Boot
};

// The actions a script takes, in order, up to its first `boot` or `chain` (what a script
// that succeeds runs). Lines that are not kernel/initrd/chain/boot (echo, set, labels,
// goto targets after them) are skipped. An initrd/kernel without a URL is left out.
std::vector<ScriptAction> parseScript(std::string_view script, const Settings& settings);

struct HttpUrl {
  std::string host;
  std::uint16_t port = 80;
  std::string target;  // path and query, at least "/"
  friend bool operator==(const HttpUrl&, const HttpUrl&) = default;
};
// http://host[:port][/target]; nullopt for anything else (https, bad port, no host).
std::optional<HttpUrl> parseHttpUrl(std::string_view url);

}  // namespace drover::sim

#include "sim/ipxe_script.hpp"

#include <charconv>
#include <sstream>

namespace drover::sim {
namespace {

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

// The first argument that is not an option (--name x, -n x, --autofree, ...).
std::string firstArgument(const std::vector<std::string_view>& w) {
  for (std::size_t i = 1; i < w.size(); ++i) {
    if (w[i] == "||" || w[i] == "&&") break;
    if (w[i] == "--name" || w[i] == "-n") {
      ++i;
      continue;
    }
    if (w[i].starts_with("-")) continue;
    return std::string(w[i]);
  }
  return {};
}

}  // namespace

std::string expand(std::string_view text, const Settings& settings) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.substr(i, 2) == "${") {
      const auto close = text.find('}', i + 2);
      if (close == std::string_view::npos) {
        out.append(text.substr(i));
        break;
      }
      std::string name(text.substr(i + 2, close - i - 2));
      std::string type;
      if (auto colon = name.find(':'); colon != std::string::npos) {
        type = name.substr(colon + 1);
        name.resize(colon);
      }
      auto it = settings.find(name);
      std::string value = it == settings.end() ? std::string() : it->second;
      if (type == "hexhyp") {
        for (auto& c : value) {
          if (c == ':') c = '-';
        }
      }
      out += value;
      i = close + 1;
    } else {
      out += text[i++];
    }
  }
  return out;
}

std::vector<ScriptAction> parseScript(std::string_view script, const Settings& settings) {
  std::vector<ScriptAction> out;
  std::istringstream in{std::string(script)};
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto w = words(line);
    if (w.empty() || w[0].starts_with("#") || w[0].starts_with(":")) continue;
    const auto cmd = w[0];
    if (cmd == "boot") {
      out.push_back({ScriptAction::Kind::Boot, {}});
      break;
    }
    ScriptAction::Kind kind;
    if (cmd == "kernel" || cmd == "imgexec" || cmd == "chain") {
      kind = cmd == "kernel" ? ScriptAction::Kind::Kernel : ScriptAction::Kind::Chain;
    } else if (cmd == "initrd" || cmd == "module" || cmd == "imgfetch") {
      kind = ScriptAction::Kind::Initrd;
    } else {
      continue;
    }
    auto url = expand(firstArgument(w), settings);
    if (url.empty()) continue;
    out.push_back({kind, std::move(url)});
    if (kind == ScriptAction::Kind::Chain) break;
  }
  return out;
}

std::optional<HttpUrl> parseHttpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) return std::nullopt;
  url.remove_prefix(kScheme.size());
  const auto slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  HttpUrl r;
  r.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    const auto port_text = authority.substr(colon + 1);
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      return std::nullopt;
    }
    r.port = static_cast<std::uint16_t>(port);
    authority = authority.substr(0, colon);
  }
  if (authority.empty()) return std::nullopt;
  r.host = std::string(authority);
  return r;
}

}  // namespace drover::sim

#include "cluster/decoder.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace drover::cluster {
namespace {

std::string_view kindOf(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a string";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

}  // namespace

std::string childPath(const std::string& parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  std::string p;
  p.reserve(parent.size() + 1 + key.size());
  p += parent;
  p += '.';
  p += key;
  return p;
}

std::string indexPath(const std::string& parent, std::size_t index) {
  return fmt::format("{}[{}]", parent, index);
}

std::string Diagnostic::str() const {
  std::string out = file;
  if (pos.line > 0) out += fmt::format(":{}:{}", pos.line, pos.col);
  out += ": ";
  if (!path.empty()) out += path + ": ";
  out += message;
  return out;
}

Pos Decoder::pos(const YAML::Node& n) {
  const auto m = n.Mark();
  if (m.is_null()) return {};
  return Pos{m.line + 1, m.column + 1};
}

void Decoder::error(Pos at, std::string path, std::string message) {
  out_.push_back(Diagnostic{file_, at, std::move(path), std::move(message)});
}

bool Decoder::isMap(const YAML::Node& n, const std::string& path) {
  if (n.IsMap()) return true;
  error(n, path, fmt::format("expected a map, got {}", kindOf(n)));
  return false;
}

bool Decoder::isList(const YAML::Node& n, const std::string& path) {
  if (n.IsSequence()) return true;
  error(n, path, fmt::format("expected a list, got {}", kindOf(n)));
  return false;
}

std::optional<std::string> Decoder::string(const YAML::Node& n, const std::string& path) {
  if (n.IsScalar()) return n.Scalar();
  error(n, path, fmt::format("expected a string, got {}", kindOf(n)));
  return std::nullopt;
}

std::optional<bool> Decoder::boolean(const YAML::Node& n, const std::string& path) {
  auto text = string(n, path);
  if (!text) return std::nullopt;
  if (*text == "true" || *text == "yes" || *text == "on") return true;
  if (*text == "false" || *text == "no" || *text == "off") return false;
  error(n, path, fmt::format("\"{}\" is not true or false", *text));
  return std::nullopt;
}

std::optional<std::vector<std::string>> Decoder::strings(const YAML::Node& n,
                                                         const std::string& path) {
  if (n.IsScalar()) return std::vector<std::string>{n.Scalar()};
  if (!n.IsSequence()) {
    error(n, path, fmt::format("expected a string or a list of strings, got {}", kindOf(n)));
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (std::size_t i = 0; i < n.size(); ++i) {
    auto s = string(n[i], indexPath(path, i));
    if (s) {
      out.push_back(std::move(*s));
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

MapReader::MapReader(Decoder& d, const YAML::Node& node, std::string path,
                     std::span<const std::string_view> allowed, std::span<const RefusedKey> refused)
    : d_(d), path_(std::move(path)), pos_(Decoder::pos(node)) {
  if (!d_.isMap(node, path_)) return;
  valid_ = true;
  entries_.reserve(node.size());
  key_pos_.reserve(node.size());
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      d_.error(key, path_, "keys must be plain strings");
      continue;
    }
    const std::string& name = key.Scalar();
    const auto kpos = Decoder::pos(key);
    const bool any = allowed.size() == 1 && allowed.front() == "*";
    if (auto r = std::find_if(refused.begin(), refused.end(),
                              [&](const RefusedKey& k) { return k.key == name; });
        r != refused.end()) {
      d_.error(kpos, childPath(path_, name), std::string(r->message));
      continue;
    }
    if (!any && std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      d_.error(kpos, childPath(path_, name), "unknown key (expected one of: " + list + ")");
      continue;
    }
    auto dup = std::find_if(entries_.begin(), entries_.end(),
                            [&](const auto& e) { return e.first == name; });
    if (dup != entries_.end()) {
      const auto first = key_pos_[static_cast<std::size_t>(dup - entries_.begin())];
      d_.error(kpos, childPath(path_, name),
               fmt::format("duplicate key (first written at line {})", first.line));
      continue;
    }
    entries_.emplace_back(name, it->second);
    key_pos_.push_back(kpos);
  }
}

std::optional<YAML::Node> MapReader::get(std::string_view key) const {
  for (const auto& [name, value] : entries_)
    if (name == key) return value;
  return std::nullopt;
}

std::optional<YAML::Node> MapReader::required(std::string_view key) const {
  auto v = get(key);
  if (!v && valid_) d_.error(pos_, path_, fmt::format("missing required key \"{}\"", key));
  return v;
}

}  // namespace drover::cluster

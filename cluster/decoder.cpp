#include "cluster/decoder.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace drover::cluster {
namespace {

// Maps with more entries than this find names through an index.
constexpr std::size_t kIndexedMap = 16;

std::string_view kindOf(const yaml::Node& n) {
  switch (n.kind()) {
    case yaml::Kind::Map:
      return "a map";
    case yaml::Kind::List:
      return "a list";
    case yaml::Kind::Scalar:
      return "a string";
    case yaml::Kind::Null:
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

void Decoder::error(Pos at, std::string path, std::string message) {
  out_.push_back(Diagnostic{file_, at, std::move(path), std::move(message)});
}

bool Decoder::isMap(const yaml::Node& n, const std::string& path) {
  if (n.isMap()) return true;
  error(n, path, fmt::format("expected a map, got {}", kindOf(n)));
  return false;
}

bool Decoder::isList(const yaml::Node& n, const std::string& path) {
  if (n.isList()) return true;
  error(n, path, fmt::format("expected a list, got {}", kindOf(n)));
  return false;
}

std::optional<std::string> Decoder::string(const yaml::Node& n, const std::string& path) {
  if (n.isScalar()) return std::string(n.scalar());
  error(n, path, fmt::format("expected a string, got {}", kindOf(n)));
  return std::nullopt;
}

std::optional<bool> Decoder::boolean(const yaml::Node& n, const std::string& path) {
  auto text = string(n, path);
  if (!text) return std::nullopt;
  if (*text == "true" || *text == "yes" || *text == "on") return true;
  if (*text == "false" || *text == "no" || *text == "off") return false;
  error(n, path, fmt::format("\"{}\" is not true or false", *text));
  return std::nullopt;
}

std::optional<std::vector<std::string>> Decoder::strings(const yaml::Node& n,
                                                         const std::string& path) {
  if (n.isScalar()) return std::vector<std::string>{std::string(n.scalar())};
  if (!n.isList()) {
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

MapReader::MapReader(Decoder& d, const yaml::Node& node, std::string path,
                     std::span<const std::string_view> allowed, std::span<const RefusedKey> refused)
    : d_(d), path_(std::move(path)), pos_(node.pos()) {
  if (!d_.isMap(node, path_)) return;
  valid_ = true;
  const std::size_t size = node.size();
  entries_.reserve(size);
  key_pos_.reserve(size);
  const bool indexed = size > kIndexedMap;
  if (indexed) index_.reserve(size);
  const bool any = allowed.size() == 1 && allowed.front() == "*";
  for (std::size_t i = 0; i < size; ++i) {
    const yaml::Node key = node.key(i);
    if (!key.isScalar()) {
      d_.error(key, path_, "keys must be plain strings");
      continue;
    }
    const std::string_view name = key.scalar();
    const auto kpos = key.pos();
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
    std::optional<std::size_t> dup;
    if (indexed) {
      auto [it, inserted] = index_.try_emplace(name, entries_.size());
      if (!inserted) dup = it->second;
    } else if (auto it = std::find_if(entries_.begin(), entries_.end(),
                                      [&](const auto& e) { return e.first == name; });
               it != entries_.end()) {
      dup = static_cast<std::size_t>(it - entries_.begin());
    }
    if (dup) {
      d_.error(kpos, childPath(path_, name),
               fmt::format("duplicate key (first written at line {})", key_pos_[*dup].line));
      continue;
    }
    entries_.emplace_back(name, node.value(i));
    key_pos_.push_back(kpos);
  }
}

std::optional<yaml::Node> MapReader::get(std::string_view key) const {
  if (!index_.empty()) {
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    return entries_[it->second].second;
  }
  for (const auto& [name, value] : entries_)
    if (name == key) return value;
  return std::nullopt;
}

std::optional<yaml::Node> MapReader::required(std::string_view key) const {
  auto v = get(key);
  if (!v && valid_) d_.error(pos_, path_, fmt::format("missing required key \"{}\"", key));
  return v;
}

}  // namespace drover::cluster

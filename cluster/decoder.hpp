// Internal to the loader: typed reads from a YAML tree (yaml_tree.hpp) that turn every
// problem (wrong type, unknown or duplicate key, unparsable value) into a Diagnostic with
// the value's file:line:col and key path.
#pragma once

#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cluster/diagnostics.hpp"
#include "cluster/yaml_tree.hpp"
#include "common/result.hpp"

namespace drover::cluster {

std::string childPath(const std::string& parent, std::string_view key);
std::string indexPath(const std::string& parent, std::size_t index);

class Decoder {
 public:
  Decoder(std::string file, Diagnostics& out) : file_(std::move(file)), out_(out) {}

  static Pos pos(const yaml::Node& n) { return n.pos(); }
  void error(Pos at, std::string path, std::string message);
  void error(const yaml::Node& at, std::string path, std::string message) {
    error(at.pos(), std::move(path), std::move(message));
  }
  std::size_t errorCount() const { return out_.size(); }

  bool isMap(const yaml::Node& n, const std::string& path);   // reports when not
  bool isList(const yaml::Node& n, const std::string& path);  // reports when not
  std::optional<std::string> string(const yaml::Node& n, const std::string& path);
  std::optional<bool> boolean(const yaml::Node& n, const std::string& path);
  // A string or a list of strings, as a list.
  std::optional<std::vector<std::string>> strings(const yaml::Node& n, const std::string& path);

  // A string turned into T by parse(text) -> Result<T>; the parser's message is reported.
  template <typename Parse>
  auto value(const yaml::Node& n, const std::string& path, Parse parse)
      -> std::optional<std::decay_t<decltype(*parse(std::string_view{}))>> {
    auto text = string(n, path);
    if (!text) return std::nullopt;
    auto r = parse(std::string_view(*text));
    if (!r) {
      error(n, path, r.error().message);
      return std::nullopt;
    }
    return std::move(*r);
  }

  // One of a fixed set of words.
  template <typename E>
  std::optional<E> choice(const yaml::Node& n, const std::string& path,
                          std::initializer_list<std::pair<std::string_view, E>> words) {
    auto text = string(n, path);
    if (!text) return std::nullopt;
    for (const auto& [word, e] : words)
      if (*text == word) return e;
    std::string list;
    for (const auto& w : words) list += (list.empty() ? "" : ", ") + std::string(w.first);
    error(n, path, "\"" + *text + "\" is not one of: " + list);
    return std::nullopt;
  }

 private:
  std::string file_;
  Diagnostics& out_;
};

// The keys of one YAML map. Unknown and duplicate keys are reported when it is made; a
// value that is not a map is reported and reads as empty. `allowed` comes from the key
// table (keys.hpp: keysUnder); {"*"} allows any key (a map keyed by names). A key in
// `refused` is reported with its own message instead of as unknown.
struct RefusedKey {
  std::string_view key;
  std::string_view message;
};

class MapReader {
 public:
  MapReader(Decoder& d, const yaml::Node& node, std::string path,
            std::span<const std::string_view> allowed, std::span<const RefusedKey> refused = {});

  bool valid() const { return valid_; }
  const std::string& path() const { return path_; }
  Pos pos() const { return pos_; }
  std::string pathOf(std::string_view key) const { return childPath(path_, key); }

  // The value under `key`, if written.
  std::optional<yaml::Node> get(std::string_view key) const;
  // Like get(), and reports a missing key.
  std::optional<yaml::Node> required(std::string_view key) const;
  bool has(std::string_view key) const { return get(key).has_value(); }

  // Every entry, in file order (for maps keyed by name: images, profiles, labels). The
  // names view the tree's text.
  const std::vector<std::pair<std::string_view, yaml::Node>>& entries() const { return entries_; }
  Pos keyPos(std::size_t i) const { return key_pos_[i]; }

 private:
  Decoder& d_;
  std::string path_;
  Pos pos_;
  bool valid_ = false;
  std::vector<std::pair<std::string_view, yaml::Node>> entries_;
  std::vector<Pos> key_pos_;
  // Entry by name, for maps too long to search entry by entry.
  std::unordered_map<std::string_view, std::size_t> index_;
};

}  // namespace drover::cluster

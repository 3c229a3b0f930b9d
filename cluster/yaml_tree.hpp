// A read-only YAML document tree for the declaration loader: maps, lists, scalars and nulls
// with their 1-based line:col, children in file order, in a few flat vectors.
//
// Tree::parse reads the first document of a text with libyaml's scanner and builds the tree
// with the same rules yaml-cpp applies (where nodes, nulls and aliases are, which marks they
// carry), so messages and positions are those of yaml-cpp. What it does not handle itself
// (a syntax error, tags, directives, unusual line breaks or encodings, the few scalar forms
// the two libraries decode differently) it hands to yaml-cpp's parser, whose tree or error
// message is then the answer: that path is slower, never different.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/config.hpp"

namespace drover::cluster::yaml {

enum class Kind : std::uint8_t { Null, Scalar, List, Map };

class Tree;

// A handle on one node; valid while its Tree lives. A default Node is a null without a
// position.
class Node {
 public:
  Node() = default;

  Kind kind() const;
  bool isNull() const { return kind() == Kind::Null; }
  bool isScalar() const { return kind() == Kind::Scalar; }
  bool isList() const { return kind() == Kind::List; }
  bool isMap() const { return kind() == Kind::Map; }

  std::string_view scalar() const;       // the text of a scalar, "" otherwise
  std::size_t size() const;              // items of a list, entries of a map, else 0
  Node operator[](std::size_t i) const;  // the i-th item of a list
  Node key(std::size_t i) const;         // the i-th entry of a map
  Node value(std::size_t i) const;
  Pos pos() const;  // line 0 when it has none

  // The same node (an alias reaches its anchor's node).
  bool is(const Node& other) const { return tree_ == other.tree_ && index_ == other.index_; }

 private:
  friend class Tree;
  Node(const Tree* tree, std::uint32_t index) : tree_(tree), index_(index) {}

  const Tree* tree_ = nullptr;
  std::uint32_t index_ = 0;
};

struct SyntaxError {
  Pos pos{};  // line 0 when the parser gave none
  std::string message{};
};

class Tree {
 public:
  // The first document of `text` (later ones are not read, as with YAML::Load).
  static Tree parse(std::string_view text);
  // The same, always through yaml-cpp: the reference the fast path is compared with.
  static Tree parseWithYamlCpp(std::string_view text);

  Tree() = default;
  Tree(Tree&&) = default;
  Tree& operator=(Tree&&) = default;
  Tree(const Tree&) = delete;
  Tree& operator=(const Tree&) = delete;

  // The document's root; nullopt when the text holds no document or on a syntax error.
  std::optional<Node> root() const;
  const std::optional<SyntaxError>& error() const { return error_; }
  // Whether yaml-cpp built this tree (or found its error).
  bool viaYamlCpp() const { return via_yaml_cpp_; }
  std::size_t nodeCount() const { return nodes_.size(); }

 private:
  friend class Node;
  friend class Builder;

  struct Rec {
    Kind kind = Kind::Null;
    std::int32_t line = 0;
    std::int32_t col = 0;
    std::uint32_t first = 0;  // scalar: offset in text_; list/map: offset in kids_
    std::uint32_t count = 0;  // scalar: length; list: items; map: 2 x entries (key, value)
  };

  std::vector<Rec> nodes_;
  std::vector<std::uint32_t> kids_;
  std::string text_;
  std::optional<std::uint32_t> root_;
  std::optional<SyntaxError> error_;
  bool via_yaml_cpp_ = false;
};

// Builds a Tree node by node in document order: add() attaches a new node to the open
// list or map (or makes it the root); a list or map stays open until end().
class Builder {
 public:
  explicit Builder(Tree& tree) : t_(tree) {}

  std::uint32_t add(Kind kind, Pos pos, std::string_view text = {});
  void ref(std::uint32_t node);  // attaches an existing node again (an alias)
  void end();
  void clear();

 private:
  void attach(std::uint32_t node);

  struct Open {
    std::uint32_t node = 0;
    std::size_t first = 0;
  };
  Tree& t_;
  std::vector<Open> open_;
  std::vector<std::uint32_t> pending_;
};

}  // namespace drover::cluster::yaml

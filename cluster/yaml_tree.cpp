// The tree and its builder (yaml_tree.hpp). The two parsers that fill it are in
// yaml_tree_libyaml.cpp (the fast path) and yaml_tree_yamlcpp.cpp (the reference).
#include "cluster/yaml_tree.hpp"

namespace drover::cluster::yaml {

// --- Node and Tree -----------------------------------------------------------------------

Kind Node::kind() const {
  return tree_ ? tree_->nodes_[index_].kind : Kind::Null;
}

std::string_view Node::scalar() const {
  if (!isScalar()) return {};
  const auto& r = tree_->nodes_[index_];
  return std::string_view(tree_->text_).substr(r.first, r.count);
}

std::size_t Node::size() const {
  switch (kind()) {
    case Kind::List:
      return tree_->nodes_[index_].count;
    case Kind::Map:
      return tree_->nodes_[index_].count / 2;
    default:
      return 0;
  }
}

Node Node::operator[](std::size_t i) const {
  if (!isList() || i >= size()) return {};
  return Node(tree_, tree_->kids_[tree_->nodes_[index_].first + i]);
}

Node Node::key(std::size_t i) const {
  if (!isMap() || i >= size()) return {};
  return Node(tree_, tree_->kids_[tree_->nodes_[index_].first + 2 * i]);
}

Node Node::value(std::size_t i) const {
  if (!isMap() || i >= size()) return {};
  return Node(tree_, tree_->kids_[tree_->nodes_[index_].first + 2 * i + 1]);
}

Pos Node::pos() const {
  if (!tree_) return {};
  const auto& r = tree_->nodes_[index_];
  return Pos{r.line, r.col};
}

std::optional<Node> Tree::root() const {
  if (!root_) return std::nullopt;
  return Node(this, *root_);
}

// --- Builder -----------------------------------------------------------------------------

std::uint32_t Builder::add(Kind kind, Pos pos, std::string_view text) {
  const auto index = static_cast<std::uint32_t>(t_.nodes_.size());
  Tree::Rec r;
  r.kind = kind;
  r.line = pos.line;
  r.col = pos.col;
  if (kind == Kind::Scalar) {
    r.first = static_cast<std::uint32_t>(t_.text_.size());
    r.count = static_cast<std::uint32_t>(text.size());
    t_.text_.append(text);
  }
  t_.nodes_.push_back(r);
  attach(index);
  if (kind == Kind::List || kind == Kind::Map) open_.push_back(Open{index, pending_.size()});
  return index;
}

void Builder::ref(std::uint32_t node) {
  attach(node);
}

void Builder::attach(std::uint32_t node) {
  if (open_.empty()) {
    if (!t_.root_) t_.root_ = node;
    return;
  }
  pending_.push_back(node);
}

void Builder::end() {
  if (open_.empty()) return;
  const Open o = open_.back();
  open_.pop_back();
  auto& r = t_.nodes_[o.node];
  r.first = static_cast<std::uint32_t>(t_.kids_.size());
  r.count = static_cast<std::uint32_t>(pending_.size() - o.first);
  const auto from = pending_.begin() + static_cast<std::ptrdiff_t>(o.first);
  t_.kids_.insert(t_.kids_.end(), from, pending_.end());
  pending_.erase(from, pending_.end());
}

void Builder::clear() {
  open_.clear();
  pending_.clear();
  t_.nodes_.clear();
  t_.kids_.clear();
  t_.text_.clear();
  t_.root_.reset();
}

}  // namespace drover::cluster::yaml

// The reference path of yaml_tree.hpp: yaml-cpp's own parser, through its event interface,
// builds the Tree (the nodes YAML::Load would make, with their marks) or gives its error.
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include "cluster/yaml_tree.hpp"

namespace drover::cluster::yaml {
namespace {

Pos toPos(const YAML::Mark& m) {
  if (m.is_null()) return {};
  return Pos{m.line + 1, m.column + 1};
}

class Handler : public YAML::EventHandler {
 public:
  explicit Handler(Builder& b) : b_(b) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t a) override {
    keep(a, b_.add(Kind::Null, toPos(m)));
  }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t a) override {
    if (a < anchors_.size() && a != YAML::NullAnchor)
      b_.ref(anchors_[a]);
    else
      b_.add(Kind::Null, toPos(m));  // yaml-cpp checks its anchors: not reached
  }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t a,
                const std::string& value) override {
    keep(a, b_.add(Kind::Scalar, toPos(m), value));
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a,
                       YAML::EmitterStyle::value) override {
    keep(a, b_.add(Kind::List, toPos(m)));
  }
  void OnSequenceEnd() override { b_.end(); }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t a,
                  YAML::EmitterStyle::value) override {
    keep(a, b_.add(Kind::Map, toPos(m)));
  }
  void OnMapEnd() override { b_.end(); }

 private:
  void keep(YAML::anchor_t a, std::uint32_t node) {
    if (a == YAML::NullAnchor) return;
    if (anchors_.size() <= a) anchors_.resize(a + 1);
    anchors_[a] = node;
  }

  Builder& b_;
  std::vector<std::uint32_t> anchors_;
};

}  // namespace

Tree Tree::parseWithYamlCpp(std::string_view text) {
  Tree t;
  t.via_yaml_cpp_ = true;
  Builder b(t);
  Handler h(b);
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    parser.HandleNextDocument(h);  // the first document only, as YAML::Load
  } catch (const YAML::Exception& e) {
    b.clear();
    t.error_ = SyntaxError{toPos(e.mark), e.msg};
  }
  return t;
}

}  // namespace drover::cluster::yaml

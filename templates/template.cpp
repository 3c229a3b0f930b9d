#include "templates/template.hpp"

#include <set>

#include <kainjow/mustache.hpp>

namespace drover::templates {
namespace {

namespace km = kainjow::mustache;
using Json = nlohmann::json;
using Component = km::component<std::string>;

km::data toData(const Json& j) {
  switch (j.type()) {
    case Json::value_t::object: {
      km::data d{km::data::type::object};
      for (const auto& [k, v] : j.items()) d.set(k, toData(v));
      return d;
    }
    case Json::value_t::array: {
      km::data d{km::data::type::list};
      for (const auto& v : j) d.push_back(toData(v));
      return d;
    }
    case Json::value_t::string: {
      const auto& s = j.get_ref<const std::string&>();
      if (s.empty()) return km::data{false};
      return km::data{s};
    }
    case Json::value_t::boolean: return km::data{j.get<bool>()};
    case Json::value_t::null: return km::data{false};
    default: return km::data{j.dump()};  // numbers
  }
}

// Name lookup with kainjow's rules: "." is the top of the stack; a plain name is the first
// object on the stack (top down) that has it; "a.b" resolves every part from one stack item.
const Json* resolve(const std::vector<const Json*>& stack, const std::string& name) {
  if (name == ".") return stack.back();
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t dot; (dot = name.find('.', start)) != std::string::npos; start = dot + 1)
    parts.push_back(name.substr(start, dot - start));
  parts.push_back(name.substr(start));
  for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
    const Json* cur = *it;
    for (const auto& p : parts) {
      if (!cur->is_object()) {
        cur = nullptr;
        break;
      }
      auto f = cur->find(p);
      cur = f == cur->end() ? nullptr : &*f;
      if (cur == nullptr) break;
    }
    if (cur != nullptr) return cur;
  }
  return nullptr;
}

class Checker {
 public:
  Checker(const std::string& text, std::vector<MissingName>& out) : text_(text), out_(out) {}

  void walk(const std::vector<Component>& children, std::vector<const Json*>& stack) {
    for (const auto& c : children) {
      switch (c.tag.type) {
        case km::tag_type::variable:
        case km::tag_type::unescaped_variable:
        case km::tag_type::partial:
          if (resolve(stack, c.tag.name) == nullptr) report(c);
          break;
        case km::tag_type::section_begin: {
          const Json* v = resolve(stack, c.tag.name);
          if (v == nullptr) {
            report(c);  // its contents depend on the missing value: not checked further
          } else if (v->is_array()) {
            for (const auto& item : *v) {
              stack.push_back(&item);
              walk(c.children, stack);
              stack.pop_back();
            }
          } else {
            stack.push_back(v);
            walk(c.children, stack);
            stack.pop_back();
          }
          break;
        }
        case km::tag_type::section_begin_inverted:
          if (resolve(stack, c.tag.name) == nullptr) report(c);
          walk(c.children, stack);
          break;
        default:
          break;
      }
    }
  }

 private:
  void report(const Component& c) {
    if (!seen_.insert(c.tag.name).second) return;
    MissingName m{c.tag.name, 1, 1};
    std::size_t end = std::min(c.position, text_.size());
    for (std::size_t i = 0; i < end; ++i) {
      if (text_[i] == '\n') {
        ++m.line;
        m.column = 1;
      } else {
        ++m.column;
      }
    }
    out_.push_back(std::move(m));
  }

  const std::string& text_;
  std::vector<MissingName>& out_;
  std::set<std::string> seen_;
};

}  // namespace

// kainjow's renderer keeps per-render state in the object (its error message), so one
// parsed instance is shared under a lock and rebuilt if a render ever leaves it invalid.
struct Template::Compiled {
  Compiled(const std::string& text, Escape mode) : escape(mode) { reset(text); }

  void reset(const std::string& text) {
    renderer = std::make_unique<km::mustache>(text);
    if (escape == Escape::kNone) renderer->set_custom_escape([](const std::string& s) { return s; });
  }

  Escape escape;
  std::mutex mu;
  std::unique_ptr<km::mustache> renderer;
};

Result<Template> Template::parse(std::string name, std::string text, Escape escape) {
  auto root = std::make_shared<Component>();
  std::string error;
  km::context<std::string> ctx;
  km::context_internal<std::string> internal{ctx};
  km::parser<std::string> parser{text, internal, *root, error};
  if (!error.empty()) return makeError("template_syntax", name + ": " + error);
  auto compiled = std::make_shared<Compiled>(text, escape);
  return Template(std::move(name), std::move(text), std::move(root), std::move(compiled));
}

std::vector<MissingName> Template::missingNames(const Json& data) const {
  std::vector<MissingName> out;
  std::vector<const Json*> stack{&data};
  Checker(text_, out).walk(root_->children, stack);
  return out;
}

Result<std::string> Template::render(const Json& data) const {
  auto missing = missingNames(data);
  if (!missing.empty()) return makeError("template_missing", describeMissing(name_, missing));
  km::data view = toData(data);
  std::lock_guard lock(compiled_->mu);
  std::string out = compiled_->renderer->render(view);
  if (!compiled_->renderer->is_valid()) {
    std::string message = compiled_->renderer->error_message();
    compiled_->reset(text_);
    return makeError("template_render", name_ + ": " + message);
  }
  return out;
}

Result<std::string> render(std::string name, std::string text, const Json& data, Escape escape) {
  auto t = Template::parse(std::move(name), std::move(text), escape);
  if (!t) return t.error();
  return t->render(data);
}

std::string describeMissing(const std::string& template_name, const std::vector<MissingName>& missing) {
  std::string out = template_name + ":";
  for (std::size_t i = 0; i < missing.size(); ++i) {
    if (i > 0) out += ";";
    out += " " + std::to_string(missing[i].line) + ":" + std::to_string(missing[i].column) + ": missing '" +
           missing[i].name + "'";
  }
  return out;
}

}  // namespace drover::templates

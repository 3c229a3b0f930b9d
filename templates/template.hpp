// Mustache templates (kainjow) rendered from nlohmann::json data, strictly: a template that
// names a variable, section or partial the data lacks is an error that lists every
// missing name with the template's name and line:column, instead of rendering an empty
// string. The check walks kainjow's own parse tree against the data's shape, so it also
// covers sections that this data would not render (false flags); it is what
// `drover validate` runs.
//
// Data conversion: objects and arrays map to mustache objects and lists; strings to
// strings; numbers to their JSON text; true/false to booleans; null and "" to false (so
// `{{#domain}}.{{domain}}{{/domain}}` skips an empty domain, as in mustache.js). A key
// that is present with a null or "" value is not "missing": give optional values explicitly.
// No escaping by default (iPXE scripts and YAML are not HTML); Escape::kHtml is available.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace kainjow::mustache {
template <typename string_type>
class component;
}

namespace drover::templates {

enum class Escape { kNone, kHtml };

struct MissingName {
  std::string name;  // as written in the template, e.g. "node.ip"
  int line = 0;      // 1-based position of the first use
  int column = 0;
  friend bool operator==(const MissingName&, const MissingName&) = default;
};

class Template {
 public:
  // Parses `text`; a syntax error is "template_syntax" with `name` and the parser's message.
  static Result<Template> parse(std::string name, std::string text, Escape escape = Escape::kNone);

  const std::string& name() const { return name_; }
  const std::string& text() const { return text_; }

  // Every name the template uses that `data` does not provide, in template order, once each.
  std::vector<MissingName> missingNames(const nlohmann::json& data) const;

  // Checks, then renders. Errors: "template_missing" ("<name>:<line>:<col>: missing 'x', ..."),
  // "template_render" (kainjow failed).
  Result<std::string> render(const nlohmann::json& data) const;

 private:
  using Component = kainjow::mustache::component<std::string>;
  struct Compiled;  // the renderer, parsed once and shared by copies of this Template
  Template(std::string name, std::string text, std::shared_ptr<Component> root,
           std::shared_ptr<Compiled> compiled)
      : name_(std::move(name)),
        text_(std::move(text)),
        root_(std::move(root)),
        compiled_(std::move(compiled)) {}

  std::string name_;
  std::string text_;
  std::shared_ptr<Component> root_;  // kainjow's parse tree, walked by missingNames()
  std::shared_ptr<Compiled> compiled_;
};

// One-shot helper: parse + render. Hot paths keep a parsed Template instead: parsing
// costs more than rendering.
Result<std::string> render(std::string name, std::string text, const nlohmann::json& data,
                           Escape escape = Escape::kNone);

// "<template>:<line>:<col>: missing 'a'; <line>:<col>: missing 'b'".
std::string describeMissing(const std::string& template_name, const std::vector<MissingName>& missing);

}  // namespace drover::templates

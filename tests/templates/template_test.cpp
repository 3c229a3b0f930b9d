#include "templates/template.hpp"

#include <gtest/gtest.h>

namespace drover::templates {
namespace {

using Json = nlohmann::json;

TEST(TemplateTest, RendersJsonData) {
  Json data = {{"node", {{"name", "worker-1"}, {"cpus", 4}}},
               {"keys", {"k1", "k2"}},
               {"domain", "lab.example"},
               {"empty", ""},
               {"flag", false},
               {"nothing", nullptr},
               {"html", "<a&b>"}};
  auto out = render("t", "{{node.name}}/{{node.cpus}}{{#domain}}.{{domain}}{{/domain}}|{{#keys}}[{{.}}]{{/keys}}|"
                         "{{#empty}}E{{/empty}}{{^empty}}no-e{{/empty}}|{{^flag}}nf{{/flag}}|{{#nothing}}N{{/nothing}}|"
                         "{{html}}",
                     data);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, "worker-1/4.lab.example|[k1][k2]|no-e|nf||<a&b>");
  auto escaped = Template::parse("h", "{{html}}", Escape::kHtml);
  EXPECT_EQ(*escaped->render(data), "&lt;a&amp;b&gt;");
}

TEST(TemplateTest, MissingNamesAreErrorsWithPositions) {
  auto t = Template::parse("master.yaml", "a: {{node.name}}\nb: {{node.ip}}\n  c: {{gone}} {{gone}}\n");
  ASSERT_TRUE(t.ok());
  Json data = {{"node", {{"name", "m1"}}}};
  auto missing = t->missingNames(data);
  ASSERT_EQ(missing.size(), 2u);
  EXPECT_EQ(missing[0], (MissingName{"node.ip", 2, 4}));
  EXPECT_EQ(missing[1], (MissingName{"gone", 3, 6}));
  auto r = t->render(data);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "template_missing");
  EXPECT_EQ(r.error().message, "master.yaml: 2:4: missing 'node.ip'; 3:6: missing 'gone'");
}

TEST(TemplateTest, SectionsAreCheckedEvenWhenNotRendered) {
  Json data = {{"enabled", false}, {"items", Json::array({{{"a", 1}}, {{"b", 2}}})}, {"none", Json::array()}};
  auto t = Template::parse("s", "{{#enabled}}{{secret}}{{/enabled}}{{^enabled}}{{other}}{{/enabled}}"
                                "{{#items}}{{a}}{{/items}}{{#none}}{{whatever}}{{/none}}{{#absent}}{{x}}{{/absent}}"
                                "{{^alsoabsent}}{{/alsoabsent}}{{> part}}");
  ASSERT_TRUE(t.ok());
  std::vector<std::string> names;
  for (const auto& m : t->missingNames(data)) names.push_back(m.name);
  // `a` is missing in the second list item; an empty list has no items to check;
  // an absent section's contents are not checked on their own.
  EXPECT_EQ(names, (std::vector<std::string>{"secret", "other", "a", "absent", "alsoabsent", "part"}));
}

TEST(TemplateTest, ContextStackLikeKainjow) {
  Json data = {{"outer", "o"}, {"list", Json::array({{{"inner", "i"}}})}, {"obj", {{"k", "v"}}}};
  auto out = render("c", "{{#list}}{{inner}}{{outer}}{{#obj}}{{k}}{{outer}}{{/obj}}{{/list}}{{obj.k}}", data);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, "iovov");
}

TEST(TemplateTest, SyntaxErrorsNameTheTemplate) {
  auto t = Template::parse("broken.yaml", "{{#open}} never closed");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, "template_syntax");
  EXPECT_NE(t.error().message.find("broken.yaml"), std::string::npos);
  EXPECT_FALSE(Template::parse("b", "{{unclosed").ok());
}

}  // namespace
}  // namespace drover::templates

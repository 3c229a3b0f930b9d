// The declaration's YAML tree: the libyaml path must build exactly the tree yaml-cpp builds
// (kinds, text, order, line:col of every node, shared alias targets) or hand the text to
// yaml-cpp; on a syntax error the message and position are yaml-cpp's.
#include "cluster/yaml_tree.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/cluster/config_text.hpp"

namespace drover::cluster::yaml {
namespace {

namespace fs = std::filesystem;

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

fs::path sourceDir() {
  const char* src = std::getenv("DROVER_SOURCE_DIR");
  return fs::path(src ? src : ".");
}

std::string describe(const Node& n) {
  static constexpr const char* kKinds[] = {"null", "scalar", "list", "map"};
  return fmt::format("{} at {}:{}{}", kKinds[static_cast<int>(n.kind())], n.pos().line, n.pos().col,
                     n.isScalar() ? " \"" + std::string(n.scalar()) + "\"" : "");
}

// The first difference between two trees, "" when equal. Aliases may make cycles: the walk
// stops at a depth no declaration reaches.
std::string difference(const Node& a, const Node& b, const std::string& where, int depth = 0) {
  if (depth > 40) return "";
  if (a.kind() != b.kind() || a.pos().line != b.pos().line || a.pos().col != b.pos().col ||
      a.scalar() != b.scalar() || a.size() != b.size())
    return where + ": " + describe(a) + " vs " + describe(b);
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto at = fmt::format("{}[{}]", where, i);
    std::string d = a.isList() ? difference(a[i], b[i], at, depth + 1)
                               : difference(a.key(i), b.key(i), at + ".key", depth + 1);
    if (d.empty() && a.isMap()) d = difference(a.value(i), b.value(i), at + ".value", depth + 1);
    if (!d.empty()) return d;
  }
  return "";
}

std::string difference(const Tree& fast, const Tree& ref) {
  if (fast.error().has_value() != ref.error().has_value()) return "error on one side only";
  if (ref.error()) {
    const auto& x = *fast.error();
    const auto& y = *ref.error();
    if (x.message != y.message || x.pos.line != y.pos.line || x.pos.col != y.pos.col)
      return fmt::format("errors differ: {}:{} {} vs {}:{} {}", x.pos.line, x.pos.col, x.message,
                         y.pos.line, y.pos.col, y.message);
    return "";
  }
  if (fast.root().has_value() != ref.root().has_value()) return "a document on one side only";
  if (!ref.root()) return "";
  return difference(*fast.root(), *ref.root(), "root");
}

void expectSame(const std::string& text, const std::string& name) {
  const auto fast = Tree::parse(text);
  const auto ref = Tree::parseWithYamlCpp(text);
  EXPECT_EQ(difference(fast, ref), "") << name << ":\n" << text;
}

TEST(YamlTree, ExampleAndBadDeclarationsGiveYamlCppsTree) {
  std::vector<fs::path> files;
  for (const auto* dir : {"configs", "tests/testdata/bad-configs", "packaging"})
    for (const auto& e : fs::directory_iterator(sourceDir() / dir))
      if (e.path().extension() == ".yaml") files.push_back(e.path());
  ASSERT_GE(files.size(), 50u);
  int fast = 0;
  for (const auto& f : files) {
    const auto text = readFile(f);
    expectSame(text, f.string());
    fast += Tree::parse(text).viaYamlCpp() ? 0 : 1;
  }
  // Only the syntax error needs yaml-cpp.
  EXPECT_EQ(fast, static_cast<int>(files.size()) - 1);
  expectSame(kFullConfig, "kFullConfig");
  EXPECT_FALSE(Tree::parse(kFullConfig).viaYamlCpp());
}

TEST(YamlTree, EdgeCasesMatchYamlCpp) {
  const char* cases[] = {
      // nulls and where yaml-cpp puts them
      "a:\nb: 1\n",
      "a:",
      "a:\n",
      "a: # c\n\n  # d\nb:\n",
      "a: ~\nb: null\nc: Null\nd: NULL\n",
      "a: 'null'\nb: \"~\"\nc: nULL\nd: ''\n",
      "- \n- a\n-\n",
      "-",
      "- - a\n  -\n- b\n",
      "key:\n- a\n-\n- c\nnext: 1\n",
      "key:\n- a\n-\nnext:\n",
      "key:\n-\n",
      "a:\n  b:\n  c:\nd:",
      "a:\n  - b\n  -\n  - c: 1\n    d:\n",
      "? a\n: b\n",
      "? a\n",
      ": x\n",
      "? \n: x\n",
      // anchors and aliases
      "a: &x {b: 1}\nc: *x\n",
      "a: &x\nb: *x\n",
      "a: &x 1\nb: &x 2\nc: *x\n",
      "a: &x [*x]\n",
      "a: *nope\n",
      "- &a x\n- *a\n- &b\n  k: v\n- *b\n",
      "a: &x &y 1\n",
      // flow collections
      "{a: 1, b: [x, y], c: {d: }}",
      "[a, b: c, {d: e}]",
      "[a, , b]",
      "{a, b: 1}",
      "{a}",
      "{: x}",
      "[: x]",
      "[a: ]",
      "{a: 1, }",
      "[]",
      "{}",
      "a: []\nb: {}\n",
      "{\"a\": 1, \"b\": [true, null]}",
      "{\"a\":1}",
      "{ url: http://198.18.0.1:8080/x?y=1 }",
      "a: [1,\n  2,\n  3]\n",
      "a: {b: 1,\n  c: 2}\n",
      // scalars
      "a: |\n  line1\n  line2\nb: >\n  folded\n  text\n\nc: |-\n  x\n",
      "a: |+\n  x\n\n",
      "a: 'it''s'\nb: \"tab\\tx\\u00e9\"\nc: plain with  spaces\nd: multi\n  line plain\n",
      "a: b\tc\n",
      "a: 1   \n",
      "a: 1 # comment\n# c\nb: 2 #x",
      "a: -1\nb: :x\n",
      "a: \"multi\n  line\"\n",
      "a: 'x\n\n  y'\n",
      // text: non-ASCII, CRLF, lone CR, BOM
      "labels: { owner: José, rack: r1 }\nname: ü\nx: [é, é, é]\n",
      "é: 1\nb: ü ü\n",
      "a: 1\r\nb:\r\n  c: 2\r\n",
      "a: 1\rb: 2\r",
      "\xEF\xBB\xBF"
      "a: 1\n",
      // documents
      "a: 1\n---\nb: 2\n",
      "---\na: 1\n...\n",
      "--- \n...\n",
      "",
      "# only\n",
      "---\n",
      "...\n",
      "   \n\n",
      "--- a\n",
      "---\n---\n",
      "a: 1\n...\n---\nb: [\n",
      "a: 1\n--- {\n",
      // syntax errors
      "a: [1, 2\n",
      "a: b: c\n",
      "a:\n\tb: 1\n",
      "- a\nb: c\n",
      "a: 1\n]\n",
      "{a: 1\n",
      "a: \"unterminated\n",
      "a: 1\n b: 2\n",
      "a:\n  b: 1\n c: 2\n",
      "[a]\nb\n",
      "a: 'x\n",
      "a: @x\n",
      "a: `x\n",
      "a: \"\\q\"\n",
      "&a\n",
      "*a\n",
      "a: [}\n",
      "a: {]\n",
      "- a\n - b\n",
      // more scalars, keys and nesting
      "a: |2\n   x\n  y\nb: >-\n  f\n\n  g\n",
      "a: |+\n  x",
      "a: >\n\n  x\n\n\n",
      "a: \"\\x41\\N\\_\\/\\0\"\n",
      "a: 'x\n  y'\nb: \"x\n\n  y\"\n",
      "a: b # c d\ne: f#g\n",
      "[&a x, *a]",
      "- &a k\n- {*a : 1}\n",
      "&a k: v\n*a : w\n",
      "? [a]\n: b\n",
      "{[a]: b}",
      "a:    # comment\n  value\n",
      "a: b\t\nc: d \t \n",
      "- - - a\n    - b\n  - c\n",
      "[ ]",
      "a:\n- b:\n  - c\n  d: e\n- f\ng: h\n",
      "--- |\n  text\n",
      "--- >\n  t\n...\n",
      "a: [b, [c, {d: e}], {f: [g]}]\n",
      "a: {b: c, d: {e: f}}\n",
      "- a\n-\n  - b\n",
      "a: 1\n\n\n",
      "\n\n\na: 1",
      "a: \"x\\\n  y\"\n",
      "a: \"x  \n  y\"\n",
      "a: |\n  x\n   y\n  \tz\n",
      "a: |\n  x  \n\n  y\n# c\n",
      "a: >\n  x\n   y\n  z\n",
      "a: x\n  # c\n  y\n",
      "a: x\n\n  y\n",
      "a: 'x  \n  y'\n",
      "- |\n x\n- >\n y\n",
      "a: |1\n  x\n",
      "a: >+\n  x\n\nb: 1\n",
      "a: \"\\t\\\t\"\n",
      // tags and directives
      "a: !!str 1\n",
      "a: !!null\n",
      "a: !x\n",
      "%YAML 1.2\n---\na: 1\n",
      "%TAG ! tag:x,2000:\n---\na: 1\n",
  };
  for (const char* c : cases) expectSame(c, "case");

  expectSame(std::string(1100, 'k') + ": v\n", "a key longer than a simple key may be");
  const std::string deep(600, '[');
  expectSame(deep + std::string(600, ']'), "deep list");
  expectSame(std::string(300, '[') + std::string(300, ']'), "nested list");
}

TEST(YamlTree, NullWordsAndQuotedOnes) {
  const auto t = Tree::parse("a: ~\nb: null\nc: Null\nd: NULL\ne: 'null'\nf: \"~\"\ng:\nh: nul\n");
  ASSERT_TRUE(t.root());
  const auto m = *t.root();
  ASSERT_EQ(m.size(), 8u);
  for (std::size_t i : {0u, 1u, 2u, 3u, 6u}) EXPECT_TRUE(m.value(i).isNull()) << i;
  EXPECT_EQ(m.value(4).scalar(), "null");
  EXPECT_EQ(m.value(5).scalar(), "~");
  EXPECT_EQ(m.value(7).scalar(), "nul");
  // An empty value is placed where the next token starts, as yaml-cpp does.
  EXPECT_EQ(m.value(6).pos().line, 8);
  EXPECT_EQ(m.value(6).pos().col, 1);
}

TEST(YamlTree, AliasesShareTheirAnchorsNode) {
  const auto t = Tree::parse("a: &x {b: 1}\nc: *x\n");
  ASSERT_TRUE(t.root());
  EXPECT_FALSE(t.viaYamlCpp());
  EXPECT_TRUE(t.root()->value(0).is(t.root()->value(1)));
  EXPECT_EQ(t.root()->value(1).pos().line, 1);

  const auto bad = Tree::parse("a: 1\nb: *nope\n");
  ASSERT_TRUE(bad.error());
  EXPECT_EQ(bad.error()->message, "the referenced anchor is not defined");
  EXPECT_EQ(bad.error()->pos.line, 2);
  EXPECT_EQ(bad.error()->pos.col, 4);
}

// Small random edits of a real declaration (characters YAML cares about, inserted, deleted
// or swapped): the two paths must still agree, whatever each edit breaks.
TEST(YamlTree, RandomEditsOfADeclarationMatchYamlCpp) {
  // The full declaration (block style), one in flow style, as config_bench writes, and
  // scalars of every style over several lines.
  const std::string bases[] = {
      kFullConfig,
      "a: |\n  x\n   y\n\n  z\nb: >-\n  f\n  g\n\n  h\nc: \"q\\\n  r s\"\nd: 'u\n\n  v'\n"
      "e: |2\n   k\n  l\nf: >\n  m\n\n   n\n  o\n# end\ng: p\n  q\n\n  r\n",
      "images:\n  os: { disk: { url: \"http://198.18.0.1:8080/os.raw.zst\", sha256: \"9f86\" } }\n"
      "profiles: { worker: { install: { image: os, disk: /dev/sda }, kernel_args: [a=1, b] } }\n"
      "nodes: [{ name: node-1, mac: 52:54:00:00:00:01, labels: { rack: r1 } },\n"
      "  { name: 'node-2', uuid: \"00000000-0000-4000-8000-000000000001\", ip: 198.18.0.3 }]\n"};
  const std::string alphabet = " \n\r\t:-?,[]{}#&*!|>+'\"%@`~\\xé0N_u2";
  std::mt19937 rng(20261205);
  int fast = 0;
  const int kEdits = 1200;
  std::vector<std::string> all(std::begin(bases), std::end(bases));
  for (const auto* dir : {"configs", "tests/testdata/bad-configs"})
    for (const auto& e : fs::directory_iterator(sourceDir() / dir))
      if (e.path().extension() == ".yaml") all.push_back(readFile(e.path()));
  for (int i = 0; i < kEdits; ++i) {
    // Every other edit starts from one of the three above, the rest from the example and
    // bad declarations in turn.
    std::string text = all[i % 2 == 0 ? static_cast<std::size_t>(i / 2 % 3)
                                      : static_cast<std::size_t>(i / 2) % all.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text.insert(at, 1, alphabet[rng() % alphabet.size()]);
          break;
        case 1:
          text.erase(at, 1);
          break;
        default:
          text[at] = alphabet[rng() % alphabet.size()];
          break;
      }
    }
    const auto t = Tree::parse(text);
    fast += t.viaYamlCpp() ? 0 : 1;
    const auto d = difference(t, Tree::parseWithYamlCpp(text));
    ASSERT_EQ(d, "") << "edit " << i << ":\n" << text;
  }
  std::printf("random edits: %d, read without yaml-cpp: %d\n", kEdits, fast);
}

TEST(YamlTree, LargeDeclarationTakesTheFastPath) {
  std::string y = "nodes:\n";
  for (int i = 0; i < 2000; ++i)
    y += fmt::format(
        "  - name: node-{}\n    mac: 52:54:00:00:{:02x}:{:02x}\n    labels: {{ rack: r{} }}\n", i,
        i >> 8, i & 0xff, i / 40);
  const auto t0 = std::chrono::steady_clock::now();
  const auto fast = Tree::parse(y);
  const auto t1 = std::chrono::steady_clock::now();
  const auto ref = Tree::parseWithYamlCpp(y);
  const auto t2 = std::chrono::steady_clock::now();
  EXPECT_FALSE(fast.viaYamlCpp());
  EXPECT_EQ(difference(fast, ref), "");
  using ms = std::chrono::duration<double, std::milli>;
  std::printf("2,000 nodes (%zu bytes, %zu tree nodes): libyaml path %.1f ms, yaml-cpp %.1f ms\n",
              y.size(), fast.nodeCount(), ms(t1 - t0).count(), ms(t2 - t1).count());
}

}  // namespace
}  // namespace drover::cluster::yaml

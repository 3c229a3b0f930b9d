// The fast path of yaml_tree.hpp: libyaml's scanner, and yaml-cpp's grammar over its tokens.
#include <unordered_map>

#include <yaml.h>

#include "cluster/yaml_tree.hpp"

namespace drover::cluster::yaml {

namespace {

// Text libyaml and yaml-cpp would count lines or columns of differently, or decode
// differently: left to yaml-cpp.
bool unusualText(std::string_view s) {
  if (s.size() >= 2 && ((s[0] == '\xFE' && s[1] == '\xFF') || (s[0] == '\xFF' && s[1] == '\xFE')))
    return true;
  if (s.size() >= 3 && s[0] == '\xEF' && s[1] == '\xBB' && s[2] == '\xBF') return true;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\0') return true;
    if (c == '\r' && (i + 1 == s.size() || s[i + 1] != '\n')) return true;   // a lone CR
    if (c == '\xC2' && i + 1 < s.size() && s[i + 1] == '\x85') return true;  // NEL
    if (c == '\xE2' && i + 2 < s.size() && s[i + 1] == '\x80' &&
        (s[i + 2] == '\xA8' || s[i + 2] == '\xA9'))  // LS, PS
      return true;
  }
  return false;
}

// yaml-cpp's grammar (its SingleDocParser) over libyaml's tokens. Returns false where
// yaml-cpp would throw or where the two scanners' tokens are known to differ; the caller
// then asks yaml-cpp.
class TokenParser {
 public:
  TokenParser(std::string_view text, Builder& b) : text_(text), b_(b) {
    yaml_parser_initialize(&p_);
    // libyaml asserts on a null input even when it is empty (an empty string_view's data()).
    static constexpr unsigned char kEmpty[] = "";
    yaml_parser_set_input_string(
        &p_, text.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(text.data()),
        text.size());
    for (char c : text) {
      if (static_cast<unsigned char>(c) >= 0x80) ascii_ = false;
      if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++chars_;
    }
    if (!ascii_) {
      line_starts_.push_back(0);
      for (std::size_t i = 0; i < text.size(); ++i)
        if (text[i] == '\n') line_starts_.push_back(i + 1);
    }
  }
  ~TokenParser() {
    if (have_) yaml_token_delete(&tok_);
    yaml_parser_delete(&p_);
  }
  TokenParser(const TokenParser&) = delete;
  TokenParser& operator=(const TokenParser&) = delete;

  bool document() {
    if (!peek() || tok_.type != YAML_STREAM_START_TOKEN) return false;
    pop();
    if (!peek()) return false;
    if (empty()) return true;  // no document
    if (tok_.type == YAML_DOCUMENT_START_TOKEN) pop();
    if (!node(0, false)) return false;
    while (true) {
      if (!peek()) return false;
      if (tok_.type != YAML_DOCUMENT_END_TOKEN) break;
      pop();
    }
    // What follows must be another document or nothing: anything else is for yaml-cpp to
    // judge (it may reject it while looking ahead).
    return !failed_ &&
           (tok_.type == YAML_DOCUMENT_START_TOKEN || tok_.type == YAML_STREAM_END_TOKEN);
  }

 private:
  enum class Ctx : std::uint8_t { BlockMap, BlockSeq, FlowMap, FlowSeq, CompactMap };
  static constexpr int kMaxDepth = 400;  // yaml-cpp refuses 500

  // The next token, scanned once; false for good after a scanner error or a token yaml-cpp
  // would not make the same way.
  bool peek() {
    if (failed_) return false;
    if (have_) return true;
    if (!yaml_parser_scan(&p_, &tok_)) {
      failed_ = true;
      return false;
    }
    have_ = true;
    failed_ = tok_.type == YAML_NO_TOKEN || !sameInYamlCpp();
    return !failed_;
  }
  void pop() {
    last_ = tok_.type;
    last_quoted_ =
        tok_.type == YAML_SCALAR_TOKEN && tok_.data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
    yaml_token_delete(&tok_);
    have_ = false;
  }

  // Whether yaml-cpp's scanner makes the same token here. It does not where libyaml sees
  // tags and directives (not read here), an explicit key or a list entry as the text's
  // last character, '?' in a flow collection, ':' starting a flow value where yaml-cpp
  // reads a plain scalar, an anchor name followed by a character yaml-cpp takes into it,
  // a quoted scalar over several lines, a double-quoted NEL or no-break space, or a block
  // scalar that keeps its line breaks.
  bool sameInYamlCpp() const {
    const auto type = tok_.type;
    if (type == YAML_TAG_TOKEN || type == YAML_VERSION_DIRECTIVE_TOKEN ||
        type == YAML_TAG_DIRECTIVE_TOKEN)
      return false;
    const bool explicit_key =
        type == YAML_KEY_TOKEN && tok_.start_mark.index != tok_.end_mark.index;
    if ((type == YAML_BLOCK_ENTRY_TOKEN || explicit_key) && tok_.end_mark.index >= chars_)
      return false;
    // yaml-cpp folds the line breaks of a quoted scalar over several lines its own way.
    const bool quoted =
        type == YAML_SCALAR_TOKEN && (tok_.data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                                      tok_.data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE);
    if (quoted && tok_.start_mark.line != tok_.end_mark.line) return false;
    // yaml-cpp turns the escapes \N and \_ into single bytes, libyaml into UTF-8.
    if (type == YAML_SCALAR_TOKEN && tok_.data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE) {
      const std::string_view text(reinterpret_cast<const char*>(tok_.data.scalar.value),
                                  tok_.data.scalar.length);
      if (text.find("\xC2\x85") != std::string_view::npos ||
          text.find("\xC2\xA0") != std::string_view::npos)
        return false;
    }
    // yaml-cpp keeps fewer trailing line breaks than libyaml under keep chomping (|+, >+).
    if (type == YAML_SCALAR_TOKEN && (tok_.data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
                                      tok_.data.scalar.style == YAML_FOLDED_SCALAR_STYLE)) {
      for (auto at = offset(tok_.start_mark) + 1;
           at < text_.size() && text_[at] != '\n' && text_[at] != ' ' && text_[at] != '#'; ++at)
        if (text_[at] == '+') return false;
    }
    if (type == YAML_ANCHOR_TOKEN || type == YAML_ALIAS_TOKEN) {
      const char next = charAt(tok_.end_mark);
      if (next == '?' || next == ':' || next == '%' || next == '@' || next == '`') return false;
    }
    if (flow_ == 0) return true;
    if (explicit_key) return false;
    if (type == YAML_SCALAR_TOKEN && tok_.data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
      const std::string_view text(reinterpret_cast<const char*>(tok_.data.scalar.value),
                                  tok_.data.scalar.length);
      if (text.find('?') != std::string_view::npos) return false;
    }
    if (type == YAML_VALUE_TOKEN) {
      const bool json = last_quoted_ || last_ == YAML_FLOW_SEQUENCE_END_TOKEN ||
                        last_ == YAML_FLOW_MAPPING_END_TOKEN;
      const char next = charAt(tok_.end_mark);
      const bool value = next == ' ' || next == '\t' || next == '\r' || next == '\n' ||
                         next == ',' || next == ']' || next == '}';
      if (!json && !value) return false;
    }
    return true;
  }

  // The byte offset of a mark (libyaml counts characters).
  std::size_t offset(const yaml_mark_t& m) const {
    if (ascii_) return m.index;
    if (m.line >= line_starts_.size()) return text_.size();
    std::size_t at = line_starts_[m.line];
    for (std::size_t n = 0; n < m.column && at < text_.size(); ++n) {
      ++at;
      while (at < text_.size() && (static_cast<unsigned char>(text_[at]) & 0xC0) == 0x80) ++at;
    }
    return at;
  }
  char charAt(const yaml_mark_t& m) const {
    const auto at = offset(m);
    return at < text_.size() ? text_[at] : '\0';
  }
  bool empty() const { return tok_.type == YAML_STREAM_END_TOKEN; }

  // yaml-cpp's mark: columns in bytes, and at the end of a text without a final line break
  // the last line (libyaml starts a new one).
  Pos pos(const yaml_mark_t& m) const {
    auto line = static_cast<std::int32_t>(m.line);
    auto col = static_cast<std::int32_t>(m.column);
    if (m.index >= chars_ && !text_.empty() && text_.back() != '\n') return Pos{line, 1};
    if (!ascii_ && m.line < line_starts_.size())
      col = static_cast<std::int32_t>(offset(m) - line_starts_[m.line]);
    return Pos{line + 1, col + 1};
  }
  Pos here() const { return pos(tok_.start_mark); }

  std::uint32_t add(Kind kind, Pos at, const std::string& anchor, std::string_view text = {}) {
    const auto index = b_.add(kind, at, text);
    if (!anchor.empty()) anchors_[anchor] = index;
    return index;
  }

  static bool isNullText(std::string_view s) {
    return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
  }

  // SingleDocParser::HandleNode. `value_of_block_map`: libyaml gives an indentless list
  // there without the start and end tokens yaml-cpp's scanner makes.
  bool node(int depth, bool value_of_block_map) {
    if (++depth >= kMaxDepth) return false;
    if (!peek()) return false;
    if (empty()) {
      b_.add(Kind::Null, here());
      return true;
    }
    const Pos at = here();
    if (tok_.type == YAML_VALUE_TOKEN) {
      b_.add(Kind::Map, at);
      if (!compactMapWithNoKey(depth)) return false;
      b_.end();
      return true;
    }
    if (tok_.type == YAML_ALIAS_TOKEN) {
      auto it = anchors_.find(reinterpret_cast<const char*>(tok_.data.alias.value));
      if (it == anchors_.end()) return false;  // yaml-cpp's "referenced anchor" error
      b_.ref(it->second);
      pop();
      return true;
    }
    std::string anchor;
    while (true) {
      if (!peek()) return false;
      if (tok_.type != YAML_ANCHOR_TOKEN) break;
      if (!anchor.empty()) return false;  // several anchors: yaml-cpp's error
      anchor = reinterpret_cast<const char*>(tok_.data.anchor.value);
      pop();
    }
    if (empty()) {
      add(Kind::Null, at, anchor);
      return true;
    }
    switch (tok_.type) {
      case YAML_SCALAR_TOKEN: {
        const std::string_view text(reinterpret_cast<const char*>(tok_.data.scalar.value),
                                    tok_.data.scalar.length);
        const bool plain = tok_.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        if (plain && isNullText(text))
          add(Kind::Null, at, anchor);
        else
          add(Kind::Scalar, at, anchor, text);
        pop();
        return true;
      }
      case YAML_FLOW_SEQUENCE_START_TOKEN:
        add(Kind::List, at, anchor);
        if (!flowSequence(depth)) return false;
        b_.end();
        return true;
      case YAML_BLOCK_SEQUENCE_START_TOKEN:
        add(Kind::List, at, anchor);
        if (!blockSequence(depth, false)) return false;
        b_.end();
        return true;
      case YAML_BLOCK_ENTRY_TOKEN:
        if (!value_of_block_map) return false;
        add(Kind::List, at, anchor);
        if (!blockSequence(depth, true)) return false;
        b_.end();
        return true;
      case YAML_FLOW_MAPPING_START_TOKEN:
        add(Kind::Map, at, anchor);
        if (!flowMap(depth)) return false;
        b_.end();
        return true;
      case YAML_BLOCK_MAPPING_START_TOKEN:
        add(Kind::Map, at, anchor);
        if (!blockMap(depth)) return false;
        b_.end();
        return true;
      case YAML_KEY_TOKEN:
        if (!ctx_.empty() && ctx_.back() == Ctx::FlowSeq) {
          add(Kind::Map, at, anchor);
          if (!compactMap(depth)) return false;
          b_.end();
          return true;
        }
        break;
      default:
        break;
    }
    add(Kind::Null, at, anchor);
    return true;
  }

  // Where an indentless list ends, yaml-cpp's scanner puts its end token.
  bool indentlessEnd() const {
    return tok_.type == YAML_KEY_TOKEN || tok_.type == YAML_VALUE_TOKEN ||
           tok_.type == YAML_BLOCK_END_TOKEN;
  }

  bool blockSequence(int depth, bool indentless) {
    if (!indentless) pop();  // the start token
    ctx_.push_back(Ctx::BlockSeq);
    while (true) {
      if (!peek() || empty()) return false;
      if (indentless && indentlessEnd()) break;
      if (tok_.type != YAML_BLOCK_ENTRY_TOKEN && tok_.type != YAML_BLOCK_END_TOKEN) return false;
      const bool end = tok_.type == YAML_BLOCK_END_TOKEN;
      if (end && indentless) return false;
      pop();
      if (end) break;
      if (!peek()) return false;
      if (!empty() && (tok_.type == YAML_BLOCK_ENTRY_TOKEN || tok_.type == YAML_BLOCK_END_TOKEN ||
                       (indentless && indentlessEnd()))) {
        b_.add(Kind::Null, here());
        continue;
      }
      if (!node(depth, false)) return false;
    }
    ctx_.pop_back();
    return true;
  }

  bool flowSequence(int depth) {
    pop();
    ++flow_;
    ctx_.push_back(Ctx::FlowSeq);
    while (true) {
      if (!peek() || empty()) return false;
      if (tok_.type == YAML_FLOW_SEQUENCE_END_TOKEN) {
        --flow_;
        pop();
        break;
      }
      if (!node(depth, false)) return false;
      if (!peek() || empty()) return false;
      if (tok_.type == YAML_FLOW_ENTRY_TOKEN)
        pop();
      else if (tok_.type != YAML_FLOW_SEQUENCE_END_TOKEN)
        return false;
    }
    ctx_.pop_back();
    return true;
  }

  bool blockMap(int depth) {
    pop();
    ctx_.push_back(Ctx::BlockMap);
    while (true) {
      if (!peek() || empty()) return false;
      const auto type = tok_.type;
      if (type != YAML_KEY_TOKEN && type != YAML_VALUE_TOKEN && type != YAML_BLOCK_END_TOKEN)
        return false;
      if (type == YAML_BLOCK_END_TOKEN) {
        pop();
        break;
      }
      const Pos at = here();
      if (type == YAML_KEY_TOKEN) {
        pop();
        if (!node(depth, false)) return false;
      } else {
        b_.add(Kind::Null, at);
      }
      if (!mapValue(depth, true, at)) return false;
    }
    ctx_.pop_back();
    return true;
  }

  // A map entry's value after its key: what follows ':', or null (at the entry) without one.
  bool mapValue(int depth, bool value_of_block_map, Pos at) {
    if (!peek()) return false;
    if (!empty() && tok_.type == YAML_VALUE_TOKEN) {
      pop();
      return node(depth, value_of_block_map);
    }
    b_.add(Kind::Null, at);
    return true;
  }

  bool flowMap(int depth) {
    pop();
    ++flow_;
    ctx_.push_back(Ctx::FlowMap);
    while (true) {
      if (!peek() || empty()) return false;
      const Pos at = here();
      if (tok_.type == YAML_FLOW_MAPPING_END_TOKEN) {
        --flow_;
        pop();
        break;
      }
      if (tok_.type == YAML_KEY_TOKEN) {
        pop();
        if (!node(depth, false)) return false;
      } else if (tok_.type == YAML_VALUE_TOKEN) {
        b_.add(Kind::Null, at);
      } else {
        return false;  // an entry without ':', which yaml-cpp's scanner turns into a key
      }
      if (!mapValue(depth, false, at)) return false;
      if (!peek() || empty()) return false;
      if (tok_.type == YAML_FLOW_ENTRY_TOKEN)
        pop();
      else if (tok_.type != YAML_FLOW_MAPPING_END_TOKEN)
        return false;
    }
    ctx_.pop_back();
    return true;
  }

  // "[a: b]": one entry, no braces.
  bool compactMap(int depth) {
    ctx_.push_back(Ctx::CompactMap);
    const Pos at = here();
    pop();
    if (!node(depth, false)) return false;
    if (!mapValue(depth, false, at)) return false;
    ctx_.pop_back();
    return true;
  }

  bool compactMapWithNoKey(int depth) {
    ctx_.push_back(Ctx::CompactMap);
    b_.add(Kind::Null, here());
    pop();
    if (!node(depth, false)) return false;
    ctx_.pop_back();
    return true;
  }

  std::string_view text_;
  Builder& b_;
  yaml_parser_t p_{};
  yaml_token_t tok_{};
  bool have_ = false;
  bool failed_ = false;
  yaml_token_type_t last_ = YAML_NO_TOKEN;
  bool last_quoted_ = false;
  int flow_ = 0;  // open flow collections
  bool ascii_ = true;
  std::size_t chars_ = 0;
  std::vector<std::size_t> line_starts_;
  std::vector<Ctx> ctx_;
  std::unordered_map<std::string, std::uint32_t> anchors_;
};

}  // namespace

Tree Tree::parse(std::string_view text) {
  Tree t;
  if (!unusualText(text)) {
    // A declaration has a node every 10 bytes or so; room reserved and not used is never
    // touched, so it costs address space, not memory.
    t.nodes_.reserve(text.size() / 8 + 16);
    t.kids_.reserve(text.size() / 8 + 16);
    t.text_.reserve(text.size());
    Builder b(t);
    TokenParser p(text, b);
    if (p.document()) return t;
  }
  return parseWithYamlCpp(text);
}

}  // namespace drover::cluster::yaml

#include "templates/ipxe.hpp"

#include <array>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "templates/template.hpp"

namespace drover::templates {
namespace {

constexpr std::string_view kIpxeEntry = R"(#!ipxe
# Drover entry script: ask for this machine's own script.
isset ${netX/mac} || dhcp || goto retry
chain --autofree --replace {{{self_url}}} || goto retry
:retry
echo Drover: could not fetch the boot script from {{base_url}}; retrying in {{retry_seconds}} s
sleep {{retry_seconds}}
chain --autofree --replace {{base_url}}/boot.ipxe
)";

constexpr std::string_view kInstall = R"(#!ipxe
# Drover: install {{node}}.
echo Drover: installing {{node}}
kernel {{kernel_url}} {{#efi}}initrd=initrd.img {{/efi}}drover.api={{api_urls}} drover.ca={{ca}} drover.token={{token}} drover.node={{node}} drover.mode=install {{console}}{{#extra_args}} {{extra_args}}{{/extra_args}} || goto failed
initrd --name initrd.img {{initrd_url}} || goto failed
boot || goto failed
:failed
echo Drover: could not boot the installer for {{node}}; retrying in {{retry_seconds}} s
sleep {{retry_seconds}}
chain --autofree --replace {{{self_url}}}
)";

constexpr std::string_view kLocalBoot = R"(#!ipxe
# Drover: {{node}} is installed; boot its disk (never a reinstall from here).
echo Drover: {{node}} is installed, booting from the local disk
{{#grub_url}}
# x64 UEFI: iPXE cannot boot a local disk here. Drover's network GRUB finds the installed
# EFI system partition and starts its loader (its grub.cfg comes from Drover over TFTP).
chain --autofree {{grub_url}} || goto failed
{{/grub_url}}
{{^grub_url}}
{{#efi}}
# UEFI without Drover's network GRUB: iPXE's sanboot usually fails here ("No such device");
# exit with an error so the firmware moves on to its next boot entry.
sanboot --no-describe --drive 0x80 || exit 1
{{/efi}}
{{^efi}}
sanboot --no-describe --drive 0x80 || goto failed
{{/efi}}
{{/grub_url}}
:failed
echo Drover: could not boot the local disk of {{node}}; retrying in {{retry_seconds}} s
sleep {{retry_seconds}}
chain --autofree --replace {{{self_url}}}
)";

constexpr std::string_view kDiscover = R"(#!ipxe
# Drover: unknown machine; boot the agent in discovery mode.
echo Drover: unknown machine ${netX/mac}; starting discovery
kernel {{kernel_url}} {{#efi}}initrd=initrd.img {{/efi}}drover.api={{api_urls}} drover.ca={{ca}} drover.token={{token}} drover.mode=discover {{console}}{{#extra_args}} {{extra_args}}{{/extra_args}} || goto failed
initrd --name initrd.img {{initrd_url}} || goto failed
boot || goto failed
:failed
echo Drover: could not boot the discovery environment; retrying in {{retry_seconds}} s
sleep {{retry_seconds}}
chain --autofree --replace {{{self_url}}}
)";

constexpr std::string_view kFailed = R"(#!ipxe
# Drover: the last install of {{node}} failed.
echo
echo Drover: {{node}} FAILED: {{message}}
echo Drover: fix the cause, then run: drover reinstall {{node}}
echo Drover: asking again in {{retry_seconds}} s
sleep {{retry_seconds}}
chain --autofree --replace {{{self_url}}}
)";

constexpr std::string_view kCapture = R"(#!ipxe
# Drover: capture the disk of {{node}}.
echo Drover: capturing the disk of {{node}}
kernel {{kernel_url}} {{#efi}}initrd=initrd.img {{/efi}}drover.api={{api_urls}} drover.ca={{ca}} drover.token={{token}} drover.node={{node}} drover.mode=capture {{console}}{{#extra_args}} {{extra_args}}{{/extra_args}} || goto failed
initrd --name initrd.img {{initrd_url}} || goto failed
boot || goto failed
:failed
echo Drover: could not boot the capture environment for {{node}}; retrying in {{retry_seconds}} s
sleep {{retry_seconds}}
chain --autofree --replace {{{self_url}}}
)";

constexpr std::string_view kIgnore = R"(#!ipxe
echo Drover: {{message}}
exit 1
)";

// A single word of URL characters: nothing iPXE would split, expand or treat as syntax.
// Unreserved and reserved URL characters but ' and # (iPXE's quote and comment), as a
// table (the token is checked on every script request).
constexpr std::array<bool, 256> kWordChars = [] {
  std::array<bool, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (char c : std::string_view("-._~:/?[]@!&()*+,;=%")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

bool isWord(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!kWordChars[static_cast<unsigned char>(c)]) return false;
  return true;
}

const Template& builtinTemplate(Script s);

}  // namespace

std::string_view scriptName(Script s) {
  switch (s) {
    case Script::kEntry:
      return "entry";
    case Script::kInstall:
      return "install";
    case Script::kLocalBoot:
      return "local";
    case Script::kDiscover:
      return "discover";
    case Script::kFailed:
      return "failed";
    case Script::kCapture:
      return "capture";
    case Script::kIgnore:
      return "ignore";
  }
  return "?";
}

std::string_view builtinScript(Script s) {
  switch (s) {
    case Script::kEntry:
      return kIpxeEntry;
    case Script::kInstall:
      return kInstall;
    case Script::kLocalBoot:
      return kLocalBoot;
    case Script::kDiscover:
      return kDiscover;
    case Script::kFailed:
      return kFailed;
    case Script::kCapture:
      return kCapture;
    case Script::kIgnore:
      return kIgnore;
  }
  return {};
}

namespace {

// The built-in scripts, parsed once (they are compiled in and known to parse).
const Template& builtinTemplate(Script s) {
  static const std::array<Template, 7> parsed = [] {
    auto one = [](Script k) {
      auto t = Template::parse(std::string(scriptName(k)) + ".ipxe", std::string(builtinScript(k)));
      if (!t) throw std::logic_error("built-in iPXE script does not parse: " + t.error().message);
      return std::move(*t);
    };
    return std::array<Template, 7>{one(Script::kEntry),     one(Script::kInstall),
                                   one(Script::kLocalBoot), one(Script::kDiscover),
                                   one(Script::kFailed),    one(Script::kCapture),
                                   one(Script::kIgnore)};
  }();
  return parsed[static_cast<std::size_t>(s)];
}

}  // namespace

std::string ipxeText(std::string_view s, std::size_t max_len) {
  std::string out;
  for (char c : s.substr(0, max_len)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view(" .,:;_/=+-()").find(c) != std::string_view::npos;
    out.push_back(ok ? c : '_');
  }
  return out;
}

Result<nlohmann::json> scriptData(const BootScriptParams& p) {
  struct Field {
    const char* key;
    const std::string& value;
    bool required;
  };
  const Field words[] = {
      {"base_url", p.base_url, true},      {"kernel_url", p.kernel_url, false},
      {"initrd_url", p.initrd_url, false}, {"api_url", p.api_url, false},
      {"ca", p.ca_fingerprint, false},     {"token", p.token, false},
      {"grub_url", p.grub_url, false},
  };
  nlohmann::json data = nlohmann::json::object();
  for (const auto& f : words) {
    if ((f.required || !f.value.empty()) && !isWord(f.value))
      return makeError("bad_script_value", std::string(f.key) + " is not a single URL-safe word");
    data[f.key] = f.value;
  }
  // The serving API first, then the other replicas', one comma-separated word.
  std::string api_urls = p.api_url;
  if (!p.api_url.empty()) {
    for (const auto& alt : p.api_alternates) {
      if (!isWord(alt) || alt.find(',') != std::string::npos)
        return makeError("bad_script_value", "api_alternates has a URL that is not one word");
      if (alt != p.api_url) api_urls += "," + alt;
    }
  }
  data["api_urls"] = api_urls;
  // Names, console and extra arguments: space-separated words.
  for (const auto& [key, value] : {std::pair<const char*, const std::string&>{"node", p.node},
                                   {"console", p.console},
                                   {"extra_args", p.extra_args}}) {
    std::size_t start = 0;
    while (start < value.size()) {
      std::size_t sp = value.find(' ', start);
      std::string_view word =
          std::string_view(value).substr(start, sp == std::string::npos ? sp : sp - start);
      if (!word.empty() && !isWord(word))
        return makeError("bad_script_value", std::string(key) + " has an unsafe word");
      if (sp == std::string::npos) break;
      start = sp + 1;
    }
    data[key] = value;
  }
  if (p.node.find(' ') != std::string::npos)
    return makeError("bad_script_value", "node name has a space");
  data["efi"] = p.efi;
  data["message"] = ipxeText(p.message.empty() ? "no reason reported" : p.message);
  data["retry_seconds"] = p.retry_seconds > 0 ? p.retry_seconds : 30;
  data["self_url"] =
      p.base_url + "/boot.ipxe?mac=${netX/mac}&uuid=${uuid}&arch=${buildarch}&platform=${platform}";
  return data;
}

namespace {

// Built-in scripts rendered once per set of values, by everything but the token, which is
// the one value new on every request: rendered with kTokenSlot in its place, then the
// token is put in. A script request then costs a lookup and a copy instead of a render.
constexpr std::string_view kTokenSlot = "DroverBootTokenSlotQx7";
constexpr std::size_t kMaxRendered = 4096;  // then the cache starts over

// Every field of BootScriptParams but the token (the assert below catches a new field).
static_assert(sizeof(BootScriptParams) == 392, "a new field must be part of renderedKey");
std::string renderedKey(Script s, const BootScriptParams& p) {
  std::string k;
  k.reserve(512);
  k += static_cast<char>('0' + static_cast<int>(s));
  for (const std::string* f :
       {&p.base_url, &p.node, &p.kernel_url, &p.initrd_url, &p.api_url, &p.ca_fingerprint,
        &p.grub_url, &p.console, &p.extra_args, &p.message}) {
    k += '\x1f';
    k += *f;
  }
  for (const auto& alt : p.api_alternates) {
    k += '\x1e';
    k += alt;
  }
  k += '\x1f';
  k += p.efi ? 'e' : 'b';
  k += p.token.empty() ? 'n' : 't';
  k += std::to_string(p.retry_seconds);
  return k;
}

struct Rendered {
  std::mutex mu;
  std::unordered_map<std::string, PreparedScript> texts;
};

Rendered& rendered() {
  static Rendered r;
  return r;
}

Result<std::string> renderBuiltin(Script s, const BootScriptParams& p) {
  auto data = scriptData(p);
  if (!data) return data.error();
  return builtinTemplate(s).render(*data);
}

}  // namespace

Result<std::string> renderScript(Script s, const BootScriptParams& p,
                                 std::string_view override_text) {
  if (!override_text.empty()) {
    auto data = scriptData(p);
    if (!data) return data.error();
    return render(std::string(scriptName(s)) + ".ipxe", std::string(override_text), *data);
  }
  if (!p.token.empty() && !isWord(p.token))
    return makeError("bad_script_value", "token is not a single URL-safe word");
  const std::string key = renderedKey(s, p);
  auto& cache = rendered();
  {
    std::lock_guard lock(cache.mu);
    if (auto it = cache.texts.find(key); it != cache.texts.end()) return it->second.fill(p.token);
  }
  BootScriptParams slotted = p;
  if (!p.token.empty()) slotted.token = kTokenSlot;
  auto text = renderBuiltin(s, slotted);
  if (!text) return text;
  auto prepared = PreparedScript::fromSlotted(*text);
  auto out = prepared.fill(p.token);
  std::lock_guard lock(cache.mu);
  if (cache.texts.size() >= kMaxRendered) cache.texts.clear();
  cache.texts.emplace(key, std::move(prepared));
  return out;
}

PreparedScript PreparedScript::fromSlotted(std::string_view text) {
  PreparedScript prepared;
  for (auto at = text.find(kTokenSlot); at != std::string_view::npos; at = text.find(kTokenSlot)) {
    prepared.pieces_.emplace_back(text.substr(0, at));
    text.remove_prefix(at + kTokenSlot.size());
  }
  prepared.pieces_.emplace_back(text);
  return prepared;
}

std::string PreparedScript::fill(std::string_view token) const {
  std::size_t size = token.size() * pieces_.size();
  for (const auto& piece : pieces_) size += piece.size();
  std::string out;
  out.reserve(size);
  for (std::size_t i = 0; i < pieces_.size(); ++i) {
    if (i > 0) out += token;
    out += pieces_[i];
  }
  return out;
}

Result<std::string> PreparedScript::withToken(std::string_view token) const {
  if (!isWord(token)) return makeError("bad_script_value", "token is not a single URL-safe word");
  return fill(token);
}

Result<PreparedScript> prepareScript(Script s, const BootScriptParams& p) {
  BootScriptParams slotted = p;
  slotted.token = kTokenSlot;
  auto text = renderBuiltin(s, slotted);
  if (!text) return text.error();
  return PreparedScript::fromSlotted(*text);
}

}  // namespace drover::templates

// Any bytes as a template and its data: up to the first NUL the template text, after it a
// JSON document (nlohmann, no exceptions) used as the data when it parses, else a fixed
// boot script's data. Parsing ends in a Template or a template_syntax error; rendering
// fails exactly when names are missing (template_missing) or kainjow refuses
// (template_render), never with an exception or a crash, and a Template renders the same
// twice (its shared renderer is reset after an error).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "templates/template.hpp"

namespace {

void check(bool cond) {
  if (!cond) std::abort();
}

const nlohmann::json& bootData() {
  static const nlohmann::json d = {
      {"node", {{"name", "n1"}, {"ip", "192.0.2.10"}, {"macs", {"52:54:00:00:00:01"}}}},
      {"http_base", "http://192.0.2.1:8080"},
      {"kernel_args", {"console=ttyS0", "quiet"}},
      {"domain", ""},
      {"secure_boot", false},
      {"disks", {{{"path", "/dev/vda"}, {"size", 10737418240}}}},
      {"token", nullptr}};
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace drover::templates;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto nul = in.find('\0');
  std::string text(in.substr(0, nul));
  nlohmann::json parsed;
  if (nul != std::string_view::npos) {
    parsed = nlohmann::json::parse(in.substr(nul + 1), nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded()) {
      (void)parsed.dump();  // what the server would echo back
    }
  }
  const nlohmann::json& values =
      nul != std::string_view::npos && !parsed.is_discarded() ? parsed : bootData();
  const Escape escape = size % 2 ? Escape::kHtml : Escape::kNone;

  auto t = Template::parse("fuzz.ipxe", text, escape);
  if (!t) {
    check(t.error().code == "template_syntax");
    return 0;
  }
  auto missing = t->missingNames(values);
  for (const auto& m : missing) check(m.line >= 1 && m.column >= 1);
  auto first = t->render(values);
  if (!missing.empty()) {
    check(!first && first.error().code == "template_missing");
    (void)describeMissing(t->name(), missing);
    return 0;
  }
  auto second = t->render(values);
  check(first.ok() == second.ok());
  if (first) {
    check(*first == *second);
  } else {
    check(first.error().code == "template_render" && second.error().code == "template_render");
  }
  return 0;
}

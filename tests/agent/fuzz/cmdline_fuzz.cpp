// Any bytes as the kernel command line the agent boots with (/proc/cmdline): splitting
// with quotes, the drover.* keys, and the boot parameters. A parse ends in BootParams or
// an error value; what parses is normalised (http(s) URLs without a trailing slash, at
// most 16, a 64-digit lowercase fingerprint, a token in install mode) and validates again
// unchanged; words, quoted again, split back to the same words.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "agent/cmdline.hpp"

namespace {

void check(bool cond) {
  if (!cond) std::abort();
}

void checkUrl(const std::string& url) {
  check(url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0);
  check(url.back() != '/' && url.find(',') == std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace drover::agent;
  const std::string_view line(reinterpret_cast<const char*>(data), size);

  auto words = splitCmdline(line);
  std::string again;
  for (const auto& w : words) {
    check(w.find('"') == std::string::npos);
    again += '"' + w + "\" ";
  }
  check(splitCmdline(again) == words);

  auto params = parseKernelCmdline(line);
  if (!params) {
    const auto& code = params.error().code;
    check(code == "missing_api" || code == "bad_api" || code == "missing_token" ||
          code == "bad_ca" || code == "bad_mode");
    return 0;
  }
  checkUrl(params->api);
  check(params->api_alternates.size() < 16);
  for (const auto& alt : params->api_alternates) checkUrl(alt);
  if (!params->ca_fingerprint.empty()) {
    check(params->ca_fingerprint.size() == 64);
    for (char c : params->ca_fingerprint)
      check(std::isxdigit(static_cast<unsigned char>(c)) && !std::isupper(c));
  }
  check(params->mode != Mode::Install || !params->token.empty());
  auto revalidated = validateParams(*params, params->mode == Mode::Install);
  check(revalidated.ok() && revalidated->api == params->api &&
        revalidated->api_alternates == params->api_alternates &&
        revalidated->ca_fingerprint == params->ca_fingerprint &&
        revalidated->token == params->token);
  return 0;
}

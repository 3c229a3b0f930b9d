// Boot parameters of the agent: read from the kernel command line (/proc/cmdline) in the
// boot environment, or from flags when run by hand. Pure: no I/O.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace drover::agent {

enum class Mode { Install, Discover, Join };

std::string_view modeName(Mode m);

struct BootParams {
  std::string api;              // https://192.0.2.1:8443 (no trailing slash)
  // Further API URLs (other replicas), tried in turn when the current one cannot be reached:
  // `drover.api=https://a:8443,https://b:8443` gives api=a, api_alternates={b}.
  std::vector<std::string> api_alternates{};
  std::string ca_fingerprint;   // lowercase hex sha256 of the CA certificate (DER); empty: none
  std::string token;            // boot token (single use)
  Mode mode = Mode::Install;
  std::string node;             // node name announced by the iPXE script; may be empty
};

// Splits a kernel command line into words the way the kernel does: whitespace separates,
// double quotes group (`key="a b"` -> `key=a b`), quotes are removed.
std::vector<std::string> splitCmdline(std::string_view cmdline);

// Every `drover.*` key=value of the command line (later ones win). Other words are ignored.
std::map<std::string, std::string> droverKeys(std::string_view cmdline);

// Parses `drover.api= drover.ca=sha256:<hex> drover.token= drover.mode= drover.node=`.
// drover.api may list several URLs separated by commas (at most 16), the first one used first.
// Errors: missing_api, bad_api (not http(s)://), missing_token, bad_ca (not sha256:<64 hex>),
// bad_mode. drover.mode defaults to install.
Result<BootParams> parseKernelCmdline(std::string_view cmdline);

// Validates and normalises params given by flags (same rules as the command line; the
// fingerprint may be given with or without the sha256: prefix, with or without colons).
Result<BootParams> validateParams(BootParams p, bool token_required = true);

// "sha256:AB:CD..." / "abcd..." -> 64 lowercase hex digits, or bad_ca.
Result<std::string> normalizeFingerprint(std::string_view text);

}  // namespace drover::agent

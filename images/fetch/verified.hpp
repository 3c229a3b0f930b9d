// A blob fetched by its digest (from another replica of `drover serve`, or from an image's
// upstream URL when the catalog knows the version but no replica has it): hashed as it is
// written, refused as soon as it is longer than expected, and refused at the end when its
// sha256 is not the one asked for. No resume: the file is written whole or removed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "common/result.hpp"
#include "common/values.hpp"

namespace drover::images::fetch {

struct VerifiedRequest {
  std::string url;
  std::filesystem::path file;  // written here; removed on any failure
  Sha256 expected;
  std::uint64_t size = 0;  // 0: unknown (no early refusal on length)
  std::string ca_file;
  long connect_timeout_s = 5;
  long stall_timeout_s = 30;
};

// Error codes: sha256_mismatch (other bytes, or more of them than `size`), not_found (404),
// http_status, network, tls, bad_url, eio.
Status fetchVerified(const VerifiedRequest& request);

}  // namespace drover::images::fetch

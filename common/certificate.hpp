// The SHA-256 fingerprint of an X.509 certificate: lowercase hex of the digest of its DER
// encoding. The TLS pin the agent checks and the one the server publishes are this value.
#pragma once

#include <string>

#include <openssl/types.h>

#include "common/result.hpp"

namespace drover {

// Empty when the digest cannot be taken.
std::string certificateSha256(X509* cert);
// Of the first certificate in a PEM or DER file. Errors: enoent, bad_certificate.
Result<std::string> certificateSha256File(const std::string& path);

}  // namespace drover

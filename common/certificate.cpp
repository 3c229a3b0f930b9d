#include "common/certificate.hpp"

#include <cstdio>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/hex.hpp"

namespace drover {

std::string certificateSha256(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (cert == nullptr || X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  return toHex({md, len});
}

Result<std::string> certificateSha256File(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return makeError("enoent", "cannot open " + path);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  if (!cert) {
    std::rewind(f);
    cert = d2i_X509_fp(f, nullptr);
  }
  std::fclose(f);
  if (!cert) return makeError("bad_certificate", path + " holds no certificate");
  auto fp = certificateSha256(cert);
  X509_free(cert);
  return fp;
}

}  // namespace drover

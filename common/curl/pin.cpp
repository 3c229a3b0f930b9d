#include "common/curl/pin.hpp"

#include <cstdio>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "common/curl/easy.hpp"
#include "common/hex.hpp"

namespace drover::curl {
namespace {

std::string certSha256(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  return toHex({md, len});
}

// Finds the pinned CA among the certificates the server sent, then verifies the leaf against
// a store holding that CA alone (signatures, validity periods, CA constraints).
int verifyPinned(X509_STORE_CTX* ctx, void* arg) {
  const auto* fingerprint = static_cast<const std::string*>(arg);
  X509* leaf = X509_STORE_CTX_get0_cert(ctx);
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_untrusted(ctx);
  X509* anchor = nullptr;
  if (leaf && certSha256(leaf) == *fingerprint) anchor = leaf;
  for (int i = 0; !anchor && chain && i < sk_X509_num(chain); ++i) {
    X509* c = sk_X509_value(chain, i);
    if (certSha256(c) == *fingerprint) anchor = c;
  }
  if (!leaf || !anchor) {
    X509_STORE_CTX_set_error(ctx, X509_V_ERR_CERT_UNTRUSTED);
    return 0;
  }
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, anchor);
  X509_STORE_CTX* v = X509_STORE_CTX_new();
  int ok = 0;
  if (v && X509_STORE_CTX_init(v, store, leaf, chain) == 1) {
    ok = X509_verify_cert(v) == 1 ? 1 : 0;
    if (!ok) X509_STORE_CTX_set_error(ctx, X509_STORE_CTX_get_error(v));
  }
  X509_STORE_CTX_free(v);
  X509_STORE_free(store);
  return ok;
}

CURLcode sslCtxHook(CURL*, void* ssl_ctx, void* arg) {
  SSL_CTX_set_cert_verify_callback(static_cast<SSL_CTX*>(ssl_ctx), verifyPinned, arg);
  return CURLE_OK;
}

}  // namespace

void pinCa(CURL* curl, const std::string* fingerprint) {
  // Trust comes from the pin alone: no CA bundle is read (the boot environment has none).
  curl_easy_setopt(curl, CURLOPT_CAINFO, nullptr);
  curl_easy_setopt(curl, CURLOPT_CAPATH, nullptr);
  curl_easy_setopt(curl, CURLOPT_SSL_CTX_FUNCTION, sslCtxHook);
  curl_easy_setopt(curl, CURLOPT_SSL_CTX_DATA, const_cast<std::string*>(fingerprint));
}

Result<std::string> certificateFingerprint(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return makeError("enoent", "cannot open " + path);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  if (!cert) {
    std::rewind(f);
    cert = d2i_X509_fp(f, nullptr);
  }
  std::fclose(f);
  if (!cert) return makeError("bad_certificate", path + " holds no certificate");
  auto fp = certSha256(cert);
  X509_free(cert);
  return fp;
}

}  // namespace drover::curl

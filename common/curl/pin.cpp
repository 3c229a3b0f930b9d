#include "common/curl/pin.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "common/certificate.hpp"
#include "common/curl/easy.hpp"

namespace drover::curl {
namespace {

// Finds the pinned CA among the certificates the server sent, then verifies the leaf against
// a store holding that CA alone (signatures, validity periods, CA constraints).
int verifyPinned(X509_STORE_CTX* ctx, void* arg) {
  const auto* fingerprint = static_cast<const std::string*>(arg);
  X509* leaf = X509_STORE_CTX_get0_cert(ctx);
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_untrusted(ctx);
  X509* anchor = nullptr;
  if (leaf && certificateSha256(leaf) == *fingerprint) anchor = leaf;
  for (int i = 0; !anchor && chain && i < sk_X509_num(chain); ++i) {
    X509* c = sk_X509_value(chain, i);
    if (certificateSha256(c) == *fingerprint) anchor = c;
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

}  // namespace drover::curl

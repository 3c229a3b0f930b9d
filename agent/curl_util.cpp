#include "agent/curl_util.hpp"

#include "common/hex.hpp"

#include <algorithm>
#include <cstdio>
#include <mutex>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

namespace drover::agent {
namespace {

std::string certSha256(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  return toHex({md, len});
}

// Replaces OpenSSL's chain verification: find the pinned CA among the certificates the
// server sent, then verify the leaf against a store holding that CA alone (signatures,
// validity periods, CA constraints). Hostname checks stay with curl.
int verifyPinned(X509_STORE_CTX* ctx, void* arg) {
  const auto* tls = static_cast<const TlsOptions*>(arg);
  X509* leaf = X509_STORE_CTX_get0_cert(ctx);
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_untrusted(ctx);
  X509* anchor = nullptr;
  if (leaf && certSha256(leaf) == tls->ca_fingerprint) anchor = leaf;
  for (int i = 0; !anchor && chain && i < sk_X509_num(chain); ++i) {
    X509* c = sk_X509_value(chain, i);
    if (certSha256(c) == tls->ca_fingerprint) anchor = c;
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

CurlHandle makeCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return CurlHandle(curl_easy_init());
}

void applyTls(CURL* curl, const TlsOptions& tls) {
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, tls.verify_host ? 2L : 0L);
  if (!tls.ca_fingerprint.empty()) {
    // The boot environment has no use for a CA bundle: trust comes from the pin alone.
    curl_easy_setopt(curl, CURLOPT_CAINFO, nullptr);
    curl_easy_setopt(curl, CURLOPT_CAPATH, nullptr);
    curl_easy_setopt(curl, CURLOPT_SSL_CTX_FUNCTION, sslCtxHook);
    curl_easy_setopt(curl, CURLOPT_SSL_CTX_DATA, const_cast<TlsOptions*>(&tls));
  }
}

bool isRetriable(CURLcode code, long http_status) {
  switch (code) {
    case CURLE_OK:
    case CURLE_HTTP_RETURNED_ERROR:
      return http_status == 408 || http_status == 429 || http_status >= 500;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

std::chrono::milliseconds backoffDelay(int attempt, std::chrono::milliseconds initial,
                                       std::chrono::milliseconds max) {
  auto d = initial;
  for (int i = 1; i < attempt && d < max; ++i) d *= 2;
  return std::min(d, max);
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

}  // namespace drover::agent

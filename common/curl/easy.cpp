#include "common/curl/easy.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>

#include <fmt/format.h>

#include "common/curl/pin.hpp"

namespace drover::curl {

struct Easy::State {
  Options opt;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  std::string* body = nullptr;
  std::size_t max_body = 0;
};

void Easy::StateDeleter::operator()(State* s) const {
  curl_slist_free_all(s->headers);
  delete s;
}

std::size_t Easy::collect(char* data, std::size_t size, std::size_t n, void* user) {
  auto* s = static_cast<State*>(user);
  if (s->body->size() + size * n > s->max_body) return 0;  // fails the transfer
  s->body->append(data, size * n);
  return size * n;
}

Easy::Easy(CURL* handle, std::unique_ptr<State, StateDeleter> state)
    : state_(std::move(state)), handle_(handle) {}

Result<Easy> Easy::create(Options opt) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* h = curl_easy_init();
  if (h == nullptr)
    return makeError("curl_init", "libcurl could not make a handle (curl_easy_init)");
  Easy e(h, std::unique_ptr<State, StateDeleter>(new State{std::move(opt)}));
  const Options& o = e.state_->opt;
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, e.state_->errbuf);
  curl_easy_setopt(h, CURLOPT_USERAGENT, o.user_agent.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  if (o.connect_timeout_s > 0) curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, o.connect_timeout_s);
  if (o.timeout_s > 0) curl_easy_setopt(h, CURLOPT_TIMEOUT, o.timeout_s);
  if (o.stall_timeout_s > 0) {
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, o.stall_timeout_s);
  }
  if (o.follow_redirects) {
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  }
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, o.tls.verify_host ? 2L : 0L);
  if (!o.tls.ca_fingerprint.empty()) {
    pinCa(h, &o.tls.ca_fingerprint);
  } else if (!o.tls.ca_file.empty()) {
    curl_easy_setopt(h, CURLOPT_CAINFO, o.tls.ca_file.c_str());
  }
  return e;
}

void Easy::setUrl(const std::string& url) {
  curl_easy_setopt(get(), CURLOPT_URL, url.c_str());
  if (state_->opt.follow_redirects) {
    // No downgrade: from an https URL, redirects may lead to https only.
    std::string scheme = url.substr(0, std::min<std::size_t>(url.size(), 8));
    for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool https = scheme == "https://";
    curl_easy_setopt(get(), CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
  }
}

void Easy::setHeaders(const std::vector<std::string>& lines) {
  curl_slist* list = nullptr;
  for (const auto& l : lines) list = curl_slist_append(list, l.c_str());
  curl_easy_setopt(get(), CURLOPT_HTTPHEADER, list);
  curl_slist_free_all(state_->headers);
  state_->headers = list;
}

void Easy::setRequest(std::string_view method, std::string_view body) {
  CURL* h = get();
  if (method == "GET" && body.empty()) {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, nullptr);
    return;
  }
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.empty() ? "" : body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  const std::string m(method);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method == "POST" ? nullptr : m.c_str());
}

void Easy::collectBody(std::string* out, std::size_t max_bytes) {
  state_->body = out;
  state_->max_body = max_bytes;
  curl_easy_setopt(get(), CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(get(), CURLOPT_WRITEDATA, state_.get());
}

Outcome Easy::perform() {
  state_->errbuf[0] = '\0';
  Outcome o;
  o.code = curl_easy_perform(get());
  curl_easy_getinfo(get(), CURLINFO_RESPONSE_CODE, &o.status);
  if (o.code != CURLE_OK)
    o.error = state_->errbuf[0] != '\0' ? state_->errbuf : curl_easy_strerror(o.code);
  return o;
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

bool isTlsFailure(CURLcode c) {
  switch (c) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_SHUTDOWN_FAILED:
      return true;
    default:
      return false;
  }
}

Error transferError(const Outcome& o, std::string_view what) {
  if (isTlsFailure(o.code))
    return makeError("tls", fmt::format("{}: TLS failure: {}", what, o.error));
  if (o.code == CURLE_TOO_MANY_REDIRECTS)
    return makeError("redirect", fmt::format("{}: {}", what, o.error));
  if (o.code == CURLE_UNSUPPORTED_PROTOCOL || o.code == CURLE_URL_MALFORMAT)
    return makeError("bad_url", fmt::format("{}: {}", what, o.error));
  return makeError("network", fmt::format("{}: {}", what, o.error));
}

std::chrono::milliseconds backoffDelay(int attempt, std::chrono::milliseconds initial,
                                       std::chrono::milliseconds max) {
  auto d = initial;
  for (int i = 1; i < attempt && d < max; ++i) d *= 2;
  return std::min(d, max);
}

}  // namespace drover::curl

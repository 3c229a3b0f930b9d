#include "images/fetch/verified.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/curl/easy.hpp"
#include "common/fd.hpp"
#include "images/verify/signature.hpp"

namespace drover::images::fetch {

namespace {

struct Sink {
  CURL* curl = nullptr;
  int fd = -1;
  std::uint64_t limit = 0;  // 0: none
  std::uint64_t written = 0;
  bool ok_status = false;
  bool decided = false;
  bool too_long = false;
  bool io_error = false;
  verify::Sha256Hasher hasher;
};

std::size_t onVerifiedBody(char* data, std::size_t size, std::size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  const std::size_t len = size * n;
  if (!s->decided) {
    s->decided = true;
    long status = 0;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
    s->ok_status = status == 200;
  }
  if (!s->ok_status) return len;
  if (s->limit > 0 && s->written + len > s->limit) {
    s->too_long = true;
    return 0;  // aborts the transfer
  }
  s->hasher.update({reinterpret_cast<const std::uint8_t*>(data), len});
  std::size_t done = 0;
  while (done < len) {
    const ssize_t w = ::write(s->fd, data + done, len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      s->io_error = true;
      return 0;
    }
    done += static_cast<std::size_t>(w);
  }
  s->written += len;
  return len;
}

Status attempt(const VerifiedRequest& r) {
  UniqueFd fd(::open(r.file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return makeError("eio", r.file.string() + ": " + std::strerror(errno));
  curl::Options o;
  o.user_agent = "drover-images";
  o.connect_timeout_s = r.connect_timeout_s;
  o.stall_timeout_s = r.stall_timeout_s;
  o.follow_redirects = true;
  o.tls.ca_file = r.ca_file;
  auto easy = curl::Easy::create(std::move(o));
  if (!easy) return easy.error();
  Sink sink;
  sink.curl = easy->get();
  sink.fd = fd.get();
  sink.limit = r.size;
  easy->setUrl(r.url);
  curl_easy_setopt(easy->get(), CURLOPT_WRITEFUNCTION, onVerifiedBody);
  curl_easy_setopt(easy->get(), CURLOPT_WRITEDATA, &sink);
  const auto out = easy->perform();
  if (sink.too_long)
    return makeError("sha256_mismatch",
                     fmt::format("{}: more than the {} bytes expected", r.url, r.size));
  if (sink.io_error) return makeError("eio", r.file.string() + ": write failed");
  if (!out.ok()) {
    const bool tls =
        out.code == CURLE_SSL_CONNECT_ERROR || out.code == CURLE_PEER_FAILED_VERIFICATION;
    const bool bad_url = out.code == CURLE_URL_MALFORMAT || out.code == CURLE_UNSUPPORTED_PROTOCOL;
    return makeError(tls ? "tls" : bad_url ? "bad_url" : "network", r.url + ": " + out.error);
  }
  if (out.status == 404) return makeError("not_found", r.url + ": 404");
  if (out.status != 200)
    return makeError("http_status", fmt::format("{}: HTTP {}", r.url, out.status));
  const Sha256 got = sink.hasher.finish();
  if (got != r.expected)
    return makeError("sha256_mismatch",
                     fmt::format("{}: {} bytes hashing to {}, expected {}", r.url, sink.written,
                                 got.hex(), r.expected.hex()));
  if (r.size > 0 && sink.written != r.size)
    return makeError("sha256_mismatch",
                     fmt::format("{}: {} bytes, expected {}", r.url, sink.written, r.size));
  if (::fsync(fd.get()) != 0)
    return makeError("eio", r.file.string() + ": " + std::strerror(errno));
  return Status::success();
}

}  // namespace

Status fetchVerified(const VerifiedRequest& request) {
  auto st = attempt(request);
  if (!st) {
    std::error_code ec;
    std::filesystem::remove(request.file, ec);
  }
  return st;
}

}  // namespace drover::images::fetch

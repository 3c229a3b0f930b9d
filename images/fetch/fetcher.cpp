#include "images/fetch/fetcher.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/curl/easy.hpp"
#include "common/fd.hpp"

namespace drover::images::fetch {
namespace {

bool headerIs(std::string_view line, std::string_view name, std::string& out) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
  std::string_view v = line.substr(name.size() + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
  out.assign(v);
  return true;
}

// State of one attempt, shared with the curl callbacks.
struct Attempt {
  CURL* curl = nullptr;
  int fd = -1;               // the partial file (owned by download())
  std::uint64_t offset = 0;  // bytes already in the file when the attempt started
  std::uint64_t written = 0;
  bool decided = false;      // first body byte seen: status known
  bool keep_body = false;    // 200/206: the body is the file; anything else is discarded
  bool restarted = false;    // a resume answered with the whole file
  bool io_error = false;
  std::string etag, last_modified;
  std::string* memory = nullptr;  // fetchSmall: body into memory
  std::size_t max_memory = 0;
  Progress* progress = nullptr;
  const std::atomic<bool>* cancel = nullptr;
};

std::size_t onHeader(char* data, std::size_t size, std::size_t n, void* user) {
  auto* a = static_cast<Attempt*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {  // a new response (after a redirect): forget the last one's
    a->etag.clear();
    a->last_modified.clear();
  }
  std::string v;
  if (headerIs(line, "etag", v)) a->etag = v;
  if (headerIs(line, "last-modified", v)) a->last_modified = v;
  return size * n;
}

std::size_t onBody(char* data, std::size_t size, std::size_t n, void* user) {
  auto* a = static_cast<Attempt*>(user);
  const std::size_t len = size * n;
  if (!a->decided) {
    a->decided = true;
    long status = 0;
    curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
    a->keep_body = status == 200 || status == 206;
    // The server ignored Range, or If-Range said the file changed upstream: start over.
    if (status == 200 && a->offset > 0 && a->fd >= 0) {
      if (::ftruncate(a->fd, 0) != 0) a->io_error = true;
      a->offset = 0;
      a->restarted = true;
    }
  }
  if (!a->keep_body) return len;
  if (a->memory != nullptr) {
    if (a->memory->size() + len > a->max_memory) return 0;  // aborts the transfer
    a->memory->append(data, len);
    return len;
  }
  std::size_t done = 0;
  while (done < len) {
    const ssize_t w = ::pwrite(a->fd, data + done, len - done, static_cast<off_t>(a->offset + a->written + done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      a->io_error = true;
      return 0;
    }
    done += static_cast<std::size_t>(w);
  }
  a->written += len;
  return len;
}

int onProgress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto* a = static_cast<Attempt*>(user);
  if (a->cancel != nullptr && a->cancel->load(std::memory_order_relaxed)) return 1;  // aborts
  if (a->progress != nullptr && a->keep_body) {
    const auto t = total > 0 ? a->offset + static_cast<std::uint64_t>(total) : 0;
    a->progress->update(a->offset + static_cast<std::uint64_t>(now), t);
  }
  return 0;
}

// One attempt at `url` with the callbacks above; the handle lives for this attempt only.
Result<curl::Outcome> perform(Attempt& a, const std::string& url, const std::string& ca_file,
                              const std::vector<std::string>& headers, long connect_timeout_s,
                              long stall_timeout_s) {
  curl::Options o;
  o.user_agent = "drover-images";
  o.connect_timeout_s = connect_timeout_s;
  o.stall_timeout_s = stall_timeout_s;
  o.follow_redirects = true;
  o.tls.ca_file = ca_file;
  auto easy = curl::Easy::create(std::move(o));
  if (!easy) return easy.error();
  CURL* curl = easy->get();
  a.curl = curl;
  easy->setUrl(url);
  easy->setHeaders(headers);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &a);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, onProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &a);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  // A Range header rather than CURLOPT_RESUME_FROM: curl fails a resume answered with 200,
  // and a 200 (Range ignored, or If-Range saying the file changed) must start over instead.
  const std::string range = fmt::format("{}-", a.offset);
  if (a.offset > 0) curl_easy_setopt(curl, CURLOPT_RANGE, range.c_str());
  return easy->perform();
}

// Maps a finished attempt to an error, or none. `retry` says whether another attempt may help.
std::optional<Error> classify(const curl::Outcome& o, const std::string& url, bool& retry) {
  retry = false;
  if (o.ok()) {
    if (o.status == 200 || o.status == 206 || o.status == 304) return std::nullopt;
    if (o.status == 404 || o.status == 410) return makeError("not_found", fmt::format("{}: HTTP {} (no such file upstream)", url, o.status));
    retry = curl::isRetriable(CURLE_OK, o.status);
    return makeError("http_status", fmt::format("{}: HTTP {}", url, o.status));
  }
  Error e = curl::transferError(o, url);
  retry = e.code == "network";
  return e;
}

std::uint64_t fileSize(const std::filesystem::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// The validator of the response a partial file came from, kept beside it so a resume (in
// this run or a later one) can send If-Range: a strong ETag, else Last-Modified. Weak ETags
// are not allowed in If-Range.
std::filesystem::path validatorPath(const std::filesystem::path& partial) {
  return partial.string() + ".validator";
}

std::string rangeValidator(const Attempt& a) {
  if (!a.etag.empty() && !a.etag.starts_with("W/")) return a.etag;
  return a.last_modified;
}

void removePartial(const std::filesystem::path& partial) {
  std::error_code ec;
  std::filesystem::remove(partial, ec);
  std::filesystem::remove(validatorPath(partial), ec);
}

}  // namespace

Result<Response> download(const Request& r) {
  Response resp;
  int failures = 0;
  for (;;) {
    ++resp.attempts;
    Attempt a;
    a.progress = r.progress;
    a.cancel = r.cancel;
    a.offset = fileSize(r.partial);
    UniqueFd file(::open(r.partial.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    if (!file) return makeError("eio", r.partial.string() + ": " + std::strerror(errno));
    a.fd = file.get();
    std::vector<std::string> headers;
    auto add = [&headers](std::string h) { headers.push_back(std::move(h)); };
    if (a.offset == 0 && !r.etag.empty()) add("If-None-Match: " + r.etag);
    if (a.offset == 0 && !r.last_modified.empty()) add("If-Modified-Since: " + r.last_modified);
    if (a.offset > 0) {
      ++resp.resumes;
      // Without a validator (the server sent none) the resume is blind; the checksum
      // check at publish time still refuses a file spliced from two versions.
      std::string v;
      std::getline(std::ifstream(validatorPath(r.partial)), v);
      if (!v.empty()) add("If-Range: " + v);
    }
    const auto performed =
        perform(a, r.url, r.ca_file, headers, r.connect_timeout_s, r.stall_timeout_s);
    file.close();
    const bool cancelled = r.cancel != nullptr && r.cancel->load(std::memory_order_relaxed);
    if (cancelled) {
      if (r.progress != nullptr) r.progress->finish(false);
      return makeError("cancelled", r.url + ": download stopped");
    }
    if (!performed) return performed.error();
    const curl::Outcome& outcome = *performed;
    if (a.io_error) return makeError("eio", r.partial.string() + ": write failed");
    if (a.restarted) ++resp.restarts;
    if (a.keep_body && (a.restarted || a.offset == 0)) {  // the partial file now holds this response
      std::ofstream(validatorPath(r.partial), std::ios::trunc) << rangeValidator(a);
    }
    if (outcome.status == 416 && a.offset > 0) {  // the partial file does not fit upstream any more
      removePartial(r.partial);
      if (++failures < r.max_attempts) continue;
    }
    bool retry = false;
    auto err = classify(outcome, r.url, retry);
    if (!err) {
      resp.etag = a.etag;
      resp.last_modified = a.last_modified;
      if (outcome.status == 304) {
        resp.not_modified = true;
        if (a.offset == 0) removePartial(r.partial);
        return resp;
      }
      std::error_code ec;
      std::filesystem::remove(validatorPath(r.partial), ec);
      resp.bytes = fileSize(r.partial);
      if (r.progress != nullptr) r.progress->finish(true);
      return resp;
    }
    if (a.written > 0) failures = 0;  // progress was made: the budget is for failures in a row
    if (!retry || ++failures >= r.max_attempts) {
      if (r.progress != nullptr) r.progress->finish(false);
      if (fileSize(r.partial) == 0) removePartial(r.partial);
      return *err;
    }
    std::this_thread::sleep_for(curl::backoffDelay(failures, r.backoff, r.backoff * 64));
  }
}

Result<std::string> fetchSmall(const std::string& url, const std::string& ca_file, std::size_t max_bytes) {
  std::string body;
  Attempt a;
  a.memory = &body;
  a.max_memory = max_bytes;
  const auto outcome = perform(a, url, ca_file, {}, 20, 60);
  if (!outcome) return outcome.error();
  bool retry = false;
  if (auto err = classify(*outcome, url, retry)) return *err;
  if (outcome->status != 200)
    return makeError("http_status", fmt::format("{}: HTTP {}", url, outcome->status));
  return body;
}

}  // namespace drover::images::fetch

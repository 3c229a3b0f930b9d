#include "agent/image_stream.hpp"

#include <algorithm>
#include <cctype>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "agent/digest.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "images/verify/signature.hpp"

namespace drover::agent {
namespace {

using Clock = std::chrono::steady_clock;

metrics::Counter& retryCounter(const std::string& reason) {
  return metrics::Registry::global().counter("agent_image_retries_total",
                                             "Image download attempts that failed and were retried",
                                             "reason=\"" + reason + "\"");
}

metrics::Counter& failureCounter(const std::string& reason) {
  return metrics::Registry::global().counter("agent_image_failures_total",
                                             "Image streams that failed (nothing reported written)",
                                             "reason=\"" + reason + "\"");
}

metrics::Counter& failoverCounter() {
  return metrics::Registry::global().counter("agent_image_failovers_total",
                                             "Image download attempts moved to another API URL");
}

std::string lowerHex(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A URL's "scheme://host:port", lower case with the default port made explicit, and where
// its path starts; nullopt for anything but http(s)://host...
struct Origin {
  std::string key;
  std::size_t rest = 0;
};

std::optional<Origin> originOf(std::string_view url) {
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  const std::string scheme = lowerHex(std::string(url.substr(0, sep)));
  if (scheme != "http" && scheme != "https") return std::nullopt;
  const std::size_t begin = sep + 3;
  const std::size_t end = std::min(url.find_first_of("/?#", begin), url.size());
  std::string_view authority = url.substr(begin, end - begin);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos)
    authority.remove_prefix(at + 1);
  std::string_view host = authority, port;
  const auto bracket = authority.rfind(']');
  const auto colon = authority.rfind(':');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return std::nullopt;
  return Origin{fmt::format("{}://{}:{}", scheme, lowerHex(std::string(host)),
                            port.empty() ? (scheme == "https" ? "443" : "80") : port),
                end};
}

// State of one image stream across all its HTTP attempts.
class Transfer {
 public:
  Transfer(const StreamOptions& opt, Sink& sink, std::optional<Compression> expected,
           const images::verify::PublicKey* key)
      : opt_(opt),
        urls_(failoverUrls(opt.url, opt.api_urls)),
        sink_(sink),
        decomp_(expected),
        start_(Clock::now()),
        last_report_(start_) {
    total_ = opt.size;
    if (key != nullptr) signature_.emplace(*key);
    // What the server may send is bounded by the target, whatever the plan's size says:
    // compressed data is at most a little larger than what it decompresses to.
    if (auto limit = sink.limit()) max_served_ = *limit + *limit / 16 + 1024 * 1024;
  }

  Result<StreamResult> run();

 private:
  static std::size_t onHeader(char* data, std::size_t size, std::size_t n, void* self);
  static std::size_t onBody(char* data, std::size_t size, std::size_t n, void* self);
  std::size_t header(std::string_view line);
  std::size_t body(const std::uint8_t* data, std::size_t n);
  bool firstBody();
  void report(bool force);
  Status finishStream(StreamResult& res);

  const StreamOptions& opt_;
  std::vector<std::string> urls_;  // failoverUrls(): the one in use is urls_[current_]
  std::size_t current_ = 0;
  Sink& sink_;
  AutoDecompressor decomp_;
  Sha256 hash_;
  std::optional<images::verify::SignatureCheck> signature_;  // when the plan gives one
  CURL* curl_ = nullptr;
  std::uint64_t offset_ = 0;  // compressed bytes consumed so far
  std::uint64_t total_ = 0;
  std::uint64_t skip_ = 0;  // bytes to drop: a server that ignored our Range resent them
  std::optional<std::uint64_t> max_served_;  // bound on the served bytes (from the target)
  bool got_body_ = false;                    // this attempt has passed the status checks
  std::optional<std::uint64_t> range_start_;
  std::optional<Error> fatal_;
  int attempt_ = 0;
  Clock::time_point start_;
  Clock::time_point last_report_;
};

std::size_t Transfer::onHeader(char* data, std::size_t size, std::size_t n, void* self) {
  return static_cast<Transfer*>(self)->header({data, size * n});
}

std::size_t Transfer::onBody(char* data, std::size_t size, std::size_t n, void* self) {
  return static_cast<Transfer*>(self)->body(reinterpret_cast<const std::uint8_t*>(data), size * n);
}

std::size_t Transfer::header(std::string_view line) {
  // Only Content-Range matters here ("Content-Range: bytes 100-999/1000"); curl parses
  // everything else. A new status line (redirects, 100-continue) starts over.
  if (line.rfind("HTTP/", 0) == 0) range_start_.reset();
  constexpr std::string_view kName = "content-range:";
  if (line.size() > kName.size()) {
    std::string name(line.substr(0, kName.size()));
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == kName) {
      if (auto r = parseContentRange(line.substr(kName.size()))) {
        range_start_ = r->start;
        if (r->total > 0 && total_ == 0) total_ = r->total;
      }
    }
  }
  return line.size();
}

bool Transfer::firstBody() {
  long status = 0;
  curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
  if (status == 206) {
    if (!range_start_ || *range_start_ != offset_) {
      fatal_ = makeError("range_mismatch", fmt::format("asked for bytes {}-, server sent {}-",
                                                       offset_, range_start_.value_or(0)));
      return false;
    }
  } else if (status == 200) {
    skip_ = offset_;  // whole file again: drop what we already have
    curl_off_t len = -1;
    curl_easy_getinfo(curl_, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
    if (len > 0 && total_ == 0) total_ = static_cast<std::uint64_t>(len);
  } else {
    fatal_ = makeError("http_status", fmt::format("unexpected HTTP status {}", status));
    return false;
  }
  got_body_ = true;
  return true;
}

std::size_t Transfer::body(const std::uint8_t* data, std::size_t n) {
  if (!got_body_ && !firstBody()) return 0;
  std::span<const std::uint8_t> in(data, n);
  const std::size_t drop = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, in.size()));
  skip_ -= drop;
  in = in.subspan(drop);
  if (in.empty()) return n;
  if (total_ > 0 && offset_ + in.size() > total_) {
    fatal_ = makeError("size_mismatch", "server sent more bytes than the image size");
    return 0;
  }
  if (max_served_ && offset_ + in.size() > *max_served_) {
    fatal_ = makeError("image_too_large",
                       fmt::format("server sent more than {} bytes for a target of {} bytes",
                                   *max_served_, sink_.limit().value_or(0)));
    return 0;
  }
  hash_.update(in);
  if (signature_) signature_->update(in);
  auto st =
      decomp_.feed(in, [this](std::span<const std::uint8_t> out) { return sink_.write(out); });
  if (!st) {
    fatal_ = st.error();
    return 0;
  }
  offset_ += in.size();
  report(false);
  return n;
}

void Transfer::report(bool force) {
  if (!opt_.on_progress) return;
  const auto now = Clock::now();
  if (!force && now - last_report_ < opt_.progress_interval) return;
  last_report_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  StreamProgress p;
  p.bytes = offset_;
  p.total = total_;
  p.written = sink_.written();
  p.rate = secs > 0 ? static_cast<double>(offset_) / secs : 0;
  p.attempt = attempt_;
  opt_.on_progress(p);
}

Status Transfer::finishStream(StreamResult& res) {
  auto out = [this](std::span<const std::uint8_t> o) { return sink_.write(o); };
  if (auto st = decomp_.finish(out); !st) return st;
  res.sha256 = hash_.finalHex();
  res.bytes = offset_;
  res.compression = decomp_.detected().value_or(Compression::Raw);
  if (opt_.size > 0 && offset_ != opt_.size) {
    return makeError("size_mismatch",
                     fmt::format("received {} bytes, plan says {}", offset_, opt_.size));
  }
  if (res.sha256 != lowerHex(opt_.sha256)) {
    return makeError("sha256_mismatch", fmt::format("sha256 {} does not match the plan's {}",
                                                    res.sha256, opt_.sha256));
  }
  if (signature_) {
    // Checked over the same bytes as the sha256, before the target is flushed and the
    // image counted as written.
    auto sig = images::verify::decodeSignature(opt_.signature);
    if (!sig) return sig.error();
    if (auto st = signature_->finish(*sig); !st) return st;
    res.signature_verified = true;
  }
  if (auto st = sink_.finish(); !st) return st;
  res.written = sink_.written();
  return {};
}

Result<StreamResult> Transfer::run() {
  auto log = log::get("agent");
  if (max_served_ && opt_.size > *max_served_) {
    return makeError("image_too_large",
                     fmt::format("the plan's image of {} bytes cannot fit a target of {} bytes",
                                 opt_.size, sink_.limit().value_or(0)));
  }
  curl::Options curl_options;
  curl_options.user_agent = "drover-agent";
  curl_options.connect_timeout_s = opt_.connect_timeout_s;
  curl_options.stall_timeout_s = opt_.stall_timeout_s;
  curl_options.follow_redirects = true;
  curl_options.tls = opt_.tls;
  auto easy = curl::Easy::create(curl_options);
  if (!easy) return easy.error();
  curl_ = easy->get();
  curl_easy_setopt(curl_, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &Transfer::onHeader);
  curl_easy_setopt(curl_, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &Transfer::onBody);
  curl_easy_setopt(curl_, CURLOPT_WRITEDATA, this);

  StreamResult res;
  int failures_in_a_row = 0;
  // Every URL gets an attempt before the stream gives up.
  const int max_in_a_row = std::max(opt_.max_attempts, static_cast<int>(urls_.size()));
  for (attempt_ = 1;; ++attempt_) {
    const std::string& url = urls_[current_];
    easy->setUrl(url);
    res.url = url;
    const std::uint64_t before = offset_;
    got_body_ = false;
    skip_ = 0;
    range_start_.reset();
    const std::string range = fmt::format("{}-", offset_);
    curl_easy_setopt(curl_, CURLOPT_RANGE, offset_ > 0 ? range.c_str() : nullptr);
    if (offset_ > 0) ++res.resumes;
    const curl::Outcome o = easy->perform();
    const CURLcode rc = o.code;
    const long status = o.status;
    res.attempts = attempt_;
    if (fatal_) return *fatal_;
    // Every byte the plan announced arrived: the digest decides, whatever the server
    // claimed in Content-Length.
    const bool announced = opt_.size > 0 && offset_ == opt_.size && rc == CURLE_PARTIAL_FILE;
    const bool complete = (rc == CURLE_OK && (total_ == 0 || offset_ == total_)) || announced;
    if (complete) break;
    const std::string reason = rc == CURLE_OK ? "short_body" : o.error;
    if (rc != CURLE_OK && !curl::isRetriable(rc, status)) {
      if (rc == CURLE_HTTP_RETURNED_ERROR) {
        return makeError("http_status", fmt::format("GET {}: HTTP {}", url, status));
      }
      return curl::transferError(o, "GET " + url);
    }
    failures_in_a_row = offset_ > before ? 1 : failures_in_a_row + 1;
    retryCounter(rc == CURLE_HTTP_RETURNED_ERROR ? "http_status"
                 : rc == CURLE_OK                ? "short_body"
                                                 : "transfer")++;
    if (failures_in_a_row >= max_in_a_row || attempt_ >= opt_.max_total_attempts) {
      const std::string where =
          urls_.size() > 1
              ? fmt::format("GET {} and {} other API URL(s) ({})", opt_.url, urls_.size() - 1,
                            fmt::join(urls_.begin() + 1, urls_.end(), ", "))
              : "GET " + url;
      return makeError("retries_exhausted",
                       fmt::format("{}: gave up after {} attempts (last: {} from {}, HTTP {}) at "
                                   "byte {}",
                                   where, attempt_, reason, url, status, offset_));
    }
    if (urls_.size() > 1) {
      // Another replica serves the same digest: go on there from the byte reached.
      const std::size_t from = current_;
      current_ = (current_ + 1) % urls_.size();
      ++res.failovers;
      failoverCounter()++;
      log->warn("AGENT_IMAGE_FAILOVER from={} to={} offset={} status={} reason=\"{}\"", urls_[from],
                urls_[current_], offset_, status, log::sanitize(reason));
    }
    const auto delay =
        curl::backoffDelay(failures_in_a_row, opt_.backoff_initial, opt_.backoff_max);
    log->warn("AGENT_IMAGE_RETRY attempt={} offset={} status={} reason=\"{}\" delay_ms={}",
              attempt_, offset_, status, log::sanitize(reason), delay.count());
    if (opt_.sleep) {
      opt_.sleep(delay);
    } else {
      std::this_thread::sleep_for(delay);
    }
  }
  report(true);
  if (auto st = finishStream(res); !st) return st.error();
  return res;
}

}  // namespace

std::vector<std::string> failoverUrls(const std::string& url,
                                      const std::vector<std::string>& api_urls) {
  const auto origin = originOf(url);
  if (!origin) return {url};
  std::size_t at = api_urls.size();
  for (std::size_t i = 0; i < api_urls.size() && at == api_urls.size(); ++i)
    if (auto o = originOf(api_urls[i]); o && o->key == origin->key) at = i;
  if (at == api_urls.size()) return {url};
  std::vector<std::string> out{url};
  std::vector<std::string> seen{origin->key};
  for (std::size_t i = 1; i < api_urls.size(); ++i) {
    const auto& base = api_urls[(at + i) % api_urls.size()];
    auto o = originOf(base);
    if (!o || std::find(seen.begin(), seen.end(), o->key) != seen.end()) continue;
    seen.push_back(o->key);
    out.push_back(base.substr(0, o->rest) + url.substr(origin->rest));
  }
  return out;
}

std::optional<ContentRange> parseContentRange(std::string_view value) {
  auto digits = [&value](std::size_t& i, std::uint64_t& out) {
    const std::size_t begin = i;
    for (out = 0; i < value.size() && std::isdigit(static_cast<unsigned char>(value[i])); ++i) {
      out = out * 10 + static_cast<std::uint64_t>(value[i] - '0');
    }
    return i > begin && i - begin <= 19;  // fits in 64 bits
  };
  const auto bytes = value.find("bytes");
  if (bytes == std::string_view::npos) return std::nullopt;
  std::size_t i = bytes + 5;
  while (i < value.size() && value[i] == ' ') ++i;
  ContentRange r;
  if (!digits(i, r.start)) return std::nullopt;
  const auto slash = value.find('/', i);
  if (slash != std::string_view::npos) {
    i = slash + 1;
    if (!digits(i, r.total)) r.total = 0;  // "*": unknown
  }
  return r;
}

Result<StreamResult> streamImage(const StreamOptions& opt, Sink& sink) {
  if (opt.sha256.size() != 64) {
    return makeError("missing_sha256",
                     "the plan gives no sha256 for the image: refusing to install");
  }
  auto expected = compressionFromFormat(opt.format);
  if (!expected) return expected.error();
  std::optional<images::verify::PublicKey> key;
  if (!opt.signature.empty()) {
    // A bad key or an unreadable signature is refused before a byte reaches the target.
    auto k = images::verify::PublicKey::fromPem(opt.signature_key);
    if (!k) return makeError(k.error().code, "the plan's signature key: " + k.error().message);
    if (auto sig = images::verify::decodeSignature(opt.signature); !sig) return sig.error();
    key = std::move(*k);
  }
  Transfer t(opt, sink, *expected, key ? &*key : nullptr);
  auto r = t.run();
  if (!r) {
    failureCounter(r.error().code)++;
    auto log = log::get("agent");
    // Unverified bytes on the target must not be mistaken for an image.
    const std::uint64_t written = sink.written();
    auto wiped = sink.discard();
    if (!wiped) {
      log->error("AGENT_IMAGE_DISCARD_FAILED written={} reason=\"{}\"", written,
                 log::sanitize(wiped.error().message, 200));
    } else if (*wiped > 0) {
      metrics::Registry::global().counter("agent_image_discarded_total",
                                          "Failed image streams whose written bytes were zeroed")++;
      log->warn("AGENT_IMAGE_DISCARDED written={} zeroed={} reason={}", written, *wiped,
                r.error().code);
    }
  }
  return r;
}

std::string formatProgress(const StreamProgress& p) {
  auto human = [](double b) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
      b /= 1024;
      ++u;
    }
    return fmt::format("{:.1f} {}", b, units[u]);
  };
  if (p.total > 0) {
    const double pct = 100.0 * static_cast<double>(p.bytes) / static_cast<double>(p.total);
    return fmt::format("{:5.1f}% {} / {}  {}/s", pct, human(static_cast<double>(p.bytes)),
                       human(static_cast<double>(p.total)), human(p.rate));
  }
  return fmt::format("{}  {}/s", human(static_cast<double>(p.bytes)), human(p.rate));
}

}  // namespace drover::agent

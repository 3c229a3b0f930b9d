#include "agent/capture.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <zstd.h>
#include <nlohmann/json.hpp>

#include "agent/digest.hpp"
#include "agent/disk.hpp"
#include "agent/image_stream.hpp"
#include "agent/inventory.hpp"
#include "agent/netup.hpp"
#include "agent/reporter.hpp"
#include "common/curl/easy.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"

namespace drover::agent {

using nlohmann::json;

// --- the encoder ---------------------------------------------------------------------------

struct CaptureEncoder::Impl {
  struct Free {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
  };
  std::unique_ptr<ZSTD_CCtx, Free> cctx{ZSTD_createCCtx()};
  Sha256 raw_hash, hash;
  std::vector<std::uint8_t> out = std::vector<std::uint8_t>(ZSTD_CStreamOutSize());
};

CaptureEncoder::CaptureEncoder(int level) : impl_(std::make_unique<Impl>()) {
  if (impl_->cctx) ZSTD_CCtx_setParameter(impl_->cctx.get(), ZSTD_c_compressionLevel, level);
  if (impl_->cctx) ZSTD_CCtx_setParameter(impl_->cctx.get(), ZSTD_c_checksumFlag, 1);
}

CaptureEncoder::~CaptureEncoder() = default;

Status CaptureEncoder::pump(const void* src, std::size_t n, bool end, const Output& out) {
  if (!impl_->cctx) return makeError("compress", "zstd: out of memory");
  ZSTD_inBuffer in{src, n, 0};
  for (;;) {
    ZSTD_outBuffer ob{impl_->out.data(), impl_->out.size(), 0};
    const std::size_t left =
        ZSTD_compressStream2(impl_->cctx.get(), &ob, &in, end ? ZSTD_e_end : ZSTD_e_continue);
    if (ZSTD_isError(left))
      return makeError("compress", std::string("zstd: ") + ZSTD_getErrorName(left));
    if (ob.pos > 0) {
      std::span<const std::uint8_t> piece(impl_->out.data(), ob.pos);
      impl_->hash.update(piece);
      bytes_ += ob.pos;
      if (auto st = out(piece); !st) return st;
    }
    if (end ? left == 0 : in.pos == in.size) return {};
  }
}

Status CaptureEncoder::feed(std::span<const std::uint8_t> raw, const Output& out) {
  impl_->raw_hash.update(raw);
  raw_bytes_ += raw.size();
  return pump(raw.data(), raw.size(), false, out);
}

Status CaptureEncoder::finish(const Output& out) {
  if (auto st = pump(nullptr, 0, true, out); !st) return st;
  raw_sha256_ = impl_->raw_hash.finalHex();
  sha256_ = impl_->hash.finalHex();
  return {};
}

// --- the plan --------------------------------------------------------------------------------

namespace {

// A string field of a server reply, or `fallback` when it is absent or of another type
// (nlohmann's value() would throw on the latter).
std::string stringOr(const json& j, const char* key, std::string fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::move(fallback);
}

}  // namespace

Result<CapturePlan> parseCapturePlan(std::string_view body) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object()) return makeError("bad_reply", "plan: reply is not a JSON object");
  if (stringOr(j, "action", "") != "capture" || !j.contains("capture") ||
      !j["capture"].is_object()) {
    return makeError("not_capture", "plan: the server plans no capture for this node");
  }
  const auto& c = j["capture"];
  CapturePlan p;
  for (auto [key, out] : {std::pair{"image", &p.image},
                          {"disk", &p.disk},
                          {"upload_url", &p.upload_url},
                          {"token", &p.token}}) {
    auto it = c.find(key);
    if (it == c.end() || !it->is_string() || it->get<std::string>().empty())
      return makeError("bad_reply",
                       fmt::format("plan: field \"capture.{}\" missing or not a string", key));
    *out = it->get<std::string>();
  }
  if (auto it = c.find("chunk_bytes"); it != c.end()) {
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() == 0)
      return makeError("bad_reply", "plan: capture.chunk_bytes must be a positive integer");
    p.chunk_bytes = it->get<std::uint64_t>();
  }
  while (p.upload_url.ends_with('/')) p.upload_url.pop_back();
  return p;
}

namespace {

using Clock = std::chrono::steady_clock;

// The upload half: pieces and the final calls, with the capture token, on one connection.
class Uploader {
 public:
  Uploader(const CaptureOptions& opt, const CapturePlan& plan) : opt_(opt), plan_(plan) {}

  // One piece at `offset`, retried with backoff; a reply that was lost is harmless (the
  // server rewrites from `offset`).
  Status put(std::uint64_t offset, std::span<const std::uint8_t> data) {
    const std::string url = fmt::format("{}/data?offset={}", plan_.upload_url, offset);
    for (int attempt = 1;; ++attempt) {
      auto r = send("PUT", url, data, 120);
      if (r && r->status == 200) return {};
      std::string why;
      if (!r) {
        if (r.error().code != "retriable") return r.error();
        why = r.error().message;
      } else {
        why = fmt::format("HTTP {}: {}", r->status, log::sanitize(r->body, 200));
        if (!curl::isRetriable(CURLE_OK, r->status))
          return makeError(errorCode(*r), fmt::format("PUT {}: {}", url, why));
      }
      if (attempt >= opt_.max_attempts) {
        return makeError("retries_exhausted", fmt::format("PUT {}: {}", url, why));
      }
      ++retries_;
      std::this_thread::sleep_for(
          curl::backoffDelay(attempt, opt_.backoff_initial, opt_.backoff_max));
    }
  }

  // A JSON call (finish, abort): one attempt, since finish publishes.
  Result<json> post(const std::string& what, const json& body, long timeout_s) {
    const std::string text = body.dump();
    const std::string url = plan_.upload_url + "/" + what;
    auto r = send("POST", url, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()},
                  timeout_s);
    if (!r) return r.error();
    auto j = json::parse(r->body, nullptr, false);
    if (r->status != 200) {
      return makeError(errorCode(*r),
                       fmt::format("POST {}: HTTP {}: {}", url, r->status,
                                   j.is_object() ? stringOr(j, "message", r->body) : r->body));
    }
    if (!j.is_object())
      return makeError("bad_reply", "POST " + url + ": reply is not a JSON object");
    return j;
  }

  int retries() const { return retries_; }

 private:
  static std::string errorCode(const HttpReply& r) {
    auto j = json::parse(r.body, nullptr, false);
    if (j.is_object() && j.contains("error") && j["error"].is_string())
      return log::sanitize(j["error"].get<std::string>(), 64);
    return "http_status";
  }

  Result<HttpReply> send(const char* method, const std::string& url,
                         std::span<const std::uint8_t> body, long timeout_s) {
    if (!easy_) {
      curl::Options o;
      o.user_agent = "drover-agent";
      o.connect_timeout_s = 20;
      o.tls.ca_fingerprint = opt_.params.ca_fingerprint;
      auto e = curl::Easy::create(o);
      if (!e) return e.error();
      easy_.emplace(std::move(*e));
    }
    HttpReply reply;
    curl_easy_setopt(easy_->get(), CURLOPT_TIMEOUT, timeout_s);
    easy_->setUrl(url);
    easy_->setHeaders({"Authorization: Bearer " + plan_.token,
                       std::string_view(method) == "PUT" ? "Content-Type: application/octet-stream"
                                                         : "Content-Type: application/json",
                       "Expect:"});  // no 100-continue round trip per piece
    easy_->setRequest(method, {reinterpret_cast<const char*>(body.data()), body.size()});
    easy_->collectBody(&reply.body, kMaxReply);
    const curl::Outcome o = easy_->perform();
    reply.status = o.status;
    if (!o.ok()) {
      easy_.reset();  // a fresh connection next time
      const Error e = curl::transferError(o, fmt::format("{} {}", method, url));
      return makeError(curl::isRetriable(o.code, 0) ? "retriable" : e.code, e.message);
    }
    return reply;
  }

  static constexpr std::size_t kMaxReply = 64 * 1024;  // JSON replies and error bodies

  const CaptureOptions& opt_;
  const CapturePlan& plan_;
  std::optional<curl::Easy> easy_;
  int retries_ = 0;
};

class Capturer {
 public:
  explicit Capturer(const CaptureOptions& opt)
      : opt_(opt),
        api_(apiOptionsFor(opt.api, opt.params)),
        log_(log::get("agent")),
        reporter_(api_) {}

  Result<CaptureOutcome> run();

 private:
  void event(std::string_view phase, const std::string& message,
             std::optional<double> progress = {}) {
    reporter_.event(phase, message, progress);
  }

  Error fail(const std::string& step, const Error& e) {
    const std::string msg = step + ": " + e.message;
    log_->error("AGENT_CAPTURE_FAILED step={} code={} message=\"{}\"", step, e.code,
                log::sanitize(msg, 300));
    if (uploader_) {
      // The server ends the capture and says why in the node's timeline.
      if (auto r = uploader_->post("abort", json{{"message", msg}}, 60); !r)
        log_->warn("AGENT_CAPTURE_ABORT_LOST reason=\"{}\"", log::sanitize(r.error().message, 200));
    } else {
      event("capture_failed", msg);
    }
    return Error{e.code, msg};
  }

  Status stream(const std::string& path, std::uint64_t total);
  void progress(std::uint64_t total, bool last);

  const CaptureOptions& opt_;
  ApiClient api_;
  std::shared_ptr<spdlog::logger> log_;
  BootReporter reporter_;
  CapturePlan plan_;
  std::unique_ptr<Uploader> uploader_;
  std::unique_ptr<CaptureEncoder> encoder_;
  CaptureOutcome out_;
  Clock::time_point start_{}, last_line_{}, last_report_{};
  bool tty_ = ::isatty(2) == 1;
};

void Capturer::progress(std::uint64_t total, bool last) {
  const auto now = Clock::now();
  if (!last && now - last_line_ < std::chrono::seconds(1)) return;
  last_line_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  StreamProgress p;  // the install's progress line: bytes read of the disk
  p.bytes = encoder_->rawBytes();
  p.total = total;
  p.rate = secs > 0 ? static_cast<double>(p.bytes) / secs : 0;
  const std::string line =
      fmt::format("capture {} -> {} zstd", formatProgress(p), encoder_->bytes());
  if (opt_.console_progress) std::fprintf(stderr, tty_ ? "\r%s   " : "%s\n", line.c_str());
  if (now - last_report_ < opt_.report_interval && !last) return;
  last_report_ = now;
  std::optional<double> frac;
  if (total > 0) frac = static_cast<double>(p.bytes) / static_cast<double>(total);
  event("capture_progress", line, frac);
}

Status Capturer::stream(const std::string& path, std::uint64_t total) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return makeError("read", fmt::format("open {}: {}", path, std::strerror(errno)));
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  encoder_ = std::make_unique<CaptureEncoder>(opt_.zstd_level);
  std::vector<std::uint8_t> pending;  // compressed bytes not yet sent: at most one piece
  pending.reserve(plan_.chunk_bytes);
  std::uint64_t sent = 0;
  auto flush = [&]() -> Status {
    if (pending.empty()) return {};
    if (auto st = uploader_->put(sent, pending); !st) return st;
    sent += pending.size();
    pending.clear();
    return {};
  };
  auto collect = [&](std::span<const std::uint8_t> piece) -> Status {
    while (!piece.empty()) {
      const std::size_t room = plan_.chunk_bytes - pending.size();
      const std::size_t n = std::min(room, piece.size());
      pending.insert(pending.end(), piece.begin(), piece.begin() + static_cast<std::ptrdiff_t>(n));
      piece = piece.subspan(n);
      if (pending.size() == plan_.chunk_bytes) {
        if (auto st = flush(); !st) return st;
      }
    }
    return {};
  };
  std::vector<std::uint8_t> buf(1 << 20);
  start_ = Clock::now();
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return makeError("read", fmt::format("read {} at byte {}: {}", path, encoder_->rawBytes(),
                                           std::strerror(errno)));
    }
    if (n == 0) break;
    if (auto st = encoder_->feed({buf.data(), static_cast<std::size_t>(n)}, collect); !st)
      return st;
    progress(total, false);
  }
  if (total > 0 && encoder_->rawBytes() != total) {
    return makeError("read",
                     fmt::format("{} ended at byte {} of {}", path, encoder_->rawBytes(), total));
  }
  if (auto st = encoder_->finish(collect); !st) return st;
  if (auto st = flush(); !st) return st;
  progress(total, true);
  if (opt_.console_progress && tty_) std::fputc('\n', stderr);
  return {};
}

Result<CaptureOutcome> Capturer::run() {
  const auto& p = opt_.params;
  out_.node = p.node;
  if (opt_.network_up) {
    auto net = bringUpNetwork({});
    if (!net) return fail("network", net.error());
  }
  auto x = api_.exchange(p.token);
  if (!x) return fail("exchange", x.error());
  out_.node = x->node;
  reporter_.enable();
  // The facts as install sends them, plus the mode: the server answers `capture` only to
  // an agent that says it captures.
  auto body = factsToJson(collectFacts(opt_.sys_root));
  body["mode"] = "capture";
  auto reg = api_.call("POST", "/v1/agent/register", body.dump());
  if (!reg) return fail("register", reg.error());
  const auto answer = json::parse(reg->body, nullptr, false);
  out_.action = answer.is_object() ? stringOr(answer, "action", "") : "";
  if (out_.action != "capture") {
    // Cancelled meanwhile (or another plan): the next network boot brings what is planned.
    log_->info("AGENT_NO_CAPTURE node={} action={}", out_.node, log::sanitize(out_.action, 40));
    event("capture_skipped", "the server plans " + out_.action + ", not a capture");
    if (out_.action != "wait") reporter_.reboot(opt_.reboot, opt_.reboot_fn);
    return out_;
  }
  auto reply = api_.call("GET", "/v1/agent/plan");
  if (!reply) return fail("plan", reply.error());
  auto plan = parseCapturePlan(reply->body);
  if (!plan) return fail("plan", plan.error());
  plan_ = *plan;
  uploader_ = std::make_unique<Uploader>(opt_, plan_);
  out_.image = plan_.image;

  const std::string target = opt_.disk.empty() ? plan_.disk : opt_.disk;
  DiskCheckOptions dc;
  dc.root = opt_.sys_root;
  dc.require_block_device = !opt_.allow_file_target;
  auto disk = checkTarget(target, dc);
  if (disk && !disk->block && !std::filesystem::is_regular_file(target))
    disk = makeError("disk_missing", target + " does not exist");
  if (!disk) return fail("disk", disk.error());
  std::uint64_t total = disk->size_bytes;
  if (!disk->block) total = std::filesystem::file_size(target);
  event("capture_started",
        fmt::format("reading {} ({} bytes) into image {}", target, total, plan_.image));
  log_->info("AGENT_CAPTURE_START disk={} bytes={} image={} piece={}", target, total, plan_.image,
             plan_.chunk_bytes);

  if (auto st = stream(target, total); !st) return fail("capture", st.error());
  out_.raw_bytes = encoder_->rawBytes();
  out_.bytes = encoder_->bytes();
  out_.raw_sha256 = encoder_->rawSha256();
  out_.retries = uploader_->retries();
  auto done = uploader_->post("finish",
                              json{{"sha256", encoder_->sha256()},
                                   {"size", encoder_->bytes()},
                                   {"raw_sha256", encoder_->rawSha256()},
                                   {"raw_size", encoder_->rawBytes()}},
                              opt_.finish_timeout_s);
  if (!done) {
    log_->error("AGENT_CAPTURE_REFUSED code={} message=\"{}\"", done.error().code,
                log::sanitize(done.error().message, 300));
    return Error{done.error().code, "finish: " + done.error().message};
  }
  out_.published = true;
  out_.version = stringOr(*done, "version", "");
  out_.sha256 = stringOr(*done, "sha256", encoder_->sha256());
  log_->info(
      "AGENT_CAPTURED node={} image={} version={} raw_bytes={} bytes={} raw_sha256={} retries={}",
      out_.node, out_.image, out_.version, out_.raw_bytes, out_.bytes, out_.raw_sha256,
      out_.retries);
  reporter_.reboot(opt_.reboot, opt_.reboot_fn);
  return out_;
}

}  // namespace

Result<CaptureOutcome> runCapture(const CaptureOptions& opt) {
  return Capturer(opt).run();
}

}  // namespace drover::agent

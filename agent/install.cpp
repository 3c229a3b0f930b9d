#include "agent/install.hpp"

#include <cstdio>
#include <thread>

#include <fmt/format.h>
#include <unistd.h>

#include "agent/disk.hpp"
#include "agent/installed_root.hpp"
#include "agent/inventory.hpp"
#include "agent/netup.hpp"
#include "agent/reporter.hpp"
#include "agent/seed.hpp"
#include "agent/sink.hpp"
#include "common/log.hpp"

namespace drover::agent {
namespace {

using Clock = std::chrono::steady_clock;

class Installer {
 public:
  explicit Installer(const InstallOptions& opt)
      : opt_(opt), api_(apiOptionsFor(opt.api, opt.params)), log_(log::get("agent")), reporter_(api_) {}

  Result<InstallOutcome> run();

 private:
  void event(std::string_view phase, const std::string& message, std::optional<double> progress = {}) {
    reporter_.event(phase, message, progress);
  }

  Error fail(const std::string& step, const Error& e) {
    const std::string msg = step + ": " + e.message;
    log_->error("AGENT_FAILED step={} code={} message=\"{}\"", step, e.code, log::sanitize(msg, 300));
    event("failed", msg);
    return Error{e.code, msg};
  }

  Result<RegisterReply> registerUntilActionable(const nlohmann::json& facts);
  Result<StreamResult> writeImage(const Plan& plan, const DiskInfo& disk);
  Status seedAndUnit(const DiskInfo& disk);
  void onProgress(const StreamProgress& p);

  const InstallOptions& opt_;
  ApiClient api_;
  std::shared_ptr<spdlog::logger> log_;
  BootReporter reporter_;  // events need the node credential: enabled after register
  InstallOutcome out_;
  Clock::time_point last_report_{};
  bool tty_ = ::isatty(2) == 1;
};

Result<RegisterReply> Installer::registerUntilActionable(const nlohmann::json& facts) {
  for (int poll = 0;; ++poll) {
    auto reg = api_.registerNode(facts);
    if (!reg) return reg.error();
    if (poll == 0) {
      out_.node = reg->node.empty() ? out_.node : reg->node;
      event("registered", fmt::format("mode={} action={} state={}", modeName(opt_.params.mode),
                                      reg->action, reg->state));
    }
    if (reg->action != "wait") return reg;
    if (opt_.max_polls > 0 && poll + 1 >= opt_.max_polls) return reg;
    log_->info("AGENT_WAITING node={} state={} poll={}", reg->node, reg->state, poll + 1);
    std::this_thread::sleep_for(opt_.poll_interval);
  }
}

void Installer::onProgress(const StreamProgress& p) {
  if (opt_.console_progress) {
    const std::string line = formatProgress(p);
    std::fprintf(stderr, tty_ ? "\r%s   " : "%s\n", line.c_str());
  }
  const auto now = Clock::now();
  if (now - last_report_ < opt_.report_interval) return;
  last_report_ = now;
  std::optional<double> frac;
  if (p.total > 0) frac = static_cast<double>(p.bytes) / static_cast<double>(p.total);
  event("image_progress", formatProgress(p), frac);
}

Result<StreamResult> Installer::writeImage(const Plan& plan, const DiskInfo& disk) {
  StreamOptions so = opt_.stream;
  so.url = plan.image.url;
  so.api_urls = api_.urls();  // an image on the API goes on through another replica
  so.sha256 = plan.image.sha256;
  so.signature = plan.image.signature;
  so.signature_key = plan.image.signature_key;
  so.format = plan.image.format;
  so.size = plan.image.size;
  so.tls.ca_fingerprint = opt_.params.ca_fingerprint;
  so.on_progress = [this](const StreamProgress& p) { onProgress(p); };
  std::optional<std::uint64_t> limit;
  if (disk.block) limit = disk.size_bytes;
  std::unique_ptr<Sink> sink;
  if (opt_.dry_run) {
    sink = std::make_unique<NullSink>(limit);
  } else {
    FileSinkOptions fo;
    fo.require_block_device = !opt_.allow_file_target;
    fo.limit = limit;
    auto fs = FileSink::open(disk.path, fo);
    if (!fs) return fs.error();
    sink = std::move(*fs);
  }
  auto r = streamImage(so, *sink);
  if (opt_.console_progress && tty_) std::fputc('\n', stderr);
  return r;
}

Status Installer::seedAndUnit(const DiskInfo& disk) {
  auto cc = api_.cloudConfig();
  if (!cc) return cc.error();
  SeedData seed;
  seed.user_data = *cc;
  seed.instance_id = out_.node;
  seed.hostname = out_.node;
  if (opt_.dry_run) return {};
  std::optional<MountedRoot> mounted;
  std::filesystem::path root = opt_.installed_root;
  if (root.empty()) {
    if (!disk.block) return makeError("seed", "a file target needs an installed root for the seed");
    auto m = mountInstalledRoot(disk.name, opt_.mountpoint);
    if (!m) return m.error();
    root = m->path();
    mounted.emplace(std::move(*m));
  }
  if (auto st = writeSeedDir(root, seed); !st) return st;
  AgentConfig cfg{opt_.params.api, opt_.params.ca_fingerprint, api_.credential(), out_.node};
  return installAgentInto(root, cfg);
}

Result<InstallOutcome> Installer::run() {
  const auto& p = opt_.params;
  out_.node = p.node;
  if (opt_.network_up) {
    auto net = bringUpNetwork({});
    if (!net) return fail("network", net.error());
  }
  if (p.mode == Mode::Install || !p.token.empty()) {
    auto x = api_.exchange(p.token);
    if (!x && p.mode == Mode::Install) return fail("exchange", x.error());
    if (x) {
      out_.node = x->node;
      reporter_.enable();
    } else {
      api_.setCredential(p.token);  // discovery: the boot token is accepted by register
    }
  }
  auto facts = factsToJson(collectFacts(opt_.sys_root));
  auto reg = registerUntilActionable(facts);
  if (!reg) return fail("register", reg.error());
  reporter_.enable();
  out_.action = reg->action;
  if (reg->action != "install" || p.mode == Mode::Discover) {
    // Discovery ends when the operator has decided: the next network boot brings the
    // install (with its own boot token) or the local disk.
    log_->info("AGENT_NO_INSTALL node={} action={} mode={}", out_.node, reg->action, modeName(p.mode));
    if (reg->action != "wait") reporter_.reboot(opt_.reboot, opt_.reboot_fn);
    return out_;
  }

  event("install_started", opt_.dry_run ? "dry run" : "");
  auto plan = api_.plan();
  if (!plan) return fail("plan", plan.error());
  const std::string target = opt_.disk.empty() ? plan->disk : opt_.disk;
  DiskCheckOptions dc;
  dc.root = opt_.sys_root;
  dc.require_block_device = !opt_.allow_file_target;
  dc.min_bytes = plan->min_disk_bytes;
  if (plan->image.format == "raw" || plan->image.format.empty()) {
    dc.min_bytes = std::max(dc.min_bytes, plan->image.size);
  }
  auto disk = checkTarget(target, dc);
  if (!disk) return fail("disk", disk.error());
  log_->info("AGENT_IMAGE_START url={} format={} size={} disk={} dry_run={}", plan->image.url,
             plan->image.format, plan->image.size, disk->path, opt_.dry_run);

  auto image = writeImage(*plan, *disk);
  if (!image) return fail("image", image.error());
  out_.image = *image;
  event(
      "image_written",
      fmt::format("{}{} bytes from {} bytes {} sha256={} attempts={}{}",
                  opt_.dry_run ? "dry run, verified but not written: " : "", image->written,
                  image->bytes, compressionName(image->compression), image->sha256, image->attempts,
                  image->failovers > 0
                      ? fmt::format(" failovers={} last_from={}", image->failovers, image->url)
                      : std::string()));

  if (auto st = seedAndUnit(*disk); !st) return fail("seed", st.error());
  event("seed_written", opt_.dry_run ? "dry run: not written" : std::string("NoCloud seed in /") + kNoCloudSeedDir);
  if (opt_.dry_run) return out_;

  ::sync();
  // `installed` must reach the server: otherwise the next boot would install again.
  auto inst = api_.call("POST", "/v1/agent/events",
                        nlohmann::json{{"phase", "installed"}, {"message", plan->image.name + " " + plan->image.version}}.dump(),
                        opt_.api.max_attempts * 4);
  if (!inst) return fail("report", inst.error());
  out_.installed = true;
  log_->info("AGENT_INSTALLED node={} disk={} sha256={}", out_.node, disk->path, image->sha256);
  reporter_.reboot(opt_.reboot, opt_.reboot_fn);
  return out_;
}


}  // namespace

Result<InstallOutcome> runInstall(const InstallOptions& opt) { return Installer(opt).run(); }

}  // namespace drover::agent

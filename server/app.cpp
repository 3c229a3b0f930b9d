#include "server/app.hpp"

#include <utility>  // before Asio (GCC 12 + Boost 1.74)

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <future>
#include <thread>

#include "boot/dhcp_policy.hpp"
#include "boot/server_configs.hpp"
#include "boot/template_check.hpp"
#include "cluster/loader.hpp"
#include "common/log.hpp"
#include "common/sd_notify.hpp"
#include "dhcp/server/clock.hpp"
#include "dhcp/server/engine.hpp"
#include "dhcp/server/group_commit.hpp"
#include "dhcp/server/sqlite_lease_store.hpp"
#include "dhcp/server/transport.hpp"
#include "http/server.hpp"
#include "http/tls.hpp"
#include "ndp/server/responder.hpp"
#include "server/api_routes.hpp"
#include "server/boot_guard.hpp"
#include "server/boot_routes.hpp"
#include "server/context.hpp"
#include "server/grub_files.hpp"
#include "server/handoff.hpp"
#include "server/image_updates.hpp"
#include "server/live_events.hpp"
#include "server/node_metrics.hpp"
#include "server/power_api.hpp"
#include "server/replication.hpp"
#include "server/server_files.hpp"
#include "server/sessions.hpp"
#include "server/timeline_observer.hpp"
#include "state/caching_store.hpp"
#include "state/sqlite_store.hpp"
#include "tftp/server/server.hpp"

namespace drover::server {

namespace asio = boost::asio;

Loaded loadSnapshot(const std::string& config_path, const std::string& advertise) {
  auto loaded = cluster::loadConfigFile(config_path);
  if (!loaded.ok()) return {nullptr, std::move(loaded.errors)};
  if (!advertise.empty()) {
    auto ip = Ipv4Address::parse(advertise);
    if (!ip)
      return {nullptr,
              {cluster::Diagnostic{
                  config_path, {}, "--advertise", "\"" + advertise + "\" is not an IPv4 address"}}};
    auto config = std::make_shared<cluster::Config>(*loaded.config);
    config->server.advertise = *ip;
    loaded.config = std::move(config);
  }
  auto snapshot = boot::Snapshot::build(loaded.config);
  auto problems = boot::checkTemplates(snapshot->inventory);
  auto files = boot::checkBootFiles(snapshot->inventory.config());
  problems.insert(problems.end(), files.begin(), files.end());
  if (!problems.empty()) return {nullptr, problems};
  return {snapshot, {}};
}

// The DHCP server runs on its own single thread: its engine is single-threaded.
struct DhcpStack {
  asio::io_context io;
  dhcp::SystemClock clock;
  std::unique_ptr<dhcp::LeaseStore> own_leases;  // SQLite; with replicas the shared one
  dhcp::LeaseStore* leases = nullptr;
  std::unique_ptr<dhcp::GroupCommitter> committer;
  std::unique_ptr<dhcp::Engine> engine;
  std::unique_ptr<dhcp::Transport> transport;
  std::unique_ptr<ndp::Responder> ndp;  // router advertisements for iPXE, on the same links
  std::thread thread;
};

// TFTP runs on its own threads too (as many as options.threads; each transfer is on a strand
// of its own): a boot storm's RRQs and ACKs are answered while the HTTP threads are busy
// sending kernels and initrds, not queued behind them, and 500 transfers at once are not
// held to one core.
struct TftpStack {
  asio::io_context io;
  std::unique_ptr<tftp::Server> server;
  std::vector<std::thread> threads;
};

struct App::Impl {
  Options options;
  std::filesystem::path state_dir;
  std::atomic<std::shared_ptr<const boot::Snapshot>> snapshot;
  std::shared_ptr<spdlog::logger> log = log::get("serve");

  asio::io_context io;
  // Kernel, initrd and image bodies are sent from these, one thread each
  // (http::ServerOptions::bulk); as many as options.threads.
  struct Bulk {
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  };
  std::vector<std::unique_ptr<Bulk>> bulk;
  std::unique_ptr<Replication> replication;  // server.state.backend: etcd
  std::string config_hash;                   // sha256 of the declaration file served
  std::shared_ptr<LiveEvents> live = std::make_shared<LiveEvents>();  // dashboard pushes
  std::unique_ptr<state::StateStore> store;  // publishes what it writes to `live`
  std::unique_ptr<state::TokenService> tokens;
  std::unique_ptr<Context> ctx;
  std::unique_ptr<TimelineObserver> observer;
  std::unique_ptr<GrubFiles> grub_files;  // TFTP: the network GRUB's configuration

  std::unique_ptr<http::Server> http;
  std::unique_ptr<http::Server> api;
  std::unique_ptr<TftpStack> tftp;
  std::unique_ptr<boot::InventoryBootPolicy> policy;
  std::shared_ptr<dhcp::LeaseView> leases;  // outlives the engine that writes it
  std::unique_ptr<DhcpStack> dhcp;
  asio::signal_set signals{io};
  std::atomic<bool> stopping{false};
  std::unique_ptr<ImageUpdates> image_updates;  // goes first: it reads store and snapshot
};

namespace {

// How much lower the bulk threads' priority is than the rest of the process (see run()).
constexpr int kBulkNice = 10;

void joinAll(std::vector<std::thread>& threads) {
  for (auto& t : threads)
    if (t.joinable()) t.join();
}

// The bulk io_contexts, made on first use (options.threads of them), for ServerOptions::bulk.
std::vector<asio::io_context*> bulkContexts(App::Impl& d) {
  if (d.bulk.empty())
    for (int i = 0; i < std::max(1, d.options.threads); ++i)
      d.bulk.push_back(std::make_unique<App::Impl::Bulk>());
  std::vector<asio::io_context*> out;
  for (auto& b : d.bulk) out.push_back(&b->io);
  return out;
}

// server.state.path is the database; its folder is the state directory. --state-dir moves
// the whole directory, the database keeping its file name.
std::filesystem::path stateDirFor(const Options& o, const cluster::Config& c) {
  if (!o.state_dir.empty()) return o.state_dir;
  return defaultStateDir(c);
}

std::filesystem::path databaseFor(const Options& o, const cluster::Config& c) {
  const std::filesystem::path path(c.server.state.path);
  if (!o.state_dir.empty()) return std::filesystem::path(o.state_dir) / path.filename();
  return path;
}

Result<asio::ip::tcp::endpoint> tcpEndpoint(const ListenAddress& l, std::string_view what) {
  boost::system::error_code ec;
  auto address = l.host.empty() ? asio::ip::address(asio::ip::address_v4::any())
                                : asio::ip::make_address(l.host, ec);
  if (ec)
    return makeError("bad_listen", fmt::format("{}: \"{}\" is not an IP address", what, l.host));
  return asio::ip::tcp::endpoint(address, l.port);
}

// server.crt followed by ca.crt, for a listener that presents the whole chain.
Result<std::filesystem::path> writeChain(const http::TlsFiles& files) {
  const auto chain = files.cert.parent_path() / "chain.crt";
  std::ifstream cert(files.cert, std::ios::binary);
  std::ifstream ca(files.ca_cert, std::ios::binary);
  std::ofstream out(chain, std::ios::binary | std::ios::trunc);
  out << cert.rdbuf() << ca.rdbuf();
  if (!cert || !ca || !out.flush()) return makeError("tls_chain", "cannot write " + chain.string());
  return chain;
}

// A boot storm holds a socket per TFTP transfer and per HTTP connection: thousands. Raise
// the soft descriptor limit to the hard one (as a systemd unit's LimitNOFILE would), and
// say so when even that is low.
void raiseFileLimit(spdlog::logger& log) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  if (lim.rlim_cur < lim.rlim_max) {
    const rlim_t before = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) lim.rlim_cur = before;
  }
  if (lim.rlim_cur < 8192)
    log.warn("FD_LIMIT_LOW nofile={} (a boot storm of many machines needs more: LimitNOFILE=65536)",
             static_cast<unsigned long long>(lim.rlim_cur));
}

// What replicas compare to tell whether they serve the same declaration.
std::string configHash(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return state::hashToken(text);  // sha256, hex
}

std::string replicaId(const Options& o) {
  if (!o.replica_id.empty()) return o.replica_id;
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') return "drover";
  return host;
}

// Tells the service manager (Type=notify) where serve is; a no-op outside systemd.
void notify(App::Impl& d, const std::string& message) {
  if (auto st = notifyService(message); !st)
    d.log->warn("NOTIFY_FAILED error=\"{}\"", st.error().message);
}

Status withName(Status st, std::string_view listener) {
  if (st) return st;
  return makeError(st.error().code, fmt::format("{}: {}", listener, st.error().message));
}

}  // namespace

App::App(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

App::~App() {
  stop();
  if (impl_->image_updates) impl_->image_updates->stop();  // a check under way ends first
  if (impl_->dhcp && impl_->dhcp->thread.joinable()) impl_->dhcp->thread.join();
  if (impl_->tftp) joinAll(impl_->tftp->threads);
  if (impl_->replication) impl_->replication->stopDhcp();  // before the engine goes
  if (impl_->dhcp) impl_->dhcp.reset();                    // its committer uses the leases
  if (impl_->replication) setImageReplica("", {});         // its membership goes with it
}

Result<std::unique_ptr<App>> App::create(Options options) {
  auto loaded = loadSnapshot(options.config_path, options.advertise);
  if (!loaded.snapshot) {
    std::string all;
    for (const auto& e : loaded.errors) all += e.str() + "\n";
    return makeError("invalid_config", all);
  }
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  raiseFileLimit(*impl->log);
  const auto& config = loaded.snapshot->inventory.config();
  impl->state_dir = stateDirFor(impl->options, config);
  setImageStateDir(impl->state_dir);  // the image catalog lives under the same directory
  std::error_code ec;
  std::filesystem::create_directories(impl->state_dir, ec);
  if (ec)
    return makeError("state_dir", fmt::format("{}: {}", impl->state_dir.string(), ec.message()));

  impl->config_hash = configHash(impl->options.config_path);
  if (config.server.state.backend == cluster::StateBackend::Etcd) {
    auto r = Replication::open(config.server.state, replicaId(impl->options));
    if (!r) return r.error();
    impl->replication = std::move(*r);
    impl->store = impl->replication->takeStore();
    // The catalog records the blobs held here and fetches the others from live replicas.
    Replication* rep = impl->replication.get();
    setImageReplica(rep->id(), [rep](const std::string& id) -> std::string {
      const auto* m = rep->membership();
      if (m == nullptr) return "";
      for (const auto& info : m->live())
        if (info.id == id) return info.http_url;
      return "";
    });
    if (config.server.api.tls == cluster::TlsMode::Auto || !config.server.api.cert.empty())
      if (auto st = impl->replication->shareSecrets(impl->state_dir, config.server.advertise.str());
          !st)
        return st.error();
    // A token one replica issued is spent through another.
    if (auto st = impl->replication->shareBootTokenKey(impl->state_dir); !st) return st.error();
  } else {
    auto store = state::SqliteStore::open(databaseFor(impl->options, config));
    if (!store) return store.error();
    // This process is the database's only writer: the boot path reads from memory.
    impl->store = state::cachingStore(std::move(*store));
  }
  impl->store = publishingStore(std::move(impl->store), impl->live);
  auto boot_key = state::ensureBootTokenKey(impl->state_dir);
  if (!boot_key) return boot_key.error();
  impl->tokens = std::make_unique<state::TokenService>(*impl->store, std::move(*boot_key));
  auto op = state::ensureOperatorToken(impl->state_dir);
  if (!op) return op.error();
  impl->snapshot.store(loaded.snapshot);

  auto app = std::unique_ptr<App>(new App(std::move(impl)));
  app->impl_->ctx = std::make_unique<Context>(Context{.source = *app,
                                                      .store = *app->impl_->store,
                                                      .tokens = *app->impl_->tokens,
                                                      .ca_fingerprint = "",
                                                      .operator_token = *op,
                                                      .registry = metrics::Registry::global(),
                                                      .log = log::get("http"),
                                                      .state_dir = app->impl_->state_dir});
  app->impl_->ctx->boot_guard = std::make_shared<BootGuard>();
  app->impl_->ctx->live = app->impl_->live;
  app->impl_->ctx->sessions =
      std::make_shared<SessionStore>(std::chrono::seconds(app->impl_->options.session_ttl_s),
                                     std::chrono::hours(12), state::nowMs);
  app->impl_->ctx->handoff = makeHandoffWatch(*app->impl_->ctx);
  return app;
}

std::shared_ptr<const boot::Snapshot> App::current() const {
  return impl_->snapshot.load();
}

std::string App::issueBootTokenForTest(const std::string& node, std::int64_t ttl_ms) {
  auto token = impl_->tokens->issueBootToken(
      {.node = node, .mac = {}, .holder = {}, .expires_ms = 0}, ttl_ms);
  return token ? *token : std::string();
}

const std::filesystem::path& App::stateDir() const {
  return impl_->state_dir;
}

Status App::start() {
  auto& d = *impl_;
  const auto snapshot = current();
  const auto& config = snapshot->inventory.config();

  // API (TLS with Drover's own CA unless tls: off).
  http::ServerOptions api_opts;
  api_opts.name = "api";
  if (config.server.api.tls == cluster::TlsMode::Auto) {
    auto files = http::ensureAutoTls(d.state_dir, {config.server.advertise.str(), "127.0.0.1"});
    if (!files) return files.error();
    // The agent pins the CA by its fingerprint, so the listener presents the CA too.
    auto chain = writeChain(*files);
    if (!chain) return chain.error();
    auto tls = http::makeServerTlsContext(*chain, files->key);
    if (!tls) return tls.error();
    api_opts.tls = *tls;
    d.ctx->ca_fingerprint = files->ca_fingerprint;
  }
  http::Router api_router;
  addApiRoutes(api_router, *d.ctx);
  api_opts.bulk = bulkContexts(d);  // a plain-HTTP API listener sends disk images from there too
  api_opts.single_thread = d.options.threads <= 1;  // run() runs d.io on that many threads
  d.api = std::make_unique<http::Server>(d.io, std::move(api_router), api_opts);
  auto api_ep = tcpEndpoint(config.server.api.listen, "server.api.listen");
  if (!api_ep) return api_ep.error();
  if (auto st = withName(d.api->listen(*api_ep), "api"); !st) return st;
  d.ctx->api_port = d.api->localEndpoint().port();

  // HTTP boot server.
  http::Router boot_router;
  addMetricsRoutes(boot_router, *d.ctx);
  addBootRoutes(boot_router, *d.ctx);
  http::ServerOptions http_opts;
  http_opts.name = "http";
  http_opts.body_limit = 64 * 1024;
  http_opts.bulk = bulkContexts(d);
  http_opts.single_thread = api_opts.single_thread;
  http_opts.max_connections = 4096;  // a machine per connection in a boot storm, as TFTP
  d.http = std::make_unique<http::Server>(d.io, std::move(boot_router), http_opts);
  auto http_ep = tcpEndpoint(config.server.http.listen, "server.http.listen");
  if (!http_ep) return http_ep.error();
  if (auto st = withName(d.http->listen(*http_ep), "http"); !st) return st;
  d.ctx->http_port = d.http->localEndpoint().port();

  d.observer = std::make_unique<TimelineObserver>(*d.ctx);
  if (d.options.tftp) {
    auto tcfg = boot::tftpConfigFrom(config);
    if (!tcfg) return tcfg.error();
    d.tftp = std::make_unique<TftpStack>();
    d.grub_files = std::make_unique<GrubFiles>(*d.ctx, *d.observer);
    d.tftp->server =
        std::make_unique<tftp::Server>(d.tftp->io, *tcfg, d.grub_files.get(), d.observer.get());
    if (auto st = withName(d.tftp->server->start(), "tftp"); !st) return st;
  }

  if (d.replication) {
    ha::ReplicaInfo self{d.replication->id(),    config.server.advertise.str(),
                         apiUrl(*d.ctx, config), httpBase(*d.ctx, config),
                         d.config_hash,          state::nowMs()};
    // Another replica serves another declaration: re-read ours (it may have been reloaded
    // there from the same file), on the main io_context like a SIGHUP.
    auto on_differs = [this, &d] {
      if (!d.stopping) asio::post(d.io, [this] { (void)reload(); });
    };
    if (auto st = d.replication->join(std::move(self), on_differs); !st) return st;
    // An installer names the other live replicas after this one: it goes on through them
    // when this replica dies.
    d.ctx->api_alternates = [&d] {
      const auto* m = d.replication->membership();
      const auto serving = d.snapshot.load();
      if (m == nullptr || !serving) return std::vector<std::string>();
      return ha::otherApiUrls(m->live(), m->id(), apiUrl(*d.ctx, serving->inventory.config()),
                              kMaxApiAlternates);
    };
    // Changes other replicas store reach this one's dashboard pages too.
    d.replication->feedLive(d.live);
  }

  if (d.options.dhcp) {
    d.dhcp = std::make_unique<DhcpStack>();
    auto& s = *d.dhcp;
    if (d.replication) {
      s.leases = &d.replication->leases();
    } else {
      auto leases = dhcp::SqliteLeaseStore::open((d.state_dir / "leases.db").string());
      if (!leases) return leases.error();
      s.own_leases = std::move(*leases);
      s.leases = s.own_leases.get();
    }
    s.committer = std::make_unique<dhcp::GroupCommitter>(*s.leases);
    d.policy = std::make_unique<boot::InventoryBootPolicy>(*this);
    s.engine = std::make_unique<dhcp::Engine>(boot::dhcpConfigFrom(config), *d.policy, s.clock);
    auto restored = s.leases->loadAll();
    if (!restored) return restored.error();
    s.engine->restore(*restored);
    d.leases = std::make_shared<dhcp::LeaseView>();
    s.engine->setLeaseView(d.leases.get());
    d.ctx->leases = d.leases;
    if (d.replication) d.replication->serveDhcp(*s.engine, s.io, *s.committer);
    s.transport =
        std::make_unique<dhcp::Transport>(s.io, *s.engine, *s.committer, d.observer.get());
    if (auto st = withName(s.transport->start(), "dhcp"); !st) return st;
    if (config.server.boot.ipv6_ra) {
      s.ndp = std::make_unique<ndp::Responder>(s.io);
      // Only a speed-up for iPXE: without it machines still boot, so it never stops serve.
      if (auto st = s.ndp->start({config.server.interfaces}); !st)
        d.log->warn("NDP_UNAVAILABLE error={} (iPXE will wait for IPv6 router advertisements)",
                    st.error().message);
    }
  }

  d.ctx->handoff->start(std::chrono::milliseconds(500));

  // Update checks and collection of the image catalog, on their own threads.
  d.image_updates = std::make_unique<ImageUpdates>(
      *this, *d.store,
      d.replication ? d.replication->id() : fmt::format("{}:{}", replicaId(d.options), ::getpid()));
  d.image_updates->start();

  d.http->start();
  d.api->start();
  d.log->info("SERVE_STARTED config={} state_dir={} http={} api={} tftp={} dhcp={}",
              d.options.config_path, d.state_dir.string(), endpointForTest("http"),
              endpointForTest("api"), d.tftp ? endpointForTest("tftp") : "off",
              d.dhcp ? "on" : "off");
  return {};
}

// The DHCP server takes the new networks (pools, options, modes, interfaces) on its own
// thread and re-opens its listeners as needed; leases are kept. Waits until that is done
// when the DHCP thread runs (bounded: a wedged thread does not stall the reload forever).
Status App::reloadDhcp(Impl& d, const cluster::Config& config) {
  if (!d.dhcp || !d.dhcp->transport || d.stopping) return {};
  auto s = d.dhcp.get();
  auto apply = [s, cfg = boot::dhcpConfigFrom(config)]() mutable {
    s->engine->reconfigure(std::move(cfg));
    return s->transport->reconfigure();
  };
  Status st;
  if (d.dhcp->thread.joinable()) {
    auto done = std::make_shared<std::promise<Status>>();
    auto result = done->get_future();
    asio::post(s->io, [apply, done]() mutable { done->set_value(apply()); });
    if (result.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      d.log->warn("RELOAD_PARTIAL dhcp=pending");
      return {};
    }
    st = result.get();
  } else {
    st = apply();
  }
  if (!st) d.log->warn("RELOAD_PARTIAL dhcp=\"{}\"", st.error().message);
  return withName(st, "dhcp");
}

std::string App::endpointForTest(const std::string& listener) const {
  auto fmtEp = [](const auto& ep) {
    return fmt::format("{}:{}", ep.address().to_string(), ep.port());
  };
  if (listener == "http" && impl_->http) return fmtEp(impl_->http->localEndpoint());
  if (listener == "api" && impl_->api) return fmtEp(impl_->api->localEndpoint());
  if (listener == "tftp" && impl_->tftp) return fmtEp(impl_->tftp->server->localEndpoint());
  return {};
}

Status App::reload() {
  auto& d = *impl_;
  auto loaded = loadSnapshot(d.options.config_path, d.options.advertise);
  if (!loaded.snapshot) {
    for (const auto& e : loaded.errors) d.log->error("RELOAD_REJECTED {}", e.str());
    return makeError(
        "invalid_config",
        fmt::format("{} errors; still serving the previous declaration", loaded.errors.size()));
  }
  const auto& after = loaded.snapshot->inventory.config();
  d.snapshot.store(loaded.snapshot);
  d.config_hash = configHash(d.options.config_path);
  if (d.replication) d.replication->servingConfig(d.config_hash);
  if (d.image_updates) d.image_updates->reloaded();
  Status dhcp_status = reloadDhcp(d, after);
  d.log->info("RELOADED config={} nodes={} networks={}", d.options.config_path, after.nodes.size(),
              after.networks.size());
  return dhcp_status;
}

void App::run() {
  auto& d = *impl_;
  d.signals.add(SIGHUP);
  d.signals.add(SIGINT);
  d.signals.add(SIGTERM);
  std::function<void(const boost::system::error_code&, int)> onSignal =
      [this, &d, &onSignal](const boost::system::error_code& ec, int sig) {
        if (ec || d.stopping) return;
        if (sig == SIGHUP) {
          notify(d, reloadingMessage());
          auto st = reload();
          notify(d,
                 st ? std::string("READY=1\nSTATUS=serving")
                    : fmt::format("READY=1\nSTATUS=serving; last reload: {}", st.error().message));
          d.signals.async_wait(onSignal);
          return;
        }
        d.log->info("SERVE_STOPPING signal={}", sig);
        notify(d, "STOPPING=1");
        stop();
      };
  d.signals.async_wait(onSignal);

  if (d.dhcp) {
    d.dhcp->thread = std::thread([s = d.dhcp.get()] {
      auto guard = asio::make_work_guard(s->io);
      s->io.run();
    });
  }
  if (d.tftp)
    for (int i = 0; i < std::max(1, d.options.threads); ++i)
      d.tftp->threads.emplace_back([s = d.tftp.get()] { s->io.run(); });
  std::vector<std::thread> threads, bulk_threads;
  for (auto& b : d.bulk)
    bulk_threads.emplace_back([&b, log = d.log] {
      // Bodies go out at a lower priority than everything else (kBulkNice above the
      // process's own nice value, for these threads alone): in a boot storm the machines
      // still in DHCP, TFTP or asking for a script are answered first, while the downloads
      // take all the CPU that is left. Raising a nice value needs no privilege.
      const auto tid = static_cast<id_t>(::gettid());
      errno = 0;
      const int own = ::getpriority(PRIO_PROCESS, tid);
      if (errno == 0 && ::setpriority(PRIO_PROCESS, tid, std::min(own + kBulkNice, 19)) != 0)
        log->warn("BULK_NICE_FAILED errno={}", errno);
      b->io.run();
    });
  for (int i = 1; i < std::max(1, d.options.threads); ++i)
    threads.emplace_back([&d] { d.io.run(); });
  // Every listener was bound by start(): the service manager may report the unit started.
  notify(d, "READY=1\nSTATUS=serving");
  d.io.run();
  joinAll(threads);
  // Every session has ended, so no send is left on the bulk threads.
  for (auto& b : d.bulk) b->work.reset();
  joinAll(bulk_threads);
  if (d.dhcp && d.dhcp->thread.joinable()) d.dhcp->thread.join();
  if (d.tftp) joinAll(d.tftp->threads);
  d.log->info("SERVE_STOPPED");
}

void App::stop() {
  auto& d = *impl_;
  if (d.stopping.exchange(true)) return;
  // The signal wait belongs to the io_context: cancel it there, so a stop() that comes
  // before run() (or from another thread) still ends run().
  asio::post(d.io, [&d] {
    boost::system::error_code ec;
    d.signals.cancel(ec);
  });
  if (d.ctx && d.ctx->handoff) d.ctx->handoff->stop();
  if (d.http) d.http->stop();
  if (d.api) d.api->stop();
  if (d.tftp) d.tftp->server->stop();
  if (d.dhcp) {
    if (d.dhcp->transport) {
      asio::post(d.dhcp->io, [s = d.dhcp.get()] {
        s->transport->stop();
        if (s->ndp) s->ndp->stop();
        s->io.stop();
      });
    } else {
      d.dhcp->io.stop();
    }
  }
}

}  // namespace drover::server
